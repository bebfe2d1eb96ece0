use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn health_checks_the_database() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(format!("{}/health", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, json!({"status": "ok", "database": "ok"}));
}

#[tokio::test]
async fn graphiql_is_served_on_get_without_a_token() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(format!("{}/graphql", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("graphiql"), "GraphiQL page expected");
}

#[tokio::test]
async fn graphiql_can_be_switched_off() {
    let app = crate::helpers::spawn_app_with(|config| config.graphiql = false).await;
    let response = app
        .http
        .get(format!("{}/graphql", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn a_mutation_over_get_changes_nothing() {
    let app = spawn_app().await;
    let query = r#"mutation { createClient(input: {externalId: "C-1"}) { id } }"#;
    let response = app
        .http
        .get(format!("{}/graphql", app.address))
        .bearer_auth(&app.token)
        .query(&[("query", query)])
        .send()
        .await
        .unwrap();
    assert!(response.text().await.unwrap().contains("graphiql"));
    let data = app.data("{ clients { totalCount } }", json!({})).await;
    assert_eq!(data["clients"]["totalCount"], 0);
}
