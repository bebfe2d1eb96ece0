//! The Nominatim search API (OpenStreetMap): structured query, `jsonv2`.

use serde::Deserialize;

use super::http::Provider;
use super::{AddressQuery, GeocodeError, Outcome, Precision};

/// The public server: at most one request a second, and a User-Agent that
/// names the product (its usage policy).
pub const PUBLIC_URL: &str = "https://nominatim.openstreetmap.org";

pub struct Nominatim {
    pub base_url: String,
}

#[derive(Deserialize)]
struct Place {
    lat: String,
    lon: String,
    #[serde(default)]
    addresstype: Option<String>,
    #[serde(default)]
    place_rank: Option<u32>,
}

impl Provider for Nominatim {
    fn name(&self) -> &'static str {
        "nominatim"
    }

    fn request(&self, client: &reqwest::Client, address: &AddressQuery) -> reqwest::RequestBuilder {
        let mut query: Vec<(&str, &str)> = vec![
            ("street", &address.line1),
            ("countrycodes", "ca"),
            ("format", "jsonv2"),
            ("limit", "1"),
        ];
        if let Some(city) = &address.city {
            query.push(("city", city));
        }
        if let Some(province) = &address.province {
            query.push(("state", province));
        }
        if let Some(postal) = &address.postal_code {
            query.push(("postalcode", postal));
        }
        client
            .get(format!("{}/search", self.base_url.trim_end_matches('/')))
            .query(&query)
    }

    fn parse(&self, body: &[u8]) -> Result<Outcome, GeocodeError> {
        let places: Vec<Place> =
            serde_json::from_slice(body).map_err(|_| GeocodeError::Malformed)?;
        let Some(place) = places.into_iter().next() else {
            return Ok(Outcome::NotFound);
        };
        let latitude: f64 = place.lat.parse().map_err(|_| GeocodeError::Malformed)?;
        let longitude: f64 = place.lon.parse().map_err(|_| GeocodeError::Malformed)?;
        // A house or a building; street, postcode or locality otherwise.
        let exact = matches!(
            place.addresstype.as_deref(),
            Some("house" | "building" | "place")
        ) || place.place_rank.is_some_and(|rank| rank >= 30);
        let precision = if exact {
            Precision::Exact
        } else {
            Precision::Approximate
        };
        Ok(Outcome::Found {
            latitude,
            longitude,
            precision,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<Outcome, GeocodeError> {
        Nominatim {
            base_url: String::new(),
        }
        .parse(body.as_bytes())
    }

    #[test]
    fn reads_precision_from_addresstype_and_rank() {
        let house =
            parse(r#"[{"lat":"46.81","lon":"-71.21","addresstype":"house","place_rank":30}]"#)
                .unwrap();
        assert_eq!(
            house,
            Outcome::Found {
                latitude: 46.81,
                longitude: -71.21,
                precision: Precision::Exact
            }
        );
        let street =
            parse(r#"[{"lat":"46.8","lon":"-71.2","addresstype":"road","place_rank":26}]"#)
                .unwrap();
        assert!(matches!(
            street,
            Outcome::Found {
                precision: Precision::Approximate,
                ..
            }
        ));
        assert_eq!(parse("[]").unwrap(), Outcome::NotFound);
        assert_eq!(parse("{oops").unwrap_err(), GeocodeError::Malformed);
    }
}
