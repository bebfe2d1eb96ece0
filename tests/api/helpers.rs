//! `spawn_app()`: the real server on a random port over a fresh, migrated
//! database (a new SQLite file, or a new PostgreSQL schema when
//! `TEST_DATABASE_URL` is set), spoken to over HTTP like any client.

use std::sync::{Arc, Mutex};

use flokon_api::app::Application;
use flokon_api::config::ServeConfig;
use flokon_api::{db, service};
use sea_orm::{ConnectOptions, ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};

pub struct TestApp {
    pub address: String,
    pub http: reqwest::Client,
    pub db: DatabaseConnection,
    /// SQL statements run since the last `reset_statements`.
    statements: Arc<Mutex<Vec<String>>>,
    /// A token of the organization created for the test.
    pub token: String,
    _database: TestDatabase,
}

enum TestDatabase {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { url: String, schema: String },
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { url, schema } = self {
            let (url, schema) = (url.clone(), schema.clone());
            // Drop runs outside async: a thread with its own runtime cleans up.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime.block_on(async {
                    let admin = sea_orm::Database::connect(&url).await.ok()?;
                    admin
                        .execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                        .await
                        .ok()?;
                    admin.close().await.ok()
                })
            })
            .join();
        }
    }
}

async fn fresh_database() -> (ConnectOptions, TestDatabase) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            let admin = sea_orm::Database::connect(&url)
                .await
                .expect("connect to TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("CREATE SCHEMA \"{schema}\""))
                .await
                .expect("create schema");
            admin.close().await.expect("close admin connection");
            let mut options = ConnectOptions::new(url.clone());
            options
                .set_schema_search_path(schema.clone())
                .max_connections(5);
            (options, TestDatabase::Postgres { url, schema })
        }
        _ => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
            (ConnectOptions::new(url), TestDatabase::Sqlite(dir))
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// An HTTP client for the tests (TLS needs its crypto provider installed
/// first, even for plain HTTP).
pub fn http_client() -> reqwest::Client {
    flokon_api::geocode::install_tls_provider();
    reqwest::Client::new()
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut ServeConfig)) -> TestApp {
    let (options, database) = fresh_database().await;
    let mut connection = db::connect_with(options).await.expect("connect");
    let statements = Arc::new(Mutex::new(Vec::new()));
    let log = statements.clone();
    connection.set_metric_callback(move |info| {
        if let Ok(mut log) = log.lock() {
            log.push(info.statement.sql.clone());
        }
    });
    db::migrate(&connection).await.expect("migrate");

    let mut config = ServeConfig {
        bind_addr: "127.0.0.1:0".to_owned(),
        ..ServeConfig::default()
    };
    configure(&mut config);
    let app = Application::build(config, connection.clone())
        .await
        .expect("build app");
    let address = format!("http://{}", app.local_addr().expect("local addr"));
    tokio::spawn(app.run_until_stopped());

    let (_, issued) = service::organizations::create(&connection, "Déneigement Test")
        .await
        .expect("create org");
    TestApp {
        address,
        http: http_client(),
        db: connection,
        statements,
        token: issued.token,
        _database: database,
    }
}

impl TestApp {
    /// A second organization, for tenant isolation: its token.
    pub async fn new_org(&self, name: &str) -> String {
        service::organizations::create(&self.db, name)
            .await
            .expect("create org")
            .1
            .token
    }

    pub fn reset_statements(&self) {
        self.statements.lock().expect("statement log").clear();
    }

    /// The SQL of each statement run since the last `reset_statements`.
    pub fn statements(&self) -> Vec<String> {
        self.statements.lock().expect("statement log").clone()
    }

    pub async fn post_graphql(
        &self,
        token: Option<&str>,
        body: Value,
        lang: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .post(format!("{}/graphql", self.address))
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(lang) = lang {
            request = request.header("Accept-Language", lang);
        }
        request.send().await.expect("request")
    }

    /// Runs an operation with the test organization's token.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.graphql_as(Some(&self.token), query, variables).await
    }

    pub async fn graphql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let response = self
            .post_graphql(token, json!({"query": query, "variables": variables}), None)
            .await;
        response.json().await.expect("json body")
    }

    /// Runs an operation that must succeed, returning its `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let body = self.graphql(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    pub async fn create_client(&self, external_id: &str, name: Option<&str>) -> String {
        let data = self
            .data(
                "mutation($input: CreateClientInput!) { createClient(input: $input) { id } }",
                json!({"input": {"externalId": external_id, "name": name}}),
            )
            .await;
        data["createClient"]["id"].as_str().expect("id").to_owned()
    }

    pub async fn create_service_point(&self, client_id: &str, address: Value) -> String {
        let data = self
            .data(
                "mutation($input: CreateServicePointInput!) { createServicePoint(input: $input) { id } }",
                json!({"input": {"clientId": client_id, "address": address}}),
            )
            .await;
        data["createServicePoint"]["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }

    pub async fn create_occupant(&self, point_id: &str, phone: &str, method: &str) -> String {
        let data = self
            .data(
                "mutation($input: CreateOccupantInput!) { createOccupant(input: $input) { id } }",
                json!({"input": {"servicePointId": point_id, "phone": phone, "contactMethod": method}}),
            )
            .await;
        data["createOccupant"]["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }
}

pub const IMPORT: &str = "mutation($file: Upload!, $mode: ImportMode!, $dryRun: Boolean, $skip: Boolean, $columns: [ColumnMappingInput!]) {
  importSpreadsheet(file: $file, mode: $mode, dryRun: $dryRun, skipInvalidRows: $skip, columns: $columns) {
    id mode fileName dryRun committed undone
    fileErrors { code column message } fileWarnings { code column message }
    columns { header index field }
    summary { totalRows errorRows skippedRows
      clients { created updated unchanged deleted }
      servicePoints { created updated unchanged deleted }
      occupants { created updated unchanged deleted } }
    rows(first: 500) { totalCount edges { node { rowNumber status errors { code column message } warnings { code column message } } } }
  }
}";

impl TestApp {
    /// Uploads a file the way a GraphQL multipart client does; `variables`
    /// beside `file` (mode, dryRun, skip, columns).
    pub async fn upload(&self, file_name: &str, bytes: Vec<u8>, variables: Value) -> Value {
        self.upload_with(IMPORT, file_name, bytes, variables, None)
            .await
    }

    pub async fn upload_with(
        &self,
        query: &str,
        file_name: &str,
        bytes: Vec<u8>,
        mut variables: Value,
        lang: Option<&str>,
    ) -> Value {
        variables["file"] = Value::Null;
        let operations = json!({"query": query, "variables": variables});
        let form = reqwest::multipart::Form::new()
            .text("operations", operations.to_string())
            .text("map", json!({"0": ["variables.file"]}).to_string())
            .part(
                "0",
                reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned()),
            );
        let mut request = self
            .http
            .post(format!("{}/graphql", self.address))
            .bearer_auth(&self.token)
            .multipart(form);
        if let Some(lang) = lang {
            request = request.header("Accept-Language", lang);
        }
        request
            .send()
            .await
            .expect("upload")
            .json()
            .await
            .expect("json body")
    }

    /// Uploads and returns the run, failing on any GraphQL error.
    pub async fn import(&self, file_name: &str, bytes: Vec<u8>, variables: Value) -> Value {
        let body = self.upload(file_name, bytes, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"]["importSpreadsheet"].clone()
    }
}

/// `{created, updated, unchanged, deleted}` of a run's summary part.
pub fn counts(run: &Value, part: &str) -> [i64; 4] {
    let c = &run["summary"][part];
    ["created", "updated", "unchanged", "deleted"].map(|k| c[k].as_i64().expect("count"))
}

/// Each row's `(rowNumber, status)`.
pub fn row_statuses(run: &Value) -> Vec<(i64, String)> {
    run["rows"]["edges"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|e| {
            (
                e["node"]["rowNumber"].as_i64().unwrap(),
                e["node"]["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The `extensions.code` of each error of a response.
pub fn error_codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The first error's `extensions`.
pub fn first_error(body: &Value) -> &Value {
    &body["errors"][0]
}

pub fn address(line1: &str, city: &str, postal_code: Option<&str>) -> Value {
    json!({"addressLine1": line1, "city": city, "postalCode": postal_code})
}
