//! Things at once: a geocoder answer that arrives after the point changed,
//! and sector reshapes racing point moves, leave positions and memberships
//! exactly as the current addresses, shapes and coordinates say.

use std::sync::Arc;
use std::time::Duration;

use flokon_api::geocode::{GeocoderConfig, ProviderName};
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::{Value, json};
use wiremock::matchers::{path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestApp, address, spawn_app, spawn_app_with};

/// A slow Nominatim (3 s: room for a change during the lookup, even on a
/// loaded machine) that finds `street` at (`lat`, `lon`), asked `times`.
async fn slow_answer(server: &MockServer, street: &str, lat: f64, lon: f64, times: u64) {
    let body = json!([{"lat": lat.to_string(), "lon": lon.to_string(), "addresstype": "house", "place_rank": 30}]);
    Mock::given(path("/search"))
        .and(query_param("street", street))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(body)
                .set_delay(Duration::from_secs(3)),
        )
        .expect(times)
        .mount(server)
        .await;
}

async fn app_geocoding_at(url: String) -> Arc<TestApp> {
    Arc::new(
        spawn_app_with(move |config| {
            config.geocoding = GeocoderConfig {
                geocoder: ProviderName::Nominatim,
                geocoder_url: Some(url),
                geocoder_timeout: Duration::from_secs(5),
                geocoder_deadline_ms: 5_000,
                // The worker stays out of the way: the race is the mutations'.
                geocoder_retry_seconds: 3_600,
                ..GeocoderConfig::default()
            };
        })
        .await,
    )
}

const POINT: &str = "id addressLine1 latitude longitude geocodeStatus";

/// Starts creating a point (which waits for the slow geocoder) and returns
/// the mutation in flight with the point's id, read as soon as committed.
async fn create_in_flight(
    app: &Arc<TestApp>,
    client: &str,
    line1: &str,
) -> (tokio::task::JoinHandle<Value>, String) {
    let creating = tokio::spawn({
        let (app, client, line1) = (app.clone(), client.to_owned(), line1.to_owned());
        async move {
            app.data(
                &format!("mutation($i: CreateServicePointInput!) {{ createServicePoint(input: $i) {{ {POINT} }} }}"),
                json!({"i": {"clientId": client, "address": address(&line1, "Québec", None)}}),
            )
            .await
        }
    });
    for _ in 0..500 {
        let data = app
            .data(
                "query($c: ID!) { servicePoints(clientId: $c) { edges { node { id } } } }",
                json!({"c": client}),
            )
            .await;
        if let Some(id) = data["servicePoints"]["edges"][0]["node"]["id"].as_str() {
            return (creating, id.to_owned());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the point was never committed");
}

async fn point(app: &TestApp, id: &str) -> Value {
    app.data(
        &format!("query($p: ID!) {{ servicePoint(id: $p) {{ {POINT} }} }}"),
        json!({"p": id}),
    )
    .await["servicePoint"]
        .clone()
}

#[tokio::test]
async fn a_position_found_for_an_old_address_never_lands_on_the_new_one() {
    let server = MockServer::start().await;
    slow_answer(&server, "1 rue Ancienne", 46.1, -71.1, 1).await;
    slow_answer(&server, "2 rue Nouvelle", 47.2, -72.2, 1).await;
    let app = app_geocoding_at(server.uri()).await;
    let client = app.create_client("C-1", None).await;

    let (creating, id) = create_in_flight(&app, &client, "1 rue Ancienne").await;
    let moved = app
        .data(
            &format!("mutation($p: ID!, $a: AddressInput!) {{ updateServicePoint(id: $p, input: {{address: $a}}) {{ {POINT} }} }}"),
            json!({"p": id, "a": address("2 rue Nouvelle", "Québec", None)}),
        )
        .await;
    let created = creating.await.unwrap();

    let expected = json!({"id": id, "addressLine1": "2 rue Nouvelle", "latitude": 47.2, "longitude": -72.2, "geocodeStatus": "OK"});
    assert_eq!(moved["updateServicePoint"], expected);
    assert_eq!(point(&app, &id).await, expected);
    // The creation answers with the point as it now is, never with the old
    // address's position on it.
    let answered = &created["createServicePoint"];
    assert_eq!(answered["addressLine1"], "2 rue Nouvelle");
    assert_ne!(answered["latitude"], json!(46.1));
}

#[tokio::test]
async fn a_position_set_by_hand_during_a_lookup_stays() {
    let server = MockServer::start().await;
    slow_answer(&server, "1 rue Ancienne", 46.1, -71.1, 1).await;
    let app = app_geocoding_at(server.uri()).await;
    let client = app.create_client("C-1", None).await;

    let (creating, id) = create_in_flight(&app, &client, "1 rue Ancienne").await;
    app.data(
        "mutation($p: ID!) { updateServicePoint(id: $p, input: {latitude: 45.5, longitude: -73.5}) { id } }",
        json!({"p": id}),
    )
    .await;
    let created = creating.await.unwrap();

    let expected = json!({"id": id, "addressLine1": "1 rue Ancienne", "latitude": 45.5, "longitude": -73.5, "geocodeStatus": "MANUAL"});
    assert_eq!(created["createServicePoint"], expected);
    assert_eq!(point(&app, &id).await, expected);
}

/// Two squares that overlap, as (min lon, min lat, max lon, max lat).
const SHAPES: [[f64; 4]; 2] = [
    [-71.30, 46.80, -71.20, 46.90],
    [-71.25, 46.85, -71.15, 46.95],
];

/// Positions in the first square only, both, the second only, neither, and
/// on the first's boundary (inside), as (lat, lon).
const SPOTS: [(f64, f64); 5] = [
    (46.82, -71.28),
    (46.87, -71.22),
    (46.93, -71.17),
    (46.99, -71.40),
    (46.90, -71.26),
];

fn geometry(shape: [f64; 4]) -> Value {
    let [w, s, e, n] = shape;
    json!({"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]})
}

async fn create_sector(app: &TestApp, shape: [f64; 4]) -> String {
    app.data(
        "mutation($i: SectorInput!) { createSector(input: $i) { id } }",
        json!({"i": {"name": "Centre", "geometry": geometry(shape)}}),
    )
    .await["createSector"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn holds(shape: [f64; 4], (lat, lon): (f64, f64)) -> bool {
    let [w, s, e, n] = shape;
    (w..=e).contains(&lon) && (s..=n).contains(&lat)
}

/// A small deterministic sequence, so a failure replays.
struct Steps(u64);

impl Steps {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % below as u64) as usize
    }
}

#[tokio::test]
async fn memberships_equal_shapes_and_positions_after_reshapes_race_moves() {
    let app = Arc::new(spawn_app().await);
    let sector = create_sector(&app, SHAPES[0]).await;
    let mut points = Vec::new();
    for i in 0..6 {
        let client = app.create_client(&format!("C-{i}"), None).await;
        let (lat, lon) = SPOTS[i % SPOTS.len()];
        let line1 = format!("{i} rue du Test");
        points.push(
            app.create_located_point(&client, address(&line1, "Québec", None), lat, lon)
                .await,
        );
    }
    let mut positions: Vec<(f64, f64)> = (0..6).map(|i| SPOTS[i % SPOTS.len()]).collect();
    let mut steps = Steps(7);

    for round in 0..20 {
        let shape = SHAPES[steps.next(2)];
        let mut writes = vec![tokio::spawn({
            let (app, sector) = (app.clone(), sector.clone());
            async move {
                app.data(
                    "mutation($s: ID!, $g: JSON!) { updateSector(id: $s, input: {name: \"Centre\", geometry: $g}) { id } }",
                    json!({"s": sector, "g": geometry(shape)}),
                )
                .await
            }
        })];
        for _ in 0..3 {
            let which = steps.next(points.len());
            let spot = SPOTS[steps.next(SPOTS.len())];
            positions[which] = spot;
            let (app, id) = (app.clone(), points[which].clone());
            writes.push(tokio::spawn(async move {
                app.data(
                    "mutation($p: ID!, $lat: Float, $lon: Float) { updateServicePoint(id: $p, input: {latitude: $lat, longitude: $lon}) { id } }",
                    json!({"p": id, "lat": spot.0, "lon": spot.1}),
                )
                .await
            }));
        }
        for write in writes {
            write.await.unwrap();
        }
        // Two moves of one point in a round race each other too: whichever
        // committed last is the point's position, read back from the API.
        for (i, id) in points.iter().enumerate() {
            let now = point(&app, id).await;
            positions[i] = (
                now["latitude"].as_f64().unwrap(),
                now["longitude"].as_f64().unwrap(),
            );
        }
        let mut expected: Vec<&String> = points
            .iter()
            .zip(&positions)
            .filter(|(_, at)| holds(shape, **at))
            .map(|(id, _)| id)
            .collect();
        expected.sort();
        let data = app
            .data(
                "query($s: ID!) { sector(id: $s) { servicePoints(first: 50) { edges { node { id } } } } }",
                json!({"s": sector}),
            )
            .await;
        let mut members: Vec<String> = data["sector"]["servicePoints"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
            .collect();
        members.sort();
        assert_eq!(
            members.iter().collect::<Vec<_>>(),
            expected,
            "round {round}"
        );
    }
}

#[tokio::test]
async fn a_second_import_is_refused_at_once_on_sqlite_and_runs_for_another_organization_on_postgresql()
 {
    let on_postgres = std::env::var("TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty());
    let server = MockServer::start().await;
    // Asked by both imports on PostgreSQL (neither has cached it yet).
    let asks = if on_postgres { 2 } else { 1 };
    slow_answer(&server, "100 rue du Pont", 46.8, -71.2, asks).await;
    let app = app_geocoding_at(server.uri()).await;
    let other = app.new_org("Autre").await;
    let [ana, ben] = crate::fixtures::pont_tenants();
    let file = crate::fixtures::xlsx(&[crate::fixtures::header(), ana, ben]);
    let variables = json!({"mode": "MERGE_KEEP_MISSING"});

    let first = tokio::spawn({
        let (app, file, variables) = (app.clone(), file.clone(), variables.clone());
        async move { app.upload("a.xlsx", file, variables).await }
    });
    // Once the geocoder is asked, the first holds its claim and locates its
    // address for 3 s.
    while server
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty()
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let upload = crate::helpers::Upload {
        query: crate::helpers::IMPORT,
        file_name: "b.xlsx",
        bytes: file,
        variables,
        lang: None,
    };
    let second: Value = upload
        .send(&app.http, &app.address, &other)
        .await
        .json()
        .await
        .unwrap();
    let second_done_first = !first.is_finished();
    let first = first.await.unwrap();

    assert_eq!(
        first["data"]["importSpreadsheet"]["committed"], true,
        "{first}"
    );
    if !on_postgres {
        // One writer: refused without waiting out the first's write lock.
        assert_eq!(
            crate::helpers::first_error(&second)["extensions"]["code"],
            "IMPORT_IN_PROGRESS"
        );
        assert!(second_done_first);
    } else {
        // Another organization's import is no one's business here.
        assert_eq!(
            second["data"]["importSpreadsheet"]["committed"], true,
            "{second}"
        );
    }
}

#[tokio::test]
async fn a_write_that_waits_too_long_for_a_lock_is_busy_and_can_be_retried() {
    let settings = flokon_api::config::DbConfig {
        db_lock_timeout: Duration::from_millis(200),
        ..Default::default()
    };
    let app = crate::helpers::spawn_app_on(settings, |_| {}).await;
    let client = app.create_client("C-1", None).await;
    let point = app
        .create_located_point(&client, address("1 rue A", "Québec", None), 46.8, -71.2)
        .await;
    let move_it = "mutation($p: ID!) { updateServicePoint(id: $p, input: {latitude: 46.9, longitude: -71.3}) { latitude } }";

    // Another writer holds the point (PostgreSQL: its row; SQLite: the
    // database's write lock) longer than the lock timeout.
    let holder = app.db.begin().await.unwrap();
    let hold = match holder.get_database_backend() {
        sea_orm::DbBackend::Postgres => "SELECT id FROM service_point FOR UPDATE",
        _ => "UPDATE organization SET name = name",
    };
    holder.execute_unprepared(hold).await.unwrap();
    let refused = app.graphql(move_it, json!({"p": point})).await;
    holder.rollback().await.unwrap();

    let error = crate::helpers::first_error(&refused);
    assert_eq!(error["extensions"]["code"], "BUSY", "{refused}");
    assert_eq!(
        error["message"],
        "Base de données occupée par d'autres modifications : réessayez dans un instant."
    );
    let retried = app.data(move_it, json!({"p": point})).await;
    assert_eq!(retried["updateServicePoint"]["latitude"], 46.9);
}

#[tokio::test]
async fn ten_activations_of_one_sector_at_once_open_one_alert() {
    let app = Arc::new(spawn_app().await);
    let sector = create_sector(&app, SHAPES[0]).await;
    let activations: Vec<_> = (0..10)
        .map(|_| {
            let (app, sector) = (app.clone(), sector.clone());
            tokio::spawn(async move {
                app.data(
                    "mutation($s: ID!) { setSectorAlert(id: $s, active: true) { alertActive } }",
                    json!({"s": sector}),
                )
                .await
            })
        })
        .collect();
    for activation in activations {
        assert_eq!(
            activation.await.unwrap()["setSectorAlert"]["alertActive"],
            true
        );
    }
    let data = app
        .data(
            "query($s: ID!) { sector(id: $s) { alerts { endedAt } } }",
            json!({"s": sector}),
        )
        .await;
    assert_eq!(data["sector"]["alerts"], json!([{"endedAt": null}]));
}
