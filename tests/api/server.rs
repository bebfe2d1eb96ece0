//! The HTTP surface besides GraphQL POSTs: the health check, GraphiQL on GET
//! (and the switch that turns it off), and that a GET never mutates.

use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn health_checks_the_database() {
    let app = spawn_app().await;
    let response = app.get("/health").await;
    assert_eq!(response.status, 200);
    assert!(response.headers.contains_key("x-request-id"));
    assert_eq!(response.json(), json!({"status": "ok", "database": "ok"}));
}

#[tokio::test]
async fn graphiql_is_served_on_get_without_a_token() {
    let app = spawn_app().await;
    let response = app.get("/graphql").await;
    assert_eq!(response.status, 200);
    assert!(
        response.text().contains("graphiql"),
        "GraphiQL page expected"
    );
}

#[tokio::test]
async fn graphiql_can_be_switched_off() {
    let app = spawn_app_with(|config| config.graphiql = false).await;
    assert_eq!(app.get("/graphql").await.status, 404);
}

#[tokio::test]
async fn a_mutation_over_get_changes_nothing() {
    let app = spawn_app().await;
    let query = r#"mutation { createClient(input: {externalId: "C-1"}) { id } }"#;
    let response = app
        .get_as(Some(&app.token), "/graphql", &[("query", query)])
        .await;
    assert!(response.text().contains("graphiql"));
    let data = app.data("{ clients { totalCount } }", json!({})).await;
    assert_eq!(data["clients"]["totalCount"], 0);
}
