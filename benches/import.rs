//! End-to-end import benchmark: `cargo bench --bench import`.
//!
//! Generates a 100,000-row file (30,000 clients, 40,000 addresses,
//! coordinates given), then times, in one run:
//! - calamine alone reading it (the parsing floor),
//! - the whole import through HTTP against the release server binary, on
//!   SQLite and (with `BENCH_DATABASE_URL` or `TEST_DATABASE_URL`) on
//!   PostgreSQL: first import, the same file again in each mode, then the
//!   export of every occupant, each in a server started for it (its own
//!   peak RSS),
//! - each database's floor (the physical limit): calamine alone reading the
//!   file, plus the same records written by `COPY` on PostgreSQL or by
//!   prepared inserts in one transaction on SQLite; each step prints its
//!   ratio to it.

mod common;

use std::io::Cursor;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use calamine::{Reader, Xlsx};
use rust_xlsxwriter::Workbook;
use serde_json::json;

const CLIENTS: usize = 30_000;
const ADDRESSES: usize = 40_000;
const ROWS: usize = 100_000;

struct Record {
    client: usize,
    address: usize,
    row: usize,
}

/// Clients 0..10,000 have two addresses, the others one; addresses
/// 0..20,000 have three occupants, the others two.
fn records() -> Vec<Record> {
    let mut out = Vec::with_capacity(ROWS);
    for address in 0..ADDRESSES {
        let client = if address < 2 * 10_000 {
            address / 2
        } else {
            address - 10_000
        };
        let occupants = if address < 20_000 { 3 } else { 2 };
        for _ in 0..occupants {
            out.push(Record {
                client,
                address,
                row: out.len(),
            });
        }
    }
    assert_eq!(out.len(), ROWS);
    assert_eq!(out.iter().map(|r| r.client).max(), Some(CLIENTS - 1));
    out
}

fn phone(row: usize) -> String {
    format!("418-{}-{:04}", 200 + row / 10_000, row % 10_000)
}

fn street(address: usize) -> String {
    format!("{} rue Banc-{}", 1 + address % 900, address / 900)
}

fn coordinates(address: usize) -> (f64, f64) {
    (
        46.7 + (address % 200) as f64 * 0.001,
        -71.3 + (address / 200) as f64 * 0.001,
    )
}

fn file(records: &[Record]) -> Vec<u8> {
    file_changed(records, |_| false)
}

/// The file with the rows `changed` picks changed: a new phone for the
/// same person (an update, not a second occupant) and the other alert
/// type.
fn file_changed(records: &[Record], changed: impl Fn(usize) -> bool) -> Vec<u8> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let headers = [
        "Prénom",
        "Nom",
        "Téléphone*",
        "SMS/Appel*",
        "Adresse*",
        "Notes",
        "Identifiant du client",
        "Latitude",
        "Longitude",
    ];
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for r in records {
        let row = r.row as u32 + 1;
        let (lat, lon) = coordinates(r.address);
        sheet
            .write_string(row, 0, format!("Prénom{}", r.row))
            .unwrap();
        sheet.write_string(row, 1, "Tremblay").unwrap();
        let (number, sms) = match changed(r.row) {
            false => (phone(r.row), r.row % 2 == 0),
            true => (
                format!("514-{}-{:04}", 200 + r.row / 10_000, r.row % 10_000),
                r.row % 2 != 0,
            ),
        };
        sheet.write_string(row, 2, number).unwrap();
        sheet
            .write_string(row, 3, if sms { "SMS" } else { "appel" })
            .unwrap();
        sheet
            .write_string(
                row,
                4,
                format!("{}, Québec, QC, G1K 1A1", street(r.address)),
            )
            .unwrap();
        sheet
            .write_string(row, 6, format!("C-{}", r.client))
            .unwrap();
        sheet.write_number(row, 7, lat).unwrap();
        sheet.write_number(row, 8, lon).unwrap();
    }
    workbook.save_to_buffer().unwrap()
}

/// The process's peak RSS.
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn binary(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flokon-api"));
    // Coordinates are given: no geocoder is involved either way. The
    // import's log line gives the time of each of its phases.
    command
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn,flokon_api::service::imports=info")
        .env("GEOCODER", "none");
    command
}

fn org_token(database_url: &str) -> String {
    let output = binary(database_url)
        .args(["org", "create", "Bench"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("token: "))
        .unwrap()
        .to_owned()
}

async fn start(database_url: &str) -> (Child, String) {
    let port = free_port();
    let mut child = binary(database_url)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if reqwest::get(format!("{base}/health"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return (child, base);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server did not start");
}

async fn import(
    base: &str,
    token: &str,
    bytes: Vec<u8>,
    mode: &str,
) -> (Duration, serde_json::Value) {
    import_as(base, token, bytes, mode, false).await
}

async fn import_as(
    base: &str,
    token: &str,
    bytes: Vec<u8>,
    mode: &str,
    dry_run: bool,
) -> (Duration, serde_json::Value) {
    let query = "mutation($file: Upload!, $mode: ImportMode!, $dryRun: Boolean) { importSpreadsheet(file: $file, mode: $mode, dryRun: $dryRun) { committed fileErrors { code } summary { totalRows errorRows clients { created } servicePoints { created } occupants { created updated } } } }";
    let variables = json!({"file": null, "mode": mode, "dryRun": dry_run});
    let form = reqwest::multipart::Form::new()
        .text(
            "operations",
            json!({"query": query, "variables": variables}).to_string(),
        )
        .text("map", json!({"0": ["variables.file"]}).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(bytes).file_name("bench.xlsx"),
        );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    let start = Instant::now();
    let response = client
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    (start.elapsed(), body)
}

/// Runs `step` against a server started for it alone, and returns the
/// step's result with the server's peak RSS: each mode's own peak, not
/// what an earlier step left allocated.
async fn in_fresh_server<T>(database_url: &str, step: impl AsyncFnOnce(&str) -> T) -> (T, f64) {
    let (mut child, base) = start(database_url).await;
    let result = step(&base).await;
    let peak = peak_rss_mib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    (result, peak)
}

/// The modes timed, in order, each in a fresh server: the first import,
/// then the same file again in each mode (the merges change nothing,
/// `REPLACE_ALL` snapshots, deletes and inserts everything).
const STEPS: [(&str, &str); 4] = [
    ("first import", "MERGE_KEEP_MISSING"),
    ("unchanged re-import", "MERGE_KEEP_MISSING"),
    ("MERGE_DELETE_MISSING, unchanged", "MERGE_DELETE_MISSING"),
    ("REPLACE_ALL over it", "REPLACE_ALL"),
];

/// Times each step of `STEPS` in order, and prints each with its peak RSS and
/// its ratio to `floor`.
async fn bench_server(label: &str, database_url: &str, bytes: &[u8], floor: Duration) {
    let token = org_token(database_url);
    for (i, (step, mode)) in STEPS.into_iter().enumerate() {
        let token = token.clone();
        let ((elapsed, body), rss) = in_fresh_server(database_url, async move |base: &str| {
            import(base, &token, bytes.to_vec(), mode).await
        })
        .await;
        let run = &body["data"]["importSpreadsheet"];
        assert_eq!(run["committed"], true, "{body:#}");
        let created = if i == 0 || mode == "REPLACE_ALL" {
            ROWS
        } else {
            0
        };
        assert_eq!(run["summary"]["occupants"]["created"], created, "{body:#}");
        println!(
            "{label}: {step} {:.2} s ({:.0} rows/s), {:.1}x the floor, peak RSS {rss:.0} MiB",
            elapsed.as_secs_f64(),
            ROWS as f64 / elapsed.as_secs_f64(),
            elapsed.as_secs_f64() / floor.as_secs_f64(),
        );
    }
    // The export of every occupant.
    let ((export, size), export_rss) = in_fresh_server(database_url, async |base: &str| {
        let start = Instant::now();
        let exported = reqwest::Client::new()
            .get(format!("{base}/export.xlsx"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        (start.elapsed(), exported.len())
    })
    .await;
    println!(
        "{label}: export {:.2} s ({:.1} MiB, peak RSS {export_rss:.0} MiB)",
        export.as_secs_f64(),
        size as f64 / 1048576.0,
    );
}

/// A value of the floor's rows.
enum Cell {
    Id(uuid::Uuid),
    Text(String),
    Float(f64),
    Null,
    Now,
}

impl Cell {
    /// As `COPY ... FROM STDIN` (text format) reads it.
    fn copy_text(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            Cell::Id(id) => write!(out, "{id}"),
            Cell::Text(text) => write!(out, "{text}"),
            Cell::Float(f) => write!(out, "{f}"),
            Cell::Null => write!(out, "\\N"),
            Cell::Now => write!(out, "2026-11-28 00:00:00+00"),
        }
        .unwrap();
    }
}

/// The organization's clients, points and occupants as the import stores
/// them, every column in table order: what the floors write.
fn floor_rows(org: uuid::Uuid, records: &[Record]) -> [(&'static str, Vec<Vec<Cell>>); 3] {
    use Cell::*;
    let client_ids: Vec<uuid::Uuid> = (0..CLIENTS).map(|_| uuid::Uuid::now_v7()).collect();
    let point_ids: Vec<uuid::Uuid> = (0..ADDRESSES).map(|_| uuid::Uuid::now_v7()).collect();
    let clients = (0..CLIENTS)
        .map(|i| {
            let key = format!("c-{i}");
            vec![
                Id(client_ids[i]),
                Id(org),
                Text(format!("C-{i}")),
                Null,
                Null,
                Text(key),
                Now,
                Now,
            ]
        })
        .collect();
    let mut points = Vec::with_capacity(ADDRESSES);
    let mut seen = vec![false; ADDRESSES];
    for r in records {
        if std::mem::replace(&mut seen[r.address], true) {
            continue;
        }
        let (lat, lon) = coordinates(r.address);
        let line1 = street(r.address);
        let key = format!("{} quebec g1k1a1", line1.to_lowercase());
        points.push(vec![
            Id(point_ids[r.address]),
            Id(org),
            Id(client_ids[r.client]),
            Text(line1),
            Text("Québec".to_owned()),
            Text("QC".to_owned()),
            Text("G1K 1A1".to_owned()),
            Text(key),
            Float(lat),
            Float(lon),
            Text("MANUAL".to_owned()),
            Null,
            Null,
            Now,
            Now,
        ]);
    }
    let occupants = records
        .iter()
        .map(|r| {
            vec![
                Id(uuid::Uuid::now_v7()),
                Id(org),
                Id(point_ids[r.address]),
                Text(format!("Prénom{}", r.row)),
                Text("Tremblay".to_owned()),
                Text(phone(r.row)),
                Text("SMS".to_owned()),
                Null,
                Now,
                Now,
                Text("FR".to_owned()),
            ]
        })
        .collect();
    [
        ("client", clients),
        ("service_point", points),
        ("occupant", occupants),
    ]
}

/// PostgreSQL's floor: `COPY` of the same clients, points and occupants
/// into migrated tables (a schema of its own).
async fn copy_floor(url: &str, records: &[Record]) -> Duration {
    use sea_orm::sqlx::{Connection, PgConnection};
    let schema = format!("bench_copy_{}", std::process::id());
    let admin = sea_orm::Database::connect(url).await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(&admin, &format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let mut options = sea_orm::ConnectOptions::new(url.to_owned());
    options.set_schema_search_path(schema.clone());
    let db = flokon_api::db::connect_with(options, &Default::default())
        .await
        .unwrap();
    flokon_api::db::migrate(&db).await.unwrap();
    let org = uuid::Uuid::now_v7();
    let tables = floor_rows(org, records).map(|(table, rows)| {
        let mut text = String::new();
        for row in rows {
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    text.push('\t');
                }
                cell.copy_text(&mut text);
            }
            text.push('\n');
        }
        (table, text)
    });
    let mut conn = PgConnection::connect(url).await.unwrap();
    let start = Instant::now();
    let statements = [
        format!("SET search_path TO {schema}"),
        format!("INSERT INTO organization (id, name, created_at) VALUES ('{org}', 'Bench', now())"),
    ];
    for statement in statements {
        sea_orm::sqlx::query(sea_orm::sqlx::AssertSqlSafe(statement))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    for (table, data) in tables {
        let mut copy = conn
            .copy_in_raw(&format!("COPY {table} FROM STDIN"))
            .await
            .unwrap();
        copy.send(data.into_bytes()).await.unwrap();
        copy.finish().await.unwrap();
    }
    let elapsed = start.elapsed();
    sea_orm::ConnectionTrait::execute_unprepared(&admin, &format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
    elapsed
}

/// SQLite's floor: the same rows inserted in one transaction by prepared
/// statements, into a migrated database with the server's connection
/// settings. Each statement inserts as many rows as SQLite's parameter
/// limit allows (one row per statement costs a round trip to sqlx's
/// SQLite thread each, about ten times slower: not a floor).
async fn sqlite_floor(dir: &std::path::Path, records: &[Record]) -> Duration {
    use sea_orm::sqlx;
    const MAX_PARAMETERS: usize = 32_766;
    let url = format!("sqlite://{}?mode=rwc", dir.join("floor.db").display());
    let db = flokon_api::db::connect(&url, &Default::default())
        .await
        .unwrap();
    flokon_api::db::migrate(&db).await.unwrap();
    let pool = db.get_sqlite_connection_pool();
    let org = uuid::Uuid::now_v7();
    let tables = floor_rows(org, records);
    let now = chrono::Utc::now();
    let start = Instant::now();
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("INSERT INTO organization (id, name, created_at) VALUES (?, 'Bench', ?)")
        .bind(org)
        .bind(now)
        .execute(&mut *tx)
        .await
        .unwrap();
    for (table, rows) in &tables {
        let width = rows[0].len();
        let row_marks = format!("({})", vec!["?"; width].join(", "));
        for batch in rows.chunks(MAX_PARAMETERS / width) {
            let sql = format!(
                "INSERT INTO {table} VALUES {}",
                vec![row_marks.as_str(); batch.len()].join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for cell in batch.iter().flatten() {
                query = match cell {
                    Cell::Id(id) => query.bind(*id),
                    Cell::Text(text) => query.bind(text.as_str()),
                    Cell::Float(f) => query.bind(*f),
                    Cell::Null => query.bind(Option::<String>::None),
                    Cell::Now => query.bind(now),
                };
            }
            query.execute(&mut *tx).await.unwrap();
        }
    }
    tx.commit().await.unwrap();
    start.elapsed()
}

#[tokio::main]
async fn main() {
    flokon_api::geocode::install_tls_provider();
    let records = records();
    let start = Instant::now();
    let bytes = file(&records);
    println!(
        "generated {ROWS} rows, {:.1} MiB xlsx, in {:.2} s",
        bytes.len() as f64 / 1048576.0,
        start.elapsed().as_secs_f64()
    );

    // `BENCH_PREVIEW=1`: only the dry runs, on SQLite (import previews).
    if std::env::var("BENCH_PREVIEW").is_ok() {
        preview(&records, &bytes).await;
        return;
    }

    // For profiling the server by hand: `BENCH_FILE=/tmp/bench.xlsx` saves the file and stops.
    if let Ok(path) = std::env::var("BENCH_FILE") {
        std::fs::write(&path, &bytes).unwrap();
        println!("saved to {path}");
        return;
    }
    let start = Instant::now();
    let mut workbook = Xlsx::new(Cursor::new(bytes.clone())).unwrap();
    let range = workbook.worksheet_range("Sheet1").unwrap();
    assert_eq!(range.height(), ROWS + 1);
    let read_floor = start.elapsed();
    println!(
        "calamine alone (worksheet_range, the reading floor): {:.2} s",
        read_floor.as_secs_f64()
    );

    let start = Instant::now();
    let limits =
        flokon_api::import::ImportLimits::from(&flokon_api::config::ImportConfig::default());
    let progress = flokon_api::import::progress::Progress::default();
    let parsed = flokon_api::import::parse(&bytes, &limits, &[], &progress);
    assert_eq!(parsed.rows.len(), ROWS);
    println!(
        "our parse (prescan, streamed read, validation): {:.2} s",
        start.elapsed().as_secs_f64()
    );

    // Each database's floor: reading the file (calamine alone) and writing
    // the same records the physical way, measured in this run.
    let dir = tempfile::tempdir().unwrap();
    let inserts = sqlite_floor(dir.path(), &records).await;
    let floor = read_floor + inserts;
    println!(
        "SQLite floor: reading + prepared inserts in one transaction {:.2} s = {:.2} s",
        inserts.as_secs_f64(),
        floor.as_secs_f64()
    );
    let sqlite = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    bench_server("SQLite", &sqlite, &bytes, floor).await;

    let pg = common::postgres_url();
    match pg {
        Some(url) if !url.is_empty() => {
            let copy = copy_floor(&url, &records).await;
            let floor = read_floor + copy;
            println!(
                "PostgreSQL floor: reading + COPY of the same records {:.2} s = {:.2} s",
                copy.as_secs_f64(),
                floor.as_secs_f64()
            );
            let schema = format!("bench_run_{}", std::process::id());
            let admin = sea_orm::Database::connect(&url).await.unwrap();
            sea_orm::ConnectionTrait::execute_unprepared(
                &admin,
                &format!("CREATE SCHEMA {schema}"),
            )
            .await
            .unwrap();
            let separator = if url.contains('?') { '&' } else { '?' };
            let scoped = format!("{url}{separator}options=-c%20search_path%3D{schema}");
            bench_server("PostgreSQL", &scoped, &bytes, floor).await;
            sea_orm::ConnectionTrait::execute_unprepared(
                &admin,
                &format!("DROP SCHEMA {schema} CASCADE"),
            )
            .await
            .unwrap();
        }
        _ => println!(
            "PostgreSQL: set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to measure it and the COPY floor"
        ),
    }
}

/// The SQLite file of a `sqlite://path?mode=rwc` URL.
fn sqlite_path(url: &str) -> &str {
    url.trim_start_matches("sqlite://")
        .trim_end_matches("?mode=rwc")
}

/// Dry runs over the committed file, each in a fresh server: the same file,
/// then one with 10 % of its rows changed (a new phone for the same person
/// and the other alert type), on SQLite. Three runs of each, alternated.
async fn preview(records: &[Record], bytes: &[u8]) {
    let changed = file_changed(records, |row| row % 10 == 0);
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("preview.db").display()
    );
    let token = org_token(&url);
    let (_, body) = in_fresh_server(&url, async |base: &str| {
        import(base, &token, bytes.to_vec(), "MERGE_KEEP_MISSING").await
    })
    .await
    .0;
    assert_eq!(
        body["data"]["importSpreadsheet"]["committed"], true,
        "{body:#}"
    );
    // For profiling the dry run by hand: `BENCH_PREVIEW_SAVE=/dir` keeps
    // the committed database, its token and the changed file there, and stops.
    if let Ok(dir) = std::env::var("BENCH_PREVIEW_SAVE") {
        let dir = std::path::Path::new(&dir);
        std::fs::create_dir_all(dir).unwrap();
        std::fs::copy(sqlite_path(&url), dir.join("preview.db")).unwrap();
        std::fs::write(dir.join("token"), &token).unwrap();
        std::fs::write(dir.join("changed.xlsx"), &changed).unwrap();
        println!("saved to {}", dir.display());
        return;
    }
    for round in 1..=3 {
        for (label, file, updated) in [
            ("dry run, unchanged", bytes, 0),
            ("dry run, 10 % changed", changed.as_slice(), ROWS / 10),
        ] {
            let ((elapsed, body), rss) = in_fresh_server(&url, async |base: &str| {
                import_as(base, &token, file.to_vec(), "MERGE_KEEP_MISSING", true).await
            })
            .await;
            let run = &body["data"]["importSpreadsheet"];
            assert_eq!(run["committed"], false, "{body:#}");
            // Before the phone-change rule, a new phone was a new occupant.
            let occupants = &run["summary"]["occupants"];
            let touched = occupants["updated"].as_u64().unwrap_or(0)
                + occupants["created"].as_u64().unwrap_or(0);
            assert_eq!(touched, updated as u64, "{body:#}");
            println!(
                "round {round}: SQLite {label}: {:.2} s, peak RSS {rss:.0} MiB ({occupants})",
                elapsed.as_secs_f64()
            );
        }
    }
}
