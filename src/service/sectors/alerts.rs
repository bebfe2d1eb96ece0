//! Starting and ending a sector's alert, with its history.

use chrono::Utc;
use entity::{occupant, sector, sector_alert};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use super::reads::points_in;
use crate::auth::OrgId;
use crate::domain::global_id;
use crate::service::store::locks::{self, Memberships};
use crate::service::store::tenant::belongs;
use crate::service::{ServiceError, require_owned_locked, webhooks};
use entity::values::WebhookEvent;
use serde_json::json;

/// Puts a sector in alert or ends its alert, keeping the history.
pub async fn set_alert(
    db: &DatabaseConnection,
    org: OrgId,
    id: Uuid,
    active: bool,
) -> Result<sector::Model, ServiceError> {
    // Shared: the recipient count reads memberships; the sector's row lock
    // makes two activations one.
    let tx = locks::begin_memberships(db, org, Memberships::Shared).await?;
    let current = require_owned_locked::<sector::Entity>(&tx, org, id).await?;
    if current.alert_active == active {
        tx.commit().await?;
        return Ok(current);
    }
    let now = Utc::now();
    let sector_id = global_id::encode(global_id::Kind::Sector, id);
    // Announced in this transaction: an alert rolled back announces nothing.
    if active {
        let recipients = occupant::Entity::find()
            .filter(belongs::<occupant::Entity>(org))
            .filter(occupant::Column::ServicePointId.in_subquery(points_in(id, org)))
            .count(&tx)
            .await?;
        sector_alert::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(org.uuid()),
            sector_id: Set(id),
            started_at: Set(now),
            ended_at: Set(None),
            recipients_count: Set(recipients as i32),
        }
        .insert(&tx)
        .await?;
        let data =
            json!({"sectorId": sector_id, "name": current.name, "recipientsCount": recipients});
        webhooks::enqueue(&tx, org, WebhookEvent::SectorAlertStarted, data).await?;
    } else {
        sector_alert::Entity::update_many()
            .col_expr(
                sector_alert::Column::EndedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(
                Condition::all()
                    .add(sector_alert::Column::SectorId.eq(id))
                    .add(belongs::<sector_alert::Entity>(org))
                    .add(sector_alert::Column::EndedAt.is_null()),
            )
            .exec(&tx)
            .await?;
        let data = json!({"sectorId": sector_id, "name": current.name});
        webhooks::enqueue(&tx, org, WebhookEvent::SectorAlertEnded, data).await?;
    }
    let mut model: sector::ActiveModel = current.into();
    model.alert_active = Set(active);
    model.alert_started_at = Set(active.then_some(now));
    model.updated_at = Set(now);
    let model = model.update(&tx).await?;
    tx.commit().await?;
    Ok(model)
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
