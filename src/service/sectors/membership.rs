//! Memberships kept equal to shapes × positions: recomputed for a sector
//! when it is drawn, for points when they move, for all after an undo.

use entity::{sector, sector_membership, service_point};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set};
use uuid::Uuid;

use super::shape_of;
use crate::auth::OrgId;
use crate::sector::Shape;
use crate::service::batch::{delete_batched, insert_batched};
use crate::service::delete_all_owned;

fn membership(org: OrgId, sector_id: Uuid, point_id: Uuid) -> sector_membership::ActiveModel {
    sector_membership::ActiveModel {
        sector_id: Set(sector_id),
        service_point_id: Set(point_id),
        organization_id: Set(org.uuid()),
    }
}

/// Recomputes one sector against the organization's points: a bounding-box
/// prefilter in SQL, then the exact test.
pub async fn place_sector(
    db: &impl ConnectionTrait,
    org: OrgId,
    sector_id: Uuid,
    shape: &Shape,
) -> Result<(), DbErr> {
    delete_all_owned::<sector_membership::Entity>(org)
        .filter(sector_membership::Column::SectorId.eq(sector_id))
        .exec(db)
        .await?;
    let inside: Vec<Uuid> = positions(db, org, Some(shape.bbox))
        .await?
        .into_iter()
        .filter(|p| matches!((p.latitude, p.longitude), (Some(lat), Some(lon)) if shape.holds(lat, lon)))
        .map(|p| p.point_id)
        .collect();
    insert_batched(
        db,
        &inside,
        |point: &Uuid| membership(org, sector_id, *point),
        None,
    )
    .await
}

/// A point's position, for placing it in sectors.
#[derive(Clone, Copy, Debug)]
pub struct Position {
    pub point_id: Uuid,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

impl From<&service_point::Model> for Position {
    fn from(point: &service_point::Model) -> Position {
        Position {
            point_id: point.id,
            latitude: point.latitude,
            longitude: point.longitude,
        }
    }
}

/// Recomputes the sectors of these points (which got, changed or lost
/// coordinates) against all the organization's sectors.
pub async fn place_points(
    db: &impl ConnectionTrait,
    org: OrgId,
    points: &[Position],
) -> Result<(), DbErr> {
    if points.is_empty() {
        return Ok(());
    }
    // Without sectors there is no membership to remove or to add.
    let sectors = shapes(db, org).await?;
    if sectors.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = points.iter().map(|p| p.point_id).collect();
    delete_batched::<sector_membership::Entity>(
        db,
        org,
        sector_membership::Column::ServicePointId,
        &ids,
    )
    .await?;
    insert_memberships(db, org, &sectors, points).await
}

/// The organization's sectors, ready for point tests.
async fn shapes(db: &impl ConnectionTrait, org: OrgId) -> Result<Vec<(Uuid, Shape)>, DbErr> {
    Ok(sector::Entity::find()
        .filter(sector::Column::OrganizationId.eq(org.uuid()))
        .all(db)
        .await?
        .iter()
        .filter_map(|s| Some((s.id, shape_of(s)?)))
        .collect())
}

/// The memberships of points that have none.
async fn insert_memberships(
    db: &impl ConnectionTrait,
    org: OrgId,
    sectors: &[(Uuid, Shape)],
    points: &[Position],
) -> Result<(), DbErr> {
    let mut memberships = Vec::new();
    for point in points {
        let (Some(latitude), Some(longitude)) = (point.latitude, point.longitude) else {
            continue;
        };
        for (sector_id, shape) in sectors {
            if shape.holds(latitude, longitude) {
                memberships.push((*sector_id, point.point_id));
            }
        }
    }
    insert_batched(
        db,
        &memberships,
        |(sector, point): &(Uuid, Uuid)| membership(org, *sector, *point),
        None,
    )
    .await
}

/// The organization's points with their coordinates, those in `within`
/// only when given (the SQL prefilter of the exact test).
async fn positions(
    db: &impl ConnectionTrait,
    org: OrgId,
    within: Option<crate::sector::BoundingBox>,
) -> Result<Vec<Position>, DbErr> {
    let mut select = service_point::Entity::find()
        .select_only()
        .columns([
            service_point::Column::Id,
            service_point::Column::Latitude,
            service_point::Column::Longitude,
        ])
        .filter(service_point::Column::OrganizationId.eq(org.uuid()));
    if let Some(bbox) = within {
        select = select
            .filter(service_point::Column::Latitude.between(bbox.min_latitude, bbox.max_latitude))
            .filter(
                service_point::Column::Longitude.between(bbox.min_longitude, bbox.max_longitude),
            );
    }
    let rows: Vec<(Uuid, Option<f64>, Option<f64>)> = select.into_tuple().all(db).await?;
    Ok(rows
        .into_iter()
        .map(|(point_id, latitude, longitude)| Position {
            point_id,
            latitude,
            longitude,
        })
        .collect())
}

/// Every point of the organization placed anew (after an undo).
pub async fn place_all_points(db: &impl ConnectionTrait, org: OrgId) -> Result<(), DbErr> {
    let points = positions(db, org, None).await?;
    delete_all_owned::<sector_membership::Entity>(org)
        .exec(db)
        .await?;
    let sectors = shapes(db, org).await?;
    insert_memberships(db, org, &sectors, &points).await
}
