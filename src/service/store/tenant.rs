//! The tenant helpers: the only code that names an organization column.
//! Every read and write of a tenant's records goes through them (a test
//! fails on a raw organization filter anywhere else), so no query can
//! forget the tenant.

use std::any::Any;

use entity::{
    alert_message, alert_settings, api_token, client, import_claim, import_deletion, import_impact,
    import_report, import_run, import_snapshot, import_source, inbound_message, message_template,
    occupant, phone_consent, sector, sector_alert, sector_membership, service_point,
    webhook_delivery, webhook_endpoint,
};
use sea_orm::sea_query::{ExprTrait, PgFunc, Query, SelectStatement, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseConnectionType, DbBackend,
    DbErr, DeleteMany, EntityTrait, FromQueryResult, Iterable, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select, SqlxPostgresPoolConnection, Statement, UpdateMany, Value,
};
use uuid::Uuid;

use super::locks;
use super::positional::{ColumnMask, Positional};
use crate::auth::OrgId;
use crate::domain::ValidationError;
use crate::service::ServiceError;

/// A table whose rows belong to an organization. The generic reads and
/// deletes below always filter on its organization column.
pub trait TenantTable: EntityTrait {
    const ORGANIZATION: Self::Column;
}

/// A tenant table whose rows have one id.
pub trait TenantEntity: TenantTable {
    const ID: Self::Column;
    /// How its rows decode: the model's own way, or by position
    /// ([`super::positional`]) for the records read most.
    type Row: FromQueryResult + Into<Self::Model> + Send + Sync;
}

macro_rules! tenant_table {
    ($($module:ident),*) => {$(
        impl TenantTable for $module::Entity {
            const ORGANIZATION: $module::Column = $module::Column::OrganizationId;
        }
    )*};
}

macro_rules! tenant_entity {
    ($($module:ident: $id:ident $(as $row:ident)?),*) => {$(
        tenant_table!($module);
        impl TenantEntity for $module::Entity {
            const ID: $module::Column = $module::Column::$id;
            type Row = tenant_entity!(@row $module $($row)?);
        }
    )*};
    (@row $module:ident) => { $module::Model };
    (@row $module:ident $row:ident) => { $row<$module::Model> };
}

tenant_entity!(
    client: Id as Positional,
    service_point: Id as Positional,
    occupant: Id as Positional,
    import_run: Id,
    sector: Id,
    import_snapshot: ImportRunId,
    webhook_endpoint: Id,
    webhook_delivery: Id,
    sector_alert: Id,
    alert_message: Id,
    inbound_message: Id
);

tenant_table!(
    sector_membership,
    import_report,
    import_deletion,
    import_impact,
    import_source,
    import_claim,
    api_token,
    alert_settings,
    phone_consent,
    message_template
);

/// The condition that a row of `E` is the organization's: for the
/// statements the helpers below do not build (joins, subqueries, counts).
pub fn belongs<E: TenantTable>(org: OrgId) -> SimpleExpr {
    E::ORGANIZATION.eq(org.uuid())
}

/// Every row of `E` the organization owns.
pub fn owned<E: TenantTable>(org: OrgId) -> Select<E> {
    E::find().filter(belongs::<E>(org))
}

/// The ids of the organization's rows of `E`, as a subquery.
pub fn owned_ids<E: TenantEntity>(org: OrgId) -> SelectStatement {
    Query::select()
        .column(E::ID)
        .from(E::default())
        .and_where(belongs::<E>(org))
        .take()
}

/// Updates rows of `E` the organization owns, narrowed by the caller.
pub fn update_all_owned<E: TenantTable>(org: OrgId) -> UpdateMany<E> {
    E::update_many().filter(belongs::<E>(org))
}

/// `DELETE FROM` the organization's rows of `E` `AND` a condition written
/// in SQL (set-based deletes the query builder cannot say, such as row
/// values against arrays). The condition's placeholders come after the
/// organization's: `$2`, `$3`... on PostgreSQL, `?` on SQLite.
pub fn raw_delete_owned<E: TenantTable>(
    backend: DbBackend,
    org: OrgId,
    condition: &str,
    values: impl IntoIterator<Item = Value>,
) -> Statement {
    let table = E::default().table_name().to_owned();
    let column = sea_orm::IdenStatic::as_str(&E::ORGANIZATION);
    let placeholder = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    Statement::from_sql_and_values(
        backend,
        format!("DELETE FROM {table} WHERE {column} = {placeholder} AND {condition}"),
        std::iter::once(Value::from(org.uuid())).chain(values),
    )
}

/// All rows `select` finds, decoded the entity's way ([`TenantEntity::Row`]).
pub async fn fetch_all<E: TenantEntity>(
    db: &impl Reader,
    select: Select<E>,
) -> Result<Vec<E::Model>, DbErr> {
    let statement = select.build(db.get_database_backend());
    let rows = match postgres_pool(db) {
        Some(pool) => pool.query_all(statement).await?,
        None => db.query_all_raw(statement).await?,
    };
    // Decoded into a vector sized once: SeaORM's `all()` collects through
    // a `Result` adapter that knows no length, and grew (and copied) the
    // models' vector a dozen times for a page of 600 points.
    let mut models = Vec::with_capacity(rows.len());
    for row in &rows {
        models.push(E::Row::from_query_result(row, "")?.into());
    }
    Ok(models)
}

/// A connection or transaction [`fetch_all`] reads through: any of
/// SeaORM's, known by its type for the PostgreSQL pool's shortcut.
pub trait Reader: ConnectionTrait + Any {}

impl<T: ConnectionTrait + Any> Reader for T {}

/// SeaORM's PostgreSQL pool behind `db`, when it is one (not a transaction,
/// not SQLite). Reads run on it directly: `DatabaseConnection`'s own
/// `query_all_raw` copies about 15 KB of future state (a match over every
/// backend) twice a call, a tenth of a small read's instructions
/// (perf/RESULTS.md). The pool's `query_all` is SeaORM's too, metric
/// callback included (the statement-count tests read it).
fn postgres_pool(db: &dyn Any) -> Option<&SqlxPostgresPoolConnection> {
    match &db.downcast_ref::<DatabaseConnection>()?.inner {
        DatabaseConnectionType::SqlxPostgresPoolConnection(pool) => Some(pool),
        _ => None,
    }
}

/// The organization's rows of `E` under any of these parents (`parent` is
/// the column naming them), in id order, with the `columns` asked for (the
/// others hold placeholders: see [`super::positional`]).
pub async fn children<E: TenantEntity>(
    db: &impl Reader,
    org: OrgId,
    parent: E::Column,
    parent_ids: &[Uuid],
    columns: ColumnMask,
) -> Result<Vec<E::Model>, DbErr> {
    let select = owned::<E>(org)
        .filter(any_of(db.get_database_backend(), parent, parent_ids))
        .order_by_asc(E::ID);
    fetch_all(db, selecting(select, columns)).await
}

/// `select` narrowed to `columns`, in the model's order (the others hold
/// placeholders once decoded: see [`super::positional`]).
pub fn selecting<E: EntityTrait>(select: Select<E>, columns: ColumnMask) -> Select<E> {
    if columns.is_all() {
        return select;
    }
    let wanted = E::Column::iter()
        .enumerate()
        .filter(|(index, _)| columns.contains(*index))
        .map(|(_, column)| column);
    select.select_only().columns(wanted)
}

/// The tenant filter of a statement written by hand for PostgreSQL, on
/// the table `alias` names: its organization is the statement's first
/// parameter, which only [`query_owned`] binds.
pub fn owned_by_first_parameter(alias: &str) -> String {
    format!("{alias}.organization_id = $1")
}

/// Runs a PostgreSQL statement whose every table is filtered with
/// [`owned_by_first_parameter`], for `org`: its one row, if any. Through
/// sqlx, which SeaORM does not let choose: a statement `prepared` is kept
/// prepared on each connection that runs it, any other is planned each
/// time. `db` must be PostgreSQL's.
pub async fn query_owned(
    db: &DatabaseConnection,
    org: OrgId,
    sql: &str,
    prepared: bool,
) -> Result<Option<sea_orm::sqlx::postgres::PgRow>, sea_orm::sqlx::Error> {
    use sea_orm::sqlx;
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.uuid())
        .persistent(prepared)
        .fetch_optional(db.get_postgres_connection_pool())
        .await
}

/// `column IN (ids)`, as each database reads it best. PostgreSQL gets
/// `column = ANY($1)` with one `uuid[]`: one statement text whatever the
/// count, which the driver keeps prepared, where an `IN` list is a new
/// statement (parsed and planned again) for every count, and its hundreds
/// of parameters are encoded one by one. SQLite has no arrays.
fn any_of<C: ColumnTrait>(backend: DbBackend, column: C, ids: &[Uuid]) -> SimpleExpr {
    match backend {
        DbBackend::Postgres => ExprTrait::eq(column.into_expr(), PgFunc::any(ids.to_vec())),
        _ => column.is_in(ids.iter().copied()),
    }
}

/// Deletes rows of `E` the organization owns, narrowed by the caller;
/// children go by cascade. Never TRUNCATE: other tenants share the tables.
pub fn delete_all_owned<E: TenantTable>(org: OrgId) -> DeleteMany<E> {
    E::delete_many().filter(belongs::<E>(org))
}

pub async fn get_owned<E: TenantEntity>(
    db: &impl ConnectionTrait,
    org: OrgId,
    id: Uuid,
) -> Result<Option<E::Model>, ServiceError> {
    Ok(owned::<E>(org).filter(E::ID.eq(id)).one(db).await?)
}

/// The organization's row of `E` with this id, or `NotFound`.
pub async fn require_owned<E: TenantEntity>(
    db: &impl ConnectionTrait,
    org: OrgId,
    id: Uuid,
) -> Result<E::Model, ServiceError> {
    get_owned::<E>(db, org, id)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// [`require_owned`], the row locked until the transaction ends
/// (PostgreSQL's `FOR UPDATE`; SQLite's writer holds the whole database).
pub async fn require_owned_locked<E: TenantEntity>(
    tx: &impl ConnectionTrait,
    org: OrgId,
    id: Uuid,
) -> Result<E::Model, ServiceError> {
    owned::<E>(org)
        .filter(E::ID.eq(id))
        .lock_exclusive()
        .one(tx)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Deletes a record whose cascade removes memberships (a client's points,
/// a point, a sector), under the membership lock.
pub async fn delete_placed<E: TenantEntity>(
    db: &sea_orm::DatabaseConnection,
    org: OrgId,
    id: Uuid,
    mode: locks::Memberships,
) -> Result<(), ServiceError> {
    let tx = locks::begin_memberships(db, org, mode).await?;
    delete_owned::<E>(&tx, org, id).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn get_many_owned<E: TenantEntity>(
    db: &impl Reader,
    org: OrgId,
    ids: &[Uuid],
) -> Result<Vec<E::Model>, DbErr> {
    get_many_owned_selecting::<E>(db, org, ids, ColumnMask::ALL).await
}

/// [`get_many_owned`] with only the `columns` asked for (as [`children`]).
pub async fn get_many_owned_selecting<E: TenantEntity>(
    db: &impl Reader,
    org: OrgId,
    ids: &[Uuid],
    columns: ColumnMask,
) -> Result<Vec<E::Model>, DbErr> {
    let select = owned::<E>(org).filter(any_of(db.get_database_backend(), E::ID, ids));
    fetch_all(db, selecting(select, columns)).await
}

/// Deletes one owned row (children cascade); not found if it is not the
/// organization's.
pub async fn delete_owned<E: TenantEntity>(
    db: &impl ConnectionTrait,
    org: OrgId,
    id: Uuid,
) -> Result<(), ServiceError> {
    let result = delete_all_owned::<E>(org)
        .filter(E::ID.eq(id))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(ServiceError::NotFound);
    }
    Ok(())
}

/// Refuses with `taken()` when a row of `E` other than `except` matches
/// `unique`: the friendly check before a unique index would refuse the
/// write.
pub(crate) async fn ensure_free<E: TenantEntity>(
    db: &impl ConnectionTrait,
    unique: Condition,
    except: Option<Uuid>,
    taken: impl FnOnce() -> ValidationError,
) -> Result<(), ServiceError> {
    let found = E::find()
        .select_only()
        .column(E::ID)
        .filter(unique)
        .into_tuple::<Uuid>()
        .one(db)
        .await?;
    match found {
        Some(id) if Some(id) != except => Err(taken().into()),
        _ => Ok(()),
    }
}

/// same validation error the pre-check would have given.
pub(crate) fn on_unique_violation(error: sea_orm::DbErr, invalid: ValidationError) -> ServiceError {
    match error.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => ServiceError::Invalid(invalid),
        _ => ServiceError::Db(error),
    }
}
