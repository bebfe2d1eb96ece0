//! The error boundary: every error carries an `extensions.code`, and an
//! internal failure is masked (no SQL, no paths) behind a request id.

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::{error_codes, error_message, spawn_app};

#[tokio::test]
async fn a_database_error_is_masked_with_a_request_id() {
    let app = spawn_app().await;
    app.create_client_with_point("C-1").await;
    // Break the database under the server's feet (on PostgreSQL with the
    // foreign keys that name the table: alert messages').
    let drop = match app.db.get_database_backend() {
        sea_orm::DbBackend::Postgres => "DROP TABLE occupant CASCADE",
        _ => "DROP TABLE occupant",
    };
    app.db.execute_unprepared(drop).await.unwrap();

    let response = app
        .post_graphql(
            Some(&app.token),
            json!({"query": "{ servicePoints { edges { node { addressLine1 occupants { phone } } } } }"}),
            None,
        )
        .await;
    let header_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let text = response.text().await.unwrap();
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(error_codes(&body), ["INTERNAL"]);
    assert_eq!(
        body["errors"][0]["extensions"]["requestId"],
        header_id.as_str()
    );
    assert!(error_message(&body).starts_with("Erreur interne"));
    for leak in [
        "occupant\"",
        "SELECT",
        "sql",
        "no such table",
        "relation",
        "src/",
    ] {
        assert!(!text.contains(leak), "response leaks {leak:?}: {text}");
    }
}

#[tokio::test]
async fn errors_carry_a_code_even_from_validation() {
    let app = spawn_app().await;
    let body = app.graphql("{ clients { noSuchField } }", json!({})).await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);
    let body = app.graphql("{ clients ", json!({})).await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);
}

#[tokio::test]
async fn a_missing_variable_is_bad_input_not_internal() {
    let app = spawn_app().await;
    let body = app
        .graphql("query($id: ID!) { client(id: $id) { id } }", json!({}))
        .await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);
    assert!(error_message(&body).contains("id"));
}

#[tokio::test]
async fn an_operation_sent_again_is_validated_again_when_its_variables_change() {
    let app = spawn_app().await;
    app.create_client_with_point("C-1").await;
    // Answered alike the first time (validated in full) and the second
    // (validated before).
    let query = "query($first: Int) { clients(first: $first) { edges { node { externalId } } } }";
    for _ in 0..2 {
        let body = app.graphql(query, json!({"first": 5})).await;
        assert_eq!(
            body["data"]["clients"]["edges"][0]["node"]["externalId"], "C-1",
            "{body}"
        );
    }
    let body = app.graphql(query, json!({"first": "five"})).await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);
    assert!(
        error_message(&body).starts_with("Invalid value for argument \"first\""),
        "{body}"
    );
    assert_eq!(body["data"], serde_json::Value::Null);
    for _ in 0..2 {
        let body = app.graphql("{ clients { noSuchField } }", json!({})).await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);
        assert!(error_message(&body).contains("noSuchField"), "{body}");
    }
}
