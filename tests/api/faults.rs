//! Faults injected while an import runs: the database goes away, the
//! process is told to stop, the geocoder fails. Nothing is ever committed
//! by half, errors are clear, and the server serves again without a
//! restart.

use std::time::{Duration, Instant};

use flokon_api::config::DbConfig;
use flokon_api::geocode::{GeocoderConfig, ProviderName};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use crate::fixtures::{header, pont_tenants, xlsx};
use crate::helpers::{GeocoderDouble, TestApp, error_codes, spawn_app_on, spawn_app_with};
use crate::instances::{Instance, import_at, new_org};
use crate::jobs::{JOB, RUN, big_csv, durable_database, send_job};

async fn seed(app: &TestApp) {
    let [ana, ben] = pont_tenants();
    let body = import_when_free(app, xlsx(&[header(), ana, ben])).await;
    assert_eq!(
        body["data"]["importSpreadsheet"]["committed"], true,
        "{body:#}"
    );
}

/// Imports `file` (`REPLACE_ALL`), again while the answer is `BUSY` (this
/// file's short lock timeout, on a loaded machine) or `IMPORT_IN_PROGRESS`
/// (an interrupted run's executor still giving up on its cut connections
/// holds the organization's place until it does): the whole response.
async fn import_when_free(app: &TestApp, file: Vec<u8>) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body = app
            .upload("pont.xlsx", file.clone(), json!({"mode": "REPLACE_ALL"}))
            .await;
        let codes = error_codes(&body);
        let wait = codes == ["BUSY"] || codes == ["IMPORT_IN_PROGRESS"];
        if !wait || Instant::now() > deadline {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Retries a read for a few seconds: the first use of a pool whose
/// connections were cut may fail once.
async fn serves_again(app: &TestApp) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body = app.graphql("{ clients { totalCount } }", json!({})).await;
        if body.get("errors").is_none() || Instant::now() > deadline {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_database_going_away_mid_import_commits_nothing_and_the_server_recovers() {
    let lock_timeout = DbConfig {
        db_lock_timeout: Duration::from_millis(500),
        ..DbConfig::default()
    };
    let app = spawn_app_on(lock_timeout, |config| {
        config.imports.import_lease = Duration::from_secs(2);
    })
    .await;
    seed(&app).await;

    match app.sqlite_url() {
        // SQLite: another process holds the file's write lock.
        Some(url) => {
            let holder = sea_orm::Database::connect(url).await.unwrap();
            holder.execute_unprepared("BEGIN EXCLUSIVE").await.unwrap();
            let body = send_job(
                &app,
                &app.token,
                big_csv(1_000),
                json!({"mode": "REPLACE_ALL"}),
            )
            .await;
            assert_eq!(error_codes(&body), ["BUSY"], "{body:#}");
            holder.execute_unprepared("ROLLBACK").await.unwrap();
        }
        // PostgreSQL: every connection of the server is cut while the
        // import plans and writes.
        None => {
            let queued = send_job(
                &app,
                &app.token,
                big_csv(40_000),
                json!({"mode": "REPLACE_ALL", "wait": false}),
            )
            .await;
            let id = queued["data"]["importSpreadsheet"]["id"].clone();
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let run = app.data(RUN, json!({"id": id})).await["importRun"].clone();
                assert_ne!(run["status"], "FINISHED", "ended before the cut: {run:#}");
                let phase = run["progress"]["phase"].as_str().unwrap_or_default();
                if ["PLANNING", "APPLYING"].contains(&phase) {
                    break;
                }
                assert!(Instant::now() < deadline, "never planned: {run:#}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(app.cut_database_connections().await);
            let deadline = Instant::now() + Duration::from_secs(30);
            let run = loop {
                let body = app.graphql(RUN, json!({"id": id})).await;
                let run = body["data"]["importRun"].clone();
                if run["status"] == "FAILED" || Instant::now() > deadline {
                    break run;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            assert_eq!(run["status"], "FAILED", "{run:#}");
            assert_eq!(run["fileErrors"], json!([{"code": "INTERRUPTED"}]));
            assert_eq!(run["committed"], false);
        }
    }
    // Nothing committed, and the same server serves and imports again.
    let body = serves_again(&app).await;
    assert_eq!(body["data"]["clients"]["totalCount"], 1, "{body:#}");
    let [ana, _] = pont_tenants();
    let body = import_when_free(&app, xlsx(&[header(), ana])).await;
    assert_eq!(
        body["data"]["importSpreadsheet"]["committed"], true,
        "{body:#}"
    );
}

#[tokio::test]
async fn sigterm_during_an_import_lets_it_finish_whole() {
    let (url, _guard) = durable_database().await;
    let mut first = Instance::start(&url, &[]);
    first.healthy().await.unwrap();
    let token = new_org(&url);
    let [ana, ben] = pont_tenants();
    let seeded = import_at(&first.base, &token, xlsx(&[header(), ana, ben])).await;
    assert_eq!(seeded["data"]["importSpreadsheet"]["committed"], true);

    let importing = tokio::spawn({
        let (base, token) = (first.base.clone(), token.clone());
        async move {
            let upload = crate::helpers::Upload {
                query: JOB,
                file_name: "clients.csv",
                bytes: big_csv(30_000),
                variables: json!({"mode": "REPLACE_ALL"}),
                lang: None,
            };
            upload
                .send(&crate::helpers::http_client(), &base, &token)
                .await
                .json::<Value>()
                .await
        }
    });
    // Stopped once the import is under way.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let runs = first
            .graphql(
                &token,
                "{ importRuns(first: 1) { edges { node { status progress { phase } } } } }",
            )
            .await;
        let run = &runs["data"]["importRuns"]["edges"][0]["node"];
        if run["status"] == "RUNNING" && run["progress"]["phase"] != "QUEUED" {
            break;
        }
        assert!(Instant::now() < deadline, "never started: {runs:#}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.terminate();
    // The request in flight is answered: the import ran to its end.
    let answer = importing
        .await
        .unwrap()
        .expect("an answer, not a cut connection");
    let run = &answer["data"]["importSpreadsheet"];
    assert_eq!(run["status"], "FINISHED", "{answer:#}");
    assert_eq!(run["committed"], true, "{answer:#}");
    first.wait_exit();

    let mut second = Instance::start(&url, &[]);
    second.healthy().await.unwrap();
    let counts = second
        .graphql(
            &token,
            "{ clients { totalCount } servicePoints { totalCount } }",
        )
        .await;
    assert_eq!(
        counts["data"],
        json!({"clients": {"totalCount": 10_000}, "servicePoints": {"totalCount": 30_000}})
    );
}

/// A server geocoding with the double at `url`, waiting `deadline` at most.
async fn app_geocoding(url: String, deadline: Duration) -> TestApp {
    spawn_app_with(move |config| {
        config.geocoding = GeocoderConfig {
            geocoder: ProviderName::Nominatim,
            geocoder_url: Some(url),
            geocoder_timeout: Duration::from_secs(5),
            geocoder_deadline_ms: deadline.as_millis() as u64,
            geocoder_retry_seconds: 3600,
            ..GeocoderConfig::default()
        };
    })
    .await
}

#[tokio::test]
async fn an_import_commits_whatever_the_geocoder_does_and_leaves_points_pending() {
    let slow = GeocoderDouble::nominatim()
        .delayed(Duration::from_secs(10))
        .start()
        .await;
    let limiting = GeocoderDouble::nominatim()
        .responding(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .start()
        .await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    for (what, url) in [
        ("down", closed),
        ("slow", slow.uri()),
        ("answering 429", limiting.uri()),
    ] {
        let app = app_geocoding(url, Duration::from_millis(1500)).await;
        let run = app.import_pont_tenants("REPLACE_ALL").await;
        assert_eq!(run["committed"], true, "{what}: {run:#}");
        let points = app
            .data(
                "{ servicePoints { edges { node { geocodeStatus latitude } } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            points["servicePoints"]["edges"][0]["node"],
            json!({"geocodeStatus": "PENDING", "latitude": null}),
            "{what}"
        );
    }
}
