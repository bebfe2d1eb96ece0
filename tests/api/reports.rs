//! Per-row reports larger than one stored chunk (1,000 rows): pages in row
//! order across chunks, status filters and totals, and reports moved to
//! the former one-row-per-row table and back by the migration.

use migration::{Migrator, MigratorTrait};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::fixtures::template_headers;
use crate::helpers::{TestApp, spawn_app};

const ROWS: usize = 2_400;
/// The data rows with an invalid phone: spreadsheet rows 2, 702, 1402, 2102.
const BAD_PHONE_EVERY: usize = 700;

/// `ROWS` occupants, one address each, every 700th with an invalid phone.
fn csv() -> Vec<u8> {
    let mut text = template_headers().join(",");
    text.push('\n');
    for i in 0..ROWS {
        let phone = match i % BAD_PHONE_EVERY {
            0 => "123".to_owned(),
            _ => format!("418555{:04}", i),
        };
        text.push_str(&format!(
            "P{i},Test,{phone},SMS,\"{} rue du Test, Québec, QC, G1P 0A0\",,C-{i}\n",
            i + 1
        ));
    }
    text.into_bytes()
}

async fn import(app: &TestApp) -> Value {
    let run = app
        .import(
            "report.csv",
            csv(),
            json!({"mode": "MERGE_KEEP_MISSING", "skip": true}),
        )
        .await;
    assert_eq!(run["committed"], true, "{run:#}");
    run
}

const PAGE: &str = "query($id: ID!, $status: [RowStatus!], $first: Int, $after: String) {
  importRun(id: $id) { rows(status: $status, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { rowNumber status errors { code column } warnings { code }
      client { externalId } occupant { phone } } }
  } }
}";

/// One page of the run's report: `(totalCount, hasNextPage, endCursor, nodes)`.
async fn page(
    app: &TestApp,
    run: &Value,
    status: Value,
    first: i64,
    after: Value,
) -> (i64, bool, Value, Vec<Value>) {
    let data = app
        .data(
            PAGE,
            json!({"id": run["id"], "status": status, "first": first, "after": after}),
        )
        .await;
    let rows = &data["importRun"]["rows"];
    let nodes = rows["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"].clone())
        .collect();
    (
        rows["totalCount"].as_i64().unwrap(),
        rows["pageInfo"]["hasNextPage"].as_bool().unwrap(),
        rows["pageInfo"]["endCursor"].clone(),
        nodes,
    )
}

/// The whole report, page by page.
async fn whole_report(app: &TestApp, run: &Value) -> Vec<Value> {
    let (mut report, mut after) = (Vec::new(), Value::Null);
    loop {
        let (total, more, cursor, nodes) = page(app, run, Value::Null, 500, after).await;
        assert_eq!(total, ROWS as i64);
        report.extend(nodes);
        if !more {
            return report;
        }
        after = cursor;
    }
}

fn row_numbers(nodes: &[Value]) -> Vec<i64> {
    nodes
        .iter()
        .map(|n| n["rowNumber"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_report_over_several_chunks_pages_in_row_order_and_filters_by_status() {
    let app = spawn_app().await;
    let run = import(&app).await;

    let report = whole_report(&app, &run).await;
    assert_eq!(
        row_numbers(&report),
        (2..=ROWS as i64 + 1).collect::<Vec<_>>()
    );
    assert_eq!(report[1]["status"], "CREATED");
    assert_eq!(report[1]["client"]["externalId"], "C-1");
    assert_eq!(report[1]["occupant"]["phone"], "418-555-0001");

    // The four rows in error (skipped, the others committed) lie in three
    // chunks; a page of three ends in the second, the next page starts
    // after it.
    let skipped = json!(["ERROR"]);
    let (total, more, cursor, nodes) = page(&app, &run, skipped.clone(), 3, Value::Null).await;
    assert_eq!((total, more), (4, true));
    assert_eq!(row_numbers(&nodes), [2, 702, 1402]);
    assert_eq!(
        nodes[0]["errors"],
        json!([{"code": "PHONE_INVALID", "column": "Téléphone*"}])
    );
    assert_eq!(nodes[0]["client"], Value::Null);
    let (total, more, _, nodes) = page(&app, &run, skipped, 3, cursor).await;
    assert_eq!((total, more), (4, false));
    assert_eq!(row_numbers(&nodes), [2102]);

    // After the last row of the first chunk (row 1001): the second chunk's first.
    let (_, _, cursor, _) = page(&app, &run, Value::Null, 500, Value::Null).await;
    let (_, _, cursor, nodes) = page(&app, &run, Value::Null, 500, cursor).await;
    assert_eq!(nodes[499]["rowNumber"], 1001);
    let (total, more, _, nodes) = page(&app, &run, json!(["CREATED"]), 2, cursor).await;
    assert_eq!((total, more), (ROWS as i64 - 4, true));
    assert_eq!(row_numbers(&nodes), [1002, 1003]);

    // Statuses no row has: nothing, whatever the page.
    let (total, more, _, nodes) =
        page(&app, &run, json!(["SKIPPED", "UPDATED"]), 10, Value::Null).await;
    assert_eq!((total, more, nodes.len()), (0, false, 0));
}

#[tokio::test]
async fn reports_move_to_the_former_row_table_and_back_unchanged() {
    let app = spawn_app().await;
    let run = import(&app).await;
    let before = whole_report(&app, &run).await;

    // Down to before the report migration (and those after it).
    let migrations = Migrator::migrations();
    let report = migrations
        .iter()
        .position(|m| m.name() == "m20261203_000002_import_report")
        .expect("the report migration");
    Migrator::down(&app.db, Some((migrations.len() - report) as u32))
        .await
        .expect("migrate down");
    let backend = app.db.get_database_backend();
    let count = |sql: &str| {
        let db = app.db.clone();
        let sql = sql.to_owned();
        async move {
            let row = db
                .query_one_raw(sea_orm::Statement::from_string(backend, sql))
                .await
                .unwrap()
                .unwrap();
            row.try_get_by_index::<i64>(0).unwrap()
        }
    };
    assert_eq!(count("SELECT COUNT(*) FROM import_row").await, ROWS as i64);
    assert_eq!(
        count("SELECT COUNT(*) FROM import_row WHERE status = 'ERROR'").await,
        4
    );

    Migrator::up(&app.db, None).await.expect("migrate up");
    assert_eq!(count("SELECT COUNT(*) FROM import_report").await, 3);
    assert_eq!(whole_report(&app, &run).await, before);
}
