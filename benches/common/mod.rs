//! What the benches share: where they run (a SQLite file in a temporary
//! folder, PostgreSQL when a URL is given), the server in-process, and a
//! GraphQL client. Each bench uses part of it.
#![allow(dead_code)]

use flokon_api::app::Application;
use flokon_api::config::ServeConfig;
use sea_orm::{ConnectOptions, DatabaseConnection};
use serde_json::{Value, json};

/// A SQLite file `name` in `dir`, with `connections` in the pool.
pub fn sqlite(dir: &tempfile::TempDir, name: &str, connections: u32) -> ConnectOptions {
    let url = format!("sqlite://{}?mode=rwc", dir.path().join(name).display());
    let mut options = ConnectOptions::new(url);
    options.max_connections(connections);
    options
}

/// `BENCH_DATABASE_URL`, else `TEST_DATABASE_URL`, when set.
pub fn postgres_url() -> Option<String> {
    std::env::var("BENCH_DATABASE_URL")
        .or_else(|_| std::env::var("TEST_DATABASE_URL"))
        .ok()
        .filter(|url| !url.is_empty())
}

/// A migrated database with one organization: the connection and a token.
pub async fn database(options: ConnectOptions) -> (DatabaseConnection, String) {
    let db = flokon_api::db::connect_with(options, &Default::default())
        .await
        .unwrap();
    flokon_api::db::migrate(&db).await.unwrap();
    let (_, issued) = flokon_api::service::organizations::create(&db, "Bench")
        .await
        .unwrap();
    (db, issued.token)
}

/// Serves `router` on a free loopback port: its base URL.
pub async fn serve_router(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

/// The server in-process on `db` with `config`, on a free port: a client
/// speaking GraphQL to it with `token`.
pub async fn serve(db: &DatabaseConnection, mut config: ServeConfig, token: &str) -> Client {
    config.bind_addr = "127.0.0.1:0".into();
    let app = Application::build(config, db.clone()).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    tokio::spawn(app.run_until_stopped());
    Client {
        http: reqwest::Client::new(),
        base,
        token: token.to_owned(),
    }
}

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Client {
    /// A GraphQL operation: the response body.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(&self.token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}
