//! The per-row report of an import in chunks of up to 1,000 rows (deflated
//! JSON, with each chunk's count of rows by status) instead of one
//! `import_row` row per spreadsheet row: a 100,000-row import wrote 100,000
//! rows in its transaction, now 100.
//!
//! The reports already stored move over both ways. The chunk format is
//! written out here rather than shared with the server's codec
//! (`flokon_api::import::report`), so that this migration keeps doing what
//! it did when that codec changes; the server's tests read reports moved
//! by it.

use std::io::{Read, Write};

use sea_orm::{ConnectionTrait, QueryResult, Value};
use sea_orm_migration::{prelude::*, schema::*};
use serde_json::{Map, Value as Json, json};
use uuid::Uuid;

#[derive(DeriveMigrationName)]
pub struct Migration;

const ROWS_PER_CHUNK: usize = 1_000;
/// Rows per multi-row INSERT when moving reports back.
const ROWS_PER_INSERT: usize = 500;
const STATUSES: [(&str, &str); 5] = [
    ("CREATED", "created_rows"),
    ("UPDATED", "updated_rows"),
    ("UNCHANGED", "unchanged_rows"),
    ("SKIPPED", "skipped_rows"),
    ("ERROR", "error_rows"),
];
/// The legacy row's columns, and the short names a chunk gives them.
const ROW_COLUMNS: [(&str, &str); 6] = [
    ("status", "s"),
    ("errors", "e"),
    ("warnings", "w"),
    ("client_id", "c"),
    ("service_point_id", "p"),
    ("occupant_id", "o"),
];

fn run_fk(table: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_import_run_id"))
        .from(table, "import_run_id")
        .to("import_run", "id")
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

fn io_error(error: std::io::Error) -> DbErr {
    DbErr::Migration(format!("import report: {error}"))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table("import_report")
            .col(uuid("import_run_id"))
            .col(integer("first_row"))
            .col(integer("last_row"))
            .col(uuid("organization_id"));
        for (_, column) in STATUSES {
            table.col(integer(column));
        }
        table
            .col(blob("rows"))
            .primary_key(Index::create().col("import_run_id").col("first_row"))
            .foreign_key(&mut run_fk("import_report"));
        manager.create_table(table).await?;

        let db = manager.get_connection();
        for run in runs_with(db, "import_row").await? {
            let rows = db
                .query_all(
                    &Query::select()
                        .column("organization_id")
                        .column("row_number")
                        .columns(ROW_COLUMNS.map(|(column, _)| column))
                        .from("import_row")
                        .and_where(Expr::col("import_run_id").eq(run))
                        .order_by("row_number", Order::Asc)
                        .take(),
                )
                .await?;
            for rows in rows.chunks(ROWS_PER_CHUNK) {
                db.execute(&chunk_insert(run, rows)?).await?;
            }
        }
        manager
            .drop_table(Table::drop().table("import_row").take())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("import_row")
                    .col(uuid("import_run_id"))
                    .col(integer("row_number"))
                    .col(uuid("organization_id"))
                    .col(string_len("status", 16))
                    .col(json("errors"))
                    .col(json("warnings"))
                    .col(uuid_null("client_id"))
                    .col(uuid_null("service_point_id"))
                    .col(uuid_null("occupant_id"))
                    .primary_key(Index::create().col("import_run_id").col("row_number"))
                    .foreign_key(&mut run_fk("import_row"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_import_row_run_status")
                    .table("import_row")
                    .col("import_run_id")
                    .col("status")
                    .col("row_number")
                    .take(),
            )
            .await?;

        let db = manager.get_connection();
        for run in runs_with(db, "import_report").await? {
            let chunks = db
                .query_all(
                    &Query::select()
                        .columns(["organization_id", "rows"])
                        .from("import_report")
                        .and_where(Expr::col("import_run_id").eq(run))
                        .order_by("first_row", Order::Asc)
                        .take(),
                )
                .await?;
            for chunk in chunks {
                let org: Uuid = chunk.try_get("", "organization_id")?;
                let rows = decode(&chunk.try_get::<Vec<u8>>("", "rows")?)?;
                for rows in rows.chunks(ROWS_PER_INSERT) {
                    db.execute(&rows_insert(run, org, rows)?).await?;
                }
            }
        }
        manager
            .drop_table(Table::drop().table("import_report").take())
            .await
    }
}

/// The runs having rows in `table`.
async fn runs_with(db: &impl ConnectionTrait, table: &str) -> Result<Vec<Uuid>, DbErr> {
    let runs = db
        .query_all(
            &Query::select()
                .distinct()
                .column("import_run_id")
                .from(table.to_owned())
                .take(),
        )
        .await?;
    runs.iter()
        .map(|row| row.try_get::<Uuid>("", "import_run_id"))
        .collect()
}

/// One chunk of legacy `import_row` rows (in row order) as an INSERT.
fn chunk_insert(run: Uuid, rows: &[QueryResult]) -> Result<InsertStatement, DbErr> {
    let mut counts = [0; STATUSES.len()];
    let mut encoded = Vec::with_capacity(rows.len());
    for row in rows {
        let mut object = Map::new();
        let number: i32 = row.try_get("", "row_number")?;
        object.insert("n".to_owned(), json!(number));
        for (column, name) in ROW_COLUMNS {
            let value = match column {
                "status" => Json::String(row.try_get::<String>("", column)?),
                "errors" | "warnings" => row.try_get::<Json>("", column)?,
                _ => json!(row.try_get::<Option<Uuid>>("", column)?),
            };
            let empty = Json::is_null(&value) || value.as_array().is_some_and(Vec::is_empty);
            if !empty {
                object.insert(name.to_owned(), value);
            }
        }
        let status = object["s"].as_str().unwrap_or_default();
        if let Some(i) = STATUSES.iter().position(|(name, _)| *name == status) {
            counts[i] += 1;
        }
        encoded.push(Json::Object(object));
    }
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    serde_json::to_writer(&mut encoder, &encoded).map_err(|e| io_error(e.into()))?;
    encoder.flush().map_err(io_error)?;
    let data = encoder.finish().map_err(io_error)?;

    let first = &rows[0];
    let last = &rows[rows.len() - 1];
    let mut columns = vec!["import_run_id", "first_row", "last_row", "organization_id"];
    columns.extend(STATUSES.map(|(_, column)| column));
    columns.push("rows");
    let mut values: Vec<Expr> = vec![
        Expr::val(run),
        Expr::val(first.try_get::<i32>("", "row_number")?),
        Expr::val(last.try_get::<i32>("", "row_number")?),
        Expr::val(first.try_get::<Uuid>("", "organization_id")?),
    ];
    values.extend(counts.map(Expr::val));
    values.push(Expr::val(Value::Bytes(Some(data))));
    Ok(Query::insert()
        .into_table("import_report")
        .columns(columns)
        .values_panic(values)
        .take())
}

fn decode(data: &[u8]) -> Result<Vec<Map<String, Json>>, DbErr> {
    let mut json = Vec::new();
    flate2::read::DeflateDecoder::new(data)
        .read_to_end(&mut json)
        .map_err(io_error)?;
    serde_json::from_slice(&json).map_err(|e| io_error(e.into()))
}

/// Rows of one chunk as legacy `import_row` rows.
fn rows_insert(run: Uuid, org: Uuid, rows: &[Map<String, Json>]) -> Result<InsertStatement, DbErr> {
    let mut columns = vec!["import_run_id", "row_number", "organization_id"];
    columns.extend(ROW_COLUMNS.map(|(column, _)| column));
    let mut insert = Query::insert();
    insert.into_table("import_row").columns(columns);
    for row in rows {
        let field = |name: &str| row.get(name).cloned().unwrap_or(Json::Null);
        let id = |name: &str| -> Result<Option<Uuid>, DbErr> {
            serde_json::from_value(field(name)).map_err(|e| io_error(e.into()))
        };
        let list = |name: &str| match field(name) {
            Json::Null => json!([]),
            value => value,
        };
        insert.values_panic([
            Expr::val(run),
            Expr::val(field("n").as_i64().unwrap_or_default() as i32),
            Expr::val(org),
            Expr::val(field("s").as_str().unwrap_or_default().to_owned()),
            Expr::val(list("e")),
            Expr::val(list("w")),
            Expr::val(id("c")?),
            Expr::val(id("p")?),
            Expr::val(id("o")?),
        ]);
    }
    Ok(insert)
}
