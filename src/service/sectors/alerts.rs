//! Starting and ending a sector's alert, with its history: starting writes
//! the alert's messages (the outbox, `service::alerts`), ending cancels
//! those that have not left.

use chrono::{DateTime, Utc};
use entity::{sector, sector_alert};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use super::reads::points_in;
use crate::auth::OrgId;
use crate::domain::global_id;
use crate::service::alerts::outbox;
use crate::service::alerts::wording::Sender;
use crate::service::store::locks::{self, Memberships};
use crate::service::store::tenant::{belongs, owned};
use crate::service::{ServiceError, organizations, require_owned_locked, webhooks};
use entity::values::WebhookEvent;
use serde_json::json;

/// How an alert starts: when (the dispatch's clock) and, optionally, a
/// one-off text instead of the organization's wording.
#[derive(Clone, Copy, Debug)]
pub struct AlertStart<'a> {
    pub now: DateTime<Utc>,
    pub message: Option<&'a str>,
    /// `SMS_TRANSLITERATE`.
    pub transliterate: bool,
}

/// Puts a sector in alert or ends its alert, keeping the history; returns
/// the sector and its alert (the one started, or the one ended). A sector
/// already in that state is left as it is.
pub async fn set_alert(
    db: &DatabaseConnection,
    org: OrgId,
    id: Uuid,
    active: bool,
    start: AlertStart<'_>,
) -> Result<(sector::Model, Option<sector_alert::Model>), ServiceError> {
    // Shared: the recipients are read from memberships; the sector's row
    // lock makes two activations one; the alert lock makes the rules
    // (once a day, the monthly budget) hold across sectors.
    let tx = locks::begin_memberships(db, org, Memberships::Shared).await?;
    let current = require_owned_locked::<sector::Entity>(&tx, org, id).await?;
    if current.alert_active == active {
        let alert = latest(&tx, org, id).await?;
        tx.commit().await?;
        return Ok((current, alert));
    }
    locks::lock_alerts(&tx, org).await?;
    let now = start.now;
    let sector_id = global_id::encode(global_id::Kind::Sector, id);
    // Announced in this transaction: an alert rolled back announces nothing.
    let mut written = 0;
    let alert = if active {
        let recipients = owned::<entity::occupant::Entity>(org)
            .filter(entity::occupant::Column::ServicePointId.in_subquery(points_in(id, org)))
            .count(&tx)
            .await?;
        let alert = sector_alert::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(org.uuid()),
            sector_id: Set(id),
            started_at: Set(now),
            ended_at: Set(None),
            recipients_count: Set(recipients as i32),
            message: Set(start.message.map(str::to_owned)),
            dispatched_at: Set(None),
        }
        .insert(&tx)
        .await?;
        let company = organizations::name(&tx, org.uuid())
            .await?
            .unwrap_or_default();
        let sender = Sender {
            company: &company,
            transliterate: start.transliterate,
        };
        written = outbox::write(&tx, org, &alert, &current, sender, now).await?;
        let data = json!({
            "sectorId": sector_id,
            "alertId": global_id::encode(global_id::Kind::SectorAlert, alert.id),
            "name": current.name,
            "recipientsCount": recipients,
        });
        webhooks::enqueue(&tx, org, WebhookEvent::SectorAlertStarted, data).await?;
        Some(alert)
    } else {
        let alert = latest(&tx, org, id).await?;
        if let Some(alert) = alert.as_ref().filter(|a| a.ended_at.is_none()) {
            let mut ended: sector_alert::ActiveModel = alert.clone().into();
            ended.ended_at = Set(Some(now));
            ended.update(&tx).await?;
            outbox::cancel_waiting(&tx, org, alert.id, now).await?;
        }
        let data = json!({"sectorId": sector_id, "name": current.name});
        webhooks::enqueue(&tx, org, WebhookEvent::SectorAlertEnded, data).await?;
        latest(&tx, org, id).await?
    };
    let mut model: sector::ActiveModel = current.into();
    model.alert_active = Set(active);
    model.alert_started_at = Set(active.then_some(now));
    model.updated_at = Set(now);
    let model = model.update(&tx).await?;
    tx.commit().await?;
    // A large outbox: the workers' claims are planned on its real size.
    if written >= 1_000 {
        crate::service::store::batch::refresh_statistics(db, &["alert_message"]).await;
    }
    Ok((model, alert))
}

/// The sector's most recent alert.
async fn latest(
    db: &impl ConnectionTrait,
    org: OrgId,
    sector_id: Uuid,
) -> Result<Option<sector_alert::Model>, DbErr> {
    owned::<sector_alert::Entity>(org)
        .filter(sector_alert::Column::SectorId.eq(sector_id))
        .order_by_desc(sector_alert::Column::StartedAt)
        .order_by_desc(sector_alert::Column::Id)
        .one(db)
        .await
}

/// The alerts of these sectors, each sector's most recent first.
pub async fn alerts(
    db: &impl ConnectionTrait,
    org: OrgId,
    sector_ids: &[Uuid],
) -> Result<Vec<sector_alert::Model>, DbErr> {
    sector_alert::Entity::find()
        .filter(belongs::<sector_alert::Entity>(org))
        .filter(sector_alert::Column::SectorId.is_in(sector_ids.iter().copied()))
        .order_by_desc(sector_alert::Column::StartedAt)
        .order_by_desc(sector_alert::Column::Id)
        .all(db)
        .await
}
