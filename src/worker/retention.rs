//! What is kept of imports, and for how long. Row reports name residents
//! row by row, stored uploads are whole files of names and phone numbers:
//! Quebec's Law 25 asks to keep personal information no longer than it
//! serves. So row reports, leftover uploads and idempotency keys go after
//! `IMPORT_RETENTION_DAYS` (keys after one day at least, the promise made
//! to retrying clients); each run's summary (counts, no one's name) stays.
//! Undo snapshots do not wait for this: the import that makes one useless
//! drops it, and `UNDO_WINDOW` ends the last one. Delivered or failed
//! webhook deliveries go with the reports, and so do the bodies and phone
//! numbers of alert messages that have left (their statuses, and so each
//! alert's counts, stay).
//!
//! Purges run in small batches, each statement its own short transaction,
//! so that writers never wait long behind them (on SQLite every writer
//! waits for the one before). On SQLite deleted rows are overwritten
//! (`secure_delete`, see `db`), and the WAL, which still holds the pages as
//! they were, is checkpointed and truncated after a pass.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::values::{DeliveryStatus, ImportStatus, MessageStatus};
use entity::{
    alert_message, import_deletion, import_impact, import_report, import_run, import_snapshot,
    import_source, import_upload, inbound_message, webhook_delivery,
};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
};

use super::{Pace, Share, Worker};
use crate::service::ServiceError;

#[derive(Clone, Copy, Debug)]
pub struct Retention {
    pub days: u32,
    /// How long an undo snapshot is kept when no later import drops it.
    pub undo_window: Duration,
    /// How often one instance of the deployment makes a pass.
    pub interval: Duration,
}

/// What one pass removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    /// Chunks of per-row reports, up to 1,000 rows each.
    pub report_chunks: u64,
    /// Chunks of the lists of what runs deleted.
    pub deletion_chunks: u64,
    /// Runs' alert impacts.
    pub impacts: u64,
    pub uploads: u64,
    /// Files kept for their rows in error (`errors.xlsx`).
    pub sources: u64,
    pub keys: u64,
    pub snapshots: u64,
    pub deliveries: u64,
    /// Alert messages whose body and phone were erased.
    pub messages: u64,
    /// Residents' replies deleted.
    pub replies: u64,
}

/// Every instance runs one; a pass happens once per interval in the whole
/// deployment, by whichever instance takes the turn.
impl Worker for Retention {
    const NAME: &'static str = "retention";

    fn share(&self) -> Share {
        Share::Turns {
            every: self.interval,
        }
    }

    /// How often an instance asks for the turn.
    fn rest(&self) -> Duration {
        self.interval.min(Duration::from_secs(60))
    }

    async fn pass(&mut self, db: &DatabaseConnection) -> Result<Pace, ServiceError> {
        let purged = pass(db, *self, Utc::now()).await?;
        if purged != Purged::default() {
            tracing::info!(?purged, "retention pass");
        }
        Ok(Pace::Rest)
    }
}

/// Rows one purge statement removes: small enough that a writer waiting
/// behind it waits milliseconds. Uploads and snapshots are whole files.
const BATCH: u64 = 500;
const FILE_BATCH: u64 = 10;

/// Removes what has outlived its use at `now`, a batch at a time.
pub async fn pass(
    db: &DatabaseConnection,
    retention: Retention,
    now: DateTime<Utc>,
) -> Result<Purged, DbErr> {
    let cutoff = now - chrono::Duration::days(i64::from(retention.days));
    let key_cutoff = now - chrono::Duration::days(i64::from(Ord::max(retention.days, 1)));
    let undo_cutoff = now - chrono::Duration::from_std(retention.undo_window).unwrap_or_default();
    let old_runs = || {
        Query::select()
            .column(import_run::Column::Id)
            .from(import_run::Entity)
            .and_where(import_run::Column::CreatedAt.lt(cutoff))
            .and_where(
                import_run::Column::Status.is_in([ImportStatus::Finished, ImportStatus::Failed]),
            )
            .to_owned()
    };
    let report_chunks =
        delete_runs_chunks(db, import_report::Column::ImportRunId, &old_runs()).await?;
    let impacts = delete_in_batches(
        db,
        import_impact::Column::ImportRunId,
        import_impact::Column::ImportRunId.in_subquery(old_runs()),
        FILE_BATCH,
    )
    .await?;
    let deletion_chunks =
        delete_runs_chunks(db, import_deletion::Column::ImportRunId, &old_runs()).await?;
    let sources = delete_in_batches(
        db,
        import_source::Column::ImportRunId,
        import_source::Column::CreatedAt.lt(cutoff),
        FILE_BATCH,
    )
    .await?;
    let uploads = delete_in_batches(
        db,
        import_upload::Column::ImportRunId,
        import_upload::Column::CreatedAt.lt(cutoff),
        FILE_BATCH,
    )
    .await?;
    let snapshots = delete_in_batches(
        db,
        import_snapshot::Column::ImportRunId,
        import_snapshot::Column::CreatedAt.lt(undo_cutoff),
        FILE_BATCH,
    )
    .await?;
    let deliveries = delete_in_batches(
        db,
        webhook_delivery::Column::Id,
        webhook_delivery::Column::CreatedAt.lt(cutoff).and(
            webhook_delivery::Column::Status
                .is_in([DeliveryStatus::Succeeded, DeliveryStatus::Failed]),
        ),
        BATCH,
    )
    .await?;
    let keys = in_batches(BATCH, |batch| {
        let ids = ids_of(
            import_run::Column::Id,
            import_run::Column::IdempotencyKey
                .is_not_null()
                .and(import_run::Column::CreatedAt.lt(key_cutoff)),
            batch,
        );
        import_run::Entity::update_many()
            .col_expr(
                import_run::Column::IdempotencyKey,
                Expr::value(Option::<String>::None),
            )
            .filter(import_run::Column::Id.in_subquery(ids))
            .exec(db)
    })
    .await?;
    let messages = in_batches(BATCH, |batch| {
        let ids = ids_of(
            alert_message::Column::Id,
            alert_message::Column::CreatedAt
                .lt(cutoff)
                .and(alert_message::Column::ToPhone.is_not_null())
                .and(alert_message::Column::Status.is_not_in(MessageStatus::WAITING)),
            batch,
        );
        alert_message::Entity::update_many()
            .col_expr(alert_message::Column::Body, Expr::value(""))
            .col_expr(
                alert_message::Column::ToPhone,
                Expr::value(Option::<String>::None),
            )
            .filter(alert_message::Column::Id.in_subquery(ids))
            .exec(db)
    })
    .await?;
    let replies = delete_in_batches(
        db,
        inbound_message::Column::Id,
        inbound_message::Column::ReceivedAt.lt(cutoff),
        BATCH,
    )
    .await?;
    let purged = Purged {
        report_chunks,
        deletion_chunks,
        impacts,
        uploads,
        sources,
        keys,
        snapshots,
        deliveries,
        messages,
        replies,
    };
    if purged != Purged::default() {
        forget_deleted_pages(db).await?;
    }
    Ok(purged)
}

/// Up to `batch` values of `id` of the rows of its table that match.
fn ids_of<C: ColumnTrait>(id: C, matching: SimpleExpr, batch: u64) -> SelectStatement {
    Query::select()
        .column(id)
        .from(id.entity_name())
        .and_where(matching)
        .limit(batch)
        .to_owned()
}

/// Deletes the rows that match, `batch` at a time (`id` a one-column key).
async fn delete_in_batches<C>(
    db: &DatabaseConnection,
    id: C,
    matching: SimpleExpr,
    batch: u64,
) -> Result<u64, DbErr>
where
    C: ColumnTrait,
    C::EntityName: EntityTrait<Column = C>,
{
    in_batches(batch, |batch| {
        <C::EntityName as EntityTrait>::delete_many()
            .filter(id.in_subquery(ids_of(id, matching.clone(), batch)))
            .exec(db)
    })
    .await
}

/// Deletes the chunks (report rows, deletions) of `runs`, a few runs'
/// chunks at a time: a run holds up to 100 of them.
async fn delete_runs_chunks<C>(
    db: &DatabaseConnection,
    run: C,
    runs: &SelectStatement,
) -> Result<u64, DbErr>
where
    C: ColumnTrait,
    C::EntityName: EntityTrait<Column = C>,
{
    in_batches(FILE_BATCH, |batch| {
        let of_runs = Query::select()
            .distinct()
            .column(run)
            .from(run.entity_name())
            .and_where(run.in_subquery(runs.clone()))
            .limit(batch)
            .to_owned();
        <C::EntityName as EntityTrait>::delete_many()
            .filter(run.in_subquery(of_runs))
            .exec(db)
    })
    .await
}

/// Runs `purge(batch)` until it removes less than a batch: how many rows
/// it removed in all.
async fn in_batches<F, Fut, R>(batch: u64, mut purge: F) -> Result<u64, DbErr>
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = Result<R, DbErr>>,
    R: RowsAffected,
{
    let mut total = 0;
    loop {
        let removed = purge(batch).await?.rows_affected();
        total += removed;
        if removed < batch {
            return Ok(total);
        }
    }
}

/// A delete's or an update's count of rows.
trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for sea_orm::DeleteResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

impl RowsAffected for sea_orm::UpdateResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

/// SQLite: copies the WAL into the database (where `secure_delete` has
/// zeroed what was deleted) and truncates it, so that no page as it was
/// before a purge stays on disk. PostgreSQL's own vacuum reclaims its
/// pages.
pub async fn forget_deleted_pages(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await?;
    }
    Ok(())
}
