//! A provider's request rate as one budget for the whole deployment, kept
//! in PostgreSQL: a row holds the next free slot (a GCRA with no burst), and
//! each request takes the slot after it in one atomic statement, on any
//! instance. Used for the public Nominatim server (1 request/s is owed to
//! it per deployment, not per process) and any `GEOCODER_RPS`.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::geocode::RateBudget;

pub struct DbRateBudget {
    db: DatabaseConnection,
    name: String,
    period: Duration,
}

impl DbRateBudget {
    /// `None` off PostgreSQL: SQLite serves one instance, whose own limiter
    /// is the deployment's.
    pub fn for_deployment(
        db: &DatabaseConnection,
        name: &str,
        requests_per_second: f64,
    ) -> Option<DbRateBudget> {
        (db.get_database_backend() == DbBackend::Postgres && requests_per_second > 0.0).then(|| {
            DbRateBudget {
                db: db.clone(),
                name: name.to_owned(),
                period: Duration::from_secs_f64(1.0 / requests_per_second),
            }
        })
    }

    /// Takes the next slot: how long to wait for it.
    async fn take(&self) -> Result<Duration, sea_orm::DbErr> {
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "INSERT INTO rate_budget (name, next_at) \
                 VALUES ($1, clock_timestamp() + make_interval(secs => $2)) \
                 ON CONFLICT (name) DO UPDATE SET next_at = \
                 GREATEST(rate_budget.next_at, clock_timestamp()) + make_interval(secs => $2) \
                 RETURNING (EXTRACT(EPOCH FROM next_at - clock_timestamp()) - $2)::float8 AS wait",
                [self.name.clone().into(), self.period.as_secs_f64().into()],
            ))
            .await?;
        let wait: f64 = match row {
            Some(row) => row.try_get("", "wait")?,
            None => 0.0,
        };
        Ok(Duration::from_secs_f64(wait.max(0.0)))
    }
}

impl RateBudget for DbRateBudget {
    fn turn(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            match self.take().await {
                Ok(wait) => tokio::time::sleep(wait).await,
                // The process's own limiter still holds; better a request
                // than a stalled worker.
                Err(error) => crate::service::log_internal(&error),
            }
        })
    }
}

/// The carrier's rate for alerts: each sending number (or the messaging
/// service, which is one sender to us) sends one message per `period`. A
/// message takes the slot of the sender free soonest, and waits for it.
/// PostgreSQL: one budget row per sender in `rate_budget`, shared by every
/// instance of the deployment. SQLite (one instance): kept in memory.
pub struct SenderSlots {
    /// `None` for a sender the provider picks (a messaging service).
    senders: Vec<Option<String>>,
    period: Option<Duration>,
    kept: Kept,
}

enum Kept {
    InMemory(std::sync::Mutex<Vec<std::time::Instant>>),
    Shared(DatabaseConnection),
}

/// A slot: who sends, and how long to wait before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub sender: Option<String>,
    pub wait: Duration,
}

impl SenderSlots {
    /// `per_second` messages per sender (0: no limit). Never empty: no
    /// sender at all is one the provider picks.
    pub fn new(
        db: &DatabaseConnection,
        senders: Vec<Option<String>>,
        per_second: f64,
    ) -> SenderSlots {
        let mut slots = SenderSlots::in_memory(senders, per_second);
        if db.get_database_backend() == DbBackend::Postgres {
            slots.kept = Kept::Shared(db.clone());
        }
        slots
    }

    /// Slots this process alone keeps.
    fn in_memory(senders: Vec<Option<String>>, per_second: f64) -> SenderSlots {
        let senders = if senders.is_empty() {
            vec![None]
        } else {
            senders
        };
        let period = (per_second > 0.0).then(|| Duration::from_secs_f64(1.0 / per_second));
        let now = std::time::Instant::now();
        SenderSlots {
            kept: Kept::InMemory(std::sync::Mutex::new(vec![now; senders.len()])),
            senders,
            period,
        }
    }

    pub fn senders(&self) -> usize {
        self.senders.len()
    }

    /// The time between two messages of one sender, when limited.
    pub fn period(&self) -> Option<Duration> {
        self.period
    }

    /// Takes the next slot.
    pub async fn take(&self) -> Result<Slot, sea_orm::DbErr> {
        let Some(period) = self.period else {
            let first = self.senders[0].clone();
            return Ok(Slot {
                sender: first,
                wait: Duration::ZERO,
            });
        };
        match &self.kept {
            Kept::InMemory(next) => {
                let now = std::time::Instant::now();
                let mut next = next.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let (index, free_at) = next
                    .iter()
                    .copied()
                    .enumerate()
                    .min_by_key(|(_, at)| *at)
                    .expect("at least one sender");
                let slot = free_at.max(now);
                next[index] = slot + period;
                Ok(Slot {
                    sender: self.senders[index].clone(),
                    wait: slot - now,
                })
            }
            Kept::Shared(db) => self.take_shared(db, period).await,
        }
    }

    /// One statement: the sender whose budget frees soonest takes the slot
    /// after it (rows made on first use).
    async fn take_shared(
        &self,
        db: &DatabaseConnection,
        period: Duration,
    ) -> Result<Slot, sea_orm::DbErr> {
        let names: Vec<String> = self.senders.iter().map(budget_name).collect();
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO rate_budget (name, next_at) SELECT unnest($1::text[]), clock_timestamp() \
             ON CONFLICT (name) DO NOTHING",
            [names.clone().into()],
        ))
        .await?;
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "UPDATE rate_budget SET next_at = \
                 GREATEST(next_at, clock_timestamp()) + make_interval(secs => $2) \
                 WHERE name = (SELECT name FROM rate_budget WHERE name = ANY($1) \
                   ORDER BY next_at, name LIMIT 1 FOR UPDATE) \
                 RETURNING name, \
                 (EXTRACT(EPOCH FROM next_at - clock_timestamp()) - $2)::float8 AS wait",
                [names.clone().into(), period.as_secs_f64().into()],
            ))
            .await?;
        let Some(row) = row else {
            return Ok(Slot {
                sender: self.senders[0].clone(),
                wait: Duration::ZERO,
            });
        };
        let name: String = row.try_get("", "name")?;
        let wait: f64 = row.try_get("", "wait")?;
        let index = names.iter().position(|n| *n == name).unwrap_or(0);
        Ok(Slot {
            sender: self.senders[index].clone(),
            wait: Duration::from_secs_f64(wait.max(0.0)),
        })
    }
}

fn budget_name(sender: &Option<String>) -> String {
    format!("sms:{}", sender.as_deref().unwrap_or("service"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pool_shares_the_load_each_sender_at_its_rate() {
        let senders = vec![
            Some("+15145550001".to_owned()),
            Some("+15145550002".to_owned()),
        ];
        let slots = SenderSlots::in_memory(senders, 1.0);
        let taken: Vec<Slot> = [slots.take().await, slots.take().await, slots.take().await]
            .into_iter()
            .map(Result::unwrap)
            .collect();
        // The two numbers at once, then the first again a second later.
        assert_eq!(taken[0].sender.as_deref(), Some("+15145550001"));
        assert_eq!(taken[1].sender.as_deref(), Some("+15145550002"));
        assert_eq!(taken[2].sender.as_deref(), Some("+15145550001"));
        assert!(taken[0].wait < Duration::from_millis(100));
        assert!(taken[1].wait < Duration::from_millis(100));
        assert!(taken[2].wait > Duration::from_millis(800));
    }

    #[tokio::test]
    async fn no_rate_means_no_wait() {
        let slots = SenderSlots::in_memory(Vec::new(), 0.0);
        let slot = slots.take().await.unwrap();
        assert_eq!(
            slot,
            Slot {
                sender: None,
                wait: Duration::ZERO
            }
        );
    }
}
