//! Sectors and their memberships. Which point lies in which sector is
//! stored and kept current on every change of either side, so that "by
//! sector" reads are plain indexed lookups.

use chrono::Utc;
use entity::sector;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, QueryOrder, Set};
use serde_json::Value as JsonValue;
use uuid::Uuid;

use super::owned;
use crate::auth::OrgId;
use crate::domain::{Field, Lang, MAX_IDENTIFIER, ValidationError, required_text};
use crate::sector::{GeometryError, Shape};
use crate::service::store::locks::{self, Memberships};
use crate::service::{ServiceError, delete_placed, require_owned_locked};

mod alerts;
mod membership;
mod reads;

pub use alerts::{AlertStart, alerts, set_alert};
pub use membership::{Places, Position, place_all_points, place_points, place_sector, places};
pub use reads::{Recipients, count_points, of_points, points_in, points_pages, recipients};

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

/// A sector's name and shape as given to `create` and `update`, read on a
/// blocking thread: a large polygon is CPU work the async workers must not
/// wait on.
async fn validated(
    name: &str,
    geometry: &JsonValue,
    max_vertices: usize,
) -> Result<(String, Shape), ServiceError> {
    let name = sector_name(name)?;
    // Counted before anything is copied: a refused geometry costs a walk.
    Shape::check_vertices(geometry, max_vertices).map_err(|e| invalid_geometry(e, None))?;
    let geometry = geometry.clone();
    let shape = off_the_async_workers(move || {
        Shape::parse(&geometry).map_err(|e| invalid_geometry(e, None))
    })
    .await?;
    Ok((name, shape))
}

/// Runs CPU work (geometry) on tokio's blocking threads.
pub(super) async fn off_the_async_workers<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ServiceError::Task)?
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
    max_vertices: usize,
) -> Result<sector::Model, ServiceError> {
    let (name, shape) = validated(name, geometry, max_vertices).await?;
    let tx = locks::begin_memberships(db, org, Memberships::Exclusive).await?;
    let model = insert_sector(&tx, org, name, &shape).await?;
    tx.commit().await?;
    Ok(model)
}

/// One sector per feature of a GeoJSON `Feature` or `FeatureCollection`,
/// named from its `name` property; all or nothing.
pub async fn import(
    db: &DatabaseConnection,
    org: OrgId,
    geojson: Vec<u8>,
    max_vertices: usize,
) -> Result<Vec<sector::Model>, ServiceError> {
    let sectors = off_the_async_workers(move || read_features(&geojson, max_vertices)).await?;
    let tx = locks::begin_memberships(db, org, Memberships::Exclusive).await?;
    let mut created = Vec::with_capacity(sectors.len());
    for (name, shape) in sectors {
        created.push(insert_sector(&tx, org, name, &shape).await?);
    }
    tx.commit().await?;
    Ok(created)
}

/// Each feature's name and shape; `max_vertices` positions in all.
fn read_features(
    geojson: &[u8],
    max_vertices: usize,
) -> Result<Vec<(String, Shape)>, ServiceError> {
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
    let mut left = max_vertices;
    for (i, feature) in features.iter().enumerate() {
        let geometry = feature
            .geometry
            .as_ref()
            .ok_or_else(|| invalid_geometry(GeometryError::Empty, Some(i)))?;
        let value = serde_json::to_value(geometry)
            .map_err(|e| invalid_geometry(GeometryError::NotGeoJson(e.to_string()), Some(i)))?;
        let shape = Shape::parse_bounded(&value, left).map_err(|e| match e {
            GeometryError::TooManyVertices { .. } => invalid_geometry(
                GeometryError::TooManyVertices { max: max_vertices },
                Some(i),
            ),
            other => invalid_geometry(other, Some(i)),
        })?;
        left -= shape.vertices();
        let name = ["name", "nom", "Name", "NAME", "NOM", "Nom"]
            .iter()
            .find_map(|key| feature.property(key).and_then(JsonValue::as_str))
            .map(str::to_owned)
            .unwrap_or_else(|| format!("Secteur {}", i + 1));
        sectors.push((sector_name(&name)?, shape));
    }
    Ok(sectors)
}

pub async fn update(
    db: &DatabaseConnection,
    org: OrgId,
    id: Uuid,
    name: &str,
    geometry: &JsonValue,
    max_vertices: usize,
) -> Result<sector::Model, ServiceError> {
    let (name, shape) = validated(name, geometry, max_vertices).await?;
    let tx = locks::begin_memberships(db, org, Memberships::Exclusive).await?;
    let current = require_owned_locked::<sector::Entity>(&tx, org, id).await?;
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
pub async fn delete(db: &DatabaseConnection, org: OrgId, id: Uuid) -> Result<(), ServiceError> {
    delete_placed::<sector::Entity>(db, org, id, Memberships::Exclusive).await
}
