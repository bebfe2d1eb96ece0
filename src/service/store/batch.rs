//! Batched writes: multi-row statements for SQLite, `UNNEST` arrays for
//! PostgreSQL. Never a round trip per row.

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    Statement,
};
use uuid::Uuid;

use super::tenant::{TenantEntity, TenantTable, delete_all_owned};
use crate::auth::OrgId;

/// Parameters per statement, under SQLite's 32,766 and PostgreSQL's 65,535.
pub(crate) const MAX_PARAMETERS: usize = 30_000;

/// Inserts (or, with `on_conflict`, upserts) in multi-row statements.
pub async fn insert_batched<T, A, F>(
    db: &impl ConnectionTrait,
    items: &[T],
    to_active: F,
    on_conflict: Option<&OnConflict>,
) -> Result<(), DbErr>
where
    T: Sync,
    A: ActiveModelTrait,
    F: Fn(&T) -> A + Sync,
{
    let columns = <<A::Entity as EntityTrait>::Column as sea_orm::Iterable>::iter().count();
    if on_conflict.is_none() && db.get_database_backend() == DbBackend::Postgres {
        for chunk in items.chunks(UNNEST_ROWS) {
            let batch: Vec<A> = chunk.iter().map(&to_active).collect();
            insert_unnest(db, &batch).await?;
        }
        return Ok(());
    }
    // Converted a chunk at a time: active models weigh more than models.
    for chunk in items.chunks((MAX_PARAMETERS / columns).max(1)) {
        let batch: Vec<A> = chunk.iter().map(&to_active).collect();
        let mut insert = A::Entity::insert_many(batch);
        if let Some(on_conflict) = on_conflict {
            insert = insert.on_conflict(on_conflict.clone());
        }
        insert.exec_without_returning(db).await?;
    }
    Ok(())
}

/// Rows per `UNNEST` insert on PostgreSQL.
const UNNEST_ROWS: usize = 20_000;

/// PostgreSQL: one statement per batch with one array parameter per column,
/// `INSERT ... SELECT ... FROM UNNEST($1, $2, ...)`, several times faster
/// than a multi-row `VALUES` with tens of thousands of parameters.
///
/// A column goes as an array of its own type (`uuid[]`, `timestamptz[]`,
/// ...) when none of its values in the batch is NULL: the driver binds only
/// arrays without NULL elements. Otherwise, and for types without an array
/// binding here, it goes as `text[]` cast back, NULL travelling as
/// [`NULL_TEXT`], a value `clean` never lets through.
async fn insert_unnest<A: ActiveModelTrait>(
    db: &impl ConnectionTrait,
    batch: &[A],
) -> Result<(), DbErr> {
    use sea_orm::sea_query::{ArrayType, ColumnType, Value};
    use sea_orm::{ColumnTrait, EntityName, Iden, Iterable};
    if batch.is_empty() {
        return Ok(());
    }
    let table = A::Entity::default().table_name().to_owned();
    let (mut names, mut selects, mut params, mut values) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, column) in <A::Entity as EntityTrait>::Column::iter().enumerate() {
        let cells: Cells = batch
            .iter()
            .map(|model| model.get(column).into_value())
            .collect();
        names.push(format!("\"{}\"", Iden::to_string(&column)));
        let n = values.len() + 1;
        let cells = match typed_array(cells) {
            Ok((array, sql_type)) => {
                selects.push(format!("c{i}"));
                params.push(format!("${n}::{sql_type}[]"));
                values.push(array);
                continue;
            }
            Err(cells) => cells,
        };
        let cast = match column.def().get_column_type() {
            ColumnType::Uuid => "uuid",
            ColumnType::Integer => "int4",
            ColumnType::BigInteger => "int8",
            ColumnType::Double => "float8",
            ColumnType::Boolean => "bool",
            ColumnType::TimestampWithTimeZone => "timestamptz",
            ColumnType::Json | ColumnType::JsonBinary => "json",
            _ => "text",
        };
        let texts = cells
            .into_iter()
            .map(|cell| Ok(Value::String(Some(as_text(cell)?))))
            .collect::<Result<Vec<Value>, DbErr>>()?;
        selects.push(format!("NULLIF(c{i}, '{NULL_TEXT}')::{cast}"));
        params.push(format!("${n}::text[]"));
        values.push(Value::Array(ArrayType::String, Some(Box::new(texts))));
    }
    let aliases: Vec<String> = (0..values.len()).map(|i| format!("c{i}")).collect();
    let sql = format!(
        "INSERT INTO \"{table}\" ({}) SELECT {} FROM UNNEST({}) AS t({})",
        names.join(", "),
        selects.join(", "),
        params.join(", "),
        aliases.join(", ")
    );
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        values,
    ))
    .await?;
    Ok(())
}

/// A column's values in a batch, `None` for a value not set.
type Cells = Vec<Option<sea_orm::sea_query::Value>>;

/// `cells` as one array of their own type, with that type's SQL name, when
/// none is NULL and the type has an array binding; else `cells` back.
fn typed_array(cells: Cells) -> Result<(sea_orm::sea_query::Value, &'static str), Cells> {
    use sea_orm::sea_query::{ArrayType, Value};
    let Some(first) = cells.first() else {
        return Err(cells);
    };
    let (array_type, sql_type) = match first {
        Some(Value::Uuid(_)) => (ArrayType::Uuid, "uuid"),
        Some(Value::Int(_)) => (ArrayType::Int, "int4"),
        Some(Value::BigInt(_)) => (ArrayType::BigInt, "int8"),
        Some(Value::Double(_)) => (ArrayType::Double, "float8"),
        Some(Value::Bool(_)) => (ArrayType::Bool, "bool"),
        Some(Value::ChronoDateTimeUtc(_)) => (ArrayType::ChronoDateTimeUtc, "timestamptz"),
        Some(Value::String(_)) => (ArrayType::String, "text"),
        _ => return Err(cells),
    };
    let same_type_not_null = |cell: &Option<Value>| {
        let Some(value) = cell else { return false };
        let not_null = match value {
            Value::Uuid(v) => v.is_some(),
            Value::Int(v) => v.is_some(),
            Value::BigInt(v) => v.is_some(),
            Value::Double(v) => v.is_some(),
            Value::Bool(v) => v.is_some(),
            Value::ChronoDateTimeUtc(v) => v.is_some(),
            Value::String(v) => v.is_some(),
            _ => false,
        };
        not_null && value.array_type() == array_type
    };
    if !cells.iter().all(same_type_not_null) {
        return Err(cells);
    }
    let elements = cells.into_iter().flatten().collect();
    Ok((Value::Array(array_type, Some(Box::new(elements))), sql_type))
}

/// NULL in the text arrays of [`insert_unnest`]: control characters never
/// survive `domain::clean`, so no stored text can be this.
const NULL_TEXT: &str = "\u{1}";

/// A value as PostgreSQL reads it from text. A value type not listed is a
/// programming error, refused rather than stored as NULL.
fn as_text(value: Option<sea_orm::sea_query::Value>) -> Result<String, DbErr> {
    use sea_orm::sea_query::Value;
    let text = match value {
        None => None,
        Some(Value::String(s)) => s,
        Some(Value::Uuid(u)) => u.map(|u| u.to_string()),
        Some(Value::Int(n)) => n.map(|n| n.to_string()),
        Some(Value::BigInt(n)) => n.map(|n| n.to_string()),
        Some(Value::Double(f)) => f.map(|f| f.to_string()),
        Some(Value::Bool(b)) => b.map(|b| b.to_string()),
        Some(Value::ChronoDateTimeUtc(t)) => t.map(|t| t.to_rfc3339()),
        Some(Value::Json(j)) => j.map(|j| j.to_string()),
        Some(other) => {
            return Err(DbErr::Type(format!(
                "batched insert: no text form for {other:?}"
            )));
        }
    };
    Ok(text.unwrap_or_else(|| NULL_TEXT.to_owned()))
}

/// Inserts (or, with `on_conflict`, upserts) models as they are.
pub async fn insert_models<E>(
    db: &impl ConnectionTrait,
    models: &[E::Model],
    on_conflict: Option<&OnConflict>,
) -> Result<(), DbErr>
where
    E: EntityTrait,
    E::Model: Sync,
    E::ActiveModel: From<E::Model>,
{
    insert_batched(
        db,
        models,
        |model| E::ActiveModel::from(model.clone()),
        on_conflict,
    )
    .await
}

/// Deletes the organization's rows of `E` with these ids.
pub async fn delete_ids<E: TenantEntity>(
    db: &impl ConnectionTrait,
    org: OrgId,
    ids: &[Uuid],
) -> Result<(), DbErr> {
    delete_batched::<E>(db, org, E::ID, ids).await
}

/// Deletes the organization's rows of `E` whose `column` is one of `ids`.
pub async fn delete_batched<E: TenantTable>(
    db: &impl ConnectionTrait,
    org: OrgId,
    column: E::Column,
    ids: &[Uuid],
) -> Result<(), DbErr> {
    for chunk in ids.chunks(MAX_PARAMETERS) {
        delete_all_owned::<E>(org)
            .filter(column.is_in(chunk.iter().copied()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// PostgreSQL: `ANALYZE` these tables after a large write, so that the
/// next statements are planned on their real sizes. Never fails the
/// caller (the write is committed; autovacuum analyzes later anyway).
pub async fn refresh_statistics(db: &impl ConnectionTrait, tables: &[&str]) {
    if db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let statement = format!("ANALYZE {}", tables.join(", "));
    if let Err(error) = db.execute_unprepared(&statement).await {
        crate::service::log_internal(&error);
    }
}
