//! Another organization's IDs behave exactly like IDs that do not exist.

use serde_json::json;

use crate::helpers::{error_codes, spawn_app};

#[tokio::test]
async fn another_organizations_records_are_invisible_and_untouchable() {
    let app = spawn_app().await;
    let (client, point, occupant) = app.create_household("C-1").await;
    app.data(
        "mutation($c: ID!) { updateClient(id: $c, input: {name: \"Mine\"}) { id } }",
        json!({"c": client}),
    )
    .await;
    let other = app.new_org("Concurrent").await;
    let ids = json!({"c": client, "p": point, "o": occupant});

    let data = app
        .graphql_as(
            Some(&other),
            "query($c: ID!, $p: ID!, $o: ID!) {
                client(id: $c) { id } servicePoint(id: $p) { id } occupant(id: $o) { id }
                nc: node(id: $c) { id } np: node(id: $p) { id } no: node(id: $o) { id }
                clients { totalCount edges { node { id } } }
                servicePoints { totalCount }
                byClient: servicePoints(clientId: $c) { totalCount edges { node { id } } }
            }",
            ids.clone(),
        )
        .await;
    assert!(data.get("errors").is_none(), "{data:#}");
    assert_eq!(
        data["data"],
        json!({
            "client": null, "servicePoint": null, "occupant": null, "nc": null, "np": null, "no": null,
            "clients": {"totalCount": 0, "edges": []},
            "servicePoints": {"totalCount": 0},
            "byClient": {"totalCount": 0, "edges": []}
        })
    );

    // Each mutation names one of `ids`, and ignores the others.
    let mutations = [
        "mutation($c: ID!) { updateClient(id: $c, input: {name: \"Stolen\"}) { id } }",
        "mutation($c: ID!) { deleteClient(id: $c) }",
        "mutation($c: ID!) { createServicePoint(input: {clientId: $c, address: {addressLine1: \"2 rue B\"}}) { id } }",
        "mutation($p: ID!) { updateServicePoint(id: $p, input: {latitude: 1, longitude: 1}) { id } }",
        "mutation($p: ID!) { deleteServicePoint(id: $p) }",
        "mutation($p: ID!) { createOccupant(input: {servicePointId: $p, phone: \"418-555-0199\", contactMethod: SMS}) { id } }",
        "mutation($o: ID!) { updateOccupant(id: $o, input: {notes: \"x\"}) { id } }",
        "mutation($o: ID!) { deleteOccupant(id: $o) }",
    ];
    for mutation in mutations {
        let body = app.graphql_as(Some(&other), mutation, ids.clone()).await;
        assert_eq!(error_codes(&body), ["NOT_FOUND"], "{mutation}");
    }

    // The owner still sees everything exactly as it was.
    let seen = "name servicePoints { edges { node { latitude occupants { phone notes } } } }";
    assert_eq!(
        app.record("client", &client, seen).await,
        json!({"name": "Mine", "servicePoints": {"edges": [{"node": {"latitude": null, "occupants": [{"phone": "418-555-0123", "notes": null}]}}]}})
    );
}

#[tokio::test]
async fn the_same_external_id_may_exist_in_two_organizations() {
    let app = spawn_app().await;
    app.create_client("C-1", None).await;
    let other = app.new_org("Concurrent").await;
    let body = app
        .graphql_as(
            Some(&other),
            r#"mutation { createClient(input: {externalId: "C-1"}) { externalId } }"#,
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["createClient"]["externalId"], "C-1");
}
