//! The sector part of the schema: sectors, their points, alert recipients
//! and alert history.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Json, Object, Upload};
use chrono::{DateTime, Utc};
use entity::sector;
use uuid::Uuid;

use super::alert::{SectorAlert, set_sector_alert};
use super::connection::{page_request, wants_total};
use super::id::{Kind, encode};
use super::import::read_upload;
use super::loader::{
    AlertsOfSector, PointCountOfSector, PointsOfSector, RecipientsOfSector, prefetch,
};
use super::object::{Occupant, ServicePoint, ServicePointConnection, loader, service_point_page};
use super::operation::charge_rows;
use super::plain::PlainList;
use super::{record_by_id, tenant, writer, writer_of};
use crate::error::ApiError;
use crate::service::{self, Page};

#[derive(InputObject)]
pub struct SectorInput {
    pub name: String,
    /// GeoJSON `Polygon` or `MultiPolygon`, WGS84 (`[longitude, latitude]`).
    pub geometry: Json<serde_json::Value>,
}

pub struct Sector(pub sector::Model);

#[Object(serial)]
impl Sector {
    pub async fn id(&self) -> ID {
        encode(Kind::Sector, self.0.id)
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// GeoJSON `Polygon` or `MultiPolygon`.
    async fn geometry(&self) -> Json<serde_json::Value> {
        Json(self.0.geometry.clone())
    }

    async fn alert_active(&self) -> bool {
        self.0.alert_active
    }

    /// When the current alert started; null when not in alert.
    async fn alert_started_at(&self) -> Option<DateTime<Utc>> {
        self.0.alert_started_at
    }

    /// The service points inside the sector (boundary included).
    async fn service_points(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<ServicePointConnection, ApiError> {
        let page = page_request(ctx, first, after)?;
        let loader = loader(ctx)?;
        let page = loader
            .load_one(PointsOfSector {
                sector: self.0.id,
                page,
            })
            .await?
            .unwrap_or_else(Page::empty);
        let total = match wants_total(ctx) {
            true => loader
                .load_one(PointCountOfSector(self.0.id))
                .await?
                .unwrap_or(0),
            false => 0,
        };
        service_point_page(ctx, page, total, None).await
    }

    /// The occupants to reach when the sector is in alert, each with its
    /// phone (`phone`, `phoneE164`), contact method and service point.
    async fn alert_recipients(&self, ctx: &Context<'_>) -> Result<PlainList<Occupant>, ApiError> {
        let recipients = loader(ctx)?
            .load_one(RecipientsOfSector(self.0.id))
            .await?
            .unwrap_or_default();
        charge_rows(ctx, "Sector", "alertRecipients", recipients.occupants.len())?;
        let points: HashMap<Uuid, Arc<ServicePoint>> = recipients
            .points
            .iter()
            .map(|p| (p.id, Arc::new(ServicePoint::shared(p.clone()))))
            .collect();
        Ok(PlainList(
            recipients
                .occupants
                .iter()
                .map(|model| {
                    let point = points.get(&model.service_point_id).cloned();
                    Occupant::with_point(model.clone(), point)
                })
                .collect(),
        ))
    }

    /// Alert history, most recent first.
    async fn alerts(&self, ctx: &Context<'_>) -> Result<Vec<SectorAlert>, ApiError> {
        let alerts = loader(ctx)?
            .load_one(AlertsOfSector(self.0.id))
            .await?
            .unwrap_or_default();
        charge_rows(ctx, "Sector", "alerts", alerts.len())?;
        Ok(alerts.into_iter().map(SectorAlert).collect())
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(Default)]
pub struct SectorQuery;

#[Object]
impl SectorQuery {
    async fn sector(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Sector>, ApiError> {
        record_by_id::<sector::Entity, _>(ctx, &id, Kind::Sector, Sector).await
    }

    /// The organization's sectors, by name.
    async fn sectors(&self, ctx: &Context<'_>) -> Result<Vec<Sector>, ApiError> {
        let t = tenant(ctx)?;
        let sectors = service::sectors::list(&t.db, t.org).await?;
        charge_rows(ctx, "Query", "sectors", sectors.len())?;
        let ids: Vec<Uuid> = sectors.iter().map(|s| s.id).collect();
        prefetch::for_sectors(ctx, loader(ctx)?, ctx.look_ahead(), &ids).await?;
        Ok(sectors.into_iter().map(Sector).collect())
    }
}

#[derive(Default)]
pub struct SectorMutation;

#[Object]
impl SectorMutation {
    async fn create_sector(
        &self,
        ctx: &Context<'_>,
        input: SectorInput,
    ) -> Result<Sector, ApiError> {
        let t = writer(ctx)?;
        Ok(Sector(
            service::sectors::create(
                &t.db,
                t.org,
                &input.name,
                &input.geometry.0,
                max_vertices(ctx)?,
            )
            .await?,
        ))
    }

    async fn update_sector(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: SectorInput,
    ) -> Result<Sector, ApiError> {
        let (t, uuid) = writer_of(ctx, &id, Kind::Sector)?;
        Ok(Sector(
            service::sectors::update(
                &t.db,
                t.org,
                uuid,
                &input.name,
                &input.geometry.0,
                max_vertices(ctx)?,
            )
            .await?,
        ))
    }

    async fn delete_sector(&self, ctx: &Context<'_>, id: ID) -> Result<ID, ApiError> {
        let (t, uuid) = writer_of(ctx, &id, Kind::Sector)?;
        service::sectors::delete(&t.db, t.org, uuid).await?;
        Ok(encode(Kind::Sector, uuid))
    }

    /// Puts the sector in alert (`active: true`), writing its messages,
    /// which the workers send; or ends its alert, canceling what has not
    /// left.
    async fn set_sector_alert(
        &self,
        ctx: &Context<'_>,
        id: ID,
        active: bool,
    ) -> Result<Sector, ApiError> {
        Ok(Sector(set_sector_alert(ctx, &id, active).await?))
    }

    /// Creates one sector per feature of a GeoJSON `Feature` or
    /// `FeatureCollection` (QGIS, geojson.io), named from its `name`
    /// property. All or nothing.
    async fn import_sectors(
        &self,
        ctx: &Context<'_>,
        file: Upload,
    ) -> Result<Vec<Sector>, ApiError> {
        let t = writer(ctx)?;
        let (_, bytes) = read_upload(ctx, file).await?;
        Ok(
            service::sectors::import(&t.db, t.org, bytes, max_vertices(ctx)?)
                .await?
                .into_iter()
                .map(Sector)
                .collect(),
        )
    }
}

/// `MAX_SECTOR_VERTICES`.
fn max_vertices(ctx: &Context<'_>) -> Result<usize, ApiError> {
    ctx.data::<crate::config::Limits>()
        .map(|limits| limits.max_sector_vertices)
        .map_err(|_| ApiError::internal(super::connection::MissingData("Limits")))
}
