//! Webhook endpoints, and the outbox. [`enqueue`] writes an event's
//! deliveries in the caller's transaction, so an event rolled back
//! announces nothing; [`worker`] (every instance) claims due deliveries
//! with a lease, sends them, and retries failures with growing delays.

use chrono::{DateTime, Utc};
use entity::values::{DeliveryStatus, WebhookEvent};
use entity::{webhook_delivery, webhook_endpoint};
use sea_orm::sea_query::Order;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, Select, Set,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    LimitReached, Page, PageRequest, Reader, ServiceError, fetch_page_by, owned, require_owned,
};
use crate::auth::OrgId;
use crate::webhook::{self};

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
    super::store::claims::wake(db, CHANNEL).await?;
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
    db: &impl Reader,
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
    super::store::claims::wake(db, CHANNEL).await
}

/// PostgreSQL's channel for "deliveries are due".
pub const CHANNEL: &str = "flokon_webhooks";

fn takes(endpoint: &webhook_endpoint::Model, event: WebhookEvent) -> bool {
    serde_json::from_value::<Vec<WebhookEvent>>(endpoint.events.clone())
        .is_ok_and(|events| events.contains(&event))
}
