//! The HTTP side shared by the providers: one reqwest client with a
//! per-request timeout, a rate limiter (governor), bounded concurrency, and
//! retries with exponential backoff and jitter on timeouts, 429 (honouring
//! `Retry-After`) and 5xx.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::Semaphore;

use super::{AddressQuery, GeocodeError, GeocodeFuture, Geocoder, Outcome};

/// How a provider asks and reads.
pub trait Provider: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn request(&self, client: &reqwest::Client, address: &AddressQuery) -> reqwest::RequestBuilder;
    /// Reads a successful (2xx) answer.
    fn parse(&self, body: &[u8]) -> Result<Outcome, GeocodeError>;
}

#[derive(Clone)]
pub struct HttpSettings {
    /// The deployment's budget, waited for before every request.
    pub shared_budget: Option<Arc<dyn super::RateBudget>>,
    pub timeout: Duration,
    /// Requests per second; `None` for no limit (a self-hosted server).
    pub requests_per_second: Option<f64>,
    pub concurrency: usize,
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// First backoff; doubled at each retry, with jitter.
    pub backoff: Duration,
    /// The longest `Retry-After` honoured.
    pub max_retry_after: Duration,
}

pub struct HttpGeocoder<P> {
    provider: P,
    client: reqwest::Client,
    limiter: Option<DefaultDirectRateLimiter>,
    permits: Semaphore,
    settings: HttpSettings,
}

impl<P: Provider> HttpGeocoder<P> {
    pub fn new(
        provider: P,
        user_agent: &str,
        settings: HttpSettings,
    ) -> Result<Arc<Self>, reqwest::Error> {
        crate::geocode::install_tls_provider();
        let client = reqwest::Client::builder()
            .user_agent(user_agent)
            .timeout(settings.timeout)
            .build()?;
        let limiter = settings
            .requests_per_second
            .filter(|rps| *rps > 0.0)
            .and_then(|rps| Quota::with_period(Duration::from_secs_f64(1.0 / rps)))
            .map(|quota| RateLimiter::direct(quota.allow_burst(NonZeroU32::MIN)));
        let permits = Semaphore::new(settings.concurrency.max(1));
        Ok(Arc::new(HttpGeocoder {
            provider,
            client,
            limiter,
            permits,
            settings,
        }))
    }

    async fn attempt(&self, address: &AddressQuery) -> Result<Outcome, Failure> {
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
        }
        if let Some(budget) = &self.settings.shared_budget {
            budget.turn().await;
        }
        let response = self
            .provider
            .request(&self.client, address)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    Failure::retry(GeocodeError::Timeout)
                } else {
                    Failure::retry(GeocodeError::Unreachable)
                }
            })?;
        let status = response.status();
        if status.as_u16() == 429 {
            let wait = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Err(Failure {
                error: GeocodeError::RateLimited,
                retry: true,
                wait,
            });
        }
        if status.is_server_error() {
            return Err(Failure::retry(GeocodeError::Upstream(status.as_u16())));
        }
        if !status.is_success() {
            return Err(Failure {
                error: GeocodeError::Upstream(status.as_u16()),
                retry: false,
                wait: None,
            });
        }
        let body = response.bytes().await.map_err(|e| {
            Failure::retry(if e.is_timeout() {
                GeocodeError::Timeout
            } else {
                GeocodeError::Unreachable
            })
        })?;
        self.provider.parse(&body).map_err(|error| {
            let retry = error == GeocodeError::RateLimited;
            Failure {
                error,
                retry,
                wait: None,
            }
        })
    }
}

struct Failure {
    error: GeocodeError,
    retry: bool,
    wait: Option<Duration>,
}

impl Failure {
    fn retry(error: GeocodeError) -> Failure {
        Failure {
            error,
            retry: true,
            wait: None,
        }
    }
}

/// Exponential backoff with up to 50 % jitter, so that retries of many
/// requests do not arrive together.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let exponential = base.saturating_mul(1 << attempt.min(10));
    let jitter = exponential.mul_f64(rand::random::<f64>() * 0.5);
    exponential + jitter
}

impl<P: Provider> Geocoder for HttpGeocoder<P> {
    fn provider(&self) -> &'static str {
        self.provider.name()
    }

    fn geocode<'a>(&'a self, address: &'a AddressQuery) -> GeocodeFuture<'a> {
        Box::pin(async move {
            let _permit = self
                .permits
                .acquire()
                .await
                .map_err(|_| GeocodeError::Unreachable)?;
            let mut attempt = 0;
            loop {
                match self.attempt(address).await {
                    Ok(outcome) => return Ok(outcome),
                    Err(failure) if failure.retry && attempt + 1 < self.settings.attempts => {
                        let wait = match failure.wait {
                            Some(wait) => wait.min(self.settings.max_retry_after),
                            None => backoff(self.settings.backoff, attempt),
                        };
                        tracing::debug!(error = %failure.error, ?wait, "geocoder retry");
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                    }
                    Err(failure) => return Err(failure.error),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        for attempt in 0..4 {
            let base = Duration::from_millis(100) * (1 << attempt);
            let wait = backoff(Duration::from_millis(100), attempt);
            assert!(
                wait >= base && wait <= base.mul_f64(1.5),
                "{attempt}: {wait:?}"
            );
        }
    }
}
