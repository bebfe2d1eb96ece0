//! Locks that keep concurrent writers right on every instance, held to the
//! end of the transaction that takes them. PostgreSQL: advisory locks keyed
//! by organization (their keys, with every other, in `db::locks`). SQLite (one instance, one writer): a first statement
//! that writes, which takes the database's write lock at once, as `BEGIN
//! IMMEDIATE` would, so a transaction never reads a state that a writer
//! then changes under it.

use entity::organization;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, QueryFilter, Statement, TransactionTrait,
};

use crate::auth::OrgId;
use crate::db::locks as keys;

/// Who may write memberships alongside whom. Memberships must equal the
/// current shapes × the current positions: whoever changes shapes (sector
/// writers) or many points at once (imports, undo) excludes everyone;
/// whoever moves some points (edits, the geocoder) excludes only those,
/// and moves its points under their row locks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Memberships {
    Shared,
    Exclusive,
}

/// Takes the organization's membership lock, waiting for it (within the
/// connection's `lock_timeout`). First statement of the transaction.
pub async fn lock_memberships(
    tx: &impl ConnectionTrait,
    org: OrgId,
    mode: Memberships,
) -> Result<(), DbErr> {
    let backend = tx.get_database_backend();
    if backend != DbBackend::Postgres {
        return write_first(tx, org).await;
    }
    let function = match mode {
        Memberships::Shared => "pg_advisory_xact_lock_shared",
        Memberships::Exclusive => "pg_advisory_xact_lock",
    };
    let (space, key) = keys::memberships(org);
    tx.execute_raw(Statement::from_sql_and_values(
        backend,
        format!("SELECT {function}($1, $2)"),
        [space.into(), key.into()],
    ))
    .await?;
    Ok(())
}

/// Takes the organization's alert lock (PostgreSQL; SQLite's transaction
/// already holds the write lock): what its alerts already sent today and
/// this month is read, then written, by one alert at a time.
pub async fn lock_alerts(tx: &impl ConnectionTrait, org: OrgId) -> Result<(), DbErr> {
    let backend = tx.get_database_backend();
    if backend != DbBackend::Postgres {
        return write_first(tx, org).await;
    }
    let (space, key) = keys::alerts(org);
    tx.execute_raw(Statement::from_sql_and_values(
        backend,
        "SELECT pg_advisory_xact_lock($1, $2)",
        [space.into(), key.into()],
    ))
    .await?;
    Ok(())
}

/// Tries the organization's import lock without waiting: `false` when
/// another transaction, on any instance, holds it.
pub async fn try_lock_imports(tx: &impl ConnectionTrait, org: OrgId) -> Result<bool, DbErr> {
    let backend = tx.get_database_backend();
    if backend != DbBackend::Postgres {
        write_first(tx, org).await?;
        return Ok(true);
    }
    let statement = Statement::from_sql_and_values(
        backend,
        "SELECT pg_try_advisory_xact_lock($1) AS locked",
        [keys::imports(org).into()],
    );
    let row = tx.query_one_raw(statement).await?;
    Ok(row
        .map(|r| r.try_get("", "locked"))
        .transpose()?
        .unwrap_or(false))
}

/// A transaction for a read-then-write. On SQLite it holds the write lock
/// from the start: a deferred one fails outright when another writer
/// commits between its read and its write. On PostgreSQL the rows read
/// are locked by the read itself (`require_owned_locked`).
pub async fn begin_write(
    db: &DatabaseConnection,
    org: OrgId,
) -> Result<DatabaseTransaction, DbErr> {
    let tx = db.begin().await?;
    if tx.get_database_backend() != DbBackend::Postgres {
        write_first(&tx, org).await?;
    }
    Ok(tx)
}

/// `begin_write` for a write that crosses organizations (a resident's
/// reply): on SQLite an update that matches no row, which takes the write
/// lock all the same.
pub async fn begin_write_any(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let tx = db.begin().await?;
    if tx.get_database_backend() != DbBackend::Postgres {
        organization::Entity::update_many()
            .col_expr(
                organization::Column::Name,
                Expr::col(organization::Column::Name),
            )
            .filter(organization::Column::Id.is_null())
            .exec(&tx)
            .await?;
    }
    Ok(tx)
}

/// A transaction that creates an import run, holding the organization's
/// run-creation lock from the start: it sees every run created before it
/// (idempotency keys, an import already queued or running). Not the row of
/// the organization, which a committing import holds.
pub async fn begin_import_runs(
    db: &DatabaseConnection,
    org: OrgId,
) -> Result<DatabaseTransaction, DbErr> {
    let tx = db.begin().await?;
    let backend = tx.get_database_backend();
    if backend != DbBackend::Postgres {
        write_first(&tx, org).await?;
        return Ok(tx);
    }
    let (space, key) = keys::import_runs(org);
    tx.execute_raw(Statement::from_sql_and_values(
        backend,
        "SELECT pg_advisory_xact_lock($1, $2)",
        [space.into(), key.into()],
    ))
    .await?;
    Ok(tx)
}

/// A transaction that changes memberships, holding their lock from the
/// start.
pub async fn begin_memberships(
    db: &DatabaseConnection,
    org: OrgId,
    mode: Memberships,
) -> Result<DatabaseTransaction, DbErr> {
    let tx = db.begin().await?;
    lock_memberships(&tx, org, mode).await?;
    Ok(tx)
}

/// SQLite: a no-op update of the organization's row, so the transaction
/// holds the write lock from its first statement.
async fn write_first(tx: &impl ConnectionTrait, org: OrgId) -> Result<(), DbErr> {
    organization::Entity::update_many()
        .col_expr(
            organization::Column::Name,
            Expr::col(organization::Column::Name),
        )
        .filter(organization::Column::Id.eq(org.uuid()))
        .exec(tx)
        .await?;
    Ok(())
}
