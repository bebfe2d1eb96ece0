//! Service points: where a client is served. A point's address keys it and
//! its coordinates place it in sectors; a change of either moves it.

use chrono::Utc;
use entity::{client, geocode_work, service_point};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, QueryFilter,
    Select, Set,
};
use uuid::Uuid;

use super::{ensure_free, get_owned, on_unique_violation, owned};
use crate::auth::OrgId;
use crate::domain::{Address, Coordinates, GeocodeStatus, ValidationError};
use crate::service::geocoding::{self, Geocoding};
use crate::service::sectors::{self, Position};
use crate::service::store::locks::{self, Memberships};
use crate::service::{ServiceError, delete_placed, require_owned_locked};

#[derive(Clone, Debug, Default)]
pub struct ServicePointFilter {
    pub client_id: Option<Uuid>,
    pub sector_id: Option<Uuid>,
    pub geocode_status: Option<GeocodeStatus>,
}

/// The organization's points that `filter` keeps, for `service::list`.
pub fn filtered(org: OrgId, filter: &ServicePointFilter) -> Select<service_point::Entity> {
    let mut select = owned::<service_point::Entity>(org);
    if let Some(client_id) = filter.client_id {
        select = select.filter(service_point::Column::ClientId.eq(client_id));
    }
    if let Some(status) = filter.geocode_status {
        select = select.filter(service_point::Column::GeocodeStatus.eq(status));
    }
    if let Some(sector_id) = filter.sector_id {
        select = select
            .filter(service_point::Column::Id.in_subquery(sectors::points_in(sector_id, org)));
    }
    select
}

async fn ensure_address_free(
    db: &impl ConnectionTrait,
    client_id: Uuid,
    address_key: &str,
    except: Option<Uuid>,
) -> Result<(), ServiceError> {
    let unique = Condition::all()
        .add(service_point::Column::ClientId.eq(client_id))
        .add(service_point::Column::AddressKey.eq(address_key));
    ensure_free::<service_point::Entity>(db, unique, except, || ValidationError::DuplicateAddress)
        .await
}

fn set_address(model: &mut service_point::ActiveModel, address: &Address) {
    model.address_line1 = Set(address.line1.clone());
    model.city = Set(address.city.clone());
    model.province = Set(address.province.map(|p| p.code().to_owned()));
    model.postal_code = Set(address.postal_code.as_ref().map(|p| p.as_str().to_owned()));
    model.address_key = Set(address.key());
}

/// Coordinates given by hand are `MANUAL`; none leaves the point `PENDING`
/// until the geocoder locates it.
fn set_location(model: &mut service_point::ActiveModel, coordinates: Option<Coordinates>) {
    let status = match coordinates {
        Some(_) => GeocodeStatus::Manual,
        None => GeocodeStatus::Pending,
    };
    model.latitude = Set(coordinates.map(|c| c.latitude));
    model.longitude = Set(coordinates.map(|c| c.longitude));
    model.geocode_status = Set(status);
    model.geocode_provider = Set(None);
    model.geocoded_at = Set(None);
}

pub async fn create(
    db: &DatabaseConnection,
    geocoding: &Geocoding,
    org: OrgId,
    client_id: Uuid,
    address: &Address,
    coordinates: Option<Coordinates>,
) -> Result<service_point::Model, ServiceError> {
    let tx = locks::begin_memberships(db, org, Memberships::Shared).await?;
    if get_owned::<client::Entity>(&tx, org, client_id)
        .await?
        .is_none()
    {
        return Err(ServiceError::NotFound);
    }
    ensure_address_free(&tx, client_id, &address.key(), None).await?;
    let now = Utc::now();
    let mut model = service_point::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.uuid()),
        client_id: Set(client_id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    set_address(&mut model, address);
    set_location(&mut model, coordinates);
    let model = model
        .insert(&tx)
        .await
        .map_err(|e| on_unique_violation(e, ValidationError::DuplicateAddress))?;
    sectors::place_points(&tx, org, &[Position::from(&model)]).await?;
    tx.commit().await?;
    located(db, geocoding, org, model).await
}

/// `coordinates`: `None` keeps them, `Some(None)` clears hand-given ones so
/// the geocoder takes over, `Some(Some(_))` sets them by hand. A new address
/// without new coordinates drops the old position: it described the old
/// address. A respelled address (same key) keeps it.
pub async fn update(
    db: &DatabaseConnection,
    geocoding: &Geocoding,
    org: OrgId,
    id: Uuid,
    address: Option<&Address>,
    coordinates: Option<Option<Coordinates>>,
) -> Result<service_point::Model, ServiceError> {
    let tx = locks::begin_memberships(db, org, Memberships::Shared).await?;
    let current = require_owned_locked::<service_point::Entity>(&tx, org, id).await?;
    let moved = address.is_some_and(|a| a.key() != current.address_key);
    if let Some(address) = address.filter(|_| moved) {
        ensure_address_free(&tx, current.client_id, &address.key(), Some(id)).await?;
    }
    let mut model: service_point::ActiveModel = current.clone().into();
    if let Some(address) = address {
        set_address(&mut model, address);
    }
    match coordinates {
        Some(coordinates) => set_location(&mut model, coordinates),
        None if moved => set_location(&mut model, None),
        None => {}
    }
    if !model.is_changed() {
        return Ok(current);
    }
    let relocated = model.latitude.is_set() || model.longitude.is_set();
    model.updated_at = Set(Utc::now());
    let model = model
        .update(&tx)
        .await
        .map_err(|e| on_unique_violation(e, ValidationError::DuplicateAddress))?;
    if relocated {
        sectors::place_points(&tx, org, &[Position::from(&model)]).await?;
        // A new address (or a position handed back) starts a fresh retry
        // schedule: the old one's failures say nothing of it.
        <geocode_work::Entity as sea_orm::EntityTrait>::delete_by_id(model.id)
            .exec(&tx)
            .await?;
    }
    tx.commit().await?;
    located(db, geocoding, org, model).await
}

/// Deletes the point; its occupants and sector memberships cascade.
pub async fn delete(db: &DatabaseConnection, org: OrgId, id: Uuid) -> Result<(), ServiceError> {
    delete_placed::<service_point::Entity>(db, org, id, Memberships::Shared).await
}

/// The point once the geocoder had its say (after the commit: the provider
/// never holds a transaction open); its author reads the status.
async fn located(
    db: &DatabaseConnection,
    geocoding: &Geocoding,
    org: OrgId,
    point: service_point::Model,
) -> Result<service_point::Model, ServiceError> {
    let announce = geocoding::Announce::Nothing;
    let mut now = geocoding::geocode(db, geocoding, org, vec![point], announce).await?;
    Ok(now.remove(0))
}
