//! Locating service points: the shared cache first (an address is asked
//! once, across imports and organizations), then the provider, all within
//! a deadline. What is not located in time stays `PENDING` for the
//! background worker, which lives here too.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{geocode_cache, service_point};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set,
};
use tokio::task::JoinSet;
use uuid::Uuid;

use super::sectors::{self, Position};
use super::store::batch::insert_batched;
use super::store::locks::{self, Memberships};
use super::{ServiceError, get_many_owned};
use crate::auth::OrgId;
use crate::domain::GeocodeStatus;
use crate::geocode::{AddressQuery, GeocodeError, Geocoder, Outcome, Precision};
use crate::import::progress::Progress;
use crate::service::store::tenant::belongs;

/// How long a "not found" is believed before the address is asked again.
const NOT_FOUND_TTL_DAYS: i64 = 30;

pub struct Geocoding {
    pub geocoder: Arc<dyn Geocoder>,
    /// The longest an import or a mutation waits for the provider.
    pub deadline: Duration,
}

/// What became of one address.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Located {
    Found {
        latitude: f64,
        longitude: f64,
        precision: Precision,
    },
    NotFound,
    /// Slow, down or rate-limited: try again later.
    Deferred,
    /// Refused by the provider after retries.
    Failed,
}

pub fn query_of(point: &service_point::Model) -> AddressQuery {
    AddressQuery {
        line1: point.address_line1.clone(),
        city: point.city.clone(),
        province: point.province.clone(),
        postal_code: point.postal_code.clone(),
    }
}

fn from_cache(row: &geocode_cache::Model) -> Option<Located> {
    match (row.status, row.latitude, row.longitude) {
        (GeocodeStatus::Ok, Some(latitude), Some(longitude)) => Some(Located::Found {
            latitude,
            longitude,
            precision: Precision::Exact,
        }),
        (GeocodeStatus::Approximate, Some(latitude), Some(longitude)) => Some(Located::Found {
            latitude,
            longitude,
            precision: Precision::Approximate,
        }),
        (GeocodeStatus::NotFound, _, _) => Some(Located::NotFound),
        _ => None,
    }
}

fn from_answer(answer: Result<Outcome, GeocodeError>) -> Located {
    match answer {
        Ok(Outcome::Found {
            latitude,
            longitude,
            precision,
        }) => Located::Found {
            latitude,
            longitude,
            precision,
        },
        Ok(Outcome::NotFound) => Located::NotFound,
        Err(GeocodeError::Timeout | GeocodeError::RateLimited | GeocodeError::Unreachable) => {
            Located::Deferred
        }
        Err(GeocodeError::Upstream(status)) if status >= 500 => Located::Deferred,
        Err(GeocodeError::Upstream(_) | GeocodeError::Malformed) => Located::Failed,
    }
}

fn cache_row(
    provider: &str,
    key: &str,
    located: Located,
    now: DateTime<Utc>,
) -> Option<geocode_cache::ActiveModel> {
    let (status, latitude, longitude, expires_at) = match located {
        Located::Found {
            latitude,
            longitude,
            precision,
        } => {
            let status = if precision == Precision::Exact {
                GeocodeStatus::Ok
            } else {
                GeocodeStatus::Approximate
            };
            (status, Some(latitude), Some(longitude), None)
        }
        Located::NotFound => (
            GeocodeStatus::NotFound,
            None,
            None,
            Some(now + chrono::Duration::days(NOT_FOUND_TTL_DAYS)),
        ),
        Located::Deferred | Located::Failed => return None,
    };
    Some(geocode_cache::ActiveModel {
        provider: Set(provider.to_owned()),
        address_key: Set(key.to_owned()),
        status: Set(status),
        latitude: Set(latitude),
        longitude: Set(longitude),
        created_at: Set(now),
        expires_at: Set(expires_at),
    })
}

impl Geocoding {
    pub fn enabled(&self) -> bool {
        self.geocoder.enabled()
    }

    /// Locates each distinct address key, from the cache or the provider,
    /// within the deadline. Keys left out were not located in time.
    pub async fn locate(
        &self,
        db: &impl ConnectionTrait,
        addresses: Vec<(String, AddressQuery)>,
        progress: &Progress,
    ) -> Result<HashMap<String, Located>, DbErr> {
        let mut found = HashMap::new();
        if !self.enabled() || addresses.is_empty() {
            return Ok(found);
        }
        progress.add_to_locate(addresses.len());
        let provider = self.geocoder.provider();
        let mut wanted: HashMap<String, AddressQuery> = addresses.into_iter().collect();
        let keys: Vec<String> = wanted.keys().cloned().collect();
        let now = Utc::now();
        for chunk in keys.chunks(10_000) {
            let rows = geocode_cache::Entity::find()
                .filter(geocode_cache::Column::Provider.eq(provider))
                .filter(geocode_cache::Column::AddressKey.is_in(chunk.iter().cloned()))
                .all(db)
                .await?;
            for row in rows {
                if row.expires_at.is_some_and(|at| at <= now) {
                    continue;
                }
                if let Some(located) = from_cache(&row) {
                    wanted.remove(&row.address_key);
                    found.insert(row.address_key, located);
                    progress.add_located(1);
                }
            }
        }

        let mut asks = JoinSet::new();
        for (key, address) in wanted {
            let geocoder = self.geocoder.clone();
            asks.spawn(async move { (key, from_answer(geocoder.geocode(&address).await)) });
        }
        let deadline = tokio::time::Instant::now() + self.deadline;
        let mut answered = Vec::new();
        while let Ok(Some(joined)) = tokio::time::timeout_at(deadline, asks.join_next()).await {
            if let Ok((key, located)) = joined {
                answered.push((key, located));
                progress.add_located(1);
            }
        }
        // Past the deadline the rest is abandoned (dropping the set aborts
        // them): those points stay PENDING for the worker.
        asks.abort_all();
        // Sorted by key: two writers upserting overlapping addresses take
        // their row locks in one order and cannot deadlock.
        answered.sort_by(|a, b| a.0.cmp(&b.0));
        let rows: Vec<geocode_cache::ActiveModel> = answered
            .iter()
            .filter_map(|(key, located)| cache_row(provider, key, *located, now))
            .collect();
        let upsert = OnConflict::columns([
            geocode_cache::Column::Provider,
            geocode_cache::Column::AddressKey,
        ])
        .update_columns([
            geocode_cache::Column::Status,
            geocode_cache::Column::Latitude,
            geocode_cache::Column::Longitude,
            geocode_cache::Column::CreatedAt,
            geocode_cache::Column::ExpiresAt,
        ])
        .to_owned();
        // The cache only saves asking again: failing to write it must not
        // fail the import or the edit that asked.
        let cached = insert_batched(
            db,
            &rows,
            |row: &geocode_cache::ActiveModel| row.clone(),
            Some(&upsert),
        )
        .await;
        if let Err(error) = cached {
            super::log_internal(&error);
        }
        found.extend(answered);
        Ok(found)
    }

    /// Puts what was found on a point that has no hand-given coordinates.
    pub fn apply(&self, point: &mut service_point::Model, located: Located) {
        if point.geocode_status == GeocodeStatus::Manual {
            return;
        }
        let status = match located {
            Located::Found {
                latitude,
                longitude,
                precision,
            } => {
                point.latitude = Some(latitude);
                point.longitude = Some(longitude);
                if precision == Precision::Exact {
                    GeocodeStatus::Ok
                } else {
                    GeocodeStatus::Approximate
                }
            }
            Located::NotFound => GeocodeStatus::NotFound,
            Located::Failed => GeocodeStatus::Failed,
            Located::Deferred => return,
        };
        point.geocode_status = status;
        point.geocode_provider = Some(self.geocoder.provider().to_owned());
        point.geocoded_at = Some(Utc::now());
    }
}

/// Whether [`geocode`] announces the addresses it found nowhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Announce {
    /// An edit: its author reads the status in the answer.
    Nothing,
    /// The background worker: the organization learns it by webhook.
    NotFound,
}

/// Locates the points that wait for it (`PENDING` or `FAILED`), saves what
/// was found and places them in their sectors; returns the points as they
/// now are, in the same order.
///
/// A result is written only onto a point that still waits for the address
/// it was computed for: one whose address changed during the lookup (the
/// provider can take seconds), or that got a position by hand, is left as
/// it now is.
///
/// With `announce`, addresses it found nowhere are announced
/// (`geocoding.needs_attention`) in the transaction that records them: the
/// notice exists exactly when the change does.
pub async fn geocode(
    db: &DatabaseConnection,
    geocoding: &Geocoding,
    org: OrgId,
    mut points: Vec<service_point::Model>,
    announce: Announce,
) -> Result<Vec<service_point::Model>, ServiceError> {
    let waiting = |p: &service_point::Model| {
        p.latitude.is_none() && GeocodeStatus::WAITING.contains(&p.geocode_status)
    };
    let addresses: Vec<_> = points
        .iter()
        .filter(|p| waiting(p))
        .map(|p| (p.address_key.clone(), query_of(p)))
        .collect();
    if !geocoding.enabled() || addresses.is_empty() {
        return Ok(points);
    }
    let located = geocoding
        .locate(db, addresses, &Progress::default())
        .await?;
    let tx = locks::begin_memberships(db, org, Memberships::Shared).await?;
    let mut moved = Vec::new();
    let mut changed_meanwhile = Vec::new();
    let mut not_found = 0usize;
    for point in points.iter_mut().filter(|p| waiting(p)) {
        let Some(result) = located.get(&point.address_key) else {
            continue;
        };
        let mut found = point.clone();
        geocoding.apply(&mut found, *result);
        if found == *point {
            continue; // deferred: nothing to write
        }
        let model = service_point::ActiveModel {
            latitude: Set(found.latitude),
            longitude: Set(found.longitude),
            geocode_status: Set(found.geocode_status),
            geocode_provider: Set(found.geocode_provider.clone()),
            geocoded_at: Set(found.geocoded_at),
            ..Default::default()
        };
        let written = service_point::Entity::update_many()
            .set(model)
            .filter(service_point::Column::Id.eq(point.id))
            .filter(belongs::<service_point::Entity>(org))
            .filter(service_point::Column::AddressKey.eq(point.address_key.as_str()))
            .filter(service_point::Column::GeocodeStatus.is_in(GeocodeStatus::WAITING))
            .filter(service_point::Column::Latitude.is_null())
            .exec(&tx)
            .await?;
        if written.rows_affected == 0 {
            changed_meanwhile.push(point.id);
            continue;
        }
        *point = found;
        if point.latitude.is_some() {
            moved.push(Position::from(&*point));
        }
        if point.geocode_status == GeocodeStatus::NotFound {
            not_found += 1;
        }
    }
    sectors::place_points(&tx, org, &moved).await?;
    if announce == Announce::NotFound && not_found > 0 {
        let data = serde_json::json!({ "notFound": not_found });
        let event = entity::values::WebhookEvent::GeocodingNeedsAttention;
        super::webhooks::enqueue(&tx, org, event, data).await?;
    }
    tx.commit().await?;
    if !changed_meanwhile.is_empty() {
        let now: HashMap<Uuid, service_point::Model> =
            get_many_owned::<service_point::Entity>(db, org, &changed_meanwhile)
                .await?
                .into_iter()
                .map(|p| (p.id, p))
                .collect();
        points.retain_mut(|point| match now.get(&point.id) {
            Some(current) => {
                *point = current.clone();
                true
            }
            None => !changed_meanwhile.contains(&point.id),
        });
    }
    Ok(points)
}
