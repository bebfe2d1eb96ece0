//! Imports as jobs: `wait: false`, live progress (polled, over a websocket,
//! over `multipart/mixed`), idempotency keys, snapshots and retention.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use flokon_api::graphql::id::{Kind, encode};

use crate::fixtures::{header, pont_tenants, template_headers, xlsx};
use crate::helpers::{
    GeocoderDouble, TestApp, error_reason, first_error, spawn_app, spawn_app_with,
};
use crate::instances::Instance;

/// A template CSV of `rows` occupants, three to a client, none located.
pub fn big_csv(rows: usize) -> Vec<u8> {
    let mut text = template_headers().join(",");
    text.push('\n');
    for i in 0..rows {
        text.push_str(&format!(
            "P{i},Test,418555{:04},SMS,\"{} rue du Test, Québec, QC, G1P 0A0\",,C-{}\n",
            i % 10_000,
            i + 1,
            i / 3
        ));
    }
    text.into_bytes()
}

pub const JOB: &str =
    "mutation($file: Upload!, $mode: ImportMode!, $wait: Boolean, $key: String, $dryRun: Boolean) {
  importSpreadsheet(file: $file, mode: $mode, wait: $wait, idempotencyKey: $key, dryRun: $dryRun) {
    id status idempotencyKey committed finishedAt
    progress { phase rowsRead rowsTotal addressesToLocate addressesLocated percent }
  }
}";

pub const RUN: &str = "query($id: ID!) { importRun(id: $id) {
  id status committed finishedAt idempotencyKey
  progress { phase rowsRead rowsTotal addressesToLocate addressesLocated percent }
  fileErrors { code }
  summary { occupants { created updated unchanged deleted } }
  rows(first: 1) { totalCount }
} }";

/// Sends an import job: the whole response body.
pub async fn send_job(app: &TestApp, token: &str, bytes: Vec<u8>, variables: Value) -> Value {
    let upload = crate::helpers::Upload {
        query: JOB,
        file_name: "clients.csv",
        bytes,
        variables,
        lang: None,
    };
    upload
        .send(&app.http, &app.address, token)
        .await
        .json()
        .await
        .expect("json body")
}

async fn job(app: &TestApp, bytes: Vec<u8>, variables: Value) -> Value {
    let body = send_job(app, &app.token, bytes, variables).await;
    assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
    body["data"]["importSpreadsheet"].clone()
}

/// Polls the run until it is settled: every state seen, the last one last.
pub async fn follow_by_polling(app: &TestApp, id: &Value) -> Vec<Value> {
    let mut seen: Vec<Value> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let run = app.data(RUN, json!({"id": id})).await["importRun"].clone();
        let status = run["status"].as_str().unwrap_or_default().to_owned();
        seen.push(run);
        if status == "FINISHED" || status == "FAILED" {
            return seen;
        }
        assert!(Instant::now() < deadline, "run never settled: {seen:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn percents(states: &[Value]) -> Vec<f64> {
    states
        .iter()
        .map(|s| s["progress"]["percent"].as_f64().expect("percent"))
        .collect()
}

fn assert_monotone(percents: &[f64]) {
    assert!(
        percents.windows(2).all(|w| w[0] <= w[1]),
        "percent went back: {percents:?}"
    );
}

#[tokio::test]
async fn wait_false_answers_with_the_queued_run_and_a_worker_finishes_it() {
    let app = spawn_app().await;
    let bytes = big_csv(10_000);
    let started = Instant::now();
    let queued = job(
        &app,
        bytes,
        json!({"mode": "MERGE_KEEP_MISSING", "wait": false}),
    )
    .await;
    let answered_in = started.elapsed();
    // Answered before the import ran: the run comes back queued, nothing read.
    assert_eq!(queued["status"], "QUEUED", "{queued:#}");
    assert_eq!(queued["committed"], false);
    assert_eq!(queued["finishedAt"], Value::Null);
    assert_eq!(
        queued["progress"],
        json!({"phase": "QUEUED", "rowsRead": 0, "rowsTotal": null,
               "addressesToLocate": 0, "addressesLocated": 0, "percent": 0.0})
    );
    println!("wait: false answered in {answered_in:?} for 10,000 rows");

    let states = follow_by_polling(&app, &queued["id"]).await;
    assert_monotone(&percents(&states));
    let last = states.last().unwrap();
    assert_eq!(last["status"], "FINISHED", "{last:#}");
    assert_eq!(last["committed"], true);
    assert!(last["finishedAt"].is_string());
    assert_eq!(
        last["progress"],
        json!({"phase": "DONE", "rowsRead": 10_000, "rowsTotal": 10_000,
               "addressesToLocate": 0, "addressesLocated": 0, "percent": 100.0})
    );
    assert_eq!(
        last["summary"]["occupants"],
        json!({"created": 10_000, "updated": 0, "unchanged": 0, "deleted": 0})
    );
    assert_eq!(last["rows"]["totalCount"], 10_000);
    let clients = app.data("{ clients { totalCount } }", json!({})).await;
    assert_eq!(clients["clients"]["totalCount"], 3_334);
    // The stored upload went with the run.
    let uploads = app.rows::<entity::import_upload::Entity>().await;
    assert_eq!(uploads, 0);
}

#[tokio::test]
async fn wait_true_records_the_finished_runs_status_and_progress() {
    let app = spawn_app().await;
    let run = job(
        &app,
        xlsx(&[
            header(),
            pont_tenants()[0].clone(),
            pont_tenants()[1].clone(),
        ]),
        json!({"mode": "MERGE_KEEP_MISSING"}),
    )
    .await;
    assert_eq!(run["status"], "FINISHED");
    assert_eq!(run["committed"], true);
    assert!(run["finishedAt"].is_string());
    assert_eq!(
        run["progress"],
        json!({"phase": "DONE", "rowsRead": 2, "rowsTotal": 2,
               "addressesToLocate": 0, "addressesLocated": 0, "percent": 100.0})
    );
}

/// A server whose geocoder answers after `delay`, so that an import stays
/// a while in LOCATING.
async fn app_with_slow_geocoder(delay: Duration) -> (TestApp, wiremock::MockServer) {
    app_with_slow_geocoder_and(delay, |_| {}).await
}

pub async fn app_with_slow_geocoder_and(
    delay: Duration,
    configure: impl FnOnce(&mut flokon_api::config::ServeConfig),
) -> (TestApp, wiremock::MockServer) {
    let server = GeocoderDouble::nominatim().delayed(delay).start().await;
    let url = server.uri();
    let app = spawn_app_with(move |config| {
        configure(config);
        config.geocoding = flokon_api::geocode::GeocoderConfig {
            geocoder: flokon_api::geocode::ProviderName::Nominatim,
            geocoder_url: Some(url),
            geocoder_timeout: Duration::from_secs(10),
            geocoder_deadline_ms: 10_000,
            geocoder_retry_seconds: 3600,
            ..Default::default()
        };
    })
    .await;
    (app, server)
}

pub async fn connect_ws(app: &TestApp, origin: Option<&str>) -> Result<WebSocket, u16> {
    let address = app.address.replacen("http://", "ws://", 1);
    let mut request = format!("{address}/graphql/ws")
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    if let Some(origin) = origin {
        headers.insert("Origin", origin.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(other) => panic!("websocket: {other}"),
    }
}

pub type WebSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn send(socket: &mut WebSocket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// The next message: text as JSON, or a close frame as `{"close": code}`.
pub async fn receive(socket: &mut WebSocket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(60), socket.next())
            .await
            .expect("a message within 60 s");
        match message {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
            Some(Ok(Message::Close(frame))) => {
                return json!({"close": frame.map(|f| u16::from(f.code)),});
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return json!({"close": null}),
        }
    }
}

const PROGRESS: &str = "subscription($id: ID!) { importProgress(id: $id) {
  status progress { phase percent addressesToLocate addressesLocated }
} }";

#[tokio::test]
async fn the_websocket_subscription_streams_the_run_to_its_end() {
    let (app, _geocoder) = app_with_slow_geocoder(Duration::from_millis(1500)).await;
    let queued = job(
        &app,
        xlsx(&[
            header(),
            pont_tenants()[0].clone(),
            pont_tenants()[1].clone(),
        ]),
        json!({"mode": "MERGE_KEEP_MISSING", "wait": false}),
    )
    .await;

    let mut socket = connect_ws(&app, None).await.expect("upgrade");
    let init = json!({"type": "connection_init",
                      "payload": {"Authorization": format!("Bearer {}", app.token)}});
    send(&mut socket, init).await;
    assert_eq!(receive(&mut socket).await["type"], "connection_ack");
    let subscribe = json!({"id": "1", "type": "subscribe",
                           "payload": {"query": PROGRESS, "variables": {"id": queued["id"]}}});
    send(&mut socket, subscribe).await;

    let mut states = Vec::new();
    loop {
        let message = receive(&mut socket).await;
        match message["type"].as_str() {
            Some("next") => states.push(message["payload"]["data"]["importProgress"].clone()),
            Some("complete") => break,
            _ => panic!("unexpected message {message:#} after {states:#?}"),
        }
    }
    // The geocoder holds the run in LOCATING for 1.5 s: the subscriber sees
    // it there, then its end, and the stream completes.
    assert!(
        states
            .iter()
            .any(|s| s["status"] == "RUNNING" && s["progress"]["phase"] == "LOCATING"),
        "{states:#?}"
    );
    assert_monotone(&percents(&states));
    let last = states.last().unwrap();
    assert_eq!(
        *last,
        json!({"status": "FINISHED", "progress": {"phase": "DONE", "percent": 100.0,
               "addressesToLocate": 1, "addressesLocated": 1}})
    );
    assert_eq!(
        states.iter().filter(|s| s["status"] == "FINISHED").count(),
        1
    );
}

#[tokio::test]
async fn the_websocket_refuses_a_missing_token_and_an_unlisted_origin() {
    let app = spawn_app_with(|config| {
        config.cors_allowed_origins = vec!["http://127.0.0.1:8300".to_owned()];
    })
    .await;
    let mut socket = connect_ws(&app, None).await.expect("upgrade");
    send(
        &mut socket,
        json!({"type": "connection_init", "payload": {}}),
    )
    .await;
    assert_eq!(receive(&mut socket).await, json!({"close": 1002}));

    let mut socket = connect_ws(&app, None).await.expect("upgrade");
    let init = json!({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}});
    send(&mut socket, init).await;
    assert_eq!(receive(&mut socket).await, json!({"close": 1002}));

    assert_eq!(
        connect_ws(&app, Some("http://evil.example")).await.err(),
        Some(403)
    );
    assert!(
        connect_ws(&app, Some("http://127.0.0.1:8300"))
            .await
            .is_ok()
    );
}

/// A subscription over HTTP (`Accept: multipart/mixed`): the JSON parts.
pub async fn subscribe_over_http(base: &str, token: &str, id: &Value) -> Vec<Value> {
    let response = crate::helpers::http_client()
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .header(
            "Accept",
            "multipart/mixed;boundary=\"graphql\";subscriptionSpec=\"1.0\"",
        )
        .json(&json!({"query": PROGRESS, "variables": {"id": id}}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "multipart/mixed; boundary=graphql"
    );
    let text = tokio::time::timeout(Duration::from_secs(120), response.text())
        .await
        .expect("the stream ends")
        .unwrap();
    text.split("--graphql")
        .filter_map(|part| part.split_once("\r\n\r\n"))
        .filter_map(|(_, body)| serde_json::from_str::<Value>(body.trim()).ok())
        .filter(|part| *part != json!({}))
        .collect()
}

#[tokio::test]
async fn multipart_mixed_streams_the_run_and_another_organization_gets_not_found() {
    let (app, _geocoder) = app_with_slow_geocoder(Duration::from_millis(1000)).await;
    let queued = job(
        &app,
        xlsx(&[header(), pont_tenants()[0].clone()]),
        json!({"mode": "MERGE_KEEP_MISSING", "wait": false}),
    )
    .await;
    let parts = subscribe_over_http(&app.address, &app.token, &queued["id"]).await;
    let states: Vec<&Value> = parts.iter().map(|p| &p["data"]["importProgress"]).collect();
    assert!(states.len() >= 2, "{parts:#?}");
    assert_eq!(states.last().unwrap()["status"], "FINISHED");
    assert_eq!(states.last().unwrap()["progress"]["percent"], 100.0);

    let other = app.new_org("Autre").await;
    let parts = subscribe_over_http(&app.address, &other, &queued["id"]).await;
    assert_eq!(parts.len(), 1, "{parts:#?}");
    assert_eq!(parts[0]["errors"][0]["extensions"]["code"], "NOT_FOUND");
    let polled = app
        .graphql_as(Some(&other), RUN, json!({"id": queued["id"]}))
        .await;
    assert_eq!(polled["data"]["importRun"], Value::Null);
}

#[tokio::test]
async fn an_idempotency_key_returns_the_first_run_and_refuses_another_file() {
    let app = spawn_app().await;
    let file = || {
        xlsx(&[
            header(),
            pont_tenants()[0].clone(),
            pont_tenants()[1].clone(),
        ])
    };
    let vars = json!({"mode": "MERGE_KEEP_MISSING", "key": "sync-2026-12-01"});
    let first = job(&app, file(), vars.clone()).await;
    assert_eq!(first["idempotencyKey"], "sync-2026-12-01");
    let again = job(&app, file(), vars.clone()).await;
    assert_eq!(again["id"], first["id"]);
    // Waiting or not, the same request is the same run.
    let mut queued_vars = vars.clone();
    queued_vars["wait"] = json!(false);
    assert_eq!(job(&app, file(), queued_vars).await["id"], first["id"]);
    let runs = app.data("{ importRuns { totalCount } }", json!({})).await;
    assert_eq!(runs["importRuns"]["totalCount"], 1);
    let clients = app.data("{ clients { totalCount } }", json!({})).await;
    assert_eq!(clients["clients"]["totalCount"], 1);

    // Another file, or other options, under the same key: refused.
    let other_file = xlsx(&[header(), pont_tenants()[0].clone()]);
    let refused = send_job(&app, &app.token, other_file, vars.clone()).await;
    assert_eq!(
        first_error(&refused)["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    assert_eq!(error_reason(&refused), "IDEMPOTENCY_KEY_REUSED");
    let mut dry = vars.clone();
    dry["dryRun"] = json!(true);
    let refused = send_job(&app, &app.token, file(), dry).await;
    assert_eq!(error_reason(&refused), "IDEMPOTENCY_KEY_REUSED");

    // Keys belong to their organization.
    let other = app.new_org("Autre").await;
    let theirs = send_job(&app, &other, file(), vars.clone()).await;
    let theirs = &theirs["data"]["importSpreadsheet"];
    assert_eq!(theirs["status"], "FINISHED");
    assert_ne!(theirs["id"], first["id"]);

    let blank = send_job(
        &app,
        &app.token,
        file(),
        json!({"mode": "MERGE_KEEP_MISSING", "key": " "}),
    )
    .await;
    assert_eq!(error_reason(&blank), "IDEMPOTENCY_KEY_INVALID");
    let runs = app.data("{ importRuns { totalCount } }", json!({})).await;
    assert_eq!(runs["importRuns"]["totalCount"], 1);
}

#[tokio::test]
async fn a_second_job_while_one_is_queued_or_running_is_refused() {
    let (app, _geocoder) = app_with_slow_geocoder(Duration::from_millis(1500)).await;
    let file = || xlsx(&[header(), pont_tenants()[0].clone()]);
    let queued = job(
        &app,
        file(),
        json!({"mode": "MERGE_KEEP_MISSING", "wait": false}),
    )
    .await;
    for wait in [false, true] {
        let body = send_job(
            &app,
            &app.token,
            file(),
            json!({"mode": "MERGE_KEEP_MISSING", "wait": wait}),
        )
        .await;
        assert_eq!(
            first_error(&body)["extensions"]["code"],
            "IMPORT_IN_PROGRESS",
            "{body:#}"
        );
    }
    let states = follow_by_polling(&app, &queued["id"]).await;
    assert_eq!(states.last().unwrap()["status"], "FINISHED");
    let runs = app.data("{ importRuns { totalCount } }", json!({})).await;
    assert_eq!(runs["importRuns"]["totalCount"], 1);
}

#[tokio::test]
async fn two_destructive_imports_in_a_row_keep_one_snapshot() {
    let app = spawn_app().await;
    let [ana, ben] = pont_tenants();
    let first = job(
        &app,
        xlsx(&[header(), ana.clone(), ben]),
        json!({"mode": "REPLACE_ALL"}),
    )
    .await;
    let second = job(
        &app,
        xlsx(&[header(), ana]),
        json!({"mode": "MERGE_DELETE_MISSING"}),
    )
    .await;
    let snapshots = entity::import_snapshot::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    let ids: Vec<String> = snapshots
        .iter()
        .map(|s| encode(Kind::ImportRun, s.import_run_id).to_string())
        .collect();
    assert_eq!(ids, [second["id"].as_str().unwrap()]);
    // The first can no longer be undone, even once the second is.
    assert_eq!(
        app.undo_import(&second["id"]).await["data"]["undoImport"]["undone"],
        true
    );
    let refused = app.undo_import(&first["id"]).await;
    assert_eq!(
        first_error(&refused)["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    let snapshots = app.rows::<entity::import_snapshot::Entity>().await;
    assert_eq!(snapshots, 0);
}

#[tokio::test]
async fn the_retention_pass_purges_old_reports_and_keys_and_keeps_summaries() {
    let app = spawn_app_with(|config| {
        config.jobs.import_retention_interval = Duration::from_millis(200);
    })
    .await;
    let file = |rows: usize| {
        let [ana, ben] = pont_tenants();
        xlsx(&[header(), ana, ben][..=rows])
    };
    let old = job(
        &app,
        file(2),
        json!({"mode": "MERGE_KEEP_MISSING", "key": "old"}),
    )
    .await;
    let recent = job(
        &app,
        file(1),
        json!({"mode": "MERGE_KEEP_MISSING", "key": "recent"}),
    )
    .await;
    // The clock moved: the first import is 91 days old.
    let id = async_graphql::ID(old["id"].as_str().unwrap().to_owned());
    let uuid = flokon_api::graphql::id::decode_existing(&id, Kind::ImportRun).unwrap();
    app.db
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            app.db.get_database_backend(),
            match app.db.get_database_backend() {
                sea_orm::DbBackend::Postgres => "UPDATE import_run SET created_at = created_at - interval '91 days' WHERE id = $1",
                _ => "UPDATE import_run SET created_at = datetime(created_at, '-91 days') WHERE id = ?",
            },
            [uuid.into()],
        ))
        .await
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let run = app.data(RUN, json!({"id": old["id"]})).await["importRun"].clone();
        // A pass purges rows first and keys a few statements later: wait
        // for both, the pass's whole work.
        if run["rows"]["totalCount"] == 0 && run["idempotencyKey"].is_null() {
            break;
        }
        assert!(Instant::now() < deadline, "never purged: {run:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Read again: the run and its rows count are two statements, and the
    // pass may have committed between them.
    let old_run = app.data(RUN, json!({"id": old["id"]})).await["importRun"].clone();
    assert_eq!(old_run["rows"]["totalCount"], 0);
    assert_eq!(old_run["idempotencyKey"], Value::Null);
    assert_eq!(
        old_run["summary"]["occupants"],
        json!({"created": 2, "updated": 0, "unchanged": 0, "deleted": 0})
    );
    let recent_run = app.data(RUN, json!({"id": recent["id"]})).await["importRun"].clone();
    assert_eq!(recent_run["idempotencyKey"], "recent");
    assert_eq!(recent_run["rows"]["totalCount"], 1);
    // The purged key is free again.
    let reused = job(
        &app,
        file(2),
        json!({"mode": "MERGE_KEEP_MISSING", "key": "old"}),
    )
    .await;
    assert_ne!(reused["id"], old["id"]);
}

/// Where a killed instance's files live, and the server's URL there: a
/// PostgreSQL schema when `TEST_DATABASE_URL` is set, a SQLite file
/// otherwise.
pub async fn durable_database() -> (String, Box<dyn std::any::Any>) {
    if let Some((url, guard)) = crate::helpers::fresh_postgres_url().await {
        return (url, Box::new(guard));
    }
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("kill.db").display());
    (url, Box::new(dir))
}

#[tokio::test]
async fn an_instance_killed_mid_import_leaves_the_run_interrupted_and_the_data_as_before() {
    let (url, _guard) = durable_database().await;
    let env = [
        // Short, for the test to see the dead instance's run settled soon;
        // 2 s was too short on a loaded machine: the live instance's
        // renewals (every 0.5 s) lapsed mid-plan and its own worker
        // declared the run interrupted before the kill (the answer CI
        // printed: FAILED, INTERRUPTED, phase PLANNING).
        ("IMPORT_LEASE", "6s"),
        ("WEBHOOK_ALLOW_PRIVATE", "true"),
        ("WEBHOOK_WORKER_INTERVAL", "50ms"),
    ];
    let mut first = Instance::start(&url, &env);
    first.healthy().await.unwrap();
    let token = crate::instances::new_org(&url);
    let receiver = crate::webhooks::Receiver::start(0).await;
    first
        .graphql_with(
            &token,
            "mutation($url: String!) { createWebhookEndpoint(input: {url: $url, events: [IMPORT_FAILED]}) { secret } }",
            json!({"url": receiver.url}),
        )
        .await;
    let [ana, ben] = pont_tenants();
    let seeded =
        crate::instances::import_at(&first.base, &token, xlsx(&[header(), ana, ben])).await;
    assert_eq!(
        seeded["data"]["importSpreadsheet"]["committed"], true,
        "{seeded:#}"
    );

    let upload = crate::helpers::Upload {
        query: JOB,
        file_name: "clients.csv",
        bytes: big_csv(100_000),
        variables: json!({"mode": "REPLACE_ALL", "wait": false}),
        lang: None,
    };
    let queued: Value = upload
        .send(&crate::helpers::http_client(), &first.base, &token)
        .await
        .json()
        .await
        .unwrap();
    let id = queued["data"]["importSpreadsheet"]["id"].clone();
    // Killed once the file is read and the import is planning or writing.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = first.graphql_with(&token, RUN, json!({"id": id})).await;
        let run = &answer["data"]["importRun"];
        assert!(
            run["status"] == "QUEUED" || run["status"] == "RUNNING",
            "the import ended before the kill: {answer:#}"
        );
        if ["PLANNING", "APPLYING"].contains(&run["progress"]["phase"].as_str().unwrap()) {
            break;
        }
        assert!(Instant::now() < deadline, "never planned: {run:#}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill();

    let mut second = Instance::start(&url, &env);
    second.healthy().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let run = loop {
        let body = second.graphql_with(&token, RUN, json!({"id": id})).await;
        let run = body["data"]["importRun"].clone();
        if run["status"] == "FAILED" {
            break run;
        }
        assert_eq!(run["status"], "RUNNING", "{run:#}");
        assert!(
            Instant::now() < deadline,
            "never declared interrupted: {run:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(run["fileErrors"], json!([{"code": "INTERRUPTED"}]));
    let announced = receiver.wait_for(1).await[0].json();
    assert_eq!(announced["type"], "import.failed");
    assert_eq!(
        announced["data"],
        json!({"importRunId": id, "mode": "REPLACE_ALL", "dryRun": false, "errors": ["INTERRUPTED"]})
    );
    assert_eq!(run["committed"], false);
    assert!(run["finishedAt"].is_string());
    let clients = second
        .graphql(
            &token,
            "{ clients { totalCount edges { node { externalId } } } }",
        )
        .await;
    assert_eq!(clients["data"]["clients"]["totalCount"], 1, "{clients:#}");
    assert_eq!(
        clients["data"]["clients"]["edges"][0]["node"]["externalId"],
        "IMM-100"
    );
    // The organization imports again once the dead instance's claim on it
    // ran out too (its own lease, renewed apart from the run's).
    let deadline = Instant::now() + Duration::from_secs(10);
    let again = loop {
        let [ana, _] = pont_tenants();
        let file = xlsx(&[header(), ana]);
        let body = crate::instances::import_at(&second.base, &token, file).await;
        let busy = body["errors"][0]["extensions"]["code"] == "IMPORT_IN_PROGRESS";
        if !busy || Instant::now() > deadline {
            break body;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        again["data"]["importSpreadsheet"]["committed"], true,
        "{again:#}"
    );
}

#[tokio::test]
async fn a_websocket_that_never_says_connection_init_is_closed() {
    let app = spawn_app_with(|config| {
        config.limits.ws_init_timeout = Duration::from_millis(300);
    })
    .await;
    // Timed from before the upgrade: the server's clock starts within it.
    let started = Instant::now();
    let mut socket = connect_ws(&app, None).await.expect("upgrade");
    // Nothing sent: the server hangs up after the timeout.
    assert_eq!(receive(&mut socket).await, json!({"close": null}));
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(300), "{waited:?}");

    // One that says it in time stays open past the timeout, silent or not.
    let mut socket = connect_ws(&app, None).await.expect("upgrade");
    let init = json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", app.token)}});
    send(&mut socket, init).await;
    assert_eq!(receive(&mut socket).await["type"], "connection_ack");
    tokio::time::sleep(Duration::from_millis(600)).await;
    send(&mut socket, json!({"type": "ping"})).await;
    assert_eq!(receive(&mut socket).await["type"], "pong");
}

/// A one-row import queued: its run's id.
async fn queue_one_row(app: &TestApp) -> Value {
    let file = xlsx(&[header(), pont_tenants()[0].clone()]);
    let vars = json!({"mode": "MERGE_KEEP_MISSING", "wait": false});
    job(app, file, vars).await["id"].clone()
}

/// The run followed over HTTP in a task of its own: its parts.
fn follow_in_background(app: &TestApp, id: &Value) -> tokio::task::JoinHandle<Vec<Value>> {
    let (base, token, id) = (app.address.clone(), app.token.clone(), id.clone());
    tokio::spawn(async move { subscribe_over_http(&base, &token, &id).await })
}

#[tokio::test]
async fn an_organization_holds_a_bounded_number_of_subscriptions() {
    let (app, _geocoder) = app_with_slow_geocoder_and(Duration::from_secs(3), |config| {
        config.limits.max_subscriptions = 2;
    })
    .await;
    let id = queue_one_row(&app).await;
    let following: Vec<_> = (0..2).map(|_| follow_in_background(&app, &id)).collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let third = subscribe_over_http(&app.address, &app.token, &id).await;
    assert_eq!(third.len(), 1, "{third:#?}");
    assert_eq!(
        third[0]["errors"][0]["extensions"]["code"],
        "LIMIT_EXCEEDED"
    );
    for follower in following {
        let parts = follower.await.unwrap();
        assert_eq!(
            parts.last().unwrap()["data"]["importProgress"]["status"],
            "FINISHED"
        );
    }
    // Their places are given back when they end.
    let again = subscribe_over_http(&app.address, &app.token, &id).await;
    assert_eq!(
        again[0]["data"]["importProgress"]["status"], "FINISHED",
        "{again:#?}"
    );
}

#[tokio::test]
async fn an_organization_runs_a_bounded_number_of_expensive_operations_at_once() {
    let (app, _geocoder) = app_with_slow_geocoder_and(Duration::from_secs(3), |config| {
        config.limits.expensive_complexity = 5;
        config.limits.max_expensive_per_org = 1;
    })
    .await;
    let id = queue_one_row(&app).await;
    // A subscription over the limit's complexity holds the place while it
    // lives...
    let following = follow_in_background(&app, &id);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let expensive = "{ clients { totalCount edges { node { id name } } } }";
    let body = app.graphql(expensive, json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED",
        "{body:#}"
    );
    // ...not cheap operations, nor another organization's.
    let cheap = app.graphql("{ __typename }", json!({})).await;
    assert!(cheap.get("errors").is_none(), "{cheap:#}");
    let other = app.new_org("Autre").await;
    let theirs = app.graphql_as(Some(&other), expensive, json!({})).await;
    assert!(theirs.get("errors").is_none(), "{theirs:#}");
    // The gate measures the operation named, with its variables.
    let named = json!({
        "query": "query Cheap { __typename } query Big($n: Int) { clients(first: $n) { totalCount edges { node { id } } } }",
        "operationName": "Big",
        "variables": {"n": 1},
    });
    let theirs: Value = app
        .post_graphql(Some(&other), named, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        theirs,
        json!({"data": {"clients": {"totalCount": 0, "edges": []}}})
    );

    let parts = following.await.unwrap();
    assert_eq!(
        parts.last().unwrap()["data"]["importProgress"]["status"],
        "FINISHED"
    );
    let body = app.graphql(expensive, json!({})).await;
    assert!(body.get("errors").is_none(), "{body:#}");
}

#[tokio::test]
async fn retries_sent_at_once_with_one_key_all_get_the_first_run() {
    let app = spawn_app().await;
    let file = xlsx(&[header(), pont_tenants()[0].clone()]);
    let vars = json!({"mode": "MERGE_KEEP_MISSING", "key": "same"});
    // Five copies of one request at once: one runs, the others answer with
    // its run, none with IMPORT_IN_PROGRESS.
    let copies = (0..5).map(|_| job(&app, file.clone(), vars.clone()));
    let runs = futures_util::future::join_all(copies).await;
    let ids: std::collections::HashSet<String> = runs
        .iter()
        .map(|run| run["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "{runs:#?}");
    assert_eq!(app.rows::<entity::import_run::Entity>().await, 1);
}
