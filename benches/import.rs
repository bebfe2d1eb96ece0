//! End-to-end import benchmark: `cargo bench --bench import`.
//!
//! Generates a 100,000-row file (30,000 clients, 40,000 addresses,
//! coordinates given), then times, in one run:
//! - calamine alone reading it (the parsing floor),
//! - the whole import through HTTP against the release server binary, on
//!   SQLite and (with `BENCH_DATABASE_URL` or `TEST_DATABASE_URL`) on
//!   PostgreSQL: first import, unchanged re-import, REPLACE_ALL, then the
//!   export of every occupant, each in a server started for it (its own
//!   peak RSS),
//! - PostgreSQL `COPY` of the same records into the same tables (the
//!   physical limit).

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
        sheet.write_string(row, 2, phone(r.row)).unwrap();
        sheet
            .write_string(row, 3, if r.row % 2 == 0 { "SMS" } else { "appel" })
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
    // Coordinates are given: no geocoder is involved either way.
    command
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
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
    let query = "mutation($file: Upload!, $mode: ImportMode!) { importSpreadsheet(file: $file, mode: $mode) { committed fileErrors { code } summary { totalRows errorRows clients { created } servicePoints { created } occupants { created } } } }";
    let form = reqwest::multipart::Form::new()
        .text(
            "operations",
            json!({"query": query, "variables": {"file": null, "mode": mode}}).to_string(),
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

async fn bench_server(label: &str, database_url: &str, bytes: &[u8]) -> Duration {
    let token = org_token(database_url);
    let import_as = |mode: &'static str| {
        let token = token.clone();
        async move |base: &str| import(base, &token, bytes.to_vec(), mode).await
    };
    let ((elapsed, body), first_rss) =
        in_fresh_server(database_url, import_as("MERGE_KEEP_MISSING")).await;
    let summary = &body["data"]["importSpreadsheet"]["summary"];
    assert_eq!(
        body["data"]["importSpreadsheet"]["committed"], true,
        "{body:#}"
    );
    assert_eq!(summary["occupants"]["created"], ROWS, "{body:#}");
    // The same file again: the merge path, every row unchanged.
    let ((merge, body), merge_rss) =
        in_fresh_server(database_url, import_as("MERGE_KEEP_MISSING")).await;
    assert_eq!(
        body["data"]["importSpreadsheet"]["summary"]["occupants"]["created"], 0,
        "{body:#}"
    );
    // And once more starting over: snapshot for undo, delete all, insert all.
    let ((replace, body), replace_rss) =
        in_fresh_server(database_url, import_as("REPLACE_ALL")).await;
    assert_eq!(
        body["data"]["importSpreadsheet"]["committed"], true,
        "{body:#}"
    );
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
        "{label}: first import {:.2} s ({:.0} rows/s, peak RSS {first_rss:.0} MiB); \
         unchanged re-import {:.2} s (peak RSS {merge_rss:.0} MiB); \
         REPLACE_ALL over it {:.2} s (peak RSS {replace_rss:.0} MiB); \
         export {:.2} s ({:.1} MiB, peak RSS {export_rss:.0} MiB)",
        elapsed.as_secs_f64(),
        ROWS as f64 / elapsed.as_secs_f64(),
        merge.as_secs_f64(),
        replace.as_secs_f64(),
        export.as_secs_f64(),
        size as f64 / 1048576.0,
    );
    elapsed
}

/// COPY of the same clients, points and occupants into migrated tables.
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
    let now = "2026-11-28 00:00:00+00";
    let client_ids: Vec<uuid::Uuid> = (0..CLIENTS).map(|_| uuid::Uuid::now_v7()).collect();
    let point_ids: Vec<uuid::Uuid> = (0..ADDRESSES).map(|_| uuid::Uuid::now_v7()).collect();
    let mut clients = String::new();
    for (i, id) in client_ids.iter().enumerate() {
        clients.push_str(&format!(
            "{id}\t{org}\tC-{i}\t\\N\t\\N\tc-{i}\t{now}\t{now}\n"
        ));
    }
    let mut points = String::new();
    let mut seen = vec![false; ADDRESSES];
    for r in records {
        if std::mem::replace(&mut seen[r.address], true) {
            continue;
        }
        let (lat, lon) = coordinates(r.address);
        let line1 = street(r.address);
        points.push_str(&format!(
            "{}\t{org}\t{}\t{line1}\tQuébec\tQC\tG1K 1A1\t{} quebec g1k1a1\t{lat}\t{lon}\tMANUAL\t\\N\t\\N\t{now}\t{now}\n",
            point_ids[r.address], client_ids[r.client], line1.to_lowercase()
        ));
    }
    let mut occupants = String::new();
    for r in records {
        occupants.push_str(&format!(
            "{}\t{org}\t{}\tPrénom{}\tTremblay\t{}\tSMS\t\\N\t{now}\t{now}\n",
            uuid::Uuid::now_v7(),
            point_ids[r.address],
            r.row,
            phone(r.row)
        ));
    }
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
    for (table, data) in [
        ("client", clients),
        ("service_point", points),
        ("occupant", occupants),
    ] {
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
    println!(
        "calamine alone (worksheet_range): {:.2} s",
        start.elapsed().as_secs_f64()
    );

    let start = Instant::now();
    let limits = flokon_api::config::Limits::default().import();
    let progress = flokon_api::import::progress::Progress::default();
    let parsed = flokon_api::import::parse(&bytes, &limits, &[], &progress);
    assert_eq!(parsed.rows.len(), ROWS);
    println!(
        "our parse (prescan, streamed read, validation): {:.2} s",
        start.elapsed().as_secs_f64()
    );

    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    bench_server("SQLite", &sqlite, &bytes).await;

    let pg = std::env::var("BENCH_DATABASE_URL")
        .or_else(|_| std::env::var("TEST_DATABASE_URL"))
        .ok();
    match pg {
        Some(url) if !url.is_empty() => {
            let copy = copy_floor(&url, &records).await;
            println!(
                "PostgreSQL COPY of the same records (the floor): {:.2} s",
                copy.as_secs_f64()
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
            let import = bench_server("PostgreSQL", &scoped, &bytes).await;
            println!(
                "PostgreSQL import / COPY floor: {:.1}x",
                import.as_secs_f64() / copy.as_secs_f64()
            );
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
