//! The background worker that locates waiting points (`PENDING`, `FAILED`)
//! of every organization. Any instance runs it: a batch is claimed with a
//! lease (`claims`, bookkept in `geocode_work`), so instances never ask for
//! the same point at once and a dead instance's claim lapses; a point that
//! settles nothing is tried again after growing delays (`next_attempt_at`),
//! not every pass.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{geocode_work, service_point};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, QueryOrder, Select,
};
use uuid::Uuid;

use super::{Pace, Worker};
use crate::auth::OrgId;
use crate::domain::GeocodeStatus;
use crate::service::ServiceError;
use crate::service::geocoding::{Announce, Geocoding, geocode};
use crate::service::store::batch::insert_models;
use crate::service::store::claims::{self, WorkQueue};

#[derive(Clone, Copy, Debug)]
pub struct WorkerSettings {
    /// Between passes, and the first retry delay (doubled at each failure).
    pub interval: Duration,
    /// Points claimed a pass.
    pub batch: u64,
}

/// How long a claim holds: longer than a batch takes at the public 1/s.
const LEASE: Duration = Duration::from_secs(600);
/// The longest delay between two tries of one point.
const MAX_DELAY: Duration = Duration::from_secs(24 * 3600);

/// Every instance runs one: a pass, then the interval (at once again
/// after a full batch, so a backlog drains at the provider's pace).
pub struct Locating {
    pub geocoding: Arc<Geocoding>,
    pub settings: WorkerSettings,
}

impl Worker for Locating {
    const NAME: &'static str = "geocoding";

    fn rest(&self) -> Duration {
        self.settings.interval
    }

    async fn pass(&mut self, db: &DatabaseConnection) -> Result<Pace, ServiceError> {
        let tried = pass(db, &self.geocoding, self.settings).await?;
        Ok(if tried as u64 >= self.settings.batch {
            Pace::More
        } else {
            Pace::Rest
        })
    }
}

/// One pass: claims a batch, locates it, settles each point's schedule;
/// the number of points tried.
pub async fn pass(
    db: &DatabaseConnection,
    geocoding: &Geocoding,
    settings: WorkerSettings,
) -> Result<usize, ServiceError> {
    let claimed = claims::claim::<WaitingPoints>(db, settings.batch, LEASE).await?;
    let tried = claimed.len();
    let mut by_org: HashMap<OrgId, Vec<service_point::Model>> = HashMap::new();
    for point in claimed {
        by_org.entry(OrgId::owning(&point)).or_default().push(point);
    }
    for (org, points) in by_org {
        let ids: Vec<Uuid> = points.iter().map(|p| p.id).collect();
        let now = geocode(db, geocoding, org, points, Announce::NotFound).await?;
        let still_waiting: Vec<Uuid> = now
            .iter()
            .filter(|p| p.latitude.is_none() && GeocodeStatus::WAITING.contains(&p.geocode_status))
            .map(|p| p.id)
            .collect();
        let settled: Vec<Uuid> = ids
            .into_iter()
            .filter(|id| !still_waiting.contains(id))
            .collect();
        settle(db, &settled, &still_waiting, settings.interval).await?;
    }
    Ok(tried)
}

/// Waiting points no lease holds and whose time has come.
struct WaitingPoints;

impl WorkQueue for WaitingPoints {
    type Entity = service_point::Entity;
    const CLAIM_LOCK: i64 = crate::db::locks::GEOCODING_CLAIMS;

    fn due(now: DateTime<Utc>) -> Select<service_point::Entity> {
        let not_yet = Query::select()
            .column(geocode_work::Column::ServicePointId)
            .from(geocode_work::Entity)
            .cond_where(
                Condition::any()
                    .add(geocode_work::Column::ClaimedUntil.gt(now))
                    .add(geocode_work::Column::NextAttemptAt.gt(now)),
            )
            .take();
        service_point::Entity::find()
            .filter(service_point::Column::GeocodeStatus.is_in(GeocodeStatus::WAITING))
            .filter(service_point::Column::Latitude.is_null())
            .filter(service_point::Column::Id.not_in_subquery(not_yet))
            .order_by_asc(service_point::Column::Id)
    }

    async fn mark(
        tx: &DatabaseTransaction,
        points: &[service_point::Model],
        until: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let claims: Vec<geocode_work::Model> = points
            .iter()
            .map(|p| geocode_work::Model {
                service_point_id: p.id,
                attempts: 0,
                next_attempt_at: None,
                claimed_until: Some(until),
            })
            .collect();
        let keep_attempts = OnConflict::column(geocode_work::Column::ServicePointId)
            .update_column(geocode_work::Column::ClaimedUntil)
            .to_owned();
        insert_models::<geocode_work::Entity>(tx, &claims, Some(&keep_attempts)).await
    }
}

/// Points that got an answer leave the worker's books; the others wait
/// twice as long as last time before their next try.
async fn settle(
    db: &DatabaseConnection,
    settled: &[Uuid],
    waiting: &[Uuid],
    interval: Duration,
) -> Result<(), DbErr> {
    if !settled.is_empty() {
        geocode_work::Entity::delete_many()
            .filter(geocode_work::Column::ServicePointId.is_in(settled.iter().copied()))
            .exec(db)
            .await?;
    }
    // One statement per retry count (the delay depends on it), not per point.
    let mut by_attempts: HashMap<i32, Vec<Uuid>> = HashMap::new();
    for work in geocode_work::Entity::find()
        .filter(geocode_work::Column::ServicePointId.is_in(waiting.iter().copied()))
        .all(db)
        .await?
    {
        by_attempts
            .entry(work.attempts + 1)
            .or_default()
            .push(work.service_point_id);
    }
    let now = Utc::now();
    for (attempts, ids) in by_attempts {
        geocode_work::Entity::update_many()
            .col_expr(geocode_work::Column::Attempts, Expr::value(attempts))
            .col_expr(
                geocode_work::Column::NextAttemptAt,
                Expr::value(claims::next_attempt(now, interval, MAX_DELAY, attempts)),
            )
            .col_expr(
                geocode_work::Column::ClaimedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(geocode_work::Column::ServicePointId.is_in(ids))
            .exec(db)
            .await?;
    }
    Ok(())
}
