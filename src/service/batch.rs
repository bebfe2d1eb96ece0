//! Batched writes: multi-row statements for SQLite, `UNNEST` arrays for
//! PostgreSQL. Never a round trip per row.

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    Statement,
};
use uuid::Uuid;

use crate::auth::OrgId;
use crate::service::{TenantEntity, TenantTable, delete_all_owned};

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
/// The arrays go as `text[]` and are cast back per column: the driver binds
/// only arrays without NULL elements, so NULL travels as [`NULL_TEXT`], a
/// value `clean` never lets through.
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
    let (mut names, mut selects, mut values) = (Vec::new(), Vec::new(), Vec::new());
    for (i, column) in <A::Entity as EntityTrait>::Column::iter().enumerate() {
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
        let cells = batch
            .iter()
            .map(|model| {
                Ok(Value::String(Some(as_text(
                    model.get(column).into_value(),
                )?)))
            })
            .collect::<Result<Vec<Value>, DbErr>>()?;
        names.push(format!("\"{}\"", Iden::to_string(&column)));
        selects.push(format!("NULLIF(c{i}, '{NULL_TEXT}')::{cast}"));
        values.push(Value::Array(ArrayType::String, Some(Box::new(cells))));
    }
    let params: Vec<String> = (1..=values.len())
        .map(|i| format!("${i}::text[]"))
        .collect();
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
