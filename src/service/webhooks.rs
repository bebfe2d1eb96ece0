//! Webhook endpoints, and the outbox. [`enqueue`] writes an event's
//! deliveries in the caller's transaction, so an event rolled back
//! announces nothing; [`worker`] (every instance) claims due deliveries
//! with a lease, sends them, and retries failures with growing delays.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::values::{DeliveryStatus, WebhookEvent};
use entity::{webhook_delivery, webhook_endpoint};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbBackend, DbErr, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    Select, Set,
};
use serde_json::{Value, json};
use tokio::task::JoinSet;
use uuid::Uuid;

use super::store::claims::{self, WorkQueue};
use super::{
    LimitReached, Page, PageRequest, ServiceError, fetch_page_by, log_internal, owned,
    require_owned,
};
use crate::auth::OrgId;
use crate::webhook::{self, Sender};

pub struct EndpointInput {
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub description: Option<String>,
}

#[derive(Default)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub events: Option<Vec<WebhookEvent>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// Checks a URL's form and, unless private targets are allowed, that it
/// leads to public addresses only.
async fn checked_url(text: &str, allow_private: bool) -> Result<String, ServiceError> {
    let url = webhook::parse_url(text, allow_private).map_err(ServiceError::WebhookUrl)?;
    webhook::check_target(&url, allow_private)
        .await
        .map_err(ServiceError::WebhookUrl)?;
    Ok(url.to_string())
}

fn checked_events(events: Vec<WebhookEvent>) -> Result<Value, ServiceError> {
    if events.is_empty() {
        return Err(ServiceError::NoWebhookEvents);
    }
    let mut events = events;
    events.sort_by_key(|e| serde_json::to_string(e).unwrap_or_default());
    events.dedup();
    Ok(serde_json::to_value(events)?)
}

fn checked_description(description: Option<String>) -> Option<String> {
    description
        .map(|d| d.trim().chars().take(400).collect::<String>())
        .filter(|d| !d.is_empty())
}

/// Creates an endpoint: it and its secret, shown this once. An
/// organization has `MAX_WEBHOOK_ENDPOINTS` at most: each is a receiver
/// its deliveries wait on.
pub async fn create_endpoint(
    db: &DatabaseConnection,
    org: OrgId,
    input: EndpointInput,
    allow_private: bool,
) -> Result<(webhook_endpoint::Model, String), ServiceError> {
    let max = crate::config::MAX_WEBHOOK_ENDPOINTS;
    if super::count(db, owned::<webhook_endpoint::Entity>(org)).await? >= max as u64 {
        return Err(ServiceError::Limit(LimitReached::WebhookEndpoints { max }));
    }
    let events = checked_events(input.events)?;
    let url = checked_url(&input.url, allow_private).await?;
    let secret = webhook::new_secret();
    let endpoint = webhook_endpoint::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.uuid()),
        url: Set(url),
        events: Set(events),
        description: Set(checked_description(input.description)),
        enabled: Set(true),
        secret: Set(secret.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok((endpoint, secret))
}

pub async fn update_endpoint(
    db: &DatabaseConnection,
    org: OrgId,
    id: Uuid,
    change: EndpointChange,
    allow_private: bool,
) -> Result<webhook_endpoint::Model, ServiceError> {
    let current = require_owned::<webhook_endpoint::Entity>(db, org, id).await?;
    let mut endpoint = current.into_active_model();
    if let Some(url) = change.url {
        endpoint.url = Set(checked_url(&url, allow_private).await?);
    }
    if let Some(events) = change.events {
        endpoint.events = Set(checked_events(events)?);
    }
    if let Some(description) = change.description {
        endpoint.description = Set(checked_description(Some(description)));
    }
    if let Some(enabled) = change.enabled {
        endpoint.enabled = Set(enabled);
    }
    Ok(endpoint.update(db).await?)
}

/// Deletes an endpoint; its deliveries, pending or not, go with it.
pub async fn delete_endpoint(
    db: &DatabaseConnection,
    org: OrgId,
    id: Uuid,
) -> Result<(), ServiceError> {
    super::delete_owned::<webhook_endpoint::Entity>(db, org, id).await
}

/// A new secret; deliveries signed from now on use it only.
pub async fn rotate_secret(
    db: &DatabaseConnection,
    org: OrgId,
    id: Uuid,
) -> Result<(webhook_endpoint::Model, String), ServiceError> {
    let current = require_owned::<webhook_endpoint::Entity>(db, org, id).await?;
    let secret = webhook::new_secret();
    let mut endpoint = current.into_active_model();
    endpoint.secret = Set(secret.clone());
    Ok((endpoint.update(db).await?, secret))
}

pub async fn list_endpoints(
    db: &impl ConnectionTrait,
    org: OrgId,
) -> Result<Vec<webhook_endpoint::Model>, ServiceError> {
    Ok(owned::<webhook_endpoint::Entity>(org)
        .order_by_asc(webhook_endpoint::Column::Id)
        .all(db)
        .await?)
}

/// A `test` delivery to this endpoint, whatever it subscribed to; an
/// organization queues `per_minute` of them at most.
pub async fn send_test(
    db: &DatabaseConnection,
    org: OrgId,
    id: Uuid,
    per_minute: usize,
) -> Result<webhook_delivery::Model, ServiceError> {
    let endpoint = require_owned::<webhook_endpoint::Entity>(db, org, id).await?;
    let minute_ago = Utc::now() - chrono::Duration::minutes(1);
    let recent = owned::<webhook_delivery::Entity>(org)
        .filter(webhook_delivery::Column::Event.eq(WebhookEvent::Test))
        .filter(webhook_delivery::Column::CreatedAt.gt(minute_ago));
    if super::count(db, recent).await? >= per_minute as u64 {
        let max = per_minute;
        return Err(ServiceError::Limit(LimitReached::TestSendsPerMinute {
            max,
        }));
    }
    let data = json!({"endpointId": crate::domain::global_id::encode(
        crate::domain::global_id::Kind::WebhookEndpoint,
        endpoint.id,
    )});
    let delivery = delivery(&endpoint, WebhookEvent::Test, &data, Utc::now())
        .insert(db)
        .await?;
    wake_workers(db).await?;
    Ok(delivery)
}

/// An endpoint's deliveries, newest first, with one of `statuses` (any
/// when empty).
fn deliveries_filter(
    org: OrgId,
    endpoint: Uuid,
    statuses: &[DeliveryStatus],
) -> Select<webhook_delivery::Entity> {
    let select = owned::<webhook_delivery::Entity>(org)
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint));
    if statuses.is_empty() {
        select
    } else {
        select.filter(webhook_delivery::Column::Status.is_in(statuses.iter().copied()))
    }
}

pub async fn deliveries(
    db: &impl ConnectionTrait,
    org: OrgId,
    endpoint: Uuid,
    statuses: &[DeliveryStatus],
    page: PageRequest,
) -> Result<Page<webhook_delivery::Model>, ServiceError> {
    let select = deliveries_filter(org, endpoint, statuses);
    Ok(fetch_page_by(db, select, webhook_delivery::Column::Id, Order::Desc, page).await?)
}

pub async fn count_deliveries(
    db: &impl ConnectionTrait,
    org: OrgId,
    endpoint: Uuid,
    statuses: &[DeliveryStatus],
) -> Result<u64, ServiceError> {
    super::count(db, deliveries_filter(org, endpoint, statuses)).await
}

/// The event's body: small, ids and counts, never anyone's name or phone.
fn delivery(
    endpoint: &webhook_endpoint::Model,
    event: WebhookEvent,
    data: &Value,
    now: DateTime<Utc>,
) -> webhook_delivery::ActiveModel {
    let payload = json!({"type": event, "timestamp": now.to_rfc3339(), "data": data});
    webhook_delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(endpoint.organization_id),
        endpoint_id: Set(endpoint.id),
        event: Set(event),
        payload: Set(payload.to_string()),
        status: Set(DeliveryStatus::Pending),
        attempts: Set(0),
        last_status_code: Set(None),
        last_error: Set(None),
        next_attempt_at: Set(Some(now)),
        claimed_until: Set(None),
        created_at: Set(now),
        delivered_at: Set(None),
    }
}

/// Announces `event` to the organization's enabled endpoints that take
/// it, in the caller's transaction.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    org: OrgId,
    event: WebhookEvent,
    data: Value,
) -> Result<(), DbErr> {
    let endpoints = owned::<webhook_endpoint::Entity>(org)
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .all(db)
        .await?;
    let now = Utc::now();
    let deliveries: Vec<webhook_delivery::ActiveModel> = endpoints
        .iter()
        .filter(|endpoint| takes(endpoint, event))
        .map(|endpoint| delivery(endpoint, event, &data, now))
        .collect();
    if deliveries.is_empty() {
        return Ok(());
    }
    webhook_delivery::Entity::insert_many(deliveries)
        .exec_without_returning(db)
        .await?;
    wake_workers(db).await
}

/// PostgreSQL's channel for "deliveries are due".
const CHANNEL: &str = "flokon_webhooks";

/// Tells every instance's worker that deliveries are due. PostgreSQL
/// delivers the notice when the caller's transaction commits, never for
/// one rolled back; SQLite's single instance polls.
async fn wake_workers(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(&format!("SELECT pg_notify('{CHANNEL}', '')"))
            .await?;
    }
    Ok(())
}

/// What a worker waits on between passes: the interval, or on PostgreSQL
/// a notice from [`wake_workers`], whichever comes first.
struct Wake(Option<sea_orm::sqlx::postgres::PgListener>);

impl Wake {
    async fn new(db: &DatabaseConnection) -> Wake {
        if db.get_database_backend() != DbBackend::Postgres {
            return Wake(None);
        }
        let pool = db.get_postgres_connection_pool();
        let listener = async {
            let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(pool).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sea_orm::sqlx::Error>(listener)
        };
        match listener.await {
            Ok(listener) => Wake(Some(listener)),
            Err(error) => {
                // Polling still delivers, only later.
                log_internal(&error);
                Wake(None)
            }
        }
    }

    async fn wait(&mut self, interval: Duration) {
        let Some(listener) = &mut self.0 else {
            return tokio::time::sleep(interval).await;
        };
        if let Ok(Err(error)) = tokio::time::timeout(interval, listener.recv()).await {
            // The connection is being re-established: no busy loop.
            tracing::debug!(%error, "webhook listener");
            tokio::time::sleep(interval).await;
        }
    }
}

fn takes(endpoint: &webhook_endpoint::Model, event: WebhookEvent) -> bool {
    serde_json::from_value::<Vec<WebhookEvent>>(endpoint.events.clone())
        .is_ok_and(|events| events.contains(&event))
}

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
        if items.is_empty() {
            return Ok(());
        }
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
pub async fn worker(db: DatabaseConnection, sender: Arc<Sender>, settings: DeliverySettings) {
    let mut wake = Wake::new(&db).await;
    let mut sends = JoinSet::new();
    loop {
        let free = settings.batch.saturating_sub(sends.len() as u64);
        if free > 0
            && let Err(error) = claim_and_send(&db, &sender, &settings, free, &mut sends).await
        {
            log_internal(&error);
        }
        tokio::select! {
            Some(joined) = sends.join_next(), if !sends.is_empty() => log_failed(joined),
            () = wake.wait(settings.interval) => {}
        }
    }
}

/// Sends the due deliveries once each and waits for them: how many were
/// tried (the benches' and tests' single pass).
pub async fn pass(
    db: &DatabaseConnection,
    sender: &Arc<Sender>,
    settings: &DeliverySettings,
) -> Result<usize, DbErr> {
    let mut sends = JoinSet::new();
    let tried = claim_and_send(db, sender, settings, settings.batch, &mut sends).await?;
    while let Some(joined) = sends.join_next().await {
        log_failed(joined);
    }
    Ok(tried)
}

type Sends = JoinSet<Result<(), DbErr>>;

/// Claims up to `most` due deliveries and starts sending each in `sends`:
/// how many it claimed.
async fn claim_and_send(
    db: &DatabaseConnection,
    sender: &Arc<Sender>,
    settings: &DeliverySettings,
    most: u64,
    sends: &mut Sends,
) -> Result<usize, DbErr> {
    let due = claims::claim::<DueDeliveries>(db, most, DELIVERY_LEASE).await?;
    let claimed = due.len();
    for delivery in due {
        let (db, sender, delays) = (db.clone(), sender.clone(), settings.retry_delays.clone());
        sends.spawn(async move { deliver(&db, &sender, delivery, &delays).await });
    }
    Ok(claimed)
}

/// A send that ended in a database error is logged (its lease lapses and
/// it is tried again).
fn log_failed(joined: Result<Result<(), DbErr>, tokio::task::JoinError>) {
    if let Ok(Err(error)) = joined {
        log_internal(&error);
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
