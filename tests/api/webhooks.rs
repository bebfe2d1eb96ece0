//! Webhooks, black-box: a receiver on loopback, signatures checked with the
//! `standardwebhooks` crate's verifier, the outbox's transaction, retries,
//! tenants, and no request to private addresses.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use standardwebhooks::Webhook;

use crate::helpers::{TestApp, error_reason, first_error, spawn_app, spawn_app_with};

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: String,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    pub fn id(&self) -> String {
        self.headers["webhook-id"].to_str().unwrap().to_owned()
    }

    pub fn verifies_with(&self, secret: &str) -> bool {
        Webhook::new(secret)
            .unwrap()
            .verify(self.body.as_bytes(), &self.headers)
            .is_ok()
    }
}

/// An HTTP receiver on loopback that answers 500 to its first `failures`
/// requests, then 204.
pub struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub async fn start(failures: usize) -> Receiver {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let log = received.clone();
        let handler = move |headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                let mut log = log.lock().unwrap();
                log.push(Received {
                    headers,
                    body: String::from_utf8_lossy(&body).into_owned(),
                    at: Instant::now(),
                });
                if log.len() <= failures {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        };
        let router = axum::Router::new().route("/hook", axum::routing::post(handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Receiver { url, received }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `count` requests arrived (30 s at most).
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {count} received",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A server that may call loopback receivers, retrying after 200 ms.
pub async fn app_for_hooks() -> TestApp {
    spawn_app_with(|config| {
        config.webhooks.webhook_allow_private = true;
        config.webhooks.webhook_retry_delays = vec![Duration::from_millis(200); 2];
        config.webhooks.webhook_worker_interval = Duration::from_millis(50);
    })
    .await
}

const CREATE: &str =
    "mutation($input: WebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
  secret endpoint { id url events enabled description createdAt } } }";

const DELIVERIES: &str = "query($id: ID!) { node(id: $id) { ... on WebhookEndpoint {
  deliveries { totalCount edges { node { id event status attempts lastStatusCode lastError nextAttemptAt createdAt deliveredAt } } } } } }";

/// Creates an endpoint with `token`: (id, secret).
pub async fn create_endpoint(
    app: &TestApp,
    token: &str,
    url: &str,
    events: &[&str],
) -> (Value, String) {
    let body = app
        .graphql_as(
            Some(token),
            CREATE,
            json!({"input": {"url": url, "events": events}}),
        )
        .await;
    let created = &body["data"]["createWebhookEndpoint"];
    assert!(created.is_object(), "{body:#}");
    (
        created["endpoint"]["id"].clone(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

async fn deliveries(app: &TestApp, endpoint: &Value) -> Vec<Value> {
    let data = app.data(DELIVERIES, json!({"id": endpoint})).await;
    data["node"]["deliveries"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"].clone())
        .collect()
}

/// A sector named Centre: its id.
async fn create_sector(app: &TestApp) -> Value {
    let square = json!({"type": "Polygon", "coordinates": [[[-71.3, 46.8], [-71.2, 46.8], [-71.2, 46.9], [-71.3, 46.9], [-71.3, 46.8]]]});
    app.data(
        "mutation($g: JSON!) { createSector(input: {name: \"Centre\", geometry: $g}) { id } }",
        json!({"g": square}),
    )
    .await["createSector"]["id"]
        .clone()
}

async fn put_in_alert(app: &TestApp) -> Value {
    let sector = create_sector(app).await;
    app.graphql(
        "mutation($id: ID!) { setSectorAlert(id: $id, active: true) { alertActive } }",
        json!({"id": sector}),
    )
    .await;
    sector
}

#[tokio::test]
async fn a_failed_delivery_is_retried_and_arrives_signed_once_more() {
    let app = app_for_hooks().await;
    let receiver = Receiver::start(1).await;
    let (endpoint, secret) =
        create_endpoint(&app, &app.token, &receiver.url, &["SECTOR_ALERT_STARTED"]).await;
    assert!(secret.starts_with("whsec_"));
    let started = Instant::now();
    let sector = put_in_alert(&app).await;

    let received = receiver.wait_for(2).await;
    println!(
        "first attempt {:?} after the event",
        received[0].at - started
    );
    // The same message twice: same id (receivers deduplicate), both signed.
    assert_eq!(received[0].id(), received[1].id());
    assert!(received[0].id().starts_with("msg_"));
    assert!(received.iter().all(|r| r.verifies_with(&secret)));
    let body = received[1].json();
    assert_eq!(body["type"], "sector.alert.started");
    assert!(body["timestamp"].is_string());
    let alert = body["data"]["alertId"].as_str().unwrap().to_owned();
    assert_eq!(
        body["data"],
        json!({"sectorId": sector, "alertId": alert, "name": "Centre", "recipientsCount": 0})
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    let delivery = loop {
        let list = deliveries(&app, &endpoint).await;
        if list[0]["status"] == "SUCCEEDED" || Instant::now() > deadline {
            break list[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(delivery["event"], "SECTOR_ALERT_STARTED");
    assert_eq!(delivery["status"], "SUCCEEDED");
    assert_eq!(delivery["attempts"], 2);
    assert_eq!(delivery["lastStatusCode"], 204);
    assert_eq!(delivery["lastError"], Value::Null);
    assert_eq!(delivery["nextAttemptAt"], Value::Null);
    assert!(delivery["deliveredAt"].is_string());
    assert_eq!(receiver.received().len(), 2);
}

#[tokio::test]
async fn every_attempt_failing_ends_failed_after_the_retries() {
    let app = app_for_hooks().await;
    let receiver = Receiver::start(usize::MAX).await;
    let (endpoint, _) = create_endpoint(&app, &app.token, &receiver.url, &["TEST"]).await;
    app.data(
        "mutation($id: ID!) { sendTestWebhook(id: $id) { status attempts } }",
        json!({"id": endpoint}),
    )
    .await;
    receiver.wait_for(3).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let delivery = loop {
        let list = deliveries(&app, &endpoint).await;
        if list[0]["status"] != "PENDING" || Instant::now() > deadline {
            break list[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(delivery["status"], "FAILED");
    assert_eq!(delivery["attempts"], 3);
    assert_eq!(delivery["lastStatusCode"], 500);
    assert_eq!(delivery["lastError"], "HTTP 500");
    assert_eq!(delivery["deliveredAt"], Value::Null);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 3);
}

#[tokio::test]
async fn only_subscribed_events_of_the_endpoints_organization_are_sent() {
    let app = app_for_hooks().await;
    let ours = Receiver::start(0).await;
    let theirs = Receiver::start(0).await;
    let (endpoint, _) = create_endpoint(&app, &app.token, &ours.url, &["IMPORT_FINISHED"]).await;
    let other = app.new_org("Autre").await;
    let all = [
        "IMPORT_FINISHED",
        "IMPORT_FAILED",
        "SECTOR_ALERT_STARTED",
        "SECTOR_ALERT_ENDED",
        "GEOCODING_NEEDS_ATTENTION",
        "TEST",
    ];
    let (their_endpoint, _) = create_endpoint(&app, &other, &theirs.url, &all).await;

    put_in_alert(&app).await;
    let run = app.import_pont_tenants("MERGE_KEEP_MISSING").await;
    let received = ours.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ours.received().len(), 1);
    let body = received[0].json();
    assert_eq!(body["type"], "import.finished");
    assert_eq!(
        body["data"],
        json!({"importRunId": run["id"], "mode": "MERGE_KEEP_MISSING", "dryRun": false,
               "committed": true,
               "summary": {"totalRows": 2, "errorRows": 0, "skippedRows": 0,
                 "clients": {"created": 1, "updated": 0, "unchanged": 0, "deleted": 0},
                 "servicePoints": {"created": 1, "updated": 0, "unchanged": 0, "deleted": 0},
                 "occupants": {"created": 2, "updated": 0, "unchanged": 0, "deleted": 0}}})
    );
    // No one's name or phone in it.
    assert!(!received[0].body.contains("Ana") && !received[0].body.contains("555"));
    assert!(theirs.received().is_empty());

    // Another organization's endpoint is nothing to us.
    let node = app
        .data(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({"id": their_endpoint}),
        )
        .await;
    assert_eq!(node["node"], Value::Null);
    for mutation in [
        "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }",
        "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }",
        "mutation($id: ID!) { sendTestWebhook(id: $id) { id } }",
        "mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {enabled: false}) { id } }",
    ] {
        let body = app.graphql(mutation, json!({"id": their_endpoint})).await;
        assert_eq!(
            first_error(&body)["extensions"]["code"],
            "NOT_FOUND",
            "{mutation}"
        );
    }
    let listed = app.data("{ webhookEndpoints { id } }", json!({})).await;
    assert_eq!(listed["webhookEndpoints"], json!([{"id": endpoint}]));
}

#[tokio::test]
async fn an_alert_rolled_back_announces_nothing() {
    let app = app_for_hooks().await;
    let receiver = Receiver::start(0).await;
    create_endpoint(&app, &app.token, &receiver.url, &["SECTOR_ALERT_STARTED"]).await;
    let refuse = match app.db.get_database_backend() {
        sea_orm::DbBackend::Postgres => vec![
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse BEFORE UPDATE ON sector FOR EACH ROW WHEN (NEW.alert_active) EXECUTE FUNCTION refuse()",
        ],
        _ => vec![
            "CREATE TRIGGER refuse BEFORE UPDATE ON sector WHEN NEW.alert_active BEGIN SELECT RAISE(ABORT, 'refused'); END",
        ],
    };
    // The sector's row is written last in the alert's transaction, after
    // its announcement: failing it rolls the announcement back too.
    let sector = create_sector(&app).await;
    for statement in refuse {
        app.db.execute_unprepared(statement).await.unwrap();
    }
    let body = app
        .graphql(
            "mutation($id: ID!) { setSectorAlert(id: $id, active: true) { alertActive } }",
            json!({"id": sector}),
        )
        .await;
    assert_eq!(
        first_error(&body)["extensions"]["code"],
        "INTERNAL",
        "{body:#}"
    );
    let outbox = app.rows::<entity::webhook_delivery::Entity>().await;
    assert_eq!(outbox, 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn deliveries_use_only_the_proxy_configured_for_them_and_check_targets_first() {
    // A proxy that would forward anything: it must hear nothing of a
    // delivery to a private address.
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let heard = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = heard.clone();
    tokio::spawn(async move {
        while let Ok((_connection, _)) = proxy.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let sender =
        flokon_api::webhook::Sender::new(Duration::from_secs(2), false, Some(&proxy_url)).unwrap();
    let secret = flokon_api::webhook::new_secret();
    for url in [
        "https://localhost/hook",
        "https://[64:ff9b::a9fe:a9fe]/hook",
    ] {
        let attempt = sender.send(url, &secret, "msg_1", "{}").await;
        assert_eq!(
            attempt.error.as_deref(),
            Some("private address refused"),
            "{url}"
        );
    }
    assert_eq!(heard.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn after_a_rotation_deliveries_verify_with_the_new_secret_only() {
    let app = app_for_hooks().await;
    let receiver = Receiver::start(0).await;
    let (endpoint, old) = create_endpoint(&app, &app.token, &receiver.url, &["TEST"]).await;
    let test = "mutation($id: ID!) { sendTestWebhook(id: $id) { event status } }";
    let queued = app.data(test, json!({"id": endpoint})).await;
    assert_eq!(
        queued["sendTestWebhook"],
        json!({"event": "TEST", "status": "PENDING"})
    );
    let first = receiver.wait_for(1).await.remove(0);
    assert!(first.verifies_with(&old));
    assert_eq!(first.json()["data"], json!({"endpointId": endpoint}));

    let rotated = app
        .data(
            "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret endpoint { id } } }",
            json!({"id": endpoint}),
        )
        .await;
    let new = rotated["rotateWebhookSecret"]["secret"].as_str().unwrap();
    assert_ne!(new, old);
    app.data(test, json!({"id": endpoint})).await;
    let second = receiver.wait_for(2).await.remove(1);
    assert!(second.verifies_with(new));
    assert!(!second.verifies_with(&old));
}

#[tokio::test]
async fn the_secret_is_never_read_back() {
    let app = app_for_hooks().await;
    let receiver = Receiver::start(0).await;
    let (endpoint, secret) = create_endpoint(&app, &app.token, &receiver.url, &["TEST"]).await;
    app.data(
        "mutation($id: ID!) { sendTestWebhook(id: $id) { id } }",
        json!({"id": endpoint}),
    )
    .await;
    receiver.wait_for(1).await;
    let key = secret.trim_start_matches("whsec_");
    for query in [
        "{ webhookEndpoints { id url events description enabled createdAt deliveries { totalCount edges { cursor node { id event status attempts lastStatusCode lastError nextAttemptAt createdAt deliveredAt } } } } }",
        "query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { id url events } } }",
    ] {
        let text = app
            .graphql(query, json!({"id": endpoint}))
            .await
            .to_string();
        assert!(!text.contains(key), "{text}");
    }
    let updated = app
        .graphql(
            "mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {description: \"Répartiteur\"}) { description url enabled } }",
            json!({"id": endpoint}),
        )
        .await;
    assert!(!updated.to_string().contains(key));
    assert_eq!(
        updated["data"]["updateWebhookEndpoint"]["description"],
        "Répartiteur"
    );
}

#[tokio::test]
async fn a_disabled_endpoint_receives_nothing_and_a_deleted_one_stops() {
    let app = app_for_hooks().await;
    let receiver = Receiver::start(0).await;
    let (endpoint, _) = create_endpoint(&app, &app.token, &receiver.url, &["TEST"]).await;
    let update = "mutation($id: ID!, $on: Boolean) { updateWebhookEndpoint(id: $id, input: {enabled: $on}) { enabled } }";
    app.data(update, json!({"id": endpoint, "on": false})).await;
    app.data(
        "mutation($id: ID!) { sendTestWebhook(id: $id) { id } }",
        json!({"id": endpoint}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(receiver.received().is_empty());
    assert_eq!(deliveries(&app, &endpoint).await[0]["status"], "PENDING");
    // Enabled again, what waited goes.
    app.data(update, json!({"id": endpoint, "on": true})).await;
    receiver.wait_for(1).await;

    let failing = Receiver::start(usize::MAX).await;
    let slow_retries = spawn_app_with(|config| {
        config.webhooks.webhook_allow_private = true;
        config.webhooks.webhook_retry_delays = vec![Duration::from_secs(3600)];
        config.webhooks.webhook_worker_interval = Duration::from_millis(50);
    })
    .await;
    let (endpoint, _) =
        create_endpoint(&slow_retries, &slow_retries.token, &failing.url, &["TEST"]).await;
    slow_retries
        .data(
            "mutation($id: ID!) { sendTestWebhook(id: $id) { id } }",
            json!({"id": endpoint}),
        )
        .await;
    failing.wait_for(1).await;
    let deleted = slow_retries
        .data(
            "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }",
            json!({"id": endpoint}),
        )
        .await;
    assert_eq!(deleted["deleteWebhookEndpoint"], endpoint);
    let outbox = slow_retries
        .rows::<entity::webhook_delivery::Entity>()
        .await;
    assert_eq!(outbox, 0);
}

#[tokio::test]
async fn private_and_plain_http_urls_are_refused_by_default() {
    let app = spawn_app().await;
    for (url, reason) in [
        ("https://127.0.0.1/hook", "WEBHOOK_URL_PRIVATE"),
        ("https://10.0.0.8/hook", "WEBHOOK_URL_PRIVATE"),
        ("https://192.168.1.20/hook", "WEBHOOK_URL_PRIVATE"),
        (
            "https://169.254.169.254/latest/meta-data",
            "WEBHOOK_URL_PRIVATE",
        ),
        ("https://[::1]/hook", "WEBHOOK_URL_PRIVATE"),
        ("https://[fd00::1]/hook", "WEBHOOK_URL_PRIVATE"),
        // IPv6 forms that carry a private IPv4 address: mapped,
        // compatible, NAT64 (both prefixes), 6to4, Teredo.
        ("https://[::ffff:a9fe:a9fe]/hook", "WEBHOOK_URL_PRIVATE"),
        ("https://[::a9fe:a9fe]/hook", "WEBHOOK_URL_PRIVATE"),
        ("https://[64:ff9b::a9fe:a9fe]/hook", "WEBHOOK_URL_PRIVATE"),
        ("https://[64:ff9b::a00:1]/hook", "WEBHOOK_URL_PRIVATE"),
        (
            "https://[64:ff9b:1:a9fe:a9:fe00::]/hook",
            "WEBHOOK_URL_PRIVATE",
        ),
        ("https://[2002:a9fe:a9fe::1]/hook", "WEBHOOK_URL_PRIVATE"),
        ("https://[2001:0:a00:1::1]/hook", "WEBHOOK_URL_PRIVATE"),
        ("https://localhost/hook", "WEBHOOK_URL_PRIVATE"),
        ("http://hooks.example.ca/hook", "WEBHOOK_URL_INVALID"),
        ("ftp://hooks.example.ca/", "WEBHOOK_URL_INVALID"),
        ("https://user:pw@hooks.example.ca/", "WEBHOOK_URL_INVALID"),
    ] {
        let body = app
            .graphql(CREATE, json!({"input": {"url": url, "events": ["TEST"]}}))
            .await;
        assert_eq!(
            first_error(&body)["extensions"]["code"],
            "BAD_USER_INPUT",
            "{url}"
        );
        assert_eq!(error_reason(&body), reason, "{url}");
    }
    let none = app
        .graphql(
            CREATE,
            json!({"input": {"url": "https://hooks.example.ca/", "events": []}}),
        )
        .await;
    assert_eq!(error_reason(&none), "WEBHOOK_EVENTS_REQUIRED");
    let listed = app.data("{ webhookEndpoints { id } }", json!({})).await;
    assert_eq!(listed["webhookEndpoints"], json!([]));
}

#[tokio::test]
async fn the_sender_refuses_private_addresses_at_connection_time() {
    // What a URL saved while it resolved publicly meets if its name later
    // resolves to a private address (DNS rebinding): the client's own
    // resolver keeps it out, and a literal address is checked too.
    let receiver = Receiver::start(0).await;
    let port = receiver
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let sender = flokon_api::webhook::Sender::new(Duration::from_secs(5), false, None).unwrap();
    let secret = flokon_api::webhook::new_secret();
    for url in [
        format!("https://localhost:{port}/hook"),
        format!("https://127.0.0.1:{port}/hook"),
        format!("http://127.0.0.1:{port}/hook"),
    ] {
        let attempt = sender.send(&url, &secret, "msg_1", "{}").await;
        assert!(!attempt.succeeded(), "{url}");
        assert_eq!(attempt.status, None, "{url}");
    }
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn a_dead_receiver_of_one_organization_never_delays_another() {
    let app = spawn_app_with(|config| {
        config.webhooks.webhook_allow_private = true;
        config.webhooks.webhook_timeout = Duration::from_secs(3);
        config.webhooks.webhook_worker_interval = Duration::from_millis(50);
    })
    .await;
    // A receiver that takes connections and never answers; it counts the
    // connections open at once.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}/hook", dead.local_addr().unwrap());
    let open = Arc::new(Mutex::new((0usize, 0usize)));
    let gauge = open.clone();
    tokio::spawn(async move {
        while let Ok((mut connection, _)) = dead.accept().await {
            let gauge = gauge.clone();
            tokio::spawn(async move {
                {
                    let mut gauge = gauge.lock().unwrap();
                    gauge.0 += 1;
                    gauge.1 = gauge.1.max(gauge.0);
                }
                // Read and never answer, until the sender hangs up.
                let mut sink = [0u8; 1024];
                while tokio::io::AsyncReadExt::read(&mut connection, &mut sink)
                    .await
                    .is_ok_and(|read| read > 0)
                {}
                gauge.lock().unwrap().0 -= 1;
            });
        }
    });
    let (endpoint, _) = create_endpoint(&app, &app.token, &dead_url, &["TEST"]).await;
    let endpoint = flokon_api::graphql::id::decode(
        &async_graphql::ID(endpoint.as_str().unwrap().to_owned()),
        flokon_api::graphql::id::Kind::WebhookEndpoint,
    )
    .unwrap()
    .unwrap();
    let org = <entity::webhook_endpoint::Entity as sea_orm::EntityTrait>::find_by_id(endpoint)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .organization_id;
    let org = flokon_api::service::organizations::named(&app.db, org)
        .await
        .unwrap()
        .unwrap();
    // Its backlog: 60 deliveries due now.
    for _ in 0..60 {
        flokon_api::service::webhooks::enqueue(
            &app.db,
            org,
            entity::values::WebhookEvent::Test,
            json!({}),
        )
        .await
        .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let other = app.new_org("Autre").await;
    let live = Receiver::start(0).await;
    let (theirs, _) = create_endpoint(&app, &other, &live.url, &["TEST"]).await;
    let sent = Instant::now();
    let body = app
        .graphql_as(
            Some(&other),
            "mutation($id: ID!) { sendTestWebhook(id: $id) { id } }",
            json!({"id": theirs}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let received = live.wait_for(1).await;
    let waited = received[0].at - sent;
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    // The dead receiver holds its own places only.
    let (_, most) = *open.lock().unwrap();
    assert!(
        most as i64 <= flokon_api::worker::webhooks::PER_ENDPOINT,
        "{most} at once"
    );
}

#[tokio::test]
async fn endpoints_and_test_sends_are_capped_per_organization() {
    let app = app_for_hooks().await;
    let receiver = Receiver::start(0).await;
    let mut first = None;
    for _ in 0..flokon_api::config::MAX_WEBHOOK_ENDPOINTS {
        let (endpoint, _) = create_endpoint(&app, &app.token, &receiver.url, &["TEST"]).await;
        first.get_or_insert(endpoint);
    }
    let body = app
        .graphql(
            CREATE,
            json!({"input": {"url": receiver.url, "events": ["TEST"]}}),
        )
        .await;
    assert_eq!(
        first_error(&body)["extensions"]["code"],
        "LIMIT_EXCEEDED",
        "{body:#}"
    );
    // Another organization has its own.
    let other = app.new_org("Autre").await;
    create_endpoint(&app, &other, &receiver.url, &["TEST"]).await;

    let id = first.unwrap();
    let send = "mutation($id: ID!) { sendTestWebhook(id: $id) { id } }";
    for _ in 0..10 {
        let body = app.graphql(send, json!({"id": id})).await;
        assert!(body.get("errors").is_none(), "{body:#}");
    }
    let body = app.graphql(send, json!({"id": id})).await;
    assert_eq!(
        first_error(&body)["extensions"]["code"],
        "LIMIT_EXCEEDED",
        "{body:#}"
    );
}
