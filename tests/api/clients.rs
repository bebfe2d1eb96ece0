//! Clients: created, read, renamed and deleted (with what they own), their
//! external id unique per organization, found by search and by global id.

use serde_json::json;

use crate::helpers::{error_codes, error_reason, first_error, spawn_app};

const CLIENT: &str =
    "query($id: ID!) { client(id: $id) { id externalId name createdAt updatedAt } }";

const UPDATE: &str = "mutation($id: ID!, $input: UpdateClientInput!) {
    updateClient(id: $id, input: $input) { externalId name } }";

#[tokio::test]
async fn creates_reads_updates_and_deletes_a_client() {
    let app = spawn_app().await;
    let id = app
        .create_client("  C-001 ", Some("Syndicat\u{a0}des  Érables"))
        .await;

    let data = app.data(CLIENT, json!({"id": id})).await;
    assert_eq!(data["client"]["externalId"], "C-001");
    assert_eq!(data["client"]["name"], "Syndicat des Érables");

    let renamed = json!({"id": id, "input": {"externalId": "C-002"}});
    let data = app.data(UPDATE, renamed).await;
    assert_eq!(
        data["updateClient"],
        json!({"externalId": "C-002", "name": "Syndicat des Érables"})
    );

    let unnamed = json!({"id": id, "input": {"name": null}});
    let data = app.data(UPDATE, unnamed).await;
    assert_eq!(
        data["updateClient"],
        json!({"externalId": "C-002", "name": null})
    );

    let body = app.delete("deleteClient", &id).await;
    assert_eq!(body["data"]["deleteClient"], id.as_str(), "{body:#}");
    let data = app.data(CLIENT, json!({"id": id})).await;
    assert_eq!(data["client"], serde_json::Value::Null);
}

#[tokio::test]
async fn a_duplicate_external_id_is_refused() {
    let app = spawn_app().await;
    app.create_client("C-001", None).await;
    let body = app
        .graphql(
            r#"mutation { createClient(input: {externalId: "C-001"}) { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);
    assert_eq!(error_reason(&body), "DUPLICATE_CLIENT_ID");
    assert_eq!(first_error(&body)["extensions"]["field"], "externalId");
    let data = app.data("{ clients { totalCount } }", json!({})).await;
    assert_eq!(data["clients"]["totalCount"], 1);
}

#[tokio::test]
async fn renaming_onto_another_clients_id_is_refused() {
    let app = spawn_app().await;
    app.create_client("C-001", None).await;
    let second = app.create_client("C-002", None).await;
    let taken = json!({"id": second, "input": {"externalId": "C-001"}});
    let body = app.graphql(UPDATE, taken).await;
    assert_eq!(error_reason(&body), "DUPLICATE_CLIENT_ID");
}

#[tokio::test]
async fn a_blank_or_too_long_external_id_is_refused() {
    let app = spawn_app().await;
    let body = app
        .graphql(
            r#"mutation { createClient(input: {externalId: "   "}) { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(error_reason(&body), "REQUIRED");
    let long = "x".repeat(201);
    let body = app
        .graphql(
            "mutation($id: String!) { createClient(input: {externalId: $id}) { id } }",
            json!({"id": long}),
        )
        .await;
    assert_eq!(error_reason(&body), "TOO_LONG");
    let data = app.data("{ clients { totalCount } }", json!({})).await;
    assert_eq!(data["clients"]["totalCount"], 0);
}

#[tokio::test]
async fn search_ignores_case_and_accents_on_id_and_name() {
    let app = spawn_app().await;
    app.create_client("C-100", Some("Gestion Québec Inc."))
        .await;
    app.create_client("LEVIS-7", Some("Condo du Fleuve")).await;
    app.create_client("C-200", Some("100% Déneigé")).await;

    let search = |term: &'static str| {
        let app = &app;
        async move {
            let data = app
                .data(
                    "query($s: String) { clients(search: $s) { totalCount edges { node { externalId } } } }",
                    json!({"s": term}),
                )
                .await;
            let mut ids: Vec<String> = data["clients"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["externalId"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            assert_eq!(data["clients"]["totalCount"], ids.len());
            ids
        }
    };
    assert_eq!(search("QUEBEC").await, ["C-100"]);
    assert_eq!(search("lévis").await, ["LEVIS-7"]);
    assert_eq!(search("c-").await, ["C-100", "C-200"]);
    assert_eq!(search("100%").await, ["C-200"]);
    assert_eq!(search("_").await, Vec::<String>::new());
}

#[tokio::test]
async fn deleting_a_client_removes_its_points_and_occupants() {
    let app = spawn_app().await;
    let (client, point, occupant) = app.create_household("C-1").await;

    let body = app.delete("deleteClient", &client).await;
    assert_eq!(body["data"]["deleteClient"], client.as_str(), "{body:#}");

    let data = app
        .data(
            "query($p: ID!, $o: ID!) { servicePoint(id: $p) { id } node(id: $o) { id } servicePoints { totalCount } }",
            json!({"p": point, "o": occupant}),
        )
        .await;
    assert_eq!(
        data,
        json!({"servicePoint": null, "node": null, "servicePoints": {"totalCount": 0}})
    );
}

#[tokio::test]
async fn node_finds_each_type_by_its_global_id() {
    let app = spawn_app().await;
    let (client, point, occupant) = app.create_household("C-1").await;
    let data = app
        .data(
            "query($c: ID!, $p: ID!, $o: ID!) {
                c: node(id: $c) { __typename id }
                p: node(id: $p) { __typename id }
                o: node(id: $o) { __typename id ... on Occupant { phone } }
            }",
            json!({"c": client, "p": point, "o": occupant}),
        )
        .await;
    assert_eq!(data["c"], json!({"__typename": "Client", "id": client}));
    assert_eq!(
        data["p"],
        json!({"__typename": "ServicePoint", "id": point})
    );
    assert_eq!(
        data["o"],
        json!({"__typename": "Occupant", "id": occupant, "phone": "418-555-0123"})
    );
}

#[tokio::test]
async fn a_malformed_id_is_bad_input_and_an_id_of_another_type_is_null() {
    let app = spawn_app().await;
    let client = app.create_client("C-1", None).await;
    let body = app.graphql(CLIENT, json!({"id": "not an id"})).await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);
    let point = app.find("servicePoint", &client).await;
    assert_eq!(point, serde_json::Value::Null);
    let body = app.delete("deleteServicePoint", &client).await;
    assert_eq!(error_codes(&body), ["NOT_FOUND"]);
}
