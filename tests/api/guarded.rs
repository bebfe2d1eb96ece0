//! Every door guarded: the hostile-request corpus, sent over every
//! transport an operation can take, each answered with its code within a
//! second while `/health` answers; the websocket's own limits; the body,
//! the deadline, the response size and the requests in flight.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, error_codes, spawn_app_with};
use crate::jobs::{WebSocket, connect_ws, receive, send};

/// What every hostile request must be answered within.
const PROMPTLY: Duration = Duration::from_secs(1);

/// `levels` fragments on `on`, each spreading the next `fan_out` times
/// (with `extra` after each spread), the last selecting `leaf`.
fn fan_out(levels: usize, fan_out: usize, on: &str, extra: &str, leaf: &str) -> String {
    let mut fragments = String::new();
    for level in 0..levels {
        let spread = format!(" ...F{}{extra}", level + 1);
        fragments.push_str(&format!(
            " fragment F{level} on {on} {{{} }}",
            spread.repeat(fan_out)
        ));
    }
    fragments.push_str(&format!(" fragment F{levels} on {on} {{ {leaf} }}"));
    fragments
}

/// The corpus: a name, a document and its variables.
fn corpus() -> Vec<(&'static str, String, Value)> {
    let on_query = |levels, n, extra: &str| {
        format!(
            "query {{ ...F0 }}{}",
            fan_out(levels, n, "Query", extra, "__typename")
        )
    };
    let inline = {
        let mut query = String::from("query { ...F0 }");
        for level in 0..30 {
            let next = level + 1;
            query.push_str(&format!(
                " fragment F{level} on Query {{ ... on Query {{ ...F{next} }} ... {{ ...F{next} }} }}"
            ));
        }
        query + " fragment F30 on Query { __typename }"
    };
    vec![
        ("fan-out 2, 30 levels", on_query(30, 2, ""), json!({})),
        ("fan-out 3, 31 levels", on_query(31, 3, ""), json!({})),
        (
            "fragments on a type deep in the schema",
            format!(
                "query {{ clients(first: 1) {{ edges {{ node {{ servicePoints(first: 1) {{ edges {{ node {{ client {{ ...F0 }} }} }} }} }} }} }} }}{}",
                fan_out(30, 2, "Client", "", "name")
            ),
            json!({}),
        ),
        ("inline fragments", inline, json!({})),
        (
            "directives",
            on_query(30, 2, " @include(if: true)"),
            json!({}),
        ),
        (
            "variables",
            format!(
                "query($yes: Boolean!) {{ ...F0 @include(if: $yes) }}{}",
                fan_out(30, 2, "Query", " @skip(if: false)", "__typename")
            ),
            json!({"yes": true}),
        ),
        (
            "unused fragments beside a cheap operation",
            format!(
                "query {{ __typename }}{}",
                fan_out(30, 2, "Query", "", "__typename")
            ),
            json!({}),
        ),
        (
            "a nested-list cycle",
            "{ sectors { alertRecipients { servicePoint { sectors { alertRecipients { phone } } } } } }"
                .to_owned(),
            json!({}),
        ),
        (
            "large unpaged lists",
            "{ sectors { alertRecipients { phone servicePoint { occupants { phone firstName } } } } }"
                .to_owned(),
            json!({}),
        ),
        (
            "many rows of nested connections",
            "{ importRuns(first: 500) { edges { node { rows(first: 500) { edges { node { rowNumber } } } } } } }"
                .to_owned(),
            json!({}),
        ),
    ]
}

#[derive(Clone, Copy, Debug)]
enum Transport {
    Json,
    Batch,
    Multipart,
    MultipartMixed,
    Websocket,
}

const TRANSPORTS: [Transport; 5] = [
    Transport::Json,
    Transport::Batch,
    Transport::Multipart,
    Transport::MultipartMixed,
    Transport::Websocket,
];

/// The error codes the operation got over `transport`.
async fn codes_over(
    app: &TestApp,
    transport: Transport,
    query: &str,
    variables: &Value,
) -> Vec<String> {
    let operation = json!({"query": query, "variables": variables});
    let url = format!("{}/graphql", app.address);
    let body: Value = match transport {
        Transport::Json => app
            .post_graphql(Some(&app.token), operation, None)
            .await
            .json()
            .await
            .unwrap(),
        Transport::Batch => {
            let batch = json!([{"query": "{ __typename }"}, operation]);
            app.post_graphql(Some(&app.token), batch, None)
                .await
                .json()
                .await
                .unwrap()
        }
        Transport::Multipart => {
            let form = reqwest::multipart::Form::new()
                .text("operations", operation.to_string())
                .text("map", "{}");
            app.http
                .post(&url)
                .bearer_auth(&app.token)
                .header("apollo-require-preflight", "true")
                .multipart(form)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        }
        Transport::MultipartMixed => app
            .http
            .post(&url)
            .bearer_auth(&app.token)
            .header("accept", "multipart/mixed")
            .json(&operation)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap(),
        Transport::Websocket => {
            let mut socket = open_socket(app).await;
            send(
                &mut socket,
                json!({"id": "1", "type": "subscribe", "payload": operation}),
            )
            .await;
            let message = receive(&mut socket).await;
            assert_eq!(message["type"], "next", "{message:#}");
            message["payload"].clone()
        }
    };
    error_codes(&body)
}

/// Reads until the server closes the socket.
async fn closed(socket: &mut WebSocket) {
    while receive(socket).await.get("close").is_none() {}
}

/// A socket past `connection_init` with the test organization's token.
async fn open_socket(app: &TestApp) -> WebSocket {
    let mut socket = connect_ws(app, None).await.expect("upgrade");
    let init = json!({"type": "connection_init",
                      "payload": {"Authorization": format!("Bearer {}", app.token)}});
    send(&mut socket, init).await;
    assert_eq!(receive(&mut socket).await["type"], "connection_ack");
    socket
}

#[tokio::test]
async fn every_hostile_request_is_refused_promptly_on_every_transport() {
    let app = spawn_app_with(|config| {
        config.limits.max_batch = 2;
        config.background_workers = false;
    })
    .await;
    for (name, query, variables) in corpus() {
        for transport in TRANSPORTS {
            let started = Instant::now();
            let (codes, health) = tokio::join!(
                codes_over(&app, transport, &query, &variables),
                app.get("/health"),
            );
            let took = started.elapsed();
            assert_eq!(codes, ["LIMIT_EXCEEDED"], "{name} over {transport:?}");
            assert!(took < PROMPTLY, "{name} over {transport:?} took {took:?}");
            assert_eq!(health.status, 200, "{name} over {transport:?}");
        }
        // GET never runs an operation: it serves GraphiQL's page.
        let started = Instant::now();
        let page = app
            .get_as(Some(&app.token), "/graphql", &[("query", &query)])
            .await;
        assert_eq!(page.status, 200, "{name} over GET");
        assert!(page.text().contains("<html"), "{name} over GET");
        assert!(started.elapsed() < PROMPTLY, "{name} over GET");
    }
    // The same doors let an ordinary query through.
    for transport in TRANSPORTS {
        let codes = codes_over(
            &app,
            transport,
            "{ clients(first: 5) { totalCount } }",
            &json!({}),
        )
        .await;
        assert_eq!(codes, Vec::<String>::new(), "{transport:?}");
    }
}

#[tokio::test]
async fn the_websocket_refuses_what_http_refuses_with_the_same_codes() {
    let app = spawn_app_with(|config| config.limits.max_query_bytes = 64 * 1024).await;
    let aliases: Vec<String> = (0..300)
        .map(|i| format!("a{i}: clients(first: 1) {{ totalCount }}"))
        .collect();
    let query = format!("{{ {} }}", aliases.join(" "));
    assert!(query.len() > 10_000);
    let mut socket = open_socket(&app).await;
    send(
        &mut socket,
        json!({"id": "1", "type": "subscribe", "payload": {"query": query}}),
    )
    .await;
    let message = receive(&mut socket).await;
    assert_eq!(
        error_codes(&message["payload"]),
        ["LIMIT_EXCEEDED"],
        "{message:#}"
    );
    assert_eq!(
        receive(&mut socket).await,
        json!({"id": "1", "type": "complete"})
    );
    // Validation errors carry a code too.
    send(
        &mut socket,
        json!({"id": "2", "type": "subscribe", "payload": {"query": "{ nope }"}}),
    )
    .await;
    let message = receive(&mut socket).await;
    assert_eq!(
        error_codes(&message["payload"]),
        ["BAD_USER_INPUT"],
        "{message:#}"
    );
}

#[tokio::test]
async fn a_revoked_token_loses_its_open_socket() {
    let app = spawn_app_with(|config| {
        config.auth_cache_ttl = Duration::from_millis(200);
        config.background_workers = false;
    })
    .await;
    let mut socket = open_socket(&app).await;
    let read = json!({"id": "1", "type": "subscribe",
                      "payload": {"query": "{ clients { totalCount } }"}});
    send(&mut socket, read).await;
    let message = receive(&mut socket).await;
    assert_eq!(
        message["payload"]["data"]["clients"]["totalCount"], 0,
        "{message:#}"
    );
    assert_eq!(receive(&mut socket).await["type"], "complete");

    flokon_api::service::organizations::revoke_token(&app.db, &app.token)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Past the cache's lifetime, an operation is refused...
    let write = json!({"id": "2", "type": "subscribe",
                       "payload": {"query": "mutation { createClient(input: {externalId: \"X\"}) { id } }"}});
    send(&mut socket, write).await;
    let message = receive(&mut socket).await;
    assert_eq!(
        error_codes(&message["payload"]),
        ["UNAUTHENTICATED"],
        "{message:#}"
    );
    // ...nothing is written, and the socket is closed soon after.
    assert_eq!(app.rows::<entity::client::Entity>().await, 0);
    let started = Instant::now();
    closed(&mut socket).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn only_connection_init_stops_the_first_clock() {
    let app = spawn_app_with(|config| {
        config.limits.ws_init_timeout = Duration::from_millis(300);
    })
    .await;
    // The server's clock starts when it upgrades the socket: before the
    // upgrade's answer reaches the test, so the test's starts before it.
    let started = Instant::now();
    let mut socket = connect_ws(&app, None).await.expect("upgrade");
    send(&mut socket, json!({"type": "ping"})).await;
    assert_eq!(receive(&mut socket).await["type"], "pong");
    closed(&mut socket).await;
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    // Well before the test's 60 s wait for a message, on a loaded machine.
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

#[tokio::test]
async fn sockets_are_capped_per_organization_and_unauthenticated_ones_per_address() {
    let app = spawn_app_with(|config| {
        config.limits.max_sockets_per_org = 1;
        config.limits.max_unauthenticated_sockets_per_address = 2;
    })
    .await;
    let _open = open_socket(&app).await;
    let mut second = connect_ws(&app, None).await.expect("upgrade");
    let init = json!({"type": "connection_init",
                      "payload": {"Authorization": format!("Bearer {}", app.token)}});
    send(&mut second, init).await;
    assert_eq!(receive(&mut second).await, json!({"close": 1002}));
    // Another organization has its own.
    let other = app.new_org("Autre").await;
    let mut theirs = connect_ws(&app, None).await.expect("upgrade");
    let init = json!({"type": "connection_init",
                      "payload": {"Authorization": format!("Bearer {other}")}});
    send(&mut theirs, init).await;
    assert_eq!(receive(&mut theirs).await["type"], "connection_ack");

    // Two silent sockets from this address; a third is refused at once.
    let _silent: Vec<WebSocket> = vec![
        connect_ws(&app, None).await.expect("upgrade"),
        connect_ws(&app, None).await.expect("upgrade"),
    ];
    assert_eq!(connect_ws(&app, None).await.err(), Some(400));
}

#[tokio::test]
async fn a_socket_lives_at_most_its_lifetime() {
    let app = spawn_app_with(|config| {
        config.limits.ws_max_lifetime = Duration::from_millis(500);
    })
    .await;
    let mut socket = open_socket(&app).await;
    let started = Instant::now();
    closed(&mut socket).await;
    let lived = started.elapsed();
    assert!(lived >= Duration::from_millis(400), "{lived:?}");
    assert!(lived < Duration::from_secs(5), "{lived:?}");
}

/// What the server answers a raw HTTP/1.1 request: its status line and
/// headers.
async fn raw(app: &TestApp, request: &str) -> String {
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0; 4096];
    let read = tokio::time::timeout(PROMPTLY, stream.read(&mut answer))
        .await
        .expect("an answer within a second")
        .unwrap();
    String::from_utf8_lossy(&answer[..read]).into_owned()
}

#[tokio::test]
async fn a_large_body_without_a_token_is_refused_unread() {
    let app = spawn_app_with(|_| {}).await;
    // 15 MB announced, a few bytes sent: 401 at once.
    let answer = raw(
        &app,
        "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 15000000\r\n\r\n{\"query\":",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    // A small one without a token is read: GraphiQL introspects.
    let body = app
        .graphql_as(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(
        body["data"]["__schema"]["queryType"]["name"], "Query",
        "{body:#}"
    );
}

#[tokio::test]
async fn requests_in_flight_are_bounded_and_health_still_answers() {
    let app = spawn_app_with(|config| config.limits.max_requests_in_flight = 1).await;
    // One request whose body never comes holds the only place.
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut holding = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
        app.token
    );
    holding.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let answer = raw(
        &app,
        "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    assert_eq!(app.get("/health").await.status, 200);
    drop(holding);
}

#[tokio::test]
async fn an_operation_past_its_deadline_is_stopped_with_timeout() {
    let (app, _geocoder) =
        crate::jobs::app_with_slow_geocoder_and(Duration::from_secs(5), |config| {
            config.limits.request_timeout = Duration::from_millis(300);
        })
        .await;
    let client = app.create_client("C-1", None).await;
    let started = Instant::now();
    let body = app
        .graphql(
            "mutation($input: CreateServicePointInput!) { createServicePoint(input: $input) { id } }",
            json!({"input": {"clientId": client, "address": {"addressLine1": "1 rue A", "city": "Québec"}}}),
        )
        .await;
    assert_eq!(error_codes(&body), ["TIMEOUT"], "{body:#}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_response_over_its_size_is_replaced_by_an_error() {
    let app = spawn_app_with(|config| config.limits.max_response_bytes = 300).await;
    for i in 0..10 {
        app.create_client(
            &format!("CLIENT-{i:03}"),
            Some("Un nom assez long pour compter"),
        )
        .await;
    }
    let body = app
        .graphql(
            "{ clients { edges { node { externalId name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_codes(&body), ["LIMIT_EXCEEDED"], "{body:#}");
    assert_eq!(body["data"], Value::Null);
    let small = app
        .data("{ clients(first: 1) { totalCount } }", json!({}))
        .await;
    assert_eq!(small["clients"]["totalCount"], 10);
}

/// Every place in `haystack` where `needle` appears.
fn occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|window| *window == needle)
        .count()
}

#[tokio::test]
async fn a_purged_residents_name_leaves_the_sqlite_files() {
    let app = spawn_app_with(|config| config.background_workers = false).await;
    let Some(url) = app.sqlite_url() else {
        return; // PostgreSQL: its files are the server's, out of reach.
    };
    let path = std::path::PathBuf::from(url.trim_start_matches("sqlite://"));
    let name = "Xylophanie";
    let file = crate::fixtures::xlsx(&[
        crate::fixtures::header(),
        crate::fixtures::occupant(
            "Xylophanie",
            "418-555-0101",
            "SMS",
            "100 rue du Pont, Québec, QC, G1K 1A1",
            "IMM-100",
        ),
    ]);
    let run = app
        .import("residents.xlsx", file, crate::helpers::keep())
        .await;
    assert_eq!(run["committed"], true, "{run:#}");
    let on_disk = || {
        let mut bytes = std::fs::read(&path).unwrap();
        let wal = path.with_extension("db-wal");
        bytes.extend(std::fs::read(wal).unwrap_or_default());
        occurrences(&bytes, name.as_bytes())
    };
    assert!(on_disk() > 0, "the name is written somewhere first");

    let client = app
        .data("{ clients { edges { node { id } } } }", json!({}))
        .await["clients"]["edges"][0]["node"]["id"]
        .clone();
    let deleted = app
        .graphql(
            "mutation($id: ID!) { deleteClient(id: $id) }",
            json!({"id": client}),
        )
        .await;
    assert!(deleted.get("errors").is_none(), "{deleted:#}");
    // The retention pass removes its report and upload, then the WAL.
    let retention = flokon_api::worker::retention::Retention {
        days: 0,
        undo_window: Duration::ZERO,
        interval: Duration::from_secs(3600),
    };
    let later = chrono::Utc::now() + chrono::Duration::seconds(1);
    let purged = flokon_api::worker::retention::pass(&app.db, retention, later)
        .await
        .unwrap();
    assert_eq!(purged.report_chunks, 1, "{purged:?}");
    assert_eq!(on_disk(), 0, "{name} still on disk");
}

#[tokio::test]
async fn an_undo_snapshot_expires_after_the_undo_window_and_old_deliveries_go() {
    let app = spawn_app_with(|config| {
        config.webhooks.webhook_allow_private = true;
        config.webhooks.webhook_worker_interval = Duration::from_millis(50);
    })
    .await;
    let receiver = crate::webhooks::Receiver::start(0).await;
    let (endpoint, _) =
        crate::webhooks::create_endpoint(&app, &app.token, &receiver.url, &["TEST"]).await;
    let sent = app
        .graphql(
            "mutation($id: ID!) { sendTestWebhook(id: $id) { id } }",
            json!({"id": endpoint}),
        )
        .await;
    assert!(sent.get("errors").is_none(), "{sent:#}");
    receiver.wait_for(1).await;

    let [ana, _] = crate::fixtures::pont_tenants();
    let file = crate::fixtures::xlsx(&[crate::fixtures::header(), ana]);
    let run = app
        .import("a.xlsx", file, crate::helpers::mode("REPLACE_ALL"))
        .await;
    assert_eq!(run["committed"], true, "{run:#}");
    assert_eq!(app.rows::<entity::import_snapshot::Entity>().await, 1);

    let retention = flokon_api::worker::retention::Retention {
        days: 90,
        undo_window: Duration::from_secs(30 * 86_400),
        interval: Duration::from_secs(3600),
    };
    let pass = |days_later: i64| {
        let db = app.db.clone();
        let at = chrono::Utc::now() + chrono::Duration::days(days_later);
        async move {
            flokon_api::worker::retention::pass(&db, retention, at)
                .await
                .unwrap()
        }
    };
    // Within the window the snapshot stays, and the delivery too.
    let purged = pass(29).await;
    assert_eq!((purged.snapshots, purged.deliveries), (0, 0));
    // Past it the snapshot goes: undo is refused.
    let purged = pass(31).await;
    assert_eq!(purged.snapshots, 1);
    assert_eq!(app.rows::<entity::import_snapshot::Entity>().await, 0);
    let refused = app.undo_import(&run["id"]).await;
    assert_eq!(error_codes(&refused), ["BAD_USER_INPUT"], "{refused:#}");
    // Past the retention days, the delivered delivery goes.
    let purged = pass(91).await;
    assert_eq!(purged.deliveries, 1);
    assert_eq!(app.rows::<entity::webhook_delivery::Entity>().await, 0);
}

#[tokio::test]
async fn a_million_vertex_sector_is_refused_before_it_is_parsed() {
    let app = spawn_app_with(|config| config.background_workers = false).await;
    let create =
        "mutation($g: JSON!) { createSector(input: {name: \"Énorme\", geometry: $g}) { id } }";
    let polygon = |vertices: usize| {
        let ring = vec![json!([-71, 46]); vertices];
        json!({"g": {"type": "Polygon", "coordinates": [ring]}})
    };
    // A million: its variables are counted as they are read (on a
    // blocking thread), refused before anything else reads them.
    let (body, health) = tokio::join!(app.graphql(create, polygon(1_000_000)), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        app.get("/health").await
    });
    assert_eq!(error_codes(&body), ["LIMIT_EXCEEDED"], "{body:#}");
    assert_eq!(health.status, 200);
    // One over the bound: its positions are counted before it is parsed.
    let body = app.graphql(create, polygon(100_001)).await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{body:#}");
    assert!(
        crate::helpers::error_message(&body).contains("100000"),
        "{body:#}"
    );
    assert_eq!(app.rows::<entity::sector::Entity>().await, 0);
}

#[tokio::test]
async fn work_stops_when_the_client_goes_away() {
    let (app, _geocoder) =
        crate::jobs::app_with_slow_geocoder_and(Duration::from_secs(2), |_| {}).await;
    let client = app.create_client("C-1", None).await;
    // A client that waits gets its point located.
    let waited = app
        .graphql(
            "mutation($input: CreateServicePointInput!) { createServicePoint(input: $input) { geocodeStatus } }",
            json!({"input": {"clientId": client, "address": {"addressLine1": "2 rue B", "city": "Québec"}}}),
        )
        .await;
    let located = waited["data"]["createServicePoint"]["geocodeStatus"].clone();
    assert_ne!(located, "PENDING", "{waited:#}");
    let body = json!({
        "query": "mutation($input: CreateServicePointInput!) { createServicePoint(input: $input) { id } }",
        "variables": {"input": {"clientId": client, "address": {"addressLine1": "1 rue A", "city": "Québec"}}},
    })
    .to_string();
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut leaving = tokio::net::TcpStream::connect(&address).await.unwrap();
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        app.token,
        body.len()
    );
    leaving.write_all(request.as_bytes()).await.unwrap();
    // The point is written, then the geocoder is asked (2 s): the client
    // leaves meanwhile.
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(leaving);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let points = app
        .data(
            "{ servicePoints { edges { node { addressLine1 geocodeStatus } } } }",
            json!({}),
        )
        .await;
    // The lookup's answer was never written: the request's work was dropped.
    assert_eq!(
        points["servicePoints"]["edges"],
        json!([{"node": {"addressLine1": "2 rue B", "geocodeStatus": located}},
               {"node": {"addressLine1": "1 rue A", "geocodeStatus": "PENDING"}}])
    );
}

#[tokio::test]
async fn the_websocket_reads_allowed_origins_as_cors_does() {
    // Configured with a trailing slash, as people write them.
    let app = spawn_app_with(|config| {
        config.cors_allowed_origins = vec!["http://127.0.0.1:8300/".to_owned()];
    })
    .await;
    assert!(
        connect_ws(&app, Some("http://127.0.0.1:8300"))
            .await
            .is_ok()
    );
    assert_eq!(
        connect_ws(&app, Some("http://127.0.0.1:8301")).await.err(),
        Some(403)
    );
}

#[tokio::test]
async fn callers_without_a_token_take_expensive_places_too() {
    let app = spawn_app_with(|config| {
        config.limits.expensive_complexity = 2;
        config.limits.max_expensive_per_org = 0;
    })
    .await;
    let body = app
        .graphql_as(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(error_codes(&body), ["LIMIT_EXCEEDED"], "{body:#}");
    let body = app.graphql_as(None, "{ __typename }", json!({})).await;
    assert_eq!(body["data"]["__typename"], "Query", "{body:#}");
}

#[tokio::test]
async fn a_list_longer_than_its_stated_bound_pays_for_its_rows_as_it_is_built() {
    // 25 occupants at one point: `ServicePoint.occupants` is counted as 20.
    let query = "{ servicePoints(first: 1) { edges { node { occupants { phone firstName } } } } }";
    // Admitted at 1 + 1 + (1 + 1 + 20 × 2) = 44; built, 5 rows × 2 more.
    let seed = async |app: &TestApp| {
        let (_, point) = app.create_client_with_point("C-1").await;
        for i in 0..25 {
            app.create_occupant(&point, &format!("418-555-{:04}", 100 + i), "SMS")
                .await;
        }
    };
    let tight = spawn_app_with(|config| config.limits.max_complexity = 50).await;
    seed(&tight).await;
    let body = tight.graphql(query, json!({})).await;
    assert_eq!(error_codes(&body), ["LIMIT_EXCEEDED"], "{body:#}");

    let enough = spawn_app_with(|config| config.limits.max_complexity = 54).await;
    seed(&enough).await;
    let body = enough.data(query, json!({})).await;
    let occupants = &body["servicePoints"]["edges"][0]["node"]["occupants"];
    assert_eq!(occupants.as_array().unwrap().len(), 25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_the_server_within_its_grace_whatever_is_in_flight() {
    let (url, _guard) = crate::jobs::durable_database().await;
    let mut instance = crate::instances::Instance::start(&url, &[("SHUTDOWN_GRACE", "1s")]);
    instance.healthy().await.unwrap();
    // A request that never ends by itself: its body never comes.
    let address = instance.base.trim_start_matches("http://").to_owned();
    let mut stalled = tokio::net::TcpStream::connect(&address).await.unwrap();
    stalled
        .write_all(
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = Instant::now();
    instance.terminate();
    tokio::task::block_in_place(|| instance.wait_exit());
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "stopped after {took:?}");
    assert!(took >= Duration::from_millis(900), "stopped after {took:?}");
    drop(stalled);
}
