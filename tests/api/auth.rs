//! Every request but introspection needs a valid, unrevoked token; without
//! one the answer is UNAUTHENTICATED, in the caller's language.

use serde_json::json;

use crate::helpers::{error_codes, error_message, spawn_app};

const CLIENTS: &str = "{ clients { totalCount } }";

#[tokio::test]
async fn no_token_is_unauthenticated() {
    let app = spawn_app().await;
    let body = app.graphql_as(None, CLIENTS, json!({})).await;
    assert_eq!(error_codes(&body), ["UNAUTHENTICATED"]);
    assert_eq!(body["data"], serde_json::Value::Null);
}

#[tokio::test]
async fn an_unknown_token_is_unauthenticated() {
    let app = spawn_app().await;
    for token in [
        "flk_not-a-real-token",
        "garbage",
        &format!("{}x", app.token),
    ] {
        let body = app.graphql_as(Some(token), CLIENTS, json!({})).await;
        assert_eq!(error_codes(&body), ["UNAUTHENTICATED"], "{token}");
    }
}

#[tokio::test]
async fn a_mutation_without_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let body = app
        .graphql_as(
            None,
            r#"mutation { createClient(input: {externalId: "C-1"}) { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(error_codes(&body), ["UNAUTHENTICATED"]);
    let data = app.data(CLIENTS, json!({})).await;
    assert_eq!(data["clients"]["totalCount"], 0);
}

#[tokio::test]
async fn a_revoked_token_is_unauthenticated() {
    let app = spawn_app().await;
    let body = app.graphql(CLIENTS, json!({})).await;
    assert_eq!(body["data"]["clients"]["totalCount"], 0);

    flokon_api::service::organizations::revoke_token(&app.db, &app.token)
        .await
        .unwrap();

    let body = app.graphql(CLIENTS, json!({})).await;
    assert_eq!(error_codes(&body), ["UNAUTHENTICATED"]);
}

#[tokio::test]
async fn introspection_needs_no_token() {
    let app = spawn_app().await;
    let body = app
        .graphql_as(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
}

#[tokio::test]
async fn the_unauthenticated_message_follows_accept_language() {
    let app = spawn_app().await;
    let fr = app.graphql_request(None, None, CLIENTS, json!({})).await;
    let en = app
        .graphql_request(None, Some("en-CA,en;q=0.9"), CLIENTS, json!({}))
        .await;
    assert!(error_message(&fr).starts_with("Jeton d'accès manquant"));
    assert!(error_message(&en).starts_with("Missing, invalid or revoked access token"));
}
