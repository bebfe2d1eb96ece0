//! Sectors and their memberships. Which point lies in which sector is
//! stored and kept current on every change of either side, so that "by
//! sector" reads are plain indexed lookups.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use entity::{occupant, sector, sector_alert, sector_membership, service_point};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, JoinType, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};
use serde_json::Value as JsonValue;
use uuid::Uuid;

use super::batch::{delete_batched, insert_batched};
use super::{Page, PageRequest, delete_all_owned, delete_owned, fetch_pages_by, get_owned, owned};
use crate::auth::OrgId;
use crate::domain::{Field, Lang, MAX_IDENTIFIER, ValidationError, required_text};
use crate::sector::{GeometryError, Shape};
use crate::service::ServiceError;

fn invalid_geometry(error: GeometryError, feature: Option<usize>) -> ServiceError {
    let prefix = |lang: Lang| match (feature, lang) {
        (Some(i), Lang::Fr) => format!("Entité {} : ", i + 1),
        (Some(i), Lang::En) => format!("Feature {}: ", i + 1),
        (None, _) => String::new(),
    };
    ServiceError::Invalid(ValidationError::Geometry {
        fr: format!("{}{}", prefix(Lang::Fr), error.message(Lang::Fr)),
        en: format!("{}{}", prefix(Lang::En), error.message(Lang::En)),
    })
}

fn sector_name(name: &str) -> Result<String, ValidationError> {
    required_text(Field::SectorName, name, MAX_IDENTIFIER)
}

pub async fn list(
    db: &impl ConnectionTrait,
    org: OrgId,
) -> Result<Vec<sector::Model>, ServiceError> {
    Ok(owned::<sector::Entity>(org)
        .order_by_asc(sector::Column::Name)
        .order_by_asc(sector::Column::Id)
        .all(db)
        .await?)
}

pub async fn get(
    db: &impl ConnectionTrait,
    org: OrgId,
    id: Uuid,
) -> Result<Option<sector::Model>, ServiceError> {
    get_owned::<sector::Entity>(db, org, id).await
}

/// A stored sector's shape. One that no longer parses (damaged row) holds
/// no point: said loudly in the log rather than dropped without a word.
fn shape_of(model: &sector::Model) -> Option<Shape> {
    Shape::parse(&model.geometry)
        .inspect_err(|error| {
            tracing::error!(sector = %model.id, ?error, "stored sector geometry unreadable");
        })
        .ok()
}

/// The geometry and the bounding box the SQL prefilter reads.
fn set_shape(model: &mut sector::ActiveModel, shape: &Shape) {
    model.geometry = Set(shape.geojson.clone());
    model.min_latitude = Set(shape.bbox.min_latitude);
    model.min_longitude = Set(shape.bbox.min_longitude);
    model.max_latitude = Set(shape.bbox.max_latitude);
    model.max_longitude = Set(shape.bbox.max_longitude);
}

async fn insert_sector(
    db: &impl ConnectionTrait,
    org: OrgId,
    name: String,
    shape: &Shape,
) -> Result<sector::Model, ServiceError> {
    let now = Utc::now();
    let mut model = sector::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.uuid()),
        name: Set(name),
        alert_active: Set(false),
        alert_started_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    set_shape(&mut model, shape);
    let model = model.insert(db).await?;
    place_sector(db, org, model.id, shape).await?;
    Ok(model)
}

pub async fn create(
    db: &DatabaseConnection,
    org: OrgId,
    name: &str,
    geometry: &JsonValue,
) -> Result<sector::Model, ServiceError> {
    let name = sector_name(name)?;
    let shape = Shape::parse(geometry).map_err(|e| invalid_geometry(e, None))?;
    let tx = db.begin().await?;
    let model = insert_sector(&tx, org, name, &shape).await?;
    tx.commit().await?;
    Ok(model)
}

/// One sector per feature of a GeoJSON `Feature` or `FeatureCollection`,
/// named from its `name` property; all or nothing.
pub async fn import(
    db: &DatabaseConnection,
    org: OrgId,
    geojson: &[u8],
) -> Result<Vec<sector::Model>, ServiceError> {
    let text = String::from_utf8_lossy(geojson);
    let parsed: geojson::GeoJson = text.parse().map_err(|e: geojson::Error| {
        invalid_geometry(GeometryError::NotGeoJson(e.to_string()), None)
    })?;
    let features = match parsed {
        geojson::GeoJson::FeatureCollection(collection) => collection.features,
        geojson::GeoJson::Feature(feature) => vec![feature],
        geojson::GeoJson::Geometry(geometry) => vec![geojson::Feature::from(geometry)],
    };
    let mut sectors = Vec::with_capacity(features.len());
    for (i, feature) in features.iter().enumerate() {
        let geometry = feature
            .geometry
            .as_ref()
            .ok_or_else(|| invalid_geometry(GeometryError::Empty, Some(i)))?;
        let value = serde_json::to_value(geometry)
            .map_err(|e| invalid_geometry(GeometryError::NotGeoJson(e.to_string()), Some(i)))?;
        let shape = Shape::parse(&value).map_err(|e| invalid_geometry(e, Some(i)))?;
        let name = ["name", "nom", "Name", "NAME", "NOM", "Nom"]
            .iter()
            .find_map(|key| feature.property(key).and_then(JsonValue::as_str))
            .map(str::to_owned)
            .unwrap_or_else(|| format!("Secteur {}", i + 1));
        sectors.push((sector_name(&name)?, shape));
    }
    let tx = db.begin().await?;
    let mut created = Vec::with_capacity(sectors.len());
    for (name, shape) in sectors {
        created.push(insert_sector(&tx, org, name, &shape).await?);
    }
    tx.commit().await?;
    Ok(created)
}

pub async fn update(
    db: &DatabaseConnection,
    org: OrgId,
    id: Uuid,
    name: &str,
    geometry: &JsonValue,
) -> Result<sector::Model, ServiceError> {
    let name = sector_name(name)?;
    let shape = Shape::parse(geometry).map_err(|e| invalid_geometry(e, None))?;
    let tx = db.begin().await?;
    let current = get(&tx, org, id).await?.ok_or(ServiceError::NotFound)?;
    let reshaped = current.geometry != shape.geojson;
    let mut model: sector::ActiveModel = current.into();
    model.name = Set(name);
    set_shape(&mut model, &shape);
    model.updated_at = Set(Utc::now());
    let model = model.update(&tx).await?;
    if reshaped {
        place_sector(&tx, org, id, &shape).await?;
    }
    tx.commit().await?;
    Ok(model)
}

/// Deletes the sector; its memberships and alert history cascade.
pub async fn delete(db: &impl ConnectionTrait, org: OrgId, id: Uuid) -> Result<(), ServiceError> {
    delete_owned::<sector::Entity>(db, org, id).await
}

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

fn points_in(sector_id: Uuid, org: OrgId) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(sector_membership::Column::ServicePointId)
        .from(sector_membership::Entity)
        .and_where(sector_membership::Column::SectorId.eq(sector_id))
        .and_where(sector_membership::Column::OrganizationId.eq(org.uuid()))
        .take()
}

/// The points of these sectors, as `(sector, point)` pairs.
fn memberships_of(sector_ids: &[Uuid], org: OrgId) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(sector_membership::Column::ServicePointId)
        .from(sector_membership::Entity)
        .and_where(sector_membership::Column::SectorId.is_in(sector_ids.iter().copied()))
        .and_where(sector_membership::Column::OrganizationId.eq(org.uuid()))
        .take()
}

/// One page of each sector's points, in id order, in one statement; every
/// sector gets a page, empty or not.
pub async fn points_pages(
    db: &impl ConnectionTrait,
    org: OrgId,
    sector_ids: &[Uuid],
    page: PageRequest,
) -> Result<HashMap<Uuid, Page<service_point::Model>>, DbErr> {
    let points = owned::<service_point::Entity>(org)
        .join_rev(
            JoinType::InnerJoin,
            sector_membership::Entity::belongs_to(service_point::Entity)
                .from(sector_membership::Column::ServicePointId)
                .to(service_point::Column::Id)
                .into(),
        )
        .filter(sector_membership::Column::OrganizationId.eq(org.uuid()))
        .filter(sector_membership::Column::SectorId.is_in(sector_ids.iter().copied()));
    let mut pages = fetch_pages_by(
        db,
        points,
        (
            sector_membership::Entity,
            sector_membership::Column::SectorId,
        ),
        service_point::Column::Id,
        Order::Asc,
        page,
    )
    .await?;
    for sector in sector_ids {
        pages.entry(*sector).or_insert_with(Page::empty);
    }
    Ok(pages)
}

/// How many points each sector holds.
pub async fn count_points(
    db: &impl ConnectionTrait,
    org: OrgId,
    sector_ids: &[Uuid],
) -> Result<HashMap<Uuid, u64>, DbErr> {
    let counts: Vec<(Uuid, i64)> = sector_membership::Entity::find()
        .select_only()
        .column(sector_membership::Column::SectorId)
        .expr(Expr::col(sector_membership::Column::ServicePointId).count())
        .filter(sector_membership::Column::OrganizationId.eq(org.uuid()))
        .filter(sector_membership::Column::SectorId.is_in(sector_ids.iter().copied()))
        .filter(
            sector_membership::Column::ServicePointId.in_subquery(
                Query::select()
                    .column(service_point::Column::Id)
                    .from(service_point::Entity)
                    .and_where(service_point::Column::OrganizationId.eq(org.uuid()))
                    .take(),
            ),
        )
        .group_by(sector_membership::Column::SectorId)
        .into_tuple()
        .all(db)
        .await?;
    let mut counts: HashMap<Uuid, u64> = counts
        .into_iter()
        .map(|(sector, n)| (sector, n as u64))
        .collect();
    for sector in sector_ids {
        counts.entry(*sector).or_insert(0);
    }
    Ok(counts)
}

/// The people to reach when a sector is in alert: the occupants of its
/// points (by point, then id), with those points (by id).
#[derive(Clone, Debug, Default)]
pub struct Recipients {
    pub points: Vec<service_point::Model>,
    pub occupants: Vec<occupant::Model>,
}

/// The recipients of each of these sectors, in three statements whatever
/// their number; every sector gets an entry, empty or not.
pub async fn recipients(
    db: &impl ConnectionTrait,
    org: OrgId,
    sector_ids: &[Uuid],
) -> Result<HashMap<Uuid, Recipients>, DbErr> {
    let memberships: Vec<(Uuid, Uuid)> = sector_membership::Entity::find()
        .select_only()
        .columns([
            sector_membership::Column::ServicePointId,
            sector_membership::Column::SectorId,
        ])
        .filter(sector_membership::Column::OrganizationId.eq(org.uuid()))
        .filter(sector_membership::Column::SectorId.is_in(sector_ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    let points = service_point::Entity::find()
        .filter(service_point::Column::OrganizationId.eq(org.uuid()))
        .filter(service_point::Column::Id.in_subquery(memberships_of(sector_ids, org)))
        .order_by_asc(service_point::Column::Id)
        .all(db)
        .await?;
    let occupants = occupant::Entity::find()
        .filter(occupant::Column::OrganizationId.eq(org.uuid()))
        .filter(occupant::Column::ServicePointId.in_subquery(memberships_of(sector_ids, org)))
        .order_by_asc(occupant::Column::ServicePointId)
        .order_by_asc(occupant::Column::Id)
        .all(db)
        .await?;
    let mut sectors_of: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (point, sector) in memberships {
        sectors_of.entry(point).or_default().push(sector);
    }
    let mut recipients: HashMap<Uuid, Recipients> = sector_ids
        .iter()
        .map(|sector| (*sector, Recipients::default()))
        .collect();
    for point in points {
        for sector in sectors_of.get(&point.id).into_iter().flatten() {
            if let Some(r) = recipients.get_mut(sector) {
                r.points.push(point.clone());
            }
        }
    }
    for occupant in occupants {
        for sector in sectors_of
            .get(&occupant.service_point_id)
            .into_iter()
            .flatten()
        {
            if let Some(r) = recipients.get_mut(sector) {
                r.occupants.push(occupant.clone());
            }
        }
    }
    Ok(recipients)
}

/// The sectors of several points, for `servicePoint.sectors`.
pub async fn of_points(
    db: &impl ConnectionTrait,
    org: OrgId,
    point_ids: &[Uuid],
) -> Result<Vec<(Uuid, sector::Model)>, DbErr> {
    let memberships = sector_membership::Entity::find()
        .filter(sector_membership::Column::OrganizationId.eq(org.uuid()))
        .filter(sector_membership::Column::ServicePointId.is_in(point_ids.iter().copied()))
        .all(db)
        .await?;
    let sector_ids: HashSet<Uuid> = memberships.iter().map(|m| m.sector_id).collect();
    let sectors = super::get_many_owned::<sector::Entity>(
        db,
        org,
        &sector_ids.into_iter().collect::<Vec<_>>(),
    )
    .await?;
    Ok(memberships
        .into_iter()
        .filter_map(|m| {
            sectors
                .iter()
                .find(|s| s.id == m.sector_id)
                .map(|s| (m.service_point_id, s.clone()))
        })
        .collect())
}

/// Puts a sector in alert or ends its alert, keeping the history.
pub async fn set_alert(
    db: &DatabaseConnection,
    org: OrgId,
    id: Uuid,
    active: bool,
) -> Result<sector::Model, ServiceError> {
    let tx = db.begin().await?;
    let current = get(&tx, org, id).await?.ok_or(ServiceError::NotFound)?;
    if current.alert_active == active {
        tx.commit().await?;
        return Ok(current);
    }
    let now = Utc::now();
    if active {
        let recipients = occupant::Entity::find()
            .filter(occupant::Column::OrganizationId.eq(org.uuid()))
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
    } else {
        sector_alert::Entity::update_many()
            .col_expr(
                sector_alert::Column::EndedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(
                Condition::all()
                    .add(sector_alert::Column::SectorId.eq(id))
                    .add(sector_alert::Column::OrganizationId.eq(org.uuid()))
                    .add(sector_alert::Column::EndedAt.is_null()),
            )
            .exec(&tx)
            .await?;
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
        .filter(sector_alert::Column::OrganizationId.eq(org.uuid()))
        .filter(sector_alert::Column::SectorId.is_in(sector_ids.iter().copied()))
        .order_by_desc(sector_alert::Column::StartedAt)
        .order_by_desc(sector_alert::Column::Id)
        .all(db)
        .await
}
