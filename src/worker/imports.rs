//! Queued imports: settles runs whose executor died (their lease ran out:
//! `FAILED`, nothing committed), and runs queued ones, `IMPORT_WORKERS` at
//! once on each instance, woken at once when this instance queues one or a
//! run of its own ends, and every second otherwise. What a run does is
//! `service::imports`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::import_run;
use entity::values::ImportStatus;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use super::{InFlight, Pace, Worker};
use crate::service::ServiceError;
use crate::service::imports::{Importer, fail, run_queued};
use crate::service::store::claims::{self, WorkQueue};

pub struct QueuedImports {
    importer: Arc<Importer>,
    runs: InFlight,
}

impl QueuedImports {
    /// `most`: runs this instance executes at once.
    pub fn new(importer: Arc<Importer>, most: usize) -> QueuedImports {
        QueuedImports {
            importer,
            runs: InFlight::new(most),
        }
    }
}

impl Worker for QueuedImports {
    const NAME: &'static str = "queued imports";

    fn rest(&self) -> Duration {
        Duration::from_secs(1)
    }

    async fn pass(&mut self, db: &DatabaseConnection) -> Result<Pace, ServiceError> {
        settle_dead_runs(db).await?;
        let free = self.runs.free() as u64;
        if free == 0 {
            return Ok(Pace::Rest);
        }
        for run in claims::claim::<QueuedRuns>(db, free, self.importer.lease).await? {
            let (db, importer) = (db.clone(), self.importer.clone());
            self.runs
                .start(async move { run_queued(&db, &importer, run).await });
        }
        Ok(Pace::Rest)
    }

    async fn idle(&mut self, rest: Duration) {
        tokio::select! {
            () = self.runs.one_ended() => {}
            () = self.importer.queued() => {}
            () = tokio::time::sleep(rest) => {}
        }
    }

    async fn drain(&mut self) {
        self.runs.drain().await;
    }
}

/// Runs whose lease ran out (their instance died) are declared `FAILED`.
/// A queued run's `claimed_until` is when it may be tried again, not a
/// lease: only running ones run out. Read first: an idle pass writes
/// nothing (SQLite has one writer).
async fn settle_dead_runs(db: &DatabaseConnection) -> Result<(), DbErr> {
    let expired = || {
        Condition::all()
            .add(import_run::Column::Status.eq(ImportStatus::Running))
            .add(import_run::Column::ClaimedUntil.lt(Utc::now()))
    };
    let dead: Vec<Uuid> = import_run::Entity::find()
        .select_only()
        .column(import_run::Column::Id)
        .filter(expired())
        .into_tuple()
        .all(db)
        .await?;
    if !dead.is_empty() {
        // Still expired when written: a late renewal keeps its run.
        let which = expired().add(import_run::Column::Id.is_in(dead));
        let interrupted = fail(db, which).await?;
        tracing::warn!(
            runs = interrupted,
            "imports interrupted: their lease ran out"
        );
    }
    Ok(())
}

/// Queued runs no worker holds, oldest first.
struct QueuedRuns;

impl WorkQueue for QueuedRuns {
    type Entity = import_run::Entity;
    const CLAIM_LOCK: i64 = crate::db::locks::IMPORT_CLAIMS;

    fn due(now: DateTime<Utc>) -> Select<import_run::Entity> {
        import_run::Entity::find()
            .filter(import_run::Column::Status.eq(ImportStatus::Queued))
            .filter(
                Condition::any()
                    .add(import_run::Column::ClaimedUntil.is_null())
                    .add(import_run::Column::ClaimedUntil.lt(now)),
            )
            .order_by_asc(import_run::Column::CreatedAt)
    }

    async fn mark(
        tx: &DatabaseTransaction,
        runs: &[import_run::Model],
        until: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let ids: Vec<Uuid> = runs.iter().map(|r| r.id).collect();
        import_run::Entity::update_many()
            .col_expr(
                import_run::Column::Status,
                Expr::value(ImportStatus::Running),
            )
            .col_expr(import_run::Column::ClaimedUntil, Expr::value(until))
            .filter(import_run::Column::Id.is_in(ids))
            .exec(tx)
            .await?;
        Ok(())
    }
}
