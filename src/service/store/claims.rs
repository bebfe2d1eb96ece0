//! Work any instance may pick up, claimed with a lease: one transaction
//! takes a short lock (PostgreSQL advisory, so each claim's read sees the
//! leases of the one before), reads the due items skipping rows others are
//! writing (`FOR UPDATE SKIP LOCKED`), marks them claimed until the lease
//! ends, and commits. An instance that dies leaves its claims to lapse.
//! Geocoding, queued imports, webhook deliveries and alert messages are
//! claimed this way.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{LockBehavior, LockType};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, EntityTrait,
    QuerySelect, Select, TransactionTrait,
};

/// A kind of claimable work.
pub trait WorkQueue {
    type Entity: EntityTrait;
    /// The advisory key serializing this queue's claims (one of
    /// `db::locks`).
    const CLAIM_LOCK: i64;

    /// The items due at `now` that no lease holds, in the order to take.
    fn due(now: DateTime<Utc>) -> Select<Self::Entity>;

    /// Records the claim of `items` (never empty) until `until`.
    fn mark(
        tx: &DatabaseTransaction,
        items: &[<Self::Entity as EntityTrait>::Model],
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbErr>> + Send;
}

/// Claims up to `batch` due items for `lease`.
pub async fn claim<Q: WorkQueue>(
    db: &DatabaseConnection,
    batch: u64,
    lease: Duration,
) -> Result<Vec<<Q::Entity as EntityTrait>::Model>, DbErr> {
    let (items, _) = claim_at::<Q>(db, Utc::now(), batch, lease).await?;
    Ok(items)
}

/// [`claim`] by a given clock: the items due at `now`, and when their
/// claim ends (`now` plus `lease`), which names it.
pub async fn claim_at<Q: WorkQueue>(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    batch: u64,
    lease: Duration,
) -> Result<(Vec<<Q::Entity as EntityTrait>::Model>, DateTime<Utc>), DbErr> {
    let tx = db.begin().await?;
    let mut due = Q::due(now).limit(batch);
    if tx.get_database_backend() == DbBackend::Postgres {
        crate::db::locks::advisory_xact_lock(&tx, Q::CLAIM_LOCK).await?;
        due = due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let items = due.all(&tx).await?;
    // Nothing due: nothing to mark. The transaction still ends here, not
    // when dropped: the driver only queues a dropped transaction's
    // rollback, and until it sends it the queue's lock stays held against
    // every instance.
    let until = lease_end(now, lease);
    if !items.is_empty() {
        Q::mark(&tx, &items, until).await?;
    }
    tx.commit().await?;
    Ok((items, until))
}

/// Tells every instance's worker listening on `channel` that work is due.
/// PostgreSQL delivers the notice when the caller's transaction commits,
/// never for one rolled back; SQLite's single instance polls.
pub async fn wake(db: &impl ConnectionTrait, channel: &str) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(&format!("SELECT pg_notify('{channel}', '')"))
            .await?;
    }
    Ok(())
}

/// When to try again after `attempts` failures in a row: `base`, doubled
/// after each failure past the first, at most `max`.
pub fn next_attempt(
    now: DateTime<Utc>,
    base: Duration,
    max: Duration,
    attempts: i32,
) -> DateTime<Utc> {
    let doublings = (attempts - 1).clamp(0, 20) as u32;
    let delay = base.saturating_mul(2u32.saturating_pow(doublings)).min(max);
    after(now, delay)
}

/// When a claim made at `now` for `lease` ends, to the microsecond (what
/// PostgreSQL keeps): a worker can name its claim by it.
fn lease_end(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    use chrono::DurationRound;
    let end = after(now, lease);
    end.duration_trunc(chrono::TimeDelta::microseconds(1))
        .unwrap_or(end)
}

/// `now` plus a configured duration (one too long for chrono adds nothing).
pub fn after(now: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(duration).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_twice_as_long_each_time_up_to_the_most() {
        let now = Utc::now();
        let (minute, day) = (Duration::from_secs(60), Duration::from_secs(86_400));
        let wait = |attempts| (next_attempt(now, minute, day, attempts) - now).num_seconds();
        assert_eq!([wait(1), wait(2), wait(3), wait(5)], [60, 120, 240, 960]);
        assert_eq!(wait(40), 86_400);
    }
}
