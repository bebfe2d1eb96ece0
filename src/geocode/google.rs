//! The Google Geocoding API (`components=country:CA`, API key).

use serde::Deserialize;

use super::http::Provider;
use super::{AddressQuery, GeocodeError, Outcome, Precision};

pub const DEFAULT_URL: &str = "https://maps.googleapis.com";

pub struct Google {
    pub base_url: String,
    pub api_key: String,
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    results: Vec<Result_>,
}

#[derive(Deserialize)]
struct Result_ {
    geometry: Geometry,
    #[serde(default)]
    partial_match: bool,
}

#[derive(Deserialize)]
struct Geometry {
    location: Location,
    location_type: String,
}

#[derive(Deserialize)]
struct Location {
    lat: f64,
    lng: f64,
}

impl Provider for Google {
    fn name(&self) -> &'static str {
        "google"
    }

    fn request(&self, client: &reqwest::Client, address: &AddressQuery) -> reqwest::RequestBuilder {
        let full = [
            Some(address.line1.as_str()),
            address.city.as_deref(),
            address.province.as_deref(),
            address.postal_code.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
        client
            .get(format!(
                "{}/maps/api/geocode/json",
                self.base_url.trim_end_matches('/')
            ))
            .query(&[
                ("address", full.as_str()),
                ("components", "country:CA"),
                ("key", self.api_key.as_str()),
            ])
    }

    fn parse(&self, body: &[u8]) -> Result<Outcome, GeocodeError> {
        let answer: Answer = serde_json::from_slice(body).map_err(|_| GeocodeError::Malformed)?;
        match answer.status.as_str() {
            "OK" => {}
            "ZERO_RESULTS" => return Ok(Outcome::NotFound),
            "OVER_QUERY_LIMIT" => return Err(GeocodeError::RateLimited),
            "UNKNOWN_ERROR" => return Err(GeocodeError::Upstream(500)),
            _ => return Err(GeocodeError::Upstream(400)),
        }
        let first = answer
            .results
            .into_iter()
            .next()
            .ok_or(GeocodeError::Malformed)?;
        let exact = matches!(
            first.geometry.location_type.as_str(),
            "ROOFTOP" | "RANGE_INTERPOLATED"
        ) && !first.partial_match;
        let precision = if exact {
            Precision::Exact
        } else {
            Precision::Approximate
        };
        Ok(Outcome::Found {
            latitude: first.geometry.location.lat,
            longitude: first.geometry.location.lng,
            precision,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<Outcome, GeocodeError> {
        Google {
            base_url: String::new(),
            api_key: String::new(),
        }
        .parse(body.as_bytes())
    }

    #[test]
    fn reads_precision_from_location_type_and_partial_match() {
        let rooftop = r#"{"status":"OK","results":[{"geometry":{"location":{"lat":46.8,"lng":-71.2},"location_type":"ROOFTOP"}}]}"#;
        assert_eq!(
            parse(rooftop).unwrap(),
            Outcome::Found {
                latitude: 46.8,
                longitude: -71.2,
                precision: Precision::Exact
            }
        );
        let partial = r#"{"status":"OK","results":[{"partial_match":true,"geometry":{"location":{"lat":46.8,"lng":-71.2},"location_type":"ROOFTOP"}}]}"#;
        assert!(matches!(
            parse(partial).unwrap(),
            Outcome::Found {
                precision: Precision::Approximate,
                ..
            }
        ));
        let center = r#"{"status":"OK","results":[{"geometry":{"location":{"lat":46.8,"lng":-71.2},"location_type":"GEOMETRIC_CENTER"}}]}"#;
        assert!(matches!(
            parse(center).unwrap(),
            Outcome::Found {
                precision: Precision::Approximate,
                ..
            }
        ));
        assert_eq!(
            parse(r#"{"status":"ZERO_RESULTS","results":[]}"#).unwrap(),
            Outcome::NotFound
        );
        assert_eq!(
            parse(r#"{"status":"OVER_QUERY_LIMIT"}"#).unwrap_err(),
            GeocodeError::RateLimited
        );
        assert_eq!(parse("<html>").unwrap_err(), GeocodeError::Malformed);
    }
}
