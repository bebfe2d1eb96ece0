//! `spawn_app()`: the real server on a random port over a fresh, migrated
//! database (a new SQLite file, or a new PostgreSQL schema when
//! `TEST_DATABASE_URL` is set), and what a test reads of its database.

use std::sync::{Arc, Mutex};

use flokon_api::app::Application;
use flokon_api::config::{DbConfig, ServeConfig};
use flokon_api::{db, service};
use sea_orm::{ConnectOptions, ConnectionTrait, DatabaseConnection};

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
}
