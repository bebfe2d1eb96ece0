//! The geocoding provider's double: a local server speaking Nominatim's or
//! Google's protocol.

use flokon_api::geocode::ProviderName;
use serde_json::{Value, json};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A geocoding provider played by a local wiremock server: where the
/// provider is asked, what it answers (optionally something else first,
/// once), and how many requests it expects (checked when it drops).
pub struct GeocoderDouble {
    route: &'static str,
    first: Option<ResponseTemplate>,
    answer: ResponseTemplate,
    expected: Option<u64>,
}

/// Nominatim's search route.
pub const NOMINATIM: &str = "/search";
/// Google's geocoding route.
pub const GOOGLE: &str = "/maps/api/geocode/json";

impl GeocoderDouble {
    /// Nominatim, finding every address exactly.
    pub fn nominatim() -> Self {
        Self::on(ProviderName::Nominatim)
    }

    /// The given provider, finding every address exactly.
    pub fn on(provider: ProviderName) -> Self {
        let (route, found) = match provider {
            ProviderName::Nominatim => (NOMINATIM, nominatim_place("house", 30)),
            ProviderName::Google => (GOOGLE, google_result("ROOFTOP")),
            ProviderName::None => panic!("no double for a server without geocoder"),
        };
        Self {
            route,
            first: None,
            answer: ResponseTemplate::new(200).set_body_json(found),
            expected: None,
        }
    }

    /// Answers `body` as JSON, with status 200.
    pub fn answering(self, body: Value) -> Self {
        self.responding(ResponseTemplate::new(200).set_body_json(body))
    }

    /// Answers with `response` (a status, a delay, a broken body).
    pub fn responding(mut self, response: ResponseTemplate) -> Self {
        self.answer = response;
        self
    }

    /// Answers as configured, but only after `delay`.
    pub fn delayed(mut self, delay: std::time::Duration) -> Self {
        self.answer = self.answer.set_delay(delay);
        self
    }

    /// Answers `response` to the first request only, then as configured.
    pub fn first_responding(mut self, response: ResponseTemplate) -> Self {
        self.first = Some(response);
        self
    }

    /// Expects exactly `n` requests.
    pub fn expecting(mut self, n: u64) -> Self {
        self.expected = Some(n);
        self
    }

    pub async fn start(self) -> MockServer {
        let server = MockServer::start().await;
        self.mount_on(&server).await;
        server
    }

    /// Mounts on a running double (after `server.reset()`).
    pub async fn mount_on(self, server: &MockServer) {
        if let Some(first) = self.first {
            Mock::given(path(self.route))
                .respond_with(first)
                .up_to_n_times(1)
                .with_priority(1)
                .mount(server)
                .await;
        }
        let mut mock = Mock::given(path(self.route)).respond_with(self.answer);
        if let Some(n) = self.expected {
            mock = mock.expect(n);
        }
        mock.mount(server).await;
    }
}

/// Nominatim's answer: one place of this type and rank, at 46.8123, -71.2145.
pub fn nominatim_place(addresstype: &str, rank: u32) -> Value {
    json!([{"lat": "46.8123", "lon": "-71.2145", "addresstype": addresstype, "place_rank": rank}])
}

/// Google's answer: one result of this precision, at 46.8123, -71.2145.
pub fn google_result(location_type: &str) -> Value {
    json!({"status": "OK", "results": [{"geometry": {"location": {"lat": 46.8123, "lng": -71.2145}, "location_type": location_type}}]})
}
