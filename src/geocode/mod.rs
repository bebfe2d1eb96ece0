//! Geocoding behind a trait, held as `Arc<dyn Geocoder>`, so that providers
//! (Nominatim, Google, none) can be swapped and tests can use a double.
//! The import asks it for new addresses before its transaction opens; what
//! it cannot locate in time stays `PENDING`.

use std::future::Future;
use std::pin::Pin;

/// A structured address, country Canada.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressQuery {
    pub line1: String,
    pub city: Option<String>,
    pub province: Option<String>,
    pub postal_code: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Precision {
    /// House or building match: `OK`.
    Exact,
    /// Street, postal-code or locality match: `APPROXIMATE`.
    Approximate,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Outcome {
    Found {
        latitude: f64,
        longitude: f64,
        precision: Precision,
    },
    NotFound,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GeocodeError {
    #[error("the geocoder did not answer in time")]
    Timeout,
    #[error("the geocoder refused: rate limited")]
    RateLimited,
    #[error("the geocoder failed with status {0}")]
    Upstream(u16),
    #[error("the geocoder's answer was unreadable")]
    Malformed,
    #[error("the geocoder is unreachable")]
    Unreachable,
}

pub type GeocodeFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Outcome, GeocodeError>> + Send + 'a>>;

pub trait Geocoder: Send + Sync {
    /// Stored on the point and in the cache key: `nominatim`, `google`, ...
    fn provider(&self) -> &'static str;

    /// `false` for `none`: the import then leaves new points `PENDING`
    /// without asking.
    fn enabled(&self) -> bool {
        true
    }

    fn geocode<'a>(&'a self, address: &'a AddressQuery) -> GeocodeFuture<'a>;
}

/// `GEOCODER=none`: never calls out; points stay `PENDING`.
pub struct NoGeocoder;

impl Geocoder for NoGeocoder {
    fn provider(&self) -> &'static str {
        "none"
    }

    fn enabled(&self) -> bool {
        false
    }

    fn geocode<'a>(&'a self, _address: &'a AddressQuery) -> GeocodeFuture<'a> {
        Box::pin(async { Err(GeocodeError::Unreachable) })
    }
}
