//! The webhook part of the schema: endpoints, their deliveries, and the
//! mutations that manage them. The secret leaves only in
//! `CreatedWebhookEndpoint`, at creation and rotation.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{webhook_delivery, webhook_endpoint};

use super::connection::{Connection, MissingData, listed_by_id, page_request, wants_total};
use super::id::{Kind, encode};
use super::{tenant, writer, writer_of};
use crate::error::ApiError;
use crate::service::webhooks::{self as service, EndpointChange, EndpointInput};

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::values::WebhookEvent")]
pub enum WebhookEvent {
    /// An import ran to its end (committed or not): run id, mode, counts.
    ImportFinished,
    /// An import was interrupted: nothing committed.
    ImportFailed,
    /// A sector went into alert: its id, name and recipient count.
    SectorAlertStarted,
    SectorAlertEnded,
    /// Addresses the geocoder could not find: their count.
    GeocodingNeedsAttention,
    /// Sent by `sendTestWebhook`.
    Test,
    /// An alert's last message left our hands (sent, failed, skipped or
    /// canceled): its counts.
    AlertDispatchFinished,
    /// A message failed for good: to whom, and the provider's code.
    AlertMessageFailed,
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::values::DeliveryStatus")]
pub enum DeliveryStatus {
    /// Not sent yet, or to be tried again at `nextAttemptAt`.
    Pending,
    Succeeded,
    /// Every attempt failed.
    Failed,
}

#[derive(InputObject)]
pub struct WebhookEndpointInput {
    /// https only (http and private addresses with
    /// `WEBHOOK_ALLOW_PRIVATE=true`).
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub description: Option<String>,
}

#[derive(InputObject)]
pub struct WebhookEndpointUpdateInput {
    pub url: Option<String>,
    pub events: Option<Vec<WebhookEvent>>,
    pub description: Option<String>,
    /// A disabled endpoint receives nothing (its pending deliveries wait).
    pub enabled: Option<bool>,
}

fn events(input: Vec<WebhookEvent>) -> Vec<entity::values::WebhookEvent> {
    input.into_iter().map(Into::into).collect()
}

pub struct WebhookEndpoint(pub webhook_endpoint::Model);

#[Object]
impl WebhookEndpoint {
    pub async fn id(&self) -> ID {
        encode(Kind::WebhookEndpoint, self.0.id)
    }

    async fn url(&self) -> &str {
        &self.0.url
    }

    async fn events(&self) -> Vec<WebhookEvent> {
        serde_json::from_value::<Vec<entity::values::WebhookEvent>>(self.0.events.clone())
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect()
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    async fn enabled(&self) -> bool {
        self.0.enabled
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Newest first, filtered by status.
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<Vec<DeliveryStatus>>,
    ) -> Result<Connection<WebhookDelivery>, ApiError> {
        let t = tenant(ctx)?;
        let page = page_request(ctx, first, after)?;
        let statuses: Vec<_> = status
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect();
        let deliveries = service::deliveries(&t.db, t.org, self.0.id, &statuses, page).await?;
        let total = match wants_total(ctx) {
            true => service::count_deliveries(&t.db, t.org, self.0.id, &statuses).await?,
            false => 0,
        };
        Ok(Connection::new(deliveries.map(WebhookDelivery), total))
    }
}

/// An endpoint and its secret (`whsec_...`), shown this once: sign checks
/// use it (Standard Webhooks).
#[derive(SimpleObject)]
pub struct CreatedWebhookEndpoint {
    pub endpoint: WebhookEndpoint,
    pub secret: String,
}

pub struct WebhookDelivery(pub webhook_delivery::Model);

listed_by_id! {
    WebhookDelivery: "WebhookDeliveryConnection", "WebhookDeliveryEdge", |delivery| delivery.0.id;
}

#[Object]
impl WebhookDelivery {
    /// Also sent as `webhook-id` (`msg_` and the hex of the id's UUID), the
    /// same on every attempt.
    pub async fn id(&self) -> ID {
        encode(Kind::WebhookDelivery, self.0.id)
    }

    async fn event(&self) -> WebhookEvent {
        self.0.event.into()
    }

    async fn status(&self) -> DeliveryStatus {
        self.0.status.into()
    }

    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    /// The receiver's HTTP status at the last attempt.
    async fn last_status_code(&self) -> Option<i32> {
        self.0.last_status_code
    }

    /// Why the last attempt failed (timeout, refused address, HTTP status).
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0
            .next_attempt_at
            .filter(|_| self.0.status == entity::values::DeliveryStatus::Pending)
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
}

/// What the server allows as endpoint URLs (`WEBHOOK_ALLOW_PRIVATE`).
#[derive(Clone, Copy, Debug, Default)]
pub struct WebhookPolicy {
    pub allow_private: bool,
    /// `WEBHOOK_TEST_SENDS_PER_MINUTE`.
    pub test_sends_per_minute: usize,
}

fn policy(ctx: &Context<'_>) -> Result<WebhookPolicy, ApiError> {
    ctx.data::<WebhookPolicy>()
        .copied()
        .map_err(|_| ApiError::internal(MissingData("WebhookPolicy")))
}

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// The organization's webhook endpoints, oldest first.
    async fn webhook_endpoints(&self, ctx: &Context<'_>) -> Result<Vec<WebhookEndpoint>, ApiError> {
        let t = tenant(ctx)?;
        Ok(service::list_endpoints(&t.db, t.org)
            .await?
            .into_iter()
            .map(WebhookEndpoint)
            .collect())
    }
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers an endpoint; the answer holds its secret, shown this once.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: WebhookEndpointInput,
    ) -> Result<CreatedWebhookEndpoint, ApiError> {
        let t = writer(ctx)?;
        let input = EndpointInput {
            url: input.url,
            events: events(input.events),
            description: input.description,
        };
        let (endpoint, secret) =
            service::create_endpoint(&t.db, t.org, input, policy(ctx)?.allow_private).await?;
        Ok(CreatedWebhookEndpoint {
            endpoint: WebhookEndpoint(endpoint),
            secret,
        })
    }

    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: WebhookEndpointUpdateInput,
    ) -> Result<WebhookEndpoint, ApiError> {
        let (t, uuid) = writer_of(ctx, &id, Kind::WebhookEndpoint)?;
        let change = EndpointChange {
            url: input.url,
            events: input.events.map(events),
            description: input.description,
            enabled: input.enabled,
        };
        let allow_private = policy(ctx)?.allow_private;
        Ok(WebhookEndpoint(
            service::update_endpoint(&t.db, t.org, uuid, change, allow_private).await?,
        ))
    }

    /// Deletes an endpoint; its pending deliveries are never sent.
    async fn delete_webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> Result<ID, ApiError> {
        let (t, uuid) = writer_of(ctx, &id, Kind::WebhookEndpoint)?;
        service::delete_endpoint(&t.db, t.org, uuid).await?;
        Ok(id)
    }

    /// A new secret, shown this once; deliveries are signed with it from
    /// now on, the old one stops verifying.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<CreatedWebhookEndpoint, ApiError> {
        let (t, uuid) = writer_of(ctx, &id, Kind::WebhookEndpoint)?;
        let (endpoint, secret) = service::rotate_secret(&t.db, t.org, uuid).await?;
        Ok(CreatedWebhookEndpoint {
            endpoint: WebhookEndpoint(endpoint),
            secret,
        })
    }

    /// Queues a `test` event to this endpoint.
    async fn send_test_webhook(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<WebhookDelivery, ApiError> {
        let (t, uuid) = writer_of(ctx, &id, Kind::WebhookEndpoint)?;
        Ok(WebhookDelivery(
            service::send_test(&t.db, t.org, uuid, policy(ctx)?.test_sends_per_minute).await?,
        ))
    }
}
