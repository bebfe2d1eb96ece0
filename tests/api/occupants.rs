//! Occupants: phones read in every usual form and stored normalized,
//! validation errors with their reason and field, in French or English.

use serde_json::json;

use crate::helpers::{error_codes, error_message, error_reason, first_error, spawn_app};

const CREATE: &str = "mutation($input: CreateOccupantInput!) { createOccupant(input: $input) {
    firstName lastName phone phoneE164 contactMethod notes servicePoint { addressLine1 } } }";

async fn a_point(app: &crate::helpers::TestApp) -> String {
    app.create_client_with_point("C-1").await.1
}

#[tokio::test]
async fn creates_an_occupant_with_a_normalized_phone() {
    let app = spawn_app().await;
    let point = a_point(&app).await;
    let input = json!({
        "servicePointId": point, "firstName": " Marie-Ève ", "lastName": "Côté",
        "phone": "+1 (418) 555.0123", "contactMethod": "SMS", "notes": "Chien dans la cour"
    });
    let data = app.data(CREATE, json!({"input": input})).await;
    assert_eq!(
        data["createOccupant"],
        json!({
            "firstName": "Marie-Ève", "lastName": "Côté", "phone": "418-555-0123", "phoneE164": "+14185550123",
            "contactMethod": "SMS", "notes": "Chien dans la cour", "servicePoint": {"addressLine1": "1 rue A"}
        })
    );
}

#[tokio::test]
async fn invalid_phones_are_refused_with_their_reason() {
    let app = spawn_app().await;
    let point = a_point(&app).await;
    for phone in [
        "555-0123",
        "911-555-0123",
        "418-055-0123",
        "418-555-0123 poste 12",
        "418-555-ABCD",
        "",
    ] {
        let input = json!({"servicePointId": point, "phone": phone, "contactMethod": "CALL"});
        let body = app.graphql(CREATE, json!({"input": input})).await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{phone}");
        let expected = if phone.is_empty() {
            "REQUIRED"
        } else {
            "PHONE_INVALID"
        };
        assert_eq!(error_reason(&body), expected, "{phone}");
        assert_eq!(first_error(&body)["extensions"]["field"], "phone");
    }
}

#[tokio::test]
async fn validation_messages_are_french_by_default_and_english_on_request() {
    let app = spawn_app().await;
    let point = a_point(&app).await;
    let variables = json!({"input": {"servicePointId": point, "phone": "418-555-0123 x4", "contactMethod": "SMS"}});
    let fr = app.graphql(CREATE, variables.clone()).await;
    let en = app.graphql_in("en", CREATE, variables).await;
    assert!(error_message(&fr).starts_with("Le téléphone contient un poste"));
    assert!(error_message(&en).starts_with("The phone number has an extension"));
}

#[tokio::test]
async fn one_phone_once_per_point() {
    let app = spawn_app().await;
    let point = a_point(&app).await;
    app.create_occupant(&point, "418-555-0123", "SMS").await;
    let input = json!({"servicePointId": point, "phone": "4185550123", "contactMethod": "CALL"});
    let body = app.graphql(CREATE, json!({"input": input})).await;
    assert_eq!(error_reason(&body), "DUPLICATE_PHONE");
}

#[tokio::test]
async fn updates_only_the_fields_given() {
    let app = spawn_app().await;
    let point = a_point(&app).await;
    let input = json!({"servicePointId": point, "firstName": "Jean", "lastName": "Roy", "phone": "418-555-0123", "contactMethod": "SMS", "notes": "x"});
    let data = app
        .data(
            "mutation($input: CreateOccupantInput!) { createOccupant(input: $input) { id } }",
            json!({"input": input}),
        )
        .await;
    let id = data["createOccupant"]["id"].as_str().unwrap().to_owned();
    let update = "mutation($id: ID!, $input: UpdateOccupantInput!) { updateOccupant(id: $id, input: $input) {
        firstName lastName phone contactMethod notes } }";

    let data = app.data(update, json!({"id": id, "input": {"phone": "581 555 0199", "contactMethod": "CALL", "notes": null}})).await;
    assert_eq!(
        data["updateOccupant"],
        json!({"firstName": "Jean", "lastName": "Roy", "phone": "581-555-0199", "contactMethod": "CALL", "notes": null})
    );

    let body = app
        .graphql(update, json!({"id": id, "input": {"phone": "123"}}))
        .await;
    assert_eq!(error_reason(&body), "PHONE_INVALID");

    let body = app.delete("deleteOccupant", &id).await;
    assert_eq!(body["data"]["deleteOccupant"], id.as_str(), "{body:#}");
    assert_eq!(app.find("occupant", &id).await, serde_json::Value::Null);
}

#[tokio::test]
async fn reads_the_whole_tree_nested() {
    let app = spawn_app().await;
    let point = a_point(&app).await;
    app.create_occupant(&point, "418-555-0123", "SMS").await;
    app.create_occupant(&point, "418-555-0124", "CALL").await;
    let data = app
        .data(
            "{ clients { edges { node { externalId servicePoints(first: 10) { totalCount edges { node {
                addressLine1 occupants { phone contactMethod servicePoint { client { externalId } } } } } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["clients"]["edges"][0]["node"],
        json!({"externalId": "C-1", "servicePoints": {"totalCount": 1, "edges": [{"node": {
            "addressLine1": "1 rue A",
            "occupants": [
                {"phone": "418-555-0123", "contactMethod": "SMS", "servicePoint": {"client": {"externalId": "C-1"}}},
                {"phone": "418-555-0124", "contactMethod": "CALL", "servicePoint": {"client": {"externalId": "C-1"}}}
            ]
        }}]}})
    );
}
