//! Webhook deliveries: claims due deliveries (fairly: in turns across
//! organizations, then endpoints, at most [`PER_ENDPOINT`] in flight to one
//! endpoint in the whole deployment), sends them, and retries failures
//! with growing delays. The outbox they come from is
//! `service::webhooks::enqueue`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::values::DeliveryStatus;
use entity::{webhook_delivery, webhook_endpoint};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, Select,
};

use super::{Pace, Sending, Worker};
use crate::service::store::claims::{self, WorkQueue};
use crate::service::{ServiceError, webhooks};
use crate::webhook::Sender;

/// How the delivery worker runs.
#[derive(Clone, Debug)]
pub struct DeliverySettings {
    pub interval: Duration,
    /// The waits before each retry; past the last, the delivery fails.
    pub retry_delays: Vec<Duration>,
    /// Deliveries one instance sends at once.
    pub batch: u64,
}

/// A claim outlives the 10 s request, with room to spare.
const DELIVERY_LEASE: Duration = Duration::from_secs(60);

/// Deliveries in flight to one endpoint, in the whole deployment: a slow
/// or dead receiver holds this many sends, never everyone's.
pub const PER_ENDPOINT: i64 = 2;

/// Candidates one claim ranks among, at most.
const CLAIM_WINDOW: u64 = 64;

/// Pending deliveries whose time has come, to enabled endpoints with room
/// (fewer than [`PER_ENDPOINT`] in flight), that no lease holds; taken in
/// turns across organizations (each one's oldest first), then across
/// endpoints, so that one organization's backlog never makes another's
/// delivery wait.
struct DueDeliveries;

impl WorkQueue for DueDeliveries {
    type Entity = webhook_delivery::Entity;
    const CLAIM_LOCK: i64 = crate::db::locks::WEBHOOK_CLAIMS;

    fn due(now: DateTime<Utc>) -> Select<webhook_delivery::Entity> {
        use sea_orm::sea_query::{Alias, WindowStatement};
        use webhook_delivery::Column;
        let enabled = Query::select()
            .column(webhook_endpoint::Column::Id)
            .from(webhook_endpoint::Entity)
            .and_where(webhook_endpoint::Column::Enabled.eq(true))
            .take();
        let turn = |partition: Column| {
            WindowStatement::partition_by(partition)
                .order_by(Column::NextAttemptAt, Order::Asc)
                .order_by(Column::Id, Order::Asc)
                .take()
        };
        let ranked = Query::select()
            .column(Column::Id)
            .column(Column::EndpointId)
            .column(Column::NextAttemptAt)
            .expr_window_as(
                Expr::cust("ROW_NUMBER()"),
                turn(Column::EndpointId),
                Alias::new("endpoint_turn"),
            )
            .expr_window_as(
                Expr::cust("ROW_NUMBER()"),
                turn(Column::OrganizationId),
                Alias::new("organization_turn"),
            )
            .from(webhook_delivery::Entity)
            .and_where(Column::Status.eq(DeliveryStatus::Pending))
            .and_where(Column::NextAttemptAt.lte(now))
            .cond_where(
                Condition::any()
                    .add(Column::ClaimedUntil.is_null())
                    .add(Column::ClaimedUntil.lt(now)),
            )
            .and_where(Column::EndpointId.in_subquery(enabled))
            .take();
        // Sends to the same endpoint in flight now, anywhere: its turns
        // start after them.
        let in_flight = Query::select()
            .expr(Expr::col((Alias::new("in_flight"), Column::Id)).count())
            .from_as(webhook_delivery::Entity, Alias::new("in_flight"))
            .and_where(
                Expr::col((Alias::new("in_flight"), Column::EndpointId))
                    .equals((Alias::new("ranked"), Column::EndpointId)),
            )
            .and_where(
                Expr::col((Alias::new("in_flight"), Column::Status))
                    .eq(sea_orm::Value::from(DeliveryStatus::Pending)),
            )
            .and_where(Expr::col((Alias::new("in_flight"), Column::ClaimedUntil)).gt(now))
            .take();
        let picked = Query::select()
            .column(Alias::new("id"))
            .from_subquery(ranked, Alias::new("ranked"))
            .and_where(
                Expr::col(Alias::new("endpoint_turn"))
                    .add(Expr::SubQuery(None, Box::new(in_flight.into())))
                    .lte(PER_ENDPOINT),
            )
            .order_by(Alias::new("organization_turn"), Order::Asc)
            .order_by(Alias::new("next_attempt_at"), Order::Asc)
            .limit(CLAIM_WINDOW)
            .take();
        webhook_delivery::Entity::find().filter(Column::Id.in_subquery(picked))
    }

    async fn mark(
        tx: &DatabaseTransaction,
        items: &[webhook_delivery::Model],
        until: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::ClaimedUntil, Expr::value(until))
            .filter(webhook_delivery::Column::Id.is_in(items.iter().map(|d| d.id)))
            .exec(tx)
            .await?;
        Ok(())
    }
}

/// Every instance runs one. Sends run side by side, up to `batch`; as soon
/// as one ends (or a notice or the interval comes) the free places are
/// claimed again, so a receiver that never answers holds its own
/// deliveries' places until its timeout, and no one else's turn.
pub struct Deliveries {
    sender: Arc<Sender>,
    settings: DeliverySettings,
    sends: Sending,
}

impl Deliveries {
    pub fn new(sender: Arc<Sender>, settings: DeliverySettings) -> Deliveries {
        Deliveries {
            sender,
            sends: Sending::new(webhooks::CHANNEL, settings.batch as usize),
            settings,
        }
    }
}

impl Worker for Deliveries {
    const NAME: &'static str = "webhook deliveries";

    fn rest(&self) -> Duration {
        self.settings.interval
    }

    async fn pass(&mut self, db: &DatabaseConnection) -> Result<Pace, ServiceError> {
        // Listening before the first claim: a notice sent after it wakes us.
        self.sends.notices.listen(db).await;
        let free = self.sends.in_flight.free() as u64;
        if free == 0 {
            return Ok(Pace::Rest);
        }
        let due = claims::claim::<DueDeliveries>(db, free, DELIVERY_LEASE).await?;
        for delivery in due {
            let (db, sender) = (db.clone(), self.sender.clone());
            let delays = self.settings.retry_delays.clone();
            self.sends
                .in_flight
                .start(async move { Ok(deliver(&db, &sender, delivery, &delays).await?) });
        }
        Ok(Pace::Rest)
    }

    async fn idle(&mut self, rest: Duration) {
        self.sends.idle(rest).await;
    }

    async fn drain(&mut self) {
        self.sends.in_flight.drain().await;
    }
}

async fn deliver(
    db: &DatabaseConnection,
    sender: &Sender,
    delivery: webhook_delivery::Model,
    delays: &[Duration],
) -> Result<(), DbErr> {
    // Read now: the URL and secret as they are (a rotation applies at once).
    let Some(endpoint) = webhook_endpoint::Entity::find_by_id(delivery.endpoint_id)
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let attempt = sender
        .send(
            &endpoint.url,
            &endpoint.secret,
            &format!("msg_{}", delivery.id.simple()),
            &delivery.payload,
        )
        .await;
    let now = Utc::now();
    let attempts = delivery.attempts + 1;
    let (status, next) = if attempt.succeeded() {
        (DeliveryStatus::Succeeded, None)
    } else {
        match delays.get(delivery.attempts as usize) {
            Some(delay) => (DeliveryStatus::Pending, Some(claims::after(now, *delay))),
            None => (DeliveryStatus::Failed, None),
        }
    };
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, Expr::value(status))
        .col_expr(webhook_delivery::Column::Attempts, Expr::value(attempts))
        .col_expr(
            webhook_delivery::Column::LastStatusCode,
            Expr::value(attempt.status.map(i32::from)),
        )
        .col_expr(
            webhook_delivery::Column::LastError,
            Expr::value(attempt.error),
        )
        .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(next))
        .col_expr(
            webhook_delivery::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            webhook_delivery::Column::DeliveredAt,
            Expr::value((status == DeliveryStatus::Succeeded).then_some(now)),
        )
        .filter(webhook_delivery::Column::Id.eq(delivery.id))
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending))
        .exec(db)
        .await?;
    Ok(())
}
