//! Where the benches run: a SQLite file in a temporary folder, and
//! PostgreSQL when a URL is given.

use sea_orm::ConnectOptions;

/// A SQLite file `name` in `dir`, with `connections` in the pool.
#[allow(dead_code)] // benches that make their own SQLite options
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
