//! Geocoding throughput: `cargo bench --bench geocode`.
//! 5,000 distinct addresses against a local double answering in 20 ms, with
//! concurrency 8 and no rate limit (the bound is 8 / 0.020 = 400/s): the
//! provider alone, then through the cache-filling `Geocoding::locate`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use flokon_api::geocode::{AddressQuery, GeocoderConfig, ProviderName, build};
use flokon_api::service::geocoding::Geocoding;
use serde_json::json;
use tokio::task::JoinSet;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const ADDRESSES: usize = 5_000;

fn address(i: usize) -> AddressQuery {
    AddressQuery {
        line1: format!("{i} rue Banc"),
        city: Some("Québec".into()),
        province: Some("QC".into()),
        postal_code: None,
    }
}

#[tokio::main]
async fn main() {
    flokon_api::geocode::install_tls_provider();
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"lat": "46.8", "lon": "-71.2", "addresstype": "house", "place_rank": 30}]))
                .set_delay(Duration::from_millis(20)),
        )
        .mount(&server)
        .await;
    let config = GeocoderConfig {
        geocoder: ProviderName::Nominatim,
        geocoder_url: Some(server.uri()),
        geocoder_rps: None,
        geocoder_concurrency: 8,
        geocoder_timeout: Duration::from_secs(5),
        geocoder_deadline_ms: 600_000,
        ..GeocoderConfig::default()
    };
    let geocoder = build(&config).unwrap();

    let start = Instant::now();
    let mut asks = JoinSet::new();
    for i in 0..ADDRESSES {
        let geocoder = geocoder.clone();
        asks.spawn(async move { geocoder.geocode(&address(i)).await });
    }
    let mut found = 0;
    while let Some(answer) = asks.join_next().await {
        found += usize::from(answer.unwrap().is_ok());
    }
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(found, ADDRESSES);
    println!(
        "provider alone: {ADDRESSES} addresses in {elapsed:.2} s = {:.0} addresses/s (bound 400/s)",
        ADDRESSES as f64 / elapsed
    );

    let dir = tempfile::tempdir().unwrap();
    let db = flokon_api::db::connect(
        &format!("sqlite://{}?mode=rwc", dir.path().join("g.db").display()),
        &Default::default(),
    )
    .await
    .unwrap();
    flokon_api::db::migrate(&db).await.unwrap();
    let geocoding = Geocoding {
        geocoder: Arc::clone(&geocoder),
        deadline: Duration::from_secs(600),
    };
    // Other addresses than above (the double does not cache, the table does).
    let addresses: Vec<(String, AddressQuery)> = (ADDRESSES..2 * ADDRESSES)
        .map(|i| (format!("{i} rue banc quebec"), address(i)))
        .collect();
    let start = Instant::now();
    let located = geocoding
        .locate(&db, addresses.clone(), &Default::default())
        .await
        .unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(located.len(), ADDRESSES);
    println!(
        "with the cache written (SQLite): {:.0} addresses/s",
        ADDRESSES as f64 / elapsed
    );
    let start = Instant::now();
    geocoding
        .locate(&db, addresses, &Default::default())
        .await
        .unwrap();
    println!(
        "the same again, from the cache: {:.3} s",
        start.elapsed().as_secs_f64()
    );
}
