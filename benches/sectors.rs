//! Sector membership benchmark: `cargo bench --bench sectors`.
//!
//! 100,000 points and 50 sectors of 200 vertices: the time to compute every
//! membership (sector side: each sector against all points; point side: all
//! points against all sectors, from an empty table, with nothing changed,
//! and one sector moved), and the time to answer `sector.alertRecipients`
//! over HTTP for a sector holding about 5,000 points. Each figure beside its
//! floor, measured in the same run: for the recomputation, the
//! point-in-polygon tests alone plus writing the memberships by the fastest
//! way the database offers; for `alertRecipients`, the statements the server
//! ran for it, replayed directly. SQLite, and PostgreSQL with
//! `BENCH_DATABASE_URL` (or `TEST_DATABASE_URL`).

mod common;

use std::f64::consts::PI;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;
use entity::values::{ContactMethod, Language, MessageStatus};
use entity::{alert_message, client, occupant, sector_alert, sector_membership, service_point};
use flokon_api::app::Application;
use flokon_api::auth::OrgId;
use flokon_api::config::ServeConfig;
use flokon_api::service::store::batch::insert_batched;
use flokon_api::service::store::locks::{self, Memberships};
use flokon_api::service::{organizations, sectors};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectOptions, ConnectionTrait, DatabaseConnection, DbBackend,
    EntityTrait, QueryFilter, QuerySelect, Set, Statement, TransactionTrait,
};
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

/// The organization's points, as `(id, latitude, longitude)`.
async fn seed(db: &DatabaseConnection, org: OrgId) -> Vec<(Uuid, f64, f64)> {
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
            language: Set(entity::values::Language::Fr),
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
    points
        .iter()
        .map(|p| {
            (
                p.id.clone().unwrap(),
                p.latitude.clone().unwrap().unwrap(),
                p.longitude.clone().unwrap().unwrap(),
            )
        })
        .collect()
}

/// The floor of writing memberships: these rows into the emptied table, by
/// the fastest way each database offers, outside our code. PostgreSQL:
/// one `COPY`. SQLite: prepared inserts in one transaction, multi-row
/// (10,000 rows a statement) or one row a statement, whichever is faster
/// (both are timed; the faster counts).
async fn write_floor(
    db: &DatabaseConnection,
    org: OrgId,
    pairs: &[(Uuid, Uuid)],
) -> (f64, &'static str) {
    let empty = || async {
        db.execute_unprepared("DELETE FROM sector_membership")
            .await
            .unwrap();
    };
    if db.get_database_backend() == DbBackend::Postgres {
        empty().await;
        let mut conn = db.get_postgres_connection_pool().acquire().await.unwrap();
        let start = Instant::now();
        let mut data = String::with_capacity(pairs.len() * 111);
        for (sector, point) in pairs {
            writeln!(data, "{sector}\t{point}\t{}", org.uuid()).unwrap();
        }
        let mut copy = conn
            .copy_in_raw(
                "COPY sector_membership (sector_id, service_point_id, organization_id) FROM STDIN",
            )
            .await
            .unwrap();
        copy.send(data.into_bytes()).await.unwrap();
        let rows = copy.finish().await.unwrap();
        let elapsed = start.elapsed().as_secs_f64();
        assert_eq!(rows as usize, pairs.len());
        return (elapsed, "COPY");
    }
    let insert =
        "INSERT INTO sector_membership (sector_id, service_point_id, organization_id) VALUES ";
    // Multi-row: 30,000 parameters a statement, as many as SQLite takes.
    empty().await;
    let start = Instant::now();
    let tx = db.begin().await.unwrap();
    for chunk in pairs.chunks(10_000) {
        let rows = vec!["(?, ?, ?)"; chunk.len()].join(", ");
        let values: Vec<sea_orm::Value> = chunk
            .iter()
            .flat_map(|(sector, point)| [(*sector).into(), (*point).into(), org.uuid().into()])
            .collect();
        tx.execute_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            format!("{insert}{rows}"),
            values,
        ))
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let multi_row = start.elapsed().as_secs_f64();
    // One row a statement, prepared once (sqlx caches it).
    empty().await;
    let start = Instant::now();
    let tx = db.begin().await.unwrap();
    let one = format!("{insert}(?, ?, ?)");
    for (sector, point) in pairs {
        tx.execute_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            one.clone(),
            [(*sector).into(), (*point).into(), org.uuid().into()],
        ))
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let single_row = start.elapsed().as_secs_f64();
    println!(
        "SQLite: writing {} rows: multi-row inserts {multi_row:.3} s, single-row {single_row:.3} s",
        pairs.len()
    );
    if multi_row <= single_row {
        (multi_row, "multi-row prepared inserts, one transaction")
    } else {
        (single_row, "single-row prepared inserts, one transaction")
    }
}

/// Every point placed again, as an undo does: one transaction under the
/// organization's exclusive membership lock.
async fn place_all(db: &DatabaseConnection, org: OrgId) -> f64 {
    let start = Instant::now();
    let tx = locks::begin_memberships(db, org, Memberships::Exclusive)
        .await
        .unwrap();
    sectors::place_all_points(&tx, org).await.unwrap();
    tx.commit().await.unwrap();
    start.elapsed().as_secs_f64()
}

async fn count_memberships(db: &DatabaseConnection) -> i64 {
    db.query_one_raw(Statement::from_string(
        db.get_database_backend(),
        "SELECT COUNT(*) AS n FROM sector_membership",
    ))
    .await
    .unwrap()
    .unwrap()
    .try_get::<i64>("", "n")
    .unwrap()
}

/// One line of the results table: a figure, its floor and their ratio.
fn row(label: &str, what: &str, figure: f64, floor: Option<f64>, unit: &str) {
    let scale = if unit == "ms" { 1000.0 } else { 1.0 };
    let digits = if unit == "ms" { 2 } else { 3 };
    match floor {
        Some(floor) => println!(
            "{label} | {what:<58} | {:>9.digits$} {unit} | {:>9.digits$} {unit} | {:>6.2}×",
            figure * scale,
            floor * scale,
            figure / floor
        ),
        None => println!(
            "{label} | {what:<58} | {:>9.digits$} {unit} | {:>12} | {:>7}",
            figure * scale,
            "—",
            "—"
        ),
    }
}

async fn run(label: &str, options: ConnectOptions) {
    let mut db = flokon_api::db::connect_with(options, &Default::default())
        .await
        .unwrap();
    // Statements the server runs, recorded while `recording` holds a list.
    let recording: Arc<Mutex<Option<Vec<Statement>>>> = Arc::default();
    let log = recording.clone();
    db.set_metric_callback(move |info| {
        if let Some(statements) = log.lock().unwrap().as_mut() {
            statements.push(info.statement.clone());
        }
    });
    flokon_api::db::migrate(&db).await.unwrap();
    let (org, token) = organizations::create(&db, "Bench").await.unwrap();
    let org = OrgId::owning(&org);
    let points = seed(&db, org).await;

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
    let center = (WEST + width / 2.0, SOUTH + (NORTH - SOUTH) / 2.0);
    shapes.push(circle(center.0, center.1, five_percent));

    // Drawn one by one, each placed as it is created.
    let start = Instant::now();
    let mut ids = Vec::new();
    for (i, shape) in shapes.iter().enumerate() {
        ids.push(
            sectors::create(&db, org, &format!("S{i}"), shape, 100_000)
                .await
                .unwrap()
                .id,
        );
    }
    let by_sector = start.elapsed().as_secs_f64();
    let memberships = count_memberships(&db).await;

    // The geometry alone: every point against every sector, in memory.
    let parsed: Vec<(Uuid, flokon_api::sector::Shape)> = ids
        .iter()
        .zip(&shapes)
        .map(|(id, s)| (*id, flokon_api::sector::Shape::parse(s).unwrap()))
        .collect();
    let start = Instant::now();
    let mut pairs = Vec::new();
    for (point, lat, lon) in &points {
        for (sector, shape) in &parsed {
            if shape.holds(*lat, *lon) {
                pairs.push((*sector, *point));
            }
        }
    }
    let geometry_only = start.elapsed().as_secs_f64();
    assert_eq!(pairs.len() as i64, memberships);

    // Nothing changed: the difference is empty.
    let unchanged = place_all(&db, org).await;
    // Where a recomputation's reads go: the two statements it runs before
    // the point tests, alone.
    let start = Instant::now();
    let positions: Vec<(Uuid, Option<f64>, Option<f64>)> = service_point::Entity::find()
        .select_only()
        .columns([
            service_point::Column::Id,
            service_point::Column::Latitude,
            service_point::Column::Longitude,
        ])
        .filter(service_point::Column::OrganizationId.eq(org.uuid()))
        .into_tuple()
        .all(&db)
        .await
        .unwrap();
    let read_positions = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let stored: Vec<(Uuid, Uuid)> = sector_membership::Entity::find()
        .select_only()
        .columns([
            sector_membership::Column::SectorId,
            sector_membership::Column::ServicePointId,
        ])
        .filter(sector_membership::Column::OrganizationId.eq(org.uuid()))
        .into_tuple()
        .all(&db)
        .await
        .unwrap();
    let read_stored = start.elapsed().as_secs_f64();
    assert_eq!(
        (positions.len(), stored.len() as i64),
        (POINTS, memberships)
    );

    // The 5% sector moved east by half its radius, then back (not timed).
    let moved_shape = circle(center.0 + five_percent / 2.0, center.1, five_percent);
    let start = Instant::now();
    sectors::update(&db, org, ids[SECTORS - 1], "S49", &moved_shape, 100_000)
        .await
        .unwrap();
    let moved = start.elapsed().as_secs_f64();
    sectors::update(
        &db,
        org,
        ids[SECTORS - 1],
        "S49",
        &shapes[SECTORS - 1],
        100_000,
    )
    .await
    .unwrap();
    assert_eq!(count_memberships(&db).await, memberships);

    // The floor, then the same rows by our code from an empty table.
    let (write, how) = write_floor(&db, org, &pairs).await;
    let floor = geometry_only + write;
    db.execute_unprepared("DELETE FROM sector_membership")
        .await
        .unwrap();
    let from_empty = place_all(&db, org).await;
    assert_eq!(count_memberships(&db).await, memberships);

    let config = ServeConfig {
        bind_addr: "127.0.0.1:0".into(),
        // No worker statements among the request's.
        background_workers: false,
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
    let asked = Asked {
        http: reqwest::Client::new(),
        base: &base,
        token: &token.token,
        recording: &recording,
        db: &db,
    };
    let (best, sql_best, statements, answer) = asked.against_replay(&query).await;
    let recipients = answer["data"]["sector"]["alertRecipients"]
        .as_array()
        .map_or(0, Vec::len);

    // MESSAGES messages of that sector's alerts to PHONES phones; a page
    // of one phone's.
    seed_messages(&db, org, ids[SECTORS - 1]).await;
    let query = json!({"query": "{ alertMessages(phone: \"418 200-0042\", first: 20) { edges { node { id to status body sentAt } } } }"});
    let (messages_best, messages_sql, message_statements, answer) =
        asked.against_replay(&query).await;
    let page = answer["data"]["alertMessages"]["edges"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(page, MESSAGES / PHONES, "{answer}");
    // What any request costs here before its reads: the client's side,
    // HTTP, the token, the gate, the JSON.
    let empty_best = asked.best_of(&json!({"query": "{ __typename }"})).await;

    println!(
        "{label}: {POINTS} points, {SECTORS} sectors of {VERTICES} vertices, {memberships} memberships; \
         floor write: {how}; alertRecipients: {recipients} occupants, {} statements:",
        statements.len()
    );
    for statement in &statements {
        println!("{label}:   {}", statement.sql);
    }
    println!(
        "{label}: alertMessages(phone:) over {MESSAGES} messages to {PHONES} phones: a page of {page}, {} statements:",
        message_statements.len()
    );
    for statement in &message_statements {
        println!("{label}:   {}", statement.sql);
    }
    println!(
        "{label} | {:<58} | {:>12} | {:>12} | {:>7}",
        "figure", "ours", "floor", "ratio"
    );
    row(
        label,
        "point-in-sector tests alone (in memory)",
        geometry_only,
        None,
        "s",
    );
    row(label, "floor write of the memberships", write, None, "s");
    row(
        label,
        "all points placed, from empty (budget ≤ 2×)",
        from_empty,
        Some(floor),
        "s",
    );
    row(
        label,
        "all sectors drawn one by one, from empty",
        by_sector,
        Some(floor),
        "s",
    );
    row(
        label,
        "all points placed, nothing changed",
        unchanged,
        Some(floor),
        "s",
    );
    row(
        label,
        "the 5% sector moved by half its radius",
        moved,
        None,
        "s",
    );
    row(
        label,
        "reading the 100,000 positions alone",
        read_positions,
        None,
        "s",
    );
    row(
        label,
        "reading the stored memberships alone",
        read_stored,
        None,
        "s",
    );
    row(
        label,
        "alertRecipients over HTTP, best of 20 (budget ≤ 2×)",
        best,
        Some(sql_best),
        "ms",
    );
    row(
        label,
        "alertMessages(phone:) over HTTP, best of 20 (budget ≤ 2×)",
        messages_best,
        Some(messages_sql),
        "ms",
    );
    row(
        label,
        "{ __typename } over HTTP, best of 20 (no statement)",
        empty_best,
        None,
        "ms",
    );
}

const MESSAGES: usize = 1_000_000;
const PHONES: usize = 100_000;

/// `MESSAGES` delivered messages: `MESSAGES / PHONES` alerts of `sector`
/// (one message per phone and alert, as dispatch writes them), each to
/// the same `PHONES` phones (`+1418200nnnn`), written 50,000 at a time.
async fn seed_messages(db: &DatabaseConnection, org: OrgId, sector: Uuid) {
    let now = Utc::now();
    for _ in 0..MESSAGES / PHONES {
        let alert = Uuid::now_v7();
        sector_alert::ActiveModel {
            id: Set(alert),
            organization_id: Set(org.uuid()),
            sector_id: Set(sector),
            started_at: Set(now),
            ended_at: Set(Some(now)),
            recipients_count: Set(PHONES as i32),
            message: Set(None),
            dispatched_at: Set(Some(now)),
        }
        .insert(db)
        .await
        .unwrap();
        for chunk in (0..PHONES).collect::<Vec<_>>().chunks(50_000) {
            let messages: Vec<alert_message::ActiveModel> = chunk
                .iter()
                .map(|phone| alert_message::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    organization_id: Set(org.uuid()),
                    alert_id: Set(Some(alert)),
                    occupant_id: Set(None),
                    to_phone: Set(Some(format!("+1418{}", 2_000_000 + phone))),
                    channel: Set(ContactMethod::Sms),
                    language: Set(Language::Fr),
                    body: Set("Déneigement de votre rue vers 22 h.".to_owned()),
                    encoding: Set(None),
                    segments: Set(Some(1)),
                    status: Set(MessageStatus::Delivered),
                    skip_reason: Set(None),
                    provider_id: Set(None),
                    sender: Set(None),
                    error_code: Set(None),
                    attempts: Set(1),
                    next_attempt_at: Set(None),
                    claimed_until: Set(None),
                    scheduled_for: Set(None),
                    sent_at: Set(Some(now)),
                    delivered_at: Set(Some(now)),
                    created_at: Set(now),
                    updated_at: Set(now),
                })
                .collect();
            insert_batched(
                db,
                &messages,
                |m: &alert_message::ActiveModel| m.clone(),
                None,
            )
            .await
            .unwrap();
        }
    }
    // What autovacuum would do within a minute of such a load (statistics;
    // on PostgreSQL hint bits and the visibility map too), done before the
    // reads are timed rather than beside them.
    let settle = match db.get_database_backend() {
        DbBackend::Postgres => "VACUUM ANALYZE alert_message",
        _ => "ANALYZE alert_message",
    };
    db.execute_unprepared(settle).await.unwrap();
}

/// Rounds of a read over HTTP and of its replayed statements: reads of
/// a millisecond or less need more than a few to find their best.
const ROUNDS: usize = 20;

/// A running server's GraphQL endpoint, with the statement log of its
/// database connection.
struct Asked<'a> {
    http: reqwest::Client,
    base: &'a str,
    token: &'a str,
    recording: &'a Mutex<Option<Vec<Statement>>>,
    db: &'a DatabaseConnection,
}

impl Asked<'_> {
    async fn ask(&self, query: &serde_json::Value) -> serde_json::Value {
        self.http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(self.token)
            .json(query)
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    }

    /// The best of `ROUNDS` answers to `query` over HTTP, after one
    /// unmeasured (the connection opened, the token cached).
    async fn best_of(&self, query: &serde_json::Value) -> f64 {
        self.ask(query).await;
        let mut best = f64::MAX;
        for _ in 0..ROUNDS {
            let start = Instant::now();
            self.ask(query).await;
            best = best.min(start.elapsed().as_secs_f64());
        }
        best
    }

    /// The best of `ROUNDS` answers to `query` over HTTP and the best of
    /// `ROUNDS` replays of the statements of one more, in alternated rounds
    /// (the database busy alike for both), on the same database as the
    /// request runs them: (ours, floor, statements, the answer).
    async fn against_replay(
        &self,
        query: &serde_json::Value,
    ) -> (f64, f64, Vec<Statement>, serde_json::Value) {
        *self.recording.lock().unwrap() = Some(Vec::new());
        let answer = self.ask(query).await;
        let statements = self.recording.lock().unwrap().take().unwrap();
        let (mut best, mut sql_best) = (f64::MAX, f64::MAX);
        for _ in 0..ROUNDS {
            let start = Instant::now();
            self.ask(query).await;
            best = best.min(start.elapsed().as_secs_f64());
            let start = Instant::now();
            for statement in &statements {
                self.db.query_all_raw(statement.clone()).await.unwrap();
            }
            sql_best = sql_best.min(start.elapsed().as_secs_f64());
        }
        (best, sql_best, statements, answer)
    }
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

    let pg = common::postgres_url();
    if let Some(url) = pg {
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
