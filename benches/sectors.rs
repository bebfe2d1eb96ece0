//! Sector membership benchmark: `cargo bench --bench sectors`.
//!
//! 100,000 points and 50 sectors of 200 vertices: the time to compute every
//! membership (sector side: each sector against all points; point side: all
//! points against all sectors), and the time to answer `sector.alertRecipients`
//! over HTTP for a sector holding about 5,000 points. SQLite, and
//! PostgreSQL with `BENCH_DATABASE_URL` (or `TEST_DATABASE_URL`).

use std::f64::consts::PI;
use std::time::Instant;

use chrono::Utc;
use entity::{client, occupant, service_point};
use flokon_api::app::Application;
use flokon_api::auth::OrgId;
use flokon_api::config::ServeConfig;
use flokon_api::service::{batch::insert_batched, organizations, sectors};
use sea_orm::{ConnectOptions, ConnectionTrait, DatabaseConnection, Set};
use serde_json::json;
use uuid::Uuid;

/// The server binary's allocator, so that the in-process server measured
/// here behaves like the real one.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const POINTS: usize = 100_000;
const SECTORS: usize = 50;
const VERTICES: usize = 200;
// The area: about 40 km by 33 km around Québec City.
const WEST: f64 = -71.5;
const EAST: f64 = -71.0;
const SOUTH: f64 = 46.7;
const NORTH: f64 = 47.0;

/// Deterministic pseudo-random numbers in [0, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A 200-vertex circle (closed ring) in degrees.
fn circle(lon: f64, lat: f64, radius: f64) -> serde_json::Value {
    let mut ring: Vec<[f64; 2]> = (0..VERTICES)
        .map(|i| {
            let angle = 2.0 * PI * i as f64 / VERTICES as f64;
            [lon + radius * angle.cos(), lat + radius * angle.sin()]
        })
        .collect();
    ring.push(ring[0]);
    json!({"type": "Polygon", "coordinates": [ring]})
}

async fn seed(db: &DatabaseConnection, org: OrgId) {
    let now = Utc::now();
    let clients: Vec<client::ActiveModel> = (0..POINTS / 10)
        .map(|i| client::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(org.uuid()),
            external_id: Set(format!("C-{i}")),
            address_key: Set(None),
            name: Set(None),
            search_key: Set(format!("c-{i}")),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .collect();
    let mut random = Lcg(42);
    let points: Vec<service_point::ActiveModel> = (0..POINTS)
        .map(|i| service_point::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(org.uuid()),
            client_id: Set(clients[i / 10].id.clone().unwrap()),
            address_line1: Set(format!("{i} rue Banc")),
            city: Set(Some("Québec".into())),
            province: Set(Some("QC".into())),
            postal_code: Set(None),
            address_key: Set(format!("{i} rue banc quebec")),
            latitude: Set(Some(SOUTH + (NORTH - SOUTH) * random.next())),
            longitude: Set(Some(WEST + (EAST - WEST) * random.next())),
            geocode_status: Set(entity::values::GeocodeStatus::Manual),
            geocode_provider: Set(None),
            geocoded_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .collect();
    let occupants: Vec<occupant::ActiveModel> = points
        .iter()
        .enumerate()
        .map(|(i, p)| occupant::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(org.uuid()),
            service_point_id: Set(p.id.clone().unwrap()),
            first_name: Set(None),
            last_name: Set(None),
            phone: Set(format!("418-{}-{:04}", 200 + i / 10_000, i % 10_000)),
            contact_method: Set(entity::values::ContactMethod::Sms),
            notes: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .collect();
    insert_batched(db, &clients, |m: &client::ActiveModel| m.clone(), None)
        .await
        .unwrap();
    insert_batched(
        db,
        &points,
        |m: &service_point::ActiveModel| m.clone(),
        None,
    )
    .await
    .unwrap();
    insert_batched(db, &occupants, |m: &occupant::ActiveModel| m.clone(), None)
        .await
        .unwrap();
}

async fn run(label: &str, options: ConnectOptions) {
    let db = flokon_api::db::connect_with(options, &Default::default())
        .await
        .unwrap();
    flokon_api::db::migrate(&db).await.unwrap();
    let (org, token) = organizations::create(&db, "Bench").await.unwrap();
    let org = OrgId::new(org.id);
    seed(&db, org).await;

    // 49 sectors of random size, and one holding about 5% of the points.
    let mut random = Lcg(7);
    let width = EAST - WEST;
    let mut shapes: Vec<serde_json::Value> = (0..SECTORS - 1)
        .map(|_| {
            let lon = WEST + width * random.next();
            let lat = SOUTH + (NORTH - SOUTH) * random.next();
            circle(lon, lat, 0.01 + 0.04 * random.next())
        })
        .collect();
    let five_percent = ((width * (NORTH - SOUTH) * 0.05) / PI).sqrt();
    shapes.push(circle(
        WEST + width / 2.0,
        SOUTH + (NORTH - SOUTH) / 2.0,
        five_percent,
    ));

    // The geometry alone: every point against every sector, in memory.
    let parsed: Vec<flokon_api::sector::Shape> = shapes
        .iter()
        .map(|s| flokon_api::sector::Shape::parse(s).unwrap())
        .collect();
    let mut random = Lcg(42);
    let coordinates: Vec<(f64, f64)> = (0..POINTS)
        .map(|_| {
            (
                SOUTH + (NORTH - SOUTH) * random.next(),
                WEST + (EAST - WEST) * random.next(),
            )
        })
        .collect();
    let start = Instant::now();
    let inside = coordinates
        .iter()
        .map(|(lat, lon)| {
            parsed
                .iter()
                .filter(|shape| shape.holds(*lat, *lon))
                .count()
        })
        .sum::<usize>();
    let geometry_only = start.elapsed();

    let start = Instant::now();
    let mut ids = Vec::new();
    for (i, shape) in shapes.iter().enumerate() {
        ids.push(
            sectors::create(&db, org, &format!("S{i}"), shape)
                .await
                .unwrap()
                .id,
        );
    }
    let by_sector = start.elapsed();

    let start = Instant::now();
    sectors::place_all_points(&db, org).await.unwrap();
    let by_point = start.elapsed();

    let memberships = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM sector_membership",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();

    let config = ServeConfig {
        bind_addr: "127.0.0.1:0".into(),
        ..ServeConfig::default()
    };
    let app = Application::build(config, db.clone()).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    tokio::spawn(app.run_until_stopped());
    let id = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        format!("Sector:{}", ids[SECTORS - 1].simple()),
    );
    let query = json!({"query": "query($s: ID!) { sector(id: $s) { alertRecipients { phone phoneE164 contactMethod servicePoint { fullAddress } } } }", "variables": {"s": id}});
    let http = reqwest::Client::new();
    let mut best = f64::MAX;
    let mut recipients = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let body: serde_json::Value = http
            .post(format!("{base}/graphql"))
            .bearer_auth(&token.token)
            .json(&query)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        best = best.min(start.elapsed().as_secs_f64());
        recipients = body["data"]["sector"]["alertRecipients"]
            .as_array()
            .map_or(0, Vec::len);
    }
    assert_eq!(inside as i64, memberships);
    println!(
        "{label}: point-in-sector tests alone (in memory): {:.3} s",
        geometry_only.as_secs_f64()
    );
    println!(
        "{label}: {POINTS} points, {SECTORS} sectors of {VERTICES} vertices, {memberships} memberships: \
         all sectors placed in {:.3} s, all points placed in {:.3} s; \
         alertRecipients of {recipients} occupants over HTTP in {:.0} ms (best of 5)",
        by_sector.as_secs_f64(),
        by_point.as_secs_f64(),
        best * 1000.0
    );
}

#[tokio::main]
async fn main() {
    flokon_api::geocode::install_tls_provider();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("sectors.db").display()
    );
    run("SQLite", ConnectOptions::new(sqlite)).await;

    let pg = std::env::var("BENCH_DATABASE_URL")
        .or_else(|_| std::env::var("TEST_DATABASE_URL"))
        .ok();
    if let Some(url) = pg.filter(|u| !u.is_empty()) {
        let schema = format!("bench_sectors_{}", std::process::id());
        let admin = sea_orm::Database::connect(&url).await.unwrap();
        admin
            .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
            .await
            .unwrap();
        let mut options = ConnectOptions::new(url.clone());
        options.set_schema_search_path(schema.clone());
        run("PostgreSQL", options).await;
        admin
            .execute_unprepared(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .unwrap();
    } else {
        println!("PostgreSQL: set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to measure it");
    }
}
