//! What is kept of imports, and for how long. Row reports name residents
//! row by row, stored uploads are whole files of names and phone numbers:
//! Quebec's Law 25 asks to keep personal information no longer than it
//! serves. So row reports, leftover uploads and idempotency keys go after
//! `IMPORT_RETENTION_DAYS` (keys after one day at least, the promise made
//! to retrying clients); each run's summary (counts, no one's name) stays.
//! Undo snapshots do not wait for this: the import that makes one useless
//! drops it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::values::ImportStatus;
use entity::{import_report, import_run, import_upload, worker_lease};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set, TransactionTrait,
};
use uuid::Uuid;

use crate::service::claims::after;
use crate::service::log_internal;

#[derive(Clone, Copy, Debug)]
pub struct Retention {
    pub days: u32,
    /// How often one instance of the deployment makes a pass.
    pub interval: Duration,
}

/// What one pass removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    /// Chunks of per-row reports, up to 1,000 rows each.
    pub report_chunks: u64,
    pub uploads: u64,
    pub keys: u64,
}

/// Every instance runs one; a pass happens once per interval in the whole
/// deployment, by whichever instance takes the turn.
pub async fn worker(db: DatabaseConnection, retention: Retention) {
    let holder = Uuid::now_v7();
    loop {
        match take_turn(&db, "retention", holder, retention.interval).await {
            Ok(true) => match pass(&db, retention, Utc::now()).await {
                Ok(purged) if purged != Purged::default() => {
                    tracing::info!(?purged, "retention pass");
                }
                Ok(_) => {}
                Err(error) => log_internal(&error),
            },
            Ok(false) => {}
            Err(error) => log_internal(&error),
        }
        tokio::time::sleep(retention.interval.min(Duration::from_secs(60))).await;
    }
}

/// Takes the chore `name` for `interval` unless another holder's turn
/// still runs: the lease is also the schedule.
pub async fn take_turn(
    db: &DatabaseConnection,
    name: &str,
    holder: Uuid,
    interval: Duration,
) -> Result<bool, DbErr> {
    let now = Utc::now();
    let lease = worker_lease::ActiveModel {
        name: Set(name.to_owned()),
        holder: Set(holder),
        claimed_until: Set(after(now, interval)),
    };
    let when_lapsed = OnConflict::column(worker_lease::Column::Name)
        .update_columns([
            worker_lease::Column::Holder,
            worker_lease::Column::ClaimedUntil,
        ])
        .action_and_where(
            Expr::col((worker_lease::Entity, worker_lease::Column::ClaimedUntil)).lt(now),
        )
        .to_owned();
    let taken = worker_lease::Entity::insert(lease)
        .on_conflict(when_lapsed)
        .exec_without_returning(db)
        .await?;
    Ok(taken == 1)
}

/// Removes what has outlived its use at `now`, in one transaction.
pub async fn pass(
    db: &DatabaseConnection,
    retention: Retention,
    now: DateTime<Utc>,
) -> Result<Purged, DbErr> {
    let tx = db.begin().await?;
    let db = &tx;
    let cutoff = now - chrono::Duration::days(i64::from(retention.days));
    let key_cutoff = now - chrono::Duration::days(i64::from(Ord::max(retention.days, 1)));
    let old_runs = Query::select()
        .column(import_run::Column::Id)
        .from(import_run::Entity)
        .and_where(import_run::Column::CreatedAt.lt(cutoff))
        .and_where(import_run::Column::Status.is_in([ImportStatus::Finished, ImportStatus::Failed]))
        .to_owned();
    let report_chunks = import_report::Entity::delete_many()
        .filter(import_report::Column::ImportRunId.in_subquery(old_runs))
        .exec(db)
        .await?
        .rows_affected;
    let uploads = import_upload::Entity::delete_many()
        .filter(import_upload::Column::CreatedAt.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected;
    let keys = import_run::Entity::update_many()
        .col_expr(
            import_run::Column::IdempotencyKey,
            Expr::value(Option::<String>::None),
        )
        .filter(import_run::Column::IdempotencyKey.is_not_null())
        .filter(import_run::Column::CreatedAt.lt(key_cutoff))
        .exec(db)
        .await?
        .rows_affected;
    tx.commit().await?;
    Ok(Purged {
        report_chunks,
        uploads,
        keys,
    })
}
