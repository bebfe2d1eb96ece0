//! `spawn_app()`: the real server on a random port over a fresh, migrated
//! database (a new SQLite file, or a new PostgreSQL schema when
//! `TEST_DATABASE_URL` is set), spoken to over HTTP like any client.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flokon_api::app::Application;
use flokon_api::config::{DbConfig, ServeConfig};
use flokon_api::geocode::ProviderName;
use flokon_api::{db, service};
use sea_orm::{ConnectOptions, ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

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
    Sqlite(tempfile::TempDir),
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
                    // The test's server may still be mid-transaction (its
                    // workers), paused with the test's runtime, which waits
                    // for this thread: end its connections first, or the
                    // drop would wait for their locks forever.
                    admin
                        .execute_unprepared(&format!(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                             WHERE application_name = '{schema}'"
                        ))
                        .await
                        .ok()?;
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

/// A fresh PostgreSQL schema as a URL that separate processes can use (its
/// `search_path` in the URL), dropped with the guard; `None` on SQLite.
pub async fn fresh_postgres_url() -> Option<(String, impl Drop)> {
    let (_, database) = fresh_database().await;
    let TestDatabase::Postgres { url, schema } = &database else {
        return None;
    };
    let url = format!(
        "{}&options=-c%20search_path%3D{schema}",
        with_application_name(url, schema)
    );
    Some((url, database))
}

/// The URL with the schema as `application_name`, so that the schema's
/// cleanup finds the connections to end.
fn with_application_name(url: &str, schema: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}application_name={schema}")
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
            let mut options = ConnectOptions::new(with_application_name(&url, &schema));
            options
                .set_schema_search_path(schema.clone())
                .max_connections(5);
            (options, TestDatabase::Postgres { url, schema })
        }
        _ => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
            // Several connections, as the server has: a test can hold one
            // (a lock, a transaction) while requests use the others.
            let mut options = ConnectOptions::new(url);
            options.max_connections(5);
            (options, TestDatabase::Sqlite(dir))
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
    spawn_app_on(DbConfig::default(), configure).await
}

/// A server whose database connections have these settings.
pub async fn spawn_app_on(
    database_config: DbConfig,
    configure: impl FnOnce(&mut ServeConfig),
) -> TestApp {
    let (options, database) = fresh_database().await;
    let mut connection = db::connect_with(options, &database_config)
        .await
        .expect("connect");
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

    /// PostgreSQL: ends every connection of this test's server, as a
    /// database restart would; `false` on SQLite.
    pub async fn cut_database_connections(&self) -> bool {
        let TestDatabase::Postgres { url, schema } = &self._database else {
            return false;
        };
        let admin = sea_orm::Database::connect(url).await.expect("admin");
        admin
            .execute_unprepared(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE application_name = '{schema}'"
            ))
            .await
            .expect("terminate");
        admin.close().await.ok();
        true
    }

    /// SQLite: the database file's URL, for a connection of the test's
    /// own; `None` on PostgreSQL.
    pub fn sqlite_url(&self) -> Option<String> {
        let TestDatabase::Sqlite(dir) = &self._database else {
            return None;
        };
        Some(format!("sqlite://{}", dir.path().join("test.db").display()))
    }

    /// How many rows the table of `E` holds, every organization's.
    pub async fn rows<E: sea_orm::EntityTrait>(&self) -> u64
    where
        E::Model: Sync,
    {
        use sea_orm::PaginatorTrait;
        E::find().count(&self.db).await.expect("count")
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

    /// Runs an operation with another token, or none.
    pub async fn graphql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.graphql_request(token, None, query, variables).await
    }

    /// Runs an operation with the test organization's token, asking for
    /// messages in `lang` (an `Accept-Language` value).
    pub async fn graphql_in(&self, lang: &str, query: &str, variables: Value) -> Value {
        self.graphql_request(Some(&self.token), Some(lang), query, variables)
            .await
    }

    /// Runs an operation with any token and any `Accept-Language`.
    pub async fn graphql_request(
        &self,
        token: Option<&str>,
        lang: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        let response = self
            .post_graphql(token, json!({"query": query, "variables": variables}), lang)
            .await;
        response.json().await.expect("json body")
    }

    /// A GET of `path` (`/health`, `/template.xlsx`...) without a token.
    pub async fn get(&self, path: &str) -> Fetched {
        self.get_as(None, path, &[]).await
    }

    /// A GET of `path` with a token and query parameters.
    pub async fn get_as(&self, token: Option<&str>, path: &str, query: &[(&str, &str)]) -> Fetched {
        let mut request = self
            .http
            .get(format!("{}{path}", self.address))
            .query(query);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        Fetched {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.bytes().await.expect("body").to_vec(),
        }
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
        id_of(&data["createClient"])
    }

    pub async fn create_service_point(&self, client_id: &str, address: Value) -> String {
        self.create_service_point_with(json!({"clientId": client_id, "address": address}))
            .await
    }

    /// A point whose coordinates are given by hand (a `MANUAL` point).
    pub async fn create_located_point(
        &self,
        client_id: &str,
        address: Value,
        latitude: f64,
        longitude: f64,
    ) -> String {
        self.create_service_point_with(json!({
            "clientId": client_id, "address": address, "latitude": latitude, "longitude": longitude
        }))
        .await
    }

    async fn create_service_point_with(&self, input: Value) -> String {
        let data = self
            .data(
                "mutation($input: CreateServicePointInput!) { createServicePoint(input: $input) { id } }",
                json!({"input": input}),
            )
            .await;
        id_of(&data["createServicePoint"])
    }

    pub async fn create_occupant(&self, point_id: &str, phone: &str, method: &str) -> String {
        let data = self
            .data(
                "mutation($input: CreateOccupantInput!) { createOccupant(input: $input) { id } }",
                json!({"input": {"servicePointId": point_id, "phone": phone, "contactMethod": method}}),
            )
            .await;
        id_of(&data["createOccupant"])
    }

    /// A client `external_id` with one point at 1 rue A, Québec: (client, point).
    pub async fn create_client_with_point(&self, external_id: &str) -> (String, String) {
        let client = self.create_client(external_id, None).await;
        let point = self
            .create_service_point(&client, address("1 rue A", "Québec", None))
            .await;
        (client, point)
    }

    /// A client `external_id` with one point at 1 rue A, Québec, and one
    /// occupant there (418-555-0123, by SMS): (client, point, occupant).
    pub async fn create_household(&self, external_id: &str) -> (String, String, String) {
        let (client, point) = self.create_client_with_point(external_id).await;
        let occupant = self.create_occupant(&point, "418-555-0123", "SMS").await;
        (client, point, occupant)
    }

    /// `{ field(id: $id) { id } }`: the record, or null when it is gone or
    /// not ours.
    pub async fn find(&self, field: &str, id: &str) -> Value {
        self.record(field, id, "id").await
    }

    /// `{ field(id: $id) { selection } }` (`client`, `sector`...): the
    /// record's selected fields, or null when it is gone or not ours.
    pub async fn record(&self, field: &str, id: &str, selection: &str) -> Value {
        let data = self
            .data(
                &format!("query($id: ID!) {{ {field}(id: $id) {{ {selection} }} }}"),
                json!({"id": id}),
            )
            .await;
        data[field].clone()
    }

    /// `mutation { field(id: $id) }` (`deleteClient`, `deleteSector`...):
    /// the whole response, errors included.
    pub async fn delete(&self, field: &str, id: &str) -> Value {
        self.graphql(
            &format!("mutation($id: ID!) {{ {field}(id: $id) }}"),
            json!({"id": id}),
        )
        .await
    }
}

/// The answer to a GET, read whole.
pub struct Fetched {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Fetched {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("json body")
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("utf-8 body")
    }
}

fn id_of(object: &Value) -> String {
    object["id"].as_str().expect("id").to_owned()
}

/// The variables of an import in `mode` (`REPLACE_ALL`...), nothing else set.
pub fn mode(mode: &str) -> Value {
    json!({ "mode": mode })
}

/// The variables of an import that merges and deletes nothing.
pub fn keep() -> Value {
    mode("MERGE_KEEP_MISSING")
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
        variables: Value,
        lang: Option<&str>,
    ) -> Value {
        self.send_upload(&self.token, query, file_name, bytes, variables, lang)
            .await
            .json()
            .await
            .expect("json body")
    }

    /// Uploads to `importSpreadsheet` with another token: the raw response,
    /// for its status or its body.
    pub async fn upload_as(
        &self,
        token: &str,
        file_name: &str,
        bytes: Vec<u8>,
        variables: Value,
    ) -> reqwest::Response {
        self.send_upload(token, IMPORT, file_name, bytes, variables, None)
            .await
    }

    async fn send_upload(
        &self,
        token: &str,
        query: &str,
        file_name: &str,
        bytes: Vec<u8>,
        variables: Value,
        lang: Option<&str>,
    ) -> reqwest::Response {
        let upload = Upload {
            query,
            file_name,
            bytes,
            variables,
            lang,
        };
        upload.send(&self.http, &self.address, token).await
    }

    /// Undoes an import run: the whole response, errors included.
    pub async fn undo_import(&self, run_id: &Value) -> Value {
        self.graphql(
            "mutation($id: ID!) { undoImport(id: $id) { undone committed } }",
            json!({"id": run_id}),
        )
        .await
    }

    /// Uploads and returns the run, failing on any GraphQL error.
    pub async fn import(&self, file_name: &str, bytes: Vec<u8>, variables: Value) -> Value {
        let body = self.upload(file_name, bytes, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"]["importSpreadsheet"].clone()
    }

    /// Imports the two tenants of 100 rue du Pont in `mode`: the run.
    pub async fn import_pont_tenants(&self, mode: &str) -> Value {
        use crate::fixtures::{header, pont_tenants, xlsx};
        let [ana, ben] = pont_tenants();
        let file = xlsx(&[header(), ana, ben]);
        self.import("pont.xlsx", file, json!({ "mode": mode }))
            .await
    }
}

/// `{created, updated, unchanged, deleted}` of a run's summary part.
pub fn counts(run: &Value, part: &str) -> [i64; 4] {
    let c = &run["summary"][part];
    ["created", "updated", "unchanged", "deleted"].map(|k| c[k].as_i64().expect("count"))
}

/// `counts` of a run's clients, service points and occupants, in that order.
pub fn all_counts(run: &Value) -> [[i64; 4]; 3] {
    ["clients", "servicePoints", "occupants"].map(|part| counts(run, part))
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

/// The nodes of a connection's `edges`.
pub fn nodes(connection: &Value) -> impl Iterator<Item = &Value> {
    connection["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| &edge["node"])
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

/// The first error of a response.
pub fn first_error(body: &Value) -> &Value {
    &body["errors"][0]
}

/// The first error's message.
pub fn error_message(body: &Value) -> &str {
    first_error(body)["message"]
        .as_str()
        .expect("an error message")
}

/// The first error's `extensions.reason` (`PHONE_INVALID`, `DUPLICATE_CLIENT_ID`...).
pub fn error_reason(body: &Value) -> &str {
    first_error(body)["extensions"]["reason"]
        .as_str()
        .expect("an error reason")
}

/// Each `(rowNumber, code, column)` of a run's row `errors` or `warnings`,
/// row by row and in order within a row (`""` for no column).
pub fn row_issues(run: &Value, kind: &str) -> Vec<(i64, String, String)> {
    let mut found = Vec::new();
    for edge in run["rows"]["edges"].as_array().expect("rows") {
        let row = &edge["node"];
        for issue in row[kind].as_array().expect("issues") {
            found.push((
                row["rowNumber"].as_i64().expect("row number"),
                issue["code"].as_str().expect("code").to_owned(),
                issue["column"].as_str().unwrap_or("").to_owned(),
            ));
        }
    }
    found
}

/// `(row, code, column)` triples written as literals, to compare with
/// `row_issues`.
pub fn issues(expected: &[(i64, &str, &str)]) -> Vec<(i64, String, String)> {
    expected
        .iter()
        .map(|(row, code, column)| (*row, (*code).to_owned(), (*column).to_owned()))
        .collect()
}

pub fn address(line1: &str, city: &str, postal_code: Option<&str>) -> Value {
    json!({"addressLine1": line1, "city": city, "postalCode": postal_code})
}

/// A geocoding provider played by a local wiremock server: where the
/// provider is asked, what it answers (optionally something else first,
/// once), and how many requests it expects (checked when it drops).
pub struct GeocoderDouble {
    route: &'static str,
    first: Option<ResponseTemplate>,
    answer: ResponseTemplate,
    expected: Option<u64>,
}

/// Nominatim's search route.
pub const NOMINATIM: &str = "/search";
/// Google's geocoding route.
pub const GOOGLE: &str = "/maps/api/geocode/json";

impl GeocoderDouble {
    /// Nominatim, finding every address exactly.
    pub fn nominatim() -> Self {
        Self::on(ProviderName::Nominatim)
    }

    /// The given provider, finding every address exactly.
    pub fn on(provider: ProviderName) -> Self {
        let (route, found) = match provider {
            ProviderName::Nominatim => (NOMINATIM, nominatim_place("house", 30)),
            ProviderName::Google => (GOOGLE, google_result("ROOFTOP")),
            ProviderName::None => panic!("no double for a server without geocoder"),
        };
        Self {
            route,
            first: None,
            answer: ResponseTemplate::new(200).set_body_json(found),
            expected: None,
        }
    }

    /// Answers `body` as JSON, with status 200.
    pub fn answering(self, body: Value) -> Self {
        self.responding(ResponseTemplate::new(200).set_body_json(body))
    }

    /// Answers with `response` (a status, a delay, a broken body).
    pub fn responding(mut self, response: ResponseTemplate) -> Self {
        self.answer = response;
        self
    }

    /// Answers as configured, but only after `delay`.
    pub fn delayed(mut self, delay: std::time::Duration) -> Self {
        self.answer = self.answer.set_delay(delay);
        self
    }

    /// Answers `response` to the first request only, then as configured.
    pub fn first_responding(mut self, response: ResponseTemplate) -> Self {
        self.first = Some(response);
        self
    }

    /// Expects exactly `n` requests.
    pub fn expecting(mut self, n: u64) -> Self {
        self.expected = Some(n);
        self
    }

    pub async fn start(self) -> MockServer {
        let server = MockServer::start().await;
        self.mount_on(&server).await;
        server
    }

    /// Mounts on a running double (after `server.reset()`).
    pub async fn mount_on(self, server: &MockServer) {
        if let Some(first) = self.first {
            Mock::given(path(self.route))
                .respond_with(first)
                .up_to_n_times(1)
                .with_priority(1)
                .mount(server)
                .await;
        }
        let mut mock = Mock::given(path(self.route)).respond_with(self.answer);
        if let Some(n) = self.expected {
            mock = mock.expect(n);
        }
        mock.mount(server).await;
    }
}

/// Nominatim's answer: one place of this type and rank, at 46.8123, -71.2145.
pub fn nominatim_place(addresstype: &str, rank: u32) -> Value {
    json!([{"lat": "46.8123", "lon": "-71.2145", "addresstype": addresstype, "place_rank": rank}])
}

/// Google's answer: one result of this precision, at 46.8123, -71.2145.
pub fn google_result(location_type: &str) -> Value {
    json!({"status": "OK", "results": [{"geometry": {"location": {"lat": 46.8123, "lng": -71.2145}, "location_type": location_type}}]})
}

/// A GraphQL multipart request carrying one file as `$file`.
pub struct Upload<'a> {
    pub query: &'a str,
    pub file_name: &'a str,
    pub bytes: Vec<u8>,
    pub variables: Value,
    pub lang: Option<&'a str>,
}

impl Upload<'_> {
    /// Sends it to the server at `base` (any instance).
    pub async fn send(self, http: &reqwest::Client, base: &str, token: &str) -> reqwest::Response {
        let mut variables = self.variables;
        variables["file"] = Value::Null;
        let operations = json!({"query": self.query, "variables": variables});
        let form = reqwest::multipart::Form::new()
            .text("operations", operations.to_string())
            .text("map", json!({"0": ["variables.file"]}).to_string())
            .part(
                "0",
                reqwest::multipart::Part::bytes(self.bytes).file_name(self.file_name.to_owned()),
            );
        let mut request = http
            .post(format!("{base}/graphql"))
            .bearer_auth(token)
            .multipart(form);
        if let Some(lang) = self.lang {
            request = request.header("Accept-Language", lang);
        }
        request.send().await.expect("upload")
    }
}

/// `name` on the PATH, or in /usr/bin; `None` after a line on the terminal
/// saying that `test` is skipped and what to install (written to stderr
/// directly: the test harness hides what passing tests print).
pub fn program_or_skip(name: &str, test: &str, install: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    let found = on_path.or_else(|| {
        let usr_bin = Path::new("/usr/bin").join(name);
        usr_bin.is_file().then_some(usr_bin)
    });
    if found.is_none() {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: no {name} on the PATH nor in /usr/bin ({install})"
        );
    }
    found
}

/// Runs `command` to its end on a blocking thread (the server under test
/// runs on the test's own runtime), killing it past `limit`.
pub async fn run_program(mut command: Command, limit: Duration) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        // Read both pipes while waiting, so that a full one cannot stall it.
        let read = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                pipe.read_to_end(&mut bytes).map(|_| bytes)
            })
        };
        let stdout = read(Box::new(child.stdout.take().expect("stdout")));
        let stderr = read(Box::new(child.stderr.take().expect("stderr")));
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if start.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{command:?} still running after {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        Output {
            status,
            stdout: stdout.join().expect("stdout reader").expect("stdout"),
            stderr: stderr.join().expect("stderr reader").expect("stderr"),
        }
    })
    .await
    .expect("program thread")
}
