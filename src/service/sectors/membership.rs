//! Memberships kept equal to shapes × positions: recomputed for a sector
//! when it is drawn, for points when they move, for all after an undo.
//!
//! A recomputation writes the difference only: the pairs it wants that are
//! not stored are inserted, the stored ones it no longer wants are deleted,
//! and the others are left alone. Redrawing a sector a little, or an import
//! that touches every point but moves few, then writes a few rows instead of
//! rewriting them all (each row written costs its three index entries and its
//! two key checks). The callers' locks make the read of the stored pairs
//! stable until the writes: a sector is placed under the organization's
//! exclusive membership lock, points under the shared one and their own row
//! locks (see `locks::Memberships`), so no one else changes the pairs read.

use std::collections::{HashMap, HashSet};

use entity::{sector, sector_membership, service_point};
use sea_orm::sea_query::{ArrayType, IntoCondition, Value};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::shape_of;
use crate::auth::OrgId;
use crate::sector::Shape;
use crate::service::store::batch::{MAX_PARAMETERS, insert_batched};
use crate::service::store::tenant::{belongs, raw_delete_owned};

/// A membership as `(sector, point)`.
type Pair = (Uuid, Uuid);

fn membership(org: OrgId, (sector_id, point_id): Pair) -> sector_membership::ActiveModel {
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
    let candidates = positions(db, org, Some(shape.bbox)).await?;
    // The exact tests are CPU work (a polygon of many vertices, many
    // points): on a blocking thread, not an async worker.
    let shape = shape.clone();
    let wanted: HashSet<Pair> = tokio::task::spawn_blocking(move || {
        candidates
            .into_iter()
            .filter(|p| matches!((p.latitude, p.longitude), (Some(lat), Some(lon)) if shape.holds(lat, lon)))
            .map(|p| (sector_id, p.point_id))
            .collect()
    })
    .await
    .map_err(|joined| DbErr::Custom(format!("placing a sector: {joined}")))?;
    let mut stored = HashSet::new();
    let of_sector = sector_membership::Column::SectorId.eq(sector_id);
    read_pairs(db, org, of_sector, &mut stored).await?;
    write_difference(db, org, &stored, &wanted).await
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
    let mut stored = HashSet::new();
    for chunk in ids.chunks(MAX_PARAMETERS) {
        let of_points = sector_membership::Column::ServicePointId.is_in(chunk.iter().copied());
        read_pairs(db, org, of_points, &mut stored).await?;
    }
    let wanted = placed(&sectors, points);
    write_difference(db, org, &stored, &wanted).await
}

/// Adds to `stored` the organization's memberships that `scope` keeps.
async fn read_pairs(
    db: &impl ConnectionTrait,
    org: OrgId,
    scope: impl IntoCondition,
    stored: &mut HashSet<Pair>,
) -> Result<(), DbErr> {
    let pairs: Vec<Pair> = sector_membership::Entity::find()
        .select_only()
        .columns([
            sector_membership::Column::SectorId,
            sector_membership::Column::ServicePointId,
        ])
        .filter(belongs::<sector_membership::Entity>(org))
        .filter(scope)
        .into_tuple()
        .all(db)
        .await?;
    stored.extend(pairs);
    Ok(())
}

/// The organization's sectors, ready for point tests.
async fn shapes(db: &impl ConnectionTrait, org: OrgId) -> Result<Vec<(Uuid, Shape)>, DbErr> {
    Ok(sector::Entity::find()
        .filter(belongs::<sector::Entity>(org))
        .all(db)
        .await?
        .iter()
        .filter_map(|s| Some((s.id, shape_of(s)?)))
        .collect())
}

/// The organization's sectors, for placing points in memory (an import's
/// alert impact): their shapes and the stored memberships.
pub struct Places {
    /// In creation order.
    pub sectors: Vec<(Uuid, Shape)>,
    /// Each point's sectors, as stored.
    pub stored: HashMap<Uuid, Vec<Uuid>>,
}

impl Places {
    /// The sectors holding `point` where it is (none when not located).
    pub fn place(&self, point: &service_point::Model) -> Vec<Uuid> {
        let (Some(latitude), Some(longitude)) = (point.latitude, point.longitude) else {
            return Vec::new();
        };
        self.sectors
            .iter()
            .filter(|(_, shape)| shape.holds(latitude, longitude))
            .map(|(id, _)| *id)
            .collect()
    }

    pub fn sector_ids(&self) -> Vec<Uuid> {
        self.sectors.iter().map(|(id, _)| *id).collect()
    }
}

/// The organization's [`Places`], or `None` when it has no sector.
pub async fn places(db: &impl ConnectionTrait, org: OrgId) -> Result<Option<Places>, DbErr> {
    let mut sectors = shapes(db, org).await?;
    if sectors.is_empty() {
        return Ok(None);
    }
    sectors.sort_by_key(|(id, _)| *id);
    let mut stored: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    let memberships: Vec<(Uuid, Uuid)> = sector_membership::Entity::find()
        .filter(belongs::<sector_membership::Entity>(org))
        .select_only()
        .columns([
            sector_membership::Column::ServicePointId,
            sector_membership::Column::SectorId,
        ])
        .into_tuple()
        .all(db)
        .await?;
    for (point, sector) in memberships {
        stored.entry(point).or_default().push(sector);
    }
    Ok(Some(Places { sectors, stored }))
}

/// The memberships these points should have.
fn placed(sectors: &[(Uuid, Shape)], points: &[Position]) -> HashSet<Pair> {
    let mut pairs = HashSet::new();
    for point in points {
        let (Some(latitude), Some(longitude)) = (point.latitude, point.longitude) else {
            continue;
        };
        for (sector_id, shape) in sectors {
            if shape.holds(latitude, longitude) {
                pairs.insert((*sector_id, point.point_id));
            }
        }
    }
    pairs
}

/// Brings the `stored` memberships of a scope to the `wanted` ones: deletes
/// the pairs no longer wanted, inserts the new ones, touches no other row.
async fn write_difference(
    db: &impl ConnectionTrait,
    org: OrgId,
    stored: &HashSet<Pair>,
    wanted: &HashSet<Pair>,
) -> Result<(), DbErr> {
    let mut removed: Vec<Pair> = stored.difference(wanted).copied().collect();
    let mut added: Vec<Pair> = wanted.difference(stored).copied().collect();
    // In the primary key's order: each index page is visited once.
    removed.sort_unstable();
    added.sort_unstable();
    delete_pairs(db, org, &removed).await?;
    insert_batched(db, &added, |pair: &Pair| membership(org, *pair), None).await
}

/// Deletes these memberships: on PostgreSQL in one statement with two
/// arrays, on SQLite as row values in statements of up to 15,000 pairs.
async fn delete_pairs(db: &impl ConnectionTrait, org: OrgId, pairs: &[Pair]) -> Result<(), DbErr> {
    if pairs.is_empty() {
        return Ok(());
    }
    let backend = db.get_database_backend();
    if backend == DbBackend::Postgres {
        let column = |pick: fn(&Pair) -> Uuid| {
            let ids = pairs.iter().map(|p| Value::Uuid(Some(pick(p)))).collect();
            Value::Array(ArrayType::Uuid, Some(Box::new(ids)))
        };
        db.execute_raw(raw_delete_owned::<sector_membership::Entity>(
            backend,
            org,
            "(sector_id, service_point_id) IN (SELECT * FROM UNNEST($2::uuid[], $3::uuid[]))",
            [column(|p| p.0), column(|p| p.1)],
        ))
        .await?;
        return Ok(());
    }
    for chunk in pairs.chunks((MAX_PARAMETERS - 1) / 2) {
        let rows = vec!["(?, ?)"; chunk.len()].join(", ");
        let mut values: Vec<Value> = Vec::with_capacity(2 * chunk.len());
        for (sector_id, point_id) in chunk {
            values.push((*sector_id).into());
            values.push((*point_id).into());
        }
        db.execute_raw(raw_delete_owned::<sector_membership::Entity>(
            backend,
            org,
            &format!("(sector_id, service_point_id) IN (VALUES {rows})"),
            values,
        ))
        .await?;
    }
    Ok(())
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
        .filter(belongs::<service_point::Entity>(org));
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
    let sectors = shapes(db, org).await?;
    let mut stored = HashSet::new();
    read_pairs(db, org, Condition::all(), &mut stored).await?;
    let wanted = placed(&sectors, &points);
    write_difference(db, org, &stored, &wanted).await
}
