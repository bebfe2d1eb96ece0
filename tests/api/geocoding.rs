//! The providers against a local HTTP double (wiremock): precisions, not
//! found, retries, Retry-After, timeouts, malformed answers, refused
//! connections, and the rate limit measured by the double's own clock.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flokon_api::geocode::{
    AddressQuery, GeocodeError, Geocoder, GeocoderConfig, Outcome, Precision, ProviderName, build,
};
use serde_json::json;
use wiremock::matchers::{header_regex, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::helpers::{
    GOOGLE, GeocoderDouble, NOMINATIM, TestApp, google_result, keep, nominatim_place, row_issues,
};

fn address() -> AddressQuery {
    AddressQuery {
        line1: "999 Rue Exemple".into(),
        city: Some("Québec".into()),
        province: Some("QC".into()),
        postal_code: Some("G1P 0A0".into()),
    }
}

fn geocoder(
    provider: ProviderName,
    url: &str,
    timeout_ms: u64,
    rps: Option<f64>,
) -> Arc<dyn Geocoder> {
    build(&GeocoderConfig {
        geocoder: provider,
        geocoder_url: Some(url.to_owned()),
        geocoder_api_key: Some("test-key".into()),
        geocoder_rps: rps,
        geocoder_concurrency: 4,
        geocoder_timeout: Duration::from_millis(timeout_ms),
        geocoder_contact: "ops@example.test".into(),
        ..GeocoderConfig::default()
    })
    .unwrap()
}

/// Asks the provider behind `server` for the test address.
async fn ask(provider: ProviderName, server: &MockServer) -> Result<Outcome, GeocodeError> {
    ask_within(provider, &server.uri(), 1_000).await
}

async fn ask_within(
    provider: ProviderName,
    url: &str,
    timeout_ms: u64,
) -> Result<Outcome, GeocodeError> {
    geocoder(provider, url, timeout_ms, None)
        .geocode(&address())
        .await
}

/// The precision of a found address; `None` for anything else.
fn precision_of(outcome: &Result<Outcome, GeocodeError>) -> Option<Precision> {
    match outcome {
        Ok(Outcome::Found { precision, .. }) => Some(*precision),
        _ => None,
    }
}

/// Asserts that `provider`, answering `answer`, finds the test address
/// approximately.
async fn assert_approximate(provider: ProviderName, answer: serde_json::Value) {
    let server = GeocoderDouble::on(provider).answering(answer).start().await;
    let outcome = ask(provider, &server).await;
    assert_eq!(
        precision_of(&outcome),
        Some(Precision::Approximate),
        "{outcome:?}"
    );
}

const EXACT: Outcome = Outcome::Found {
    latitude: 46.8123,
    longitude: -71.2145,
    precision: Precision::Exact,
};

#[tokio::test]
async fn nominatim_reads_precision_and_sends_a_structured_query_with_a_user_agent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(NOMINATIM))
        .and(query_param("street", "999 Rue Exemple"))
        .and(query_param("postalcode", "G1P 0A0"))
        .and(query_param("countrycodes", "ca"))
        .and(query_param("format", "jsonv2"))
        .and(header_regex(
            "user-agent",
            r"^flokon-api/.* \(ops@example\.test\)$",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(nominatim_place("house", 30)))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(ask(ProviderName::Nominatim, &server).await, Ok(EXACT));
    assert_approximate(ProviderName::Nominatim, nominatim_place("postcode", 21)).await;
}

#[tokio::test]
async fn google_reads_precision_and_sends_the_country_and_key() {
    let server = MockServer::start().await;
    Mock::given(path(GOOGLE))
        .and(query_param("components", "country:CA"))
        .and(query_param("key", "test-key"))
        .and(query_param(
            "address",
            "999 Rue Exemple, Québec, QC, G1P 0A0",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(google_result("ROOFTOP")))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(ask(ProviderName::Google, &server).await, Ok(EXACT));
    assert_approximate(ProviderName::Google, google_result("APPROXIMATE")).await;
}

/// Each failure mode, for both providers.
#[tokio::test]
async fn failures_are_retried_or_reported_as_they_should() {
    let cases = [
        (ProviderName::Nominatim, json!([])),
        (
            ProviderName::Google,
            json!({"status": "ZERO_RESULTS", "results": []}),
        ),
    ];
    for (provider, not_found) in cases {
        let double = || GeocoderDouble::on(provider);
        let requests = async |server: &MockServer| server.received_requests().await.unwrap().len();

        let server = double().answering(not_found).start().await;
        assert_eq!(
            ask(provider, &server).await,
            Ok(Outcome::NotFound),
            "{provider:?}"
        );

        // 500, then success: retried.
        let server = double()
            .first_responding(ResponseTemplate::new(500))
            .start()
            .await;
        let outcome = ask(provider, &server).await;
        assert!(
            precision_of(&outcome).is_some(),
            "{provider:?}: {outcome:?}"
        );
        assert_eq!(requests(&server).await, 2);

        // 429 with Retry-After: waits that long, then succeeds.
        let server = double()
            .first_responding(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
            .start()
            .await;
        let start = Instant::now();
        let outcome = ask(provider, &server).await;
        assert!(
            precision_of(&outcome).is_some(),
            "{provider:?}: {outcome:?}"
        );
        assert!(
            start.elapsed() >= Duration::from_secs(1),
            "Retry-After honoured"
        );

        // Slower than the timeout, every time: a timeout after the retries.
        let server = double().delayed(Duration::from_millis(400)).start().await;
        let outcome = ask_within(provider, &server.uri(), 100).await;
        assert_eq!(outcome, Err(GeocodeError::Timeout), "{provider:?}");
        assert_eq!(requests(&server).await, 3, "three attempts");

        // Malformed JSON: not retried.
        let broken = ResponseTemplate::new(200).set_body_string("{not json");
        let server = double().responding(broken).start().await;
        assert_eq!(
            ask(provider, &server).await,
            Err(GeocodeError::Malformed),
            "{provider:?}"
        );
        assert_eq!(requests(&server).await, 1);
    }
}

#[tokio::test]
async fn a_refused_connection_is_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for provider in [ProviderName::Nominatim, ProviderName::Google] {
        let outcome = ask_within(provider, &format!("http://127.0.0.1:{port}"), 500).await;
        assert_eq!(outcome, Err(GeocodeError::Unreachable), "{provider:?}");
    }
}

/// Records when each request reached the double.
struct Clock(Arc<Mutex<Vec<Instant>>>);

impl Respond for Clock {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.0.lock().unwrap().push(Instant::now());
        ResponseTemplate::new(200).set_body_json(nominatim_place("house", 30))
    }
}

#[tokio::test]
async fn the_rate_limit_spaces_requests_even_when_asked_at_once() {
    let server = MockServer::start().await;
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    Mock::given(path(NOMINATIM))
        .respond_with(Clock(arrivals.clone()))
        .mount(&server)
        .await;
    // 5 requests a second (the public server's 1/s, shortened for the test:
    // the limiter's logic is what is tested), four asked concurrently.
    let geocoder = geocoder(ProviderName::Nominatim, &server.uri(), 1_000, Some(5.0));
    let started = Instant::now();
    let asks: Vec<_> = (0..4)
        .map(|_| {
            let geocoder = geocoder.clone();
            tokio::spawn(async move { geocoder.geocode(&address()).await })
        })
        .collect();
    for ask in asks {
        assert!(matches!(ask.await.unwrap(), Ok(Outcome::Found { .. })));
    }
    // Measured where the limiter acts, on the asking side: four requests at
    // 5/s leave at 0, 200, 400 and 600 ms at the earliest. A loaded machine
    // can only make that later, while the arrival times at the double can
    // bunch up when the first one is delayed, so they are only counted.
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(590),
        "4 requests in {elapsed:?}"
    );
    assert_eq!(arrivals.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn the_public_nominatim_server_is_never_asked_more_than_once_a_second() {
    // Configuration only: no request leaves the machine.
    let config = GeocoderConfig {
        geocoder: ProviderName::Nominatim,
        geocoder_rps: Some(50.0),
        ..GeocoderConfig::default()
    };
    let geocoder = build(&config).unwrap();
    assert_eq!(geocoder.provider(), "nominatim");
    assert!(flokon_api::geocode::public_rate(&config) <= Some(1.0));
}

/// A server whose geocoder is Nominatim at `url`.
async fn app_geocoding_at(url: &str) -> TestApp {
    let url = url.to_owned();
    crate::helpers::spawn_app_with(move |config| {
        config.geocoding = GeocoderConfig {
            geocoder: ProviderName::Nominatim,
            geocoder_url: Some(url),
            geocoder_timeout: Duration::from_millis(500),
            geocoder_deadline_ms: 3_000,
            geocoder_retry_seconds: 1,
            ..GeocoderConfig::default()
        };
    })
    .await
}

const POINT: &str = "query($id: ID!) { servicePoint(id: $id) { latitude longitude geocodeStatus sectors { name } } }";

#[tokio::test]
async fn a_point_created_by_hand_is_located_and_placed_in_its_sector() {
    let server = GeocoderDouble::nominatim().expecting(1).start().await;
    let app = app_geocoding_at(&server.uri()).await;
    let square = json!({"type": "Polygon", "coordinates": [[[-71.3, 46.8], [-71.2, 46.8], [-71.2, 46.9], [-71.3, 46.9], [-71.3, 46.8]]]});
    app.data(
        "mutation($g: JSON!) { createSector(input: {name: \"Centre\", geometry: $g}) { id } }",
        json!({"g": square}),
    )
    .await;
    let client = app.create_client("C-1", None).await;
    let point = app
        .create_service_point(
            &client,
            crate::helpers::address("999 Rue Exemple", "Québec", Some("G1P 0A0")),
        )
        .await;
    let data = app.data(POINT, json!({"id": point})).await;
    assert_eq!(
        data["servicePoint"],
        json!({"latitude": 46.8123, "longitude": -71.2145, "geocodeStatus": "OK", "sectors": [{"name": "Centre"}]})
    );
}

#[tokio::test]
async fn an_address_not_found_is_listed_for_fixing() {
    let server = GeocoderDouble::nominatim()
        .answering(json!([]))
        .start()
        .await;
    let app = app_geocoding_at(&server.uri()).await;
    let client = app.create_client("C-1", None).await;
    let point = app
        .create_service_point(
            &client,
            crate::helpers::address("1 rue Nulle-Part", "Québec", None),
        )
        .await;
    let data = app
        .data("{ servicePoints(geocodeStatus: NOT_FOUND) { totalCount edges { node { id geocodeStatus } } } }", json!({}))
        .await;
    assert_eq!(data["servicePoints"]["totalCount"], 1);
    assert_eq!(
        data["servicePoints"]["edges"][0]["node"]["id"],
        point.as_str()
    );
}

fn three_rows_at_one_address() -> Vec<u8> {
    use crate::fixtures::{header, occupant, xlsx};
    xlsx(&[
        header(),
        occupant(
            "A",
            "418-555-0101",
            "SMS",
            "100 rue du Pont, Québec, QC, G1K 1A1",
            "IMM-100",
        ),
        occupant(
            "B",
            "418-555-0102",
            "SMS",
            "100, Rue du Pont, Quebec, G1K1A1",
            "IMM-100",
        ),
        occupant(
            "C",
            "418-555-0103",
            "SMS",
            "100 rue du Pont, Québec, QC, G1K 1A1",
            "IMM-100",
        ),
    ])
}

/// A new app geocoding with the double `server`, and its committed import
/// of `three_rows_at_one_address`: (app, run).
async fn import_three_rows_geocoding_at(server: &MockServer) -> (TestApp, serde_json::Value) {
    let app = app_geocoding_at(&server.uri()).await;
    let run = app
        .import("c.xlsx", three_rows_at_one_address(), keep())
        .await;
    assert_eq!(run["committed"], true, "{run:#}");
    (app, run)
}

#[tokio::test]
async fn an_address_is_asked_once_then_answered_by_the_cache() {
    let server = GeocoderDouble::nominatim()
        .answering(nominatim_place("postcode", 21))
        .expecting(1)
        .start()
        .await;
    let (app, run) = import_three_rows_geocoding_at(&server).await;
    let warnings: Vec<String> = row_issues(&run, "warnings")
        .into_iter()
        .map(|(_, code, _)| code)
        .collect();
    assert_eq!(warnings, ["GEOCODE_APPROXIMATE"; 3]);

    // The same file, another organization: the shared cache answers.
    let other = app.new_org("Autre").await;
    let body: serde_json::Value = app
        .upload_as(
            &other,
            "c.xlsx",
            three_rows_at_one_address(),
            json!({"mode": "REPLACE_ALL"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["data"]["importSpreadsheet"]["committed"], true,
        "{body:#}"
    );
    let data = app
        .graphql_as(
            Some(&other),
            "{ servicePoints { edges { node { geocodeStatus latitude } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["data"]["servicePoints"]["edges"][0]["node"],
        json!({"geocodeStatus": "APPROXIMATE", "latitude": 46.8123})
    );
    // `expect(1)` is checked when the double drops.
}

#[tokio::test]
async fn an_outage_leaves_points_pending_and_the_worker_completes_them() {
    let server = GeocoderDouble::nominatim()
        .responding(ResponseTemplate::new(503))
        .start()
        .await;
    // An outage never fails an import.
    let (app, run) = import_three_rows_geocoding_at(&server).await;
    assert_eq!(
        run["rows"]["edges"][0]["node"]["warnings"][0]["code"],
        "GEOCODE_PENDING"
    );
    let status = "{ servicePoints { edges { node { geocodeStatus latitude } } } }";
    let data = app.data(status, json!({})).await;
    assert_eq!(
        data["servicePoints"]["edges"][0]["node"],
        json!({"geocodeStatus": "PENDING", "latitude": null})
    );

    // The provider comes back; the worker (every second here) finishes.
    server.reset().await;
    GeocoderDouble::nominatim().mount_on(&server).await;
    let mut located = serde_json::Value::Null;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        located = app.data(status, json!({})).await["servicePoints"]["edges"][0]["node"].clone();
        if located["geocodeStatus"] == "OK" {
            break;
        }
    }
    assert_eq!(located, json!({"geocodeStatus": "OK", "latitude": 46.8123}));
}

#[tokio::test]
async fn a_point_the_provider_refuses_waits_twice_as_long_before_each_new_try() {
    use entity::geocode_work;
    use flokon_api::service::geocoding::Geocoding;
    use flokon_api::worker::geocoding::{WorkerSettings, pass};
    use sea_orm::EntityTrait;

    // The server itself runs no worker (no geocoder): the test drives it.
    let app = crate::helpers::spawn_app().await;
    let client = app.create_client("C-1", None).await;
    app.create_service_point(&client, crate::helpers::address("1 rue A", "Québec", None))
        .await;
    let refusing = GeocoderDouble::nominatim()
        .responding(ResponseTemplate::new(400))
        .start()
        .await;
    let geocoding = Geocoding {
        geocoder: geocoder(ProviderName::Nominatim, &refusing.uri(), 1_000, None),
        deadline: Duration::from_secs(5),
    };
    let settings = WorkerSettings {
        interval: Duration::from_secs(60),
        batch: 10,
    };

    assert_eq!(pass(&app.db, &geocoding, settings).await.unwrap(), 1);
    let work = geocode_work::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(
        (work.len(), work[0].attempts, work[0].claimed_until),
        (1, 1, None)
    );
    let delay = work[0].next_attempt_at.unwrap() - chrono::Utc::now();
    assert!((55..=60).contains(&delay.num_seconds()), "{delay}");
    // Not due yet: the next pass leaves it alone.
    assert_eq!(pass(&app.db, &geocoding, settings).await.unwrap(), 0);

    // Once due, a second refusal doubles the delay.
    let mut due: geocode_work::ActiveModel = work[0].clone().into();
    due.next_attempt_at = sea_orm::Set(Some(chrono::Utc::now()));
    geocode_work::Entity::update(due)
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(pass(&app.db, &geocoding, settings).await.unwrap(), 1);
    let work = geocode_work::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(work[0].attempts, 2);
    let delay = work[0].next_attempt_at.unwrap() - chrono::Utc::now();
    assert!((115..=120).contains(&delay.num_seconds()), "{delay}");
    let status = app
        .data(
            "{ servicePoints { edges { node { geocodeStatus } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        status["servicePoints"]["edges"][0]["node"]["geocodeStatus"],
        "FAILED"
    );
}
