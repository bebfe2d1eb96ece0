//! Several real server processes on one PostgreSQL database, the way users
//! scale out: they boot together on a fresh database, and an import through
//! one refuses another through a second at once. PostgreSQL only: SQLite
//! serves one instance (its file has one writer), so these skip there.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::cli::{field, run};
use crate::fixtures::{header, pont_tenants, xlsx};
use crate::helpers::{
    GeocoderDouble, IMPORT, Upload, first_error, fresh_postgres_url, http_client,
};

/// A server process, killed when dropped; its log kept for failures.
pub struct Instance {
    child: Child,
    pub base: String,
    log: tempfile::NamedTempFile,
}

impl Instance {
    pub fn start(url: &str, env: &[(&str, &str)]) -> Instance {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_flokon-api"))
            .env("DATABASE_URL", url)
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("GEOCODER", "none")
            .env("RUST_LOG", "warn")
            .env("PUBLIC_URL", format!("http://127.0.0.1:{port}"))
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .expect("start flokon-api");
        Instance {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// `N` instances on one database, each answering `/health`.
    pub async fn healthy_many<const N: usize>(url: &str, env: &[(&str, &str)]) -> [Instance; N] {
        let mut instances: [Instance; N] = std::array::from_fn(|_| Instance::start(url, env));
        for instance in &mut instances {
            instance.healthy().await.unwrap();
        }
        instances
    }

    /// Waits until `/health` answers 200; `Err` with the log otherwise.
    pub async fn healthy(&mut self) -> Result<(), String> {
        let http = http_client();
        for _ in 0..300 {
            if let Ok(Some(status)) = self.child.try_wait() {
                break_with_log(status.to_string(), &self.log)?;
            }
            let answer = http.get(format!("{}/health", self.base)).send().await;
            if answer.is_ok_and(|r| r.status() == 200) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        break_with_log("no answer".to_owned(), &self.log)
    }

    /// SIGTERM: the server stops taking requests and finishes those in
    /// flight.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
    }

    /// Waits for the process to end by itself (30 s at most).
    pub fn wait_exit(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().expect("try_wait").is_none() {
            assert!(Instant::now() < deadline, "still running");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no chance to clean anything up.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }

    pub async fn graphql(&self, token: &str, query: &str) -> Value {
        self.graphql_with(token, query, json!({})).await
    }

    pub async fn graphql_with(&self, token: &str, query: &str, variables: Value) -> Value {
        http_client()
            .post(format!("{}/graphql", self.base))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// A merge import through the instance at `base`: the response body.
pub async fn import_at(base: &str, token: &str, bytes: Vec<u8>) -> Value {
    let upload = Upload {
        query: IMPORT,
        file_name: "clients.xlsx",
        bytes,
        variables: json!({"mode": "MERGE_KEEP_MISSING"}),
        lang: None,
    };
    upload
        .send(&http_client(), base, token)
        .await
        .json()
        .await
        .unwrap()
}

fn break_with_log(why: String, log: &tempfile::NamedTempFile) -> Result<(), String> {
    let text = std::fs::read_to_string(log.path()).unwrap_or_default();
    Err(format!("instance down ({why}):\n{text}"))
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An organization made by the command line on `url`: its token.
pub fn new_org(url: &str) -> String {
    let created = run(url, &["org", "create", "Déneigement Multi"]);
    field(&created, "token: ").to_owned()
}

#[tokio::test]
async fn three_instances_booting_together_on_a_fresh_database_all_come_up() {
    let Some((url, _schema)) = fresh_postgres_url().await else {
        return; // PostgreSQL only (see the module's comment)
    };
    let instances: [Instance; 3] = Instance::healthy_many(&url, &[]).await;
    let token = new_org(&url);
    for instance in &instances {
        let body = instance.graphql(&token, "{ clients { totalCount } }").await;
        assert_eq!(body["data"]["clients"]["totalCount"], 0, "{body}");
    }
    let db = sea_orm::Database::connect(&url).await.unwrap();
    let applied = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM seaql_migrations",
        ))
        .await
        .unwrap()
        .unwrap();
    let applied: i64 = applied.try_get("", "n").unwrap();
    assert_eq!(applied as usize, migration_count());
}

fn migration_count() -> usize {
    use migration::MigratorTrait;
    migration::Migrator::migrations().len()
}

#[tokio::test]
async fn an_import_through_one_instance_is_refused_at_once_through_another() {
    let Some((url, _schema)) = fresh_postgres_url().await else {
        return; // PostgreSQL only (see the module's comment)
    };
    // The first import spends seconds locating its address: long enough
    // for the second to arrive while it holds the organization.
    let double = GeocoderDouble::nominatim()
        .delayed(Duration::from_secs(3))
        .expecting(1)
        .start()
        .await;
    let double_url = double.uri();
    let env = [
        ("GEOCODER", "nominatim"),
        ("GEOCODER_URL", double_url.as_str()),
        ("GEOCODER_TIMEOUT", "10s"),
        ("GEOCODER_DEADLINE_MS", "10000"),
        ("GEOCODER_RETRY_SECONDS", "3600"),
    ];
    let [first, second] = Instance::healthy_many(&url, &env).await;
    let token = new_org(&url);
    let [ana, ben] = pont_tenants();
    let file = xlsx(&[header(), ana, ben]);

    let importing = tokio::spawn({
        let (base, token, file) = (first.base.clone(), token.clone(), file.clone());
        async move { import_at(&base, &token, file).await }
    });
    let db = sea_orm::Database::connect(&url).await.unwrap();
    let claimed = "SELECT COUNT(*) AS n FROM import_claim";
    for _ in 0..200 {
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), claimed))
            .await
            .unwrap()
            .unwrap();
        if row.try_get::<i64>("", "n").unwrap() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let refused = import_at(&second.base, &token, file).await;
    assert_eq!(
        first_error(&refused)["extensions"]["code"],
        "IMPORT_IN_PROGRESS"
    );
    // Refused without waiting for the first: that one is still locating.
    assert!(!importing.is_finished());

    let done = importing.await.unwrap();
    let run = &done["data"]["importSpreadsheet"];
    assert_eq!(run["committed"], true, "{done}");
    assert_eq!(run["summary"]["occupants"]["created"], 2);
}

/// Records which street each request asked for, and when it arrived.
struct Recorder(Arc<Mutex<Vec<(String, Instant)>>>);

impl Respond for Recorder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let street = request
            .url
            .query_pairs()
            .find(|(name, _)| name == "street")
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default();
        self.0.lock().unwrap().push((street, Instant::now()));
        ResponseTemplate::new(200).set_body_json(crate::helpers::nominatim_place("house", 30))
    }
}

/// `count` points waiting for the geocoder, written straight to the
/// database as an import that could not locate them would leave them.
async fn waiting_points(url: &str, token: &str, count: usize) {
    use entity::{api_token, client, service_point};
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
    let db = sea_orm::Database::connect(url).await.unwrap();
    let hash = flokon_api::auth::hash_token(token);
    let org = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hash))
        .one(&db)
        .await
        .unwrap()
        .unwrap()
        .organization_id;
    let now = chrono::Utc::now();
    let client = client::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        organization_id: Set(org),
        external_id: Set("C-1".to_owned()),
        address_key: Set(None),
        name: Set(None),
        search_key: Set("c-1".to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&db)
    .await
    .unwrap();
    for i in 0..count {
        service_point::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            organization_id: Set(org),
            client_id: Set(client.id),
            address_line1: Set(format!("{i} rue du Test")),
            city: Set(Some("Québec".to_owned())),
            province: Set(Some("QC".to_owned())),
            postal_code: Set(None),
            address_key: Set(format!("{i} rue du test quebec")),
            latitude: Set(None),
            longitude: Set(None),
            geocode_status: Set(entity::values::GeocodeStatus::Pending),
            geocode_provider: Set(None),
            geocoded_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&db)
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn workers_of_two_instances_ask_each_address_once_within_one_shared_rate() {
    let Some((url, _schema)) = fresh_postgres_url().await else {
        return; // PostgreSQL only (see the module's comment)
    };
    let asked = Arc::new(Mutex::new(Vec::new()));
    let double = MockServer::start().await;
    Mock::given(path("/search"))
        .respond_with(Recorder(asked.clone()))
        .mount(&double)
        .await;
    let double_url = double.uri();
    // 20 requests a second for the deployment; each instance claims 10
    // points a pass, so both work at once.
    let env = [
        ("GEOCODER", "nominatim"),
        ("GEOCODER_URL", double_url.as_str()),
        ("GEOCODER_RPS", "20"),
        ("GEOCODER_RETRY_SECONDS", "1"),
        ("GEOCODER_WORKER_BATCH", "10"),
    ];
    let instances: [Instance; 2] = Instance::healthy_many(&url, &env).await;
    let token = new_org(&url);
    waiting_points(&url, &token, 50).await;

    let located = "{ servicePoints(geocodeStatus: OK) { totalCount } }";
    let mut done = false;
    for _ in 0..300 {
        let body = instances[0].graphql(&token, located).await;
        if body["data"]["servicePoints"]["totalCount"] == 50 {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(done, "not all located in 30 s");

    let asked = asked.lock().unwrap().clone();
    let mut streets: Vec<&str> = asked.iter().map(|(street, _)| street.as_str()).collect();
    streets.sort();
    streets.dedup();
    assert_eq!((asked.len(), streets.len()), (50, 50), "each address once");
    // One budget of 20/s: 50 requests leave at least 49 × 50 ms apart in
    // all (two budgets of 20/s would need about half of that). A loaded
    // machine only spreads them more.
    let first = asked.iter().map(|(_, at)| *at).min().unwrap();
    let last = asked.iter().map(|(_, at)| *at).max().unwrap();
    assert!(
        last - first >= Duration::from_millis(2_000),
        "{:?}",
        last - first
    );
}

#[tokio::test]
async fn undo_across_instances_restores_only_the_latest_committed_import() {
    let Some((url, _schema)) = fresh_postgres_url().await else {
        return; // PostgreSQL only (see the module's comment)
    };
    let instances: [Instance; 2] = Instance::healthy_many(&url, &[]).await;
    let token = new_org(&url);
    let replace = |base: String, rows: Vec<Vec<crate::fixtures::V>>| {
        let token = token.clone();
        async move {
            let upload = Upload {
                query: IMPORT,
                file_name: "clients.xlsx",
                bytes: xlsx(&rows),
                variables: json!({"mode": "REPLACE_ALL"}),
                lang: None,
            };
            let body: Value = upload
                .send(&http_client(), &base, &token)
                .await
                .json()
                .await
                .unwrap();
            body["data"]["importSpreadsheet"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let [ana, ben] = pont_tenants();
    let first = replace(instances[0].base.clone(), vec![header(), ana]).await;
    let second = replace(instances[1].base.clone(), vec![header(), ben]).await;
    let undo = |id: &str| format!("mutation {{ undoImport(id: \"{id}\") {{ undone }} }}");

    // Through either instance, the earlier import cannot be undone once a
    // later one committed (its snapshot went with that commit), even after
    // the later one is undone; the later one can be.
    let refused = instances[1].graphql(&token, &undo(&first)).await;
    assert_eq!(
        first_error(&refused)["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    let undone = instances[0].graphql(&token, &undo(&second)).await;
    assert_eq!(undone["data"]["undoImport"]["undone"], true, "{undone}");
    let refused = instances[1].graphql(&token, &undo(&first)).await;
    assert_eq!(
        first_error(&refused)["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    let left = instances[0]
        .graphql(&token, "{ clients { totalCount } }")
        .await;
    assert_eq!(left["data"]["clients"]["totalCount"], 1);
}

#[tokio::test]
async fn an_instance_follows_a_run_that_another_executes() {
    let Some((url, _schema)) = fresh_postgres_url().await else {
        return; // PostgreSQL only (see the module's comment)
    };
    let [first, second] = Instance::healthy_many(&url, &[]).await;
    let token = new_org(&url);
    let upload = Upload {
        query: crate::jobs::JOB,
        file_name: "clients.csv",
        bytes: crate::jobs::big_csv(20_000),
        variables: json!({"mode": "MERGE_KEEP_MISSING", "wait": false}),
        lang: None,
    };
    let queued: Value = upload
        .send(&http_client(), &first.base, &token)
        .await
        .json()
        .await
        .unwrap();
    let id = &queued["data"]["importSpreadsheet"]["id"];
    let parts = crate::jobs::subscribe_over_http(&second.base, &token, id).await;
    let states: Vec<&Value> = parts.iter().map(|p| &p["data"]["importProgress"]).collect();
    assert!(states.len() >= 2, "{parts:#?}");
    assert_ne!(states[0]["status"], "FINISHED", "{parts:#?}");
    let last = states.last().unwrap();
    assert_eq!(last["status"], "FINISHED", "{parts:#?}");
    assert_eq!(last["progress"]["percent"], 100.0);
}

#[tokio::test]
async fn two_instances_deliver_each_webhook_once() {
    let Some((url, _schema)) = fresh_postgres_url().await else {
        return; // PostgreSQL only (see the module's comment)
    };
    let env = [
        ("WEBHOOK_ALLOW_PRIVATE", "true"),
        ("WEBHOOK_WORKER_INTERVAL", "10ms"),
        ("WEBHOOK_TEST_SENDS_PER_MINUTE", "30"),
    ];
    let instances: [Instance; 2] = Instance::healthy_many(&url, &env).await;
    let token = new_org(&url);
    let receiver = crate::webhooks::Receiver::start(0).await;
    let created = instances[0]
        .graphql_with(
            &token,
            "mutation($url: String!) { createWebhookEndpoint(input: {url: $url, events: [TEST]}) { endpoint { id } } }",
            json!({"url": receiver.url}),
        )
        .await;
    let endpoint = created["data"]["createWebhookEndpoint"]["endpoint"]["id"].clone();
    for i in 0..30 {
        let body = instances[i % 2]
            .graphql_with(
                &token,
                "mutation($id: ID!) { sendTestWebhook(id: $id) { id } }",
                json!({"id": endpoint}),
            )
            .await;
        assert!(body["data"]["sendTestWebhook"]["id"].is_string(), "{body}");
    }
    receiver.wait_for(30).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let received = receiver.received();
    let ids: std::collections::HashSet<String> = received.iter().map(|r| r.id()).collect();
    assert_eq!((received.len(), ids.len()), (30, 30));
}
