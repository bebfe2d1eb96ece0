//! Every request but introspection needs a valid, unrevoked token; without
//! one the answer is UNAUTHENTICATED, in the caller's language.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{TestApp, error_codes, error_message, spawn_app, spawn_app_with};

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

async fn app_trusting_tokens_for(ttl: Duration) -> TestApp {
    spawn_app_with(move |config| {
        config.auth_cache_ttl = ttl;
        config.background_workers = false;
    })
    .await
}

/// The token lookups among the statements run since the last reset.
fn token_lookups(app: &TestApp) -> usize {
    let statements = app.statements();
    statements
        .iter()
        .filter(|sql| sql.contains("api_token"))
        .count()
}

#[tokio::test]
async fn a_revoked_token_is_unauthenticated_at_once_without_a_cache() {
    let app = app_trusting_tokens_for(Duration::ZERO).await;
    app.reset_statements();
    for _ in 0..2 {
        let body = app.graphql(CLIENTS, json!({})).await;
        assert_eq!(body["data"]["clients"]["totalCount"], 0);
    }
    assert_eq!(token_lookups(&app), 2);

    flokon_api::service::organizations::revoke_token(&app.db, &app.token)
        .await
        .unwrap();

    let body = app.graphql(CLIENTS, json!({})).await;
    assert_eq!(error_codes(&body), ["UNAUTHENTICATED"]);
}

#[tokio::test]
async fn a_valid_token_is_looked_up_once_per_ttl_and_a_revoked_one_refused_after_it() {
    let ttl = Duration::from_millis(400);
    let app = app_trusting_tokens_for(ttl).await;
    app.reset_statements();
    for _ in 0..3 {
        let body = app.graphql(CLIENTS, json!({})).await;
        assert_eq!(body["data"]["clients"]["totalCount"], 0);
    }
    assert_eq!(token_lookups(&app), 1);
    // An unknown token is never trusted: asked each time.
    for _ in 0..2 {
        let body = app
            .graphql_as(Some("flk_unknown"), CLIENTS, json!({}))
            .await;
        assert_eq!(error_codes(&body), ["UNAUTHENTICATED"]);
    }
    assert_eq!(token_lookups(&app), 3);

    // Revoked elsewhere (the CLI, another instance): refused once the
    // entry is older than the ttl.
    flokon_api::service::organizations::revoke_token(&app.db, &app.token)
        .await
        .unwrap();
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
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
