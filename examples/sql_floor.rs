//! The limit of our own stack, for `perf/graphql.sh`: axum and sqlx (the
//! server's own HTTP and database layers), running the statements our
//! server issued for one request (captured from PostgreSQL's log, values
//! inlined, prepared once per connection as sqlx does) and writing the
//! same JSON with serde_json. No GraphQL, no token, no SeaORM: what is
//! left between this and the server is what those cost.
//!
//! `sql_floor DATABASE_URL BIND_ADDR FLAT_SQL NESTED_SQL`: each file holds
//! one request's statements, one per line; a file of one statement that
//! writes the response's `data` (the server's plan of an operation it has
//! seen before, `graphql::compiled`) is answered with its text as it is. `POST /graphql` answers the
//! nested request when its body names `servicePoints`, the flat one
//! otherwise.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;
use flokon_api::domain::full_address;
use sea_orm::sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sea_orm::sqlx::{self, Row};
use serde_json::{Value, json};
use uuid::Uuid;

struct Floor {
    pool: PgPool,
    /// Each statement with the table it reads, told apart once at start.
    flat: Vec<(&'static str, String)>,
    nested: Vec<(&'static str, String)>,
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, bind, flat, nested] = args.as_slice() else {
        eprintln!("usage: sql_floor DATABASE_URL BIND_ADDR FLAT_SQL NESTED_SQL");
        std::process::exit(2);
    };
    let statements = |path: &str| -> Vec<(&'static str, String)> {
        std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .lines()
            .map(|l| l.trim().trim_end_matches(';'))
            .filter(|l| !l.is_empty())
            .map(|l| (table(l), l.to_owned()))
            .collect()
    };
    // The 10 connections the server and both PostGraphiles get, handed out
    // without the ping sqlx sends by default (the server pings only a
    // connection that sat idle): a floor is the least the stack can do.
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .test_before_acquire(false)
        .connect(url)
        .await
        .expect("database");
    let floor = Arc::new(Floor {
        pool,
        flat: statements(flat),
        nested: statements(nested),
    });
    let app = axum::Router::new()
        .route("/graphql", post(answer))
        .with_state(floor);
    let listener = tokio::net::TcpListener::bind(bind).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}

async fn answer(State(floor): State<Arc<Floor>>, body: Bytes) -> impl IntoResponse {
    let nested = body.windows(13).any(|w| w == b"servicePoints");
    let statements = if nested { &floor.nested } else { &floor.flat };
    // The server's one statement for an operation seen before writes the
    // response's `data` itself: sent on as it comes.
    if let [(_, sql)] = statements.as_slice()
        && sql.contains(" AS data")
    {
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .fetch_one(&floor.pool)
            .await
            .expect("statement");
        let data: String = row.get("data");
        let body = [b"{\"data\":".as_slice(), data.as_bytes(), b"}"].concat();
        return ([(header::CONTENT_TYPE, "application/json")], body);
    }
    let mut rows: HashMap<&'static str, Vec<PgRow>> = HashMap::new();
    for (table, sql) in statements {
        let found = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .fetch_all(&floor.pool)
            .await
            .expect("statement");
        rows.entry(table).or_default().extend(found);
    }
    let clients = rows.remove("client").unwrap_or_default();
    let data = match nested {
        false => flat_json(&clients),
        true => nested_json(
            &clients,
            &rows.remove("service_point").unwrap_or_default(),
            &rows.remove("occupant").unwrap_or_default(),
        ),
    };
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(&json!({ "data": { "clients": { "edges": data } } })).unwrap(),
    )
}

/// The table a statement reads, by its first `FROM`.
fn table(sql: &str) -> &'static str {
    let from = sql.find(" FROM ").map_or("", |i| &sql[i + 6..]);
    ["service_point", "occupant", "client"]
        .into_iter()
        .find(|t| from.starts_with(&format!("\"{t}\"")) || from.starts_with(t))
        .unwrap_or("other")
}

fn flat_json(clients: &[PgRow]) -> Value {
    // The statement reads one more than the page, for `hasNextPage`.
    clients
        .iter()
        .take(10)
        .map(|c| {
            json!({ "node": {
                "externalId": c.get::<String, _>("external_id"),
                "name": c.get::<Option<String>, _>("name"),
            }})
        })
        .collect()
}

fn nested_json(clients: &[PgRow], points: &[PgRow], occupants: &[PgRow]) -> Value {
    let mut at_point: HashMap<Uuid, Vec<Value>> = HashMap::new();
    for o in occupants {
        at_point
            .entry(o.get("service_point_id"))
            .or_default()
            .push(json!({
                "phone": o.get::<String, _>("phone"),
                "contactMethod": o.get::<String, _>("contact_method"),
            }));
    }
    let mut of_client: HashMap<Uuid, Vec<Value>> = HashMap::new();
    for p in points {
        let address = full_address(
            p.get("address_line1"),
            p.get("city"),
            p.get("province"),
            p.get("postal_code"),
        );
        let id: Uuid = p.get("id");
        of_client
            .entry(p.get("client_id"))
            .or_default()
            .push(json!({ "node": {
                "fullAddress": address,
                "occupants": at_point.remove(&id).unwrap_or_default(),
            }}));
    }
    clients
        .iter()
        .take(100)
        .map(|c| {
            let id: Uuid = c.get("id");
            json!({ "node": {
                "externalId": c.get::<String, _>("external_id"),
                "servicePoints": { "edges": of_client.remove(&id).unwrap_or_default() },
            }})
        })
        .collect()
}
