//! Alert dispatch throughput on loopback: `cargo bench --bench dispatch`.
//!
//! 10,000 recipients in one sector, sent through a loopback stand-in for
//! Twilio (`Messages.json` answered 201 with a SID, no callbacks) with no
//! rate limit (`SMS_RATE=0`), the server in-process on SQLite (and on
//! PostgreSQL with `BENCH_DATABASE_URL` or `TEST_DATABASE_URL`). Timed
//! from `startSectorAlert`'s answer (the outbox committed) to the last
//! message recorded as taken by the provider. The floor: the stand-in's
//! own throughput, the same number of posts from one client with as many
//! in flight as the dispatch has (`DISPATCH_WORKERS`).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use flokon_api::config::{ServeConfig, SmsProvider};
use futures_util::StreamExt;
use sea_orm::{ConnectOptions, ConnectionTrait, Statement};
use serde_json::json;

const RECIPIENTS: usize = 10_000;
const IN_FLIGHT: usize = 8;

/// The stand-in: counts posts, answers each as Twilio takes a message.
async fn stand_in() -> (String, Arc<AtomicUsize>) {
    let posts = Arc::new(AtomicUsize::new(0));
    let counted = posts.clone();
    let app = axum::Router::new().route(
        "/2010-04-01/Accounts/{sid}/{resource}",
        axum::routing::post(move || {
            let counted = counted.clone();
            async move {
                let n = counted.fetch_add(1, Ordering::Relaxed);
                (
                    StatusCode::CREATED,
                    axum::Json(json!({"sid": format!("SM{n:032}"), "status": "queued"})),
                )
            }
        }),
    );
    (common::serve_router(app).await, posts)
}

/// The floor: `RECIPIENTS` form posts, `IN_FLIGHT` at a time.
async fn floor(base: &str) -> f64 {
    let http = reqwest::Client::new();
    let url = format!("{base}/2010-04-01/Accounts/AC1/Messages.json");
    let started = Instant::now();
    futures_util::stream::iter(0..RECIPIENTS)
        .for_each_concurrent(IN_FLIGHT, |i| {
            let (http, url) = (&http, &url);
            async move {
                let to = format!("+1418555{i:04}");
                let form = [("To", to.as_str()), ("From", "+15145550001"), ("Body", "x")];
                let answer = http
                    .post(url)
                    .basic_auth("AC1", Some("t"))
                    .form(&form)
                    .send()
                    .await;
                assert!(answer.unwrap().status().is_success());
            }
        })
        .await;
    RECIPIENTS as f64 / started.elapsed().as_secs_f64()
}

async fn run(label: &str, options: ConnectOptions) {
    let (db, token) = common::database(options).await;
    let (twilio, posts) = stand_in().await;
    let floor = floor(&twilio).await;
    posts.store(0, Ordering::Relaxed);

    let mut config = ServeConfig::default();
    config.alerts.sms_provider = SmsProvider::Twilio;
    config.alerts.twilio_base_url = twilio;
    config.alerts.twilio_account_sid = "AC1".into();
    config.alerts.twilio_auth_token = "t".into();
    config.alerts.twilio_from = vec!["+15145550001".into()];
    config.alerts.sms_rate = 0.0;
    config.alerts.dispatch_workers = IN_FLIGHT;
    let server = common::serve(&db, config, &token).await;
    server
        .graphql(
            "mutation { updateAlertSettings(input: {sendFrom: \"00:00\", sendUntil: \"00:00\"}) { sendFrom } }",
            json!({}),
        )
        .await;

    // The recipients, imported as a CSV (each with its own point inside).
    let mut csv =
        String::from("Téléphone;SMS/Appel;Adresse;Identifiant du client;Latitude;Longitude\n");
    for i in 0..RECIPIENTS {
        csv.push_str(&format!(
            "418-{:03}-{:04};SMS;{} rue Principale, Québec;C-{i};46.85;-71.25\n",
            555 + i / 10_000,
            i % 10_000,
            i + 1
        ));
    }
    let operations = json!({
        "query": "mutation($file: Upload!) { importSpreadsheet(file: $file, mode: REPLACE_ALL) { committed } }",
        "variables": {"file": null}
    });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({"0": ["variables.file"]}).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("recipients.csv"),
        );
    let imported: serde_json::Value = server
        .http
        .post(format!("{}/graphql", server.base))
        .bearer_auth(&server.token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        imported["data"]["importSpreadsheet"]["committed"], true,
        "{imported}"
    );
    let square = json!({"type": "Polygon", "coordinates": [[
        [-71.3, 46.8], [-71.2, 46.8], [-71.2, 46.9], [-71.3, 46.9], [-71.3, 46.8]
    ]]});
    let sector = server
        .graphql(
            "mutation($g: JSON!) { createSector(input: {name: \"Bench\", geometry: $g}) { id } }",
            json!({"g": square}),
        )
        .await;
    let sector = sector["data"]["createSector"]["id"].clone();

    let asked = Instant::now();
    let started = server
        .graphql(
            "mutation($id: ID!) { startSectorAlert(id: $id) { id } }",
            json!({"id": sector}),
        )
        .await;
    assert!(
        started["data"]["startSectorAlert"]["id"].is_string(),
        "{started}"
    );
    let committed = Instant::now();
    let backend = db.get_database_backend();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let row = db
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT COUNT(*) FROM alert_message WHERE provider_id IS NOT NULL",
            ))
            .await
            .unwrap()
            .unwrap();
        if row.try_get_by_index::<i64>(0).unwrap() as usize == RECIPIENTS {
            break;
        }
        assert!(
            committed.elapsed() < Duration::from_secs(600),
            "not done in 10 minutes"
        );
    }
    let sent = committed.elapsed().as_secs_f64();
    let rate = RECIPIENTS as f64 / sent;
    println!(
        "{label}: {RECIPIENTS} recipients: outbox written in {:.2} s; sent in {sent:.2} s = {rate:.0} messages/s \
         ({IN_FLIGHT} in flight); floor (the stand-in alone) {floor:.0}/s: {:.2} ms a message against {:.2} ms, {:.0} % of the floor; provider posts {}",
        (committed - asked).as_secs_f64(),
        1000.0 / rate,
        1000.0 / floor,
        100.0 * rate / floor,
        posts.load(Ordering::Relaxed),
    );
}

#[tokio::main]
async fn main() {
    flokon_api::geocode::install_tls_provider();
    let dir = tempfile::tempdir().unwrap();
    run("SQLite", common::sqlite(&dir, "bench.db", 10)).await;
    if let Some(url) = common::postgres_url() {
        let mut options = ConnectOptions::new(url);
        options.max_connections(10);
        run("PostgreSQL", options).await;
    }
}
