//! Geocoding behind a trait, held as `Arc<dyn Geocoder>`, so that providers
//! (Nominatim, Google, none) can be swapped and tests can use a double.
//! The import asks it for new addresses before its transaction opens; what
//! it cannot locate in time stays `PENDING`.

pub mod google;
pub mod http;
pub mod nominatim;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

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

/// A request budget shared beyond this process (the deployment's, kept in
/// the database): `turn` waits for this instance's next slot. The local
/// limiter still applies on top.
pub trait RateBudget: Send + Sync {
    fn turn(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

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

/// rustls with the `ring` provider (already built for the database driver),
/// installed once before the first HTTPS client.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub use crate::config::{GeocoderConfig, ProviderName};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("GEOCODER=google needs GEOCODER_API_KEY")]
    MissingApiKey,
    #[error("geocoder HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// The request rate for Nominatim: on the public server (the default URL)
/// one a second at most, whatever is configured (its usage policy); a
/// self-hosted server goes as fast as `GEOCODER_RPS` says.
pub fn public_rate(config: &GeocoderConfig) -> Option<f64> {
    let url = config
        .geocoder_url
        .as_deref()
        .unwrap_or(nominatim::PUBLIC_URL);
    if url.trim_end_matches('/') == nominatim::PUBLIC_URL {
        Some(
            config
                .geocoder_rps
                .filter(|r| *r > 0.0)
                .map_or(1.0, |r| r.min(1.0)),
        )
    } else {
        config.geocoder_rps
    }
}

/// The geocoder the configuration names.
pub fn build(config: &GeocoderConfig) -> Result<Arc<dyn Geocoder>, ConfigError> {
    build_sharing(config, None)
}

/// Requests per second the configured provider is held to, if any.
pub fn rate_limit(config: &GeocoderConfig) -> Option<f64> {
    match config.geocoder {
        ProviderName::None => None,
        ProviderName::Nominatim => public_rate(config),
        ProviderName::Google => config.geocoder_rps,
    }
    .filter(|r| *r > 0.0)
}

/// [`build`], every request also waiting its turn in `budget`.
pub fn build_sharing(
    config: &GeocoderConfig,
    budget: Option<Arc<dyn RateBudget>>,
) -> Result<Arc<dyn Geocoder>, ConfigError> {
    let settings = |rps: Option<f64>| http::HttpSettings {
        shared_budget: budget.clone(),
        timeout: config.geocoder_timeout,
        requests_per_second: rps.filter(|r| *r > 0.0),
        concurrency: config.geocoder_concurrency,
        attempts: 3,
        backoff: Duration::from_millis(200),
        max_retry_after: Duration::from_secs(30),
    };
    let user_agent = format!(
        "flokon-api/{} ({})",
        env!("CARGO_PKG_VERSION"),
        config.geocoder_contact
    );
    Ok(match config.geocoder {
        ProviderName::None => Arc::new(NoGeocoder),
        ProviderName::Nominatim => {
            let base_url = config
                .geocoder_url
                .clone()
                .unwrap_or_else(|| nominatim::PUBLIC_URL.to_owned());
            http::HttpGeocoder::new(
                nominatim::Nominatim { base_url },
                &user_agent,
                settings(public_rate(config)),
            )?
        }
        ProviderName::Google => {
            let api_key = config
                .geocoder_api_key
                .clone()
                .ok_or(ConfigError::MissingApiKey)?;
            let base_url = config
                .geocoder_url
                .clone()
                .unwrap_or_else(|| google::DEFAULT_URL.to_owned());
            http::HttpGeocoder::new(
                google::Google { base_url, api_key },
                &user_agent,
                settings(config.geocoder_rps),
            )?
        }
    })
}
