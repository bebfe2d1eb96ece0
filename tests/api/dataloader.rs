//! A nested query issues the same number of SQL statements over 10 clients
//! as over 100: every nested field is batched by a dataloader.

use serde_json::json;

use crate::helpers::TestApp;

const FROM_CLIENTS: &str = "query($first: Int) { clients(first: $first) { edges { node { externalId
    servicePoints { edges { node { addressLine1 client { externalId }
        occupants { phone servicePoint { addressLine1 } } } } } } } } }";

const FROM_POINTS: &str =
    "query($first: Int) { servicePoints(first: $first) { edges { node { addressLine1
    client { externalId } occupants { phone } } } } }";

/// Creates `n` clients, each with one point and two occupants, in three
/// requests of aliased mutations.
async fn seed(app: &TestApp, n: usize) {
    let clients: String = (0..n)
        .map(|i| format!("c{i}: createClient(input: {{externalId: \"C-{i}\"}}) {{ id }} "))
        .collect();
    let data = app
        .data(&format!("mutation {{ {clients} }}"), json!({}))
        .await;
    let points: String = (0..n)
        .map(|i| {
            let id = data[format!("c{i}")]["id"].as_str().unwrap();
            format!("p{i}: createServicePoint(input: {{clientId: \"{id}\", address: {{addressLine1: \"{i} rue A\"}}}}) {{ id }} ")
        })
        .collect();
    let data = app
        .data(&format!("mutation {{ {points} }}"), json!({}))
        .await;
    let occupants: String = (0..n)
        .flat_map(|i| {
            let id = data[format!("p{i}")]["id"].as_str().unwrap().to_owned();
            (0..2).map(move |k| {
                format!("o{i}_{k}: createOccupant(input: {{servicePointId: \"{id}\", phone: \"418-555-{:04}\", contactMethod: SMS}}) {{ id }} ", k)
            })
        })
        .collect();
    app.data(&format!("mutation {{ {occupants} }}"), json!({}))
        .await;
}

async fn statements_for(app: &TestApp, query: &str, first: usize) -> Vec<String> {
    app.reset_statements();
    let data = app.data(query, json!({"first": first})).await;
    let list = data.as_object().unwrap().values().next().unwrap();
    assert_eq!(list["edges"].as_array().unwrap().len(), first);
    app.statements()
}

#[tokio::test]
async fn nested_queries_cost_the_same_statements_for_10_or_100_clients() {
    let app = spawn_app_with_big_queries().await;
    seed(&app, 100).await;

    // Token, clients page, points of those clients, occupants of those
    // points; the way back up (`client`, `servicePoint`) is already known.
    let for_10 = statements_for(&app, FROM_CLIENTS, 10).await;
    let for_100 = statements_for(&app, FROM_CLIENTS, 100).await;
    assert_eq!(for_10.len(), 4, "{for_10:#?}");
    assert_eq!(for_100.len(), 4, "{for_100:#?}");

    // Token, points page, clients by id, occupants of points.
    let for_10 = statements_for(&app, FROM_POINTS, 10).await;
    let for_100 = statements_for(&app, FROM_POINTS, 100).await;
    assert_eq!(for_10.len(), 4, "{for_10:#?}");
    assert_eq!(for_100.len(), 4, "{for_100:#?}");
}

async fn spawn_app_with_big_queries() -> TestApp {
    crate::helpers::spawn_app_with(|config| config.limits.max_query_bytes = 256 * 1024).await
}
