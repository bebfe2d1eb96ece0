//! Connecting and migrating, for SQLite and PostgreSQL alike.

pub mod locks;

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend, DbErr, TransactionTrait};

use crate::config::DbConfig;

/// Connects with the settings each backend needs: WAL and a busy timeout on
/// SQLite so readers never wait on the importer, `secure_delete`; on PostgreSQL the
/// statement and lock timeouts of every session; statement logging off
/// (tracing's request spans carry what matters); a connection pinged before
/// use only when it sat idle (see [`PING_WHEN_IDLE_FOR`]).
pub async fn connect(url: &str, config: &DbConfig) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url);
    options.max_connections(config.db_max_connections.max(2));
    connect_with(options, config).await
}

/// A pooled connection idle this long is pinged before it is handed out.
/// sqlx pings every connection it hands out by default: a round trip to
/// the database before each statement. A connection used within the last
/// second is alive (HikariCP skips its check within 500 ms for the same
/// reason); one that died since fails its statement and leaves the pool.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

pub async fn connect_with(
    mut options: ConnectOptions,
    config: &DbConfig,
) -> Result<DatabaseConnection, DbErr> {
    let millis = |d: Duration| d.as_millis().to_string();
    let (statement_timeout, lock_timeout) = (
        millis(config.db_statement_timeout),
        millis(config.db_lock_timeout),
    );
    let busy_timeout = config.db_lock_timeout;
    options
        .sqlx_logging(false)
        .test_before_acquire_if_idle_for(PING_WHEN_IDLE_FOR)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(config.db_acquire_timeout)
        .map_sqlx_sqlite_opts(move |opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(busy_timeout)
                .foreign_keys(true)
                // Deleted rows are overwritten, not left in free pages:
                // residents' data leaves the disk when it leaves the tables.
                .pragma("secure_delete", "ON")
        })
        .map_sqlx_postgres_opts(move |opts| {
            opts.options([
                ("statement_timeout", statement_timeout.as_str()),
                ("lock_timeout", lock_timeout.as_str()),
            ])
        });
    Database::connect(options).await
}

/// Applies pending migrations. On PostgreSQL they run in one transaction
/// that first takes the migration lock: instances booting together wait
/// for each other, and the later ones find nothing left to do.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Migrator::up(db, None).await;
    }
    let tx = db.begin().await?;
    locks::advisory_xact_lock(&tx, locks::MIGRATIONS).await?;
    Migrator::up(&tx, None).await?;
    tx.commit().await
}

/// Migrations not applied yet, read without changing anything.
pub async fn pending_migrations(db: &DatabaseConnection) -> Result<usize, DbErr> {
    Ok(Migrator::get_pending_migrations_read_only(db).await?.len())
}
