//! Several real server processes on one PostgreSQL database, the way users
//! scale out: they boot together on a fresh database, and an import through
//! one refuses another through a second at once. PostgreSQL only: SQLite
//! serves one instance (its file has one writer), so these skip there.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::cli::{field, run};
use crate::fixtures::{header, pont_tenants, xlsx};
use crate::helpers::{
    GeocoderDouble, IMPORT, Upload, first_error, fresh_postgres_url, http_client,
};

/// A server process, killed when dropped; its log kept for failures.
struct Instance {
    child: Child,
    base: String,
    log: tempfile::NamedTempFile,
}

impl Instance {
    fn start(url: &str, env: &[(&str, &str)]) -> Instance {
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

    /// Waits until `/health` answers 200; `Err` with the log otherwise.
    async fn healthy(&mut self) -> Result<(), String> {
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

    async fn graphql(&self, token: &str, query: &str) -> Value {
        http_client()
            .post(format!("{}/graphql", self.base))
            .bearer_auth(token)
            .json(&json!({ "query": query }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// A merge import through the instance at `base`: the response body.
async fn import_at(base: &str, token: &str, bytes: Vec<u8>) -> Value {
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
fn new_org(url: &str) -> String {
    let created = run(url, &["org", "create", "Déneigement Multi"]);
    field(&created, "token: ").to_owned()
}

#[tokio::test]
async fn three_instances_booting_together_on_a_fresh_database_all_come_up() {
    let Some((url, _schema)) = fresh_postgres_url().await else {
        return; // PostgreSQL only (see the module's comment)
    };
    let mut instances: Vec<Instance> = (0..3).map(|_| Instance::start(&url, &[])).collect();
    for instance in &mut instances {
        instance.healthy().await.unwrap();
    }
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
    let mut first = Instance::start(&url, &env);
    let mut second = Instance::start(&url, &env);
    first.healthy().await.unwrap();
    second.healthy().await.unwrap();
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
