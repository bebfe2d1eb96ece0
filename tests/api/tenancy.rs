//! Tenant isolation: another organization's IDs behave exactly like IDs
//! that do not exist. Swept from the schema itself: every query, mutation
//! and subscription field that takes an `ID` (as an argument, or inside an
//! input object) is called as organization B with organization A's ids.
//! A field the table below does not cover fails the test, so a new one
//! cannot slip past. A's data must come out unchanged; B sees nothing.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::fixtures::{header, pont_tenants, xlsx};
use crate::helpers::{TestApp, error_codes, spawn_app_with};
use crate::jobs::subscribe_over_http;
use crate::webhooks::{Receiver, create_endpoint};

/// Each ID-taking field, the call that uses it with `$id`, and which of
/// A's records `$id` is.
const CALLS: &[(&str, &str, &str)] = &[
    (
        "Query.node",
        "query($id: ID!) { node(id: $id) { id } }",
        "client",
    ),
    (
        "Query.client",
        "query($id: ID!) { client(id: $id) { id } }",
        "client",
    ),
    (
        "Query.alert",
        "query($id: ID!) { alert(id: $id) { id } }",
        "alert",
    ),
    (
        "Query.clients",
        "query($id: ID) { clients(sectorId: $id) { totalCount edges { node { id } } } }",
        "sector",
    ),
    (
        "Query.servicePoint",
        "query($id: ID!) { servicePoint(id: $id) { id } }",
        "point",
    ),
    (
        "Query.servicePoints",
        "query($id: ID) { servicePoints(clientId: $id) { totalCount edges { node { id } } } }",
        "client",
    ),
    (
        "Query.occupant",
        "query($id: ID!) { occupant(id: $id) { id } }",
        "occupant",
    ),
    (
        "Query.importRun",
        "query($id: ID!) { importRun(id: $id) { id } }",
        "run",
    ),
    (
        "Query.sector",
        "query($id: ID!) { sector(id: $id) { id } }",
        "sector",
    ),
    (
        "Query.previewMessage",
        "query($id: ID!) { previewMessage(input: {channel: SMS, language: FR, occupantId: $id}) { text } }",
        "occupant",
    ),
    (
        "Mutation.requestConsent",
        "mutation($id: ID!) { requestConsent(occupantIds: [$id]) }",
        "occupant",
    ),
    (
        "Mutation.updateClient",
        "mutation($id: ID!) { updateClient(id: $id, input: {name: \"Volé\"}) { id } }",
        "client",
    ),
    (
        "Mutation.deleteClient",
        "mutation($id: ID!) { deleteClient(id: $id) }",
        "client",
    ),
    (
        "Mutation.createServicePoint",
        "mutation($id: ID!) { createServicePoint(input: {clientId: $id, address: {addressLine1: \"2 rue B\"}}) { id } }",
        "client",
    ),
    (
        "Mutation.updateServicePoint",
        "mutation($id: ID!) { updateServicePoint(id: $id, input: {latitude: 1, longitude: 1}) { id } }",
        "point",
    ),
    (
        "Mutation.deleteServicePoint",
        "mutation($id: ID!) { deleteServicePoint(id: $id) }",
        "point",
    ),
    (
        "Mutation.createOccupant",
        "mutation($id: ID!) { createOccupant(input: {servicePointId: $id, phone: \"418-555-0199\", contactMethod: SMS}) { id } }",
        "point",
    ),
    (
        "Mutation.updateOccupant",
        "mutation($id: ID!) { updateOccupant(id: $id, input: {notes: \"x\"}) { id } }",
        "occupant",
    ),
    (
        "Mutation.deleteOccupant",
        "mutation($id: ID!) { deleteOccupant(id: $id) }",
        "occupant",
    ),
    (
        "Mutation.undoImport",
        "mutation($id: ID!) { undoImport(id: $id) { id } }",
        "run",
    ),
    (
        "Mutation.updateSector",
        "mutation($id: ID!) { updateSector(id: $id, input: {name: \"Volé\", geometry: {type: \"Polygon\", coordinates: [[[0,0],[1,0],[1,1],[0,0]]]}}) { id } }",
        "sector",
    ),
    (
        "Mutation.deleteSector",
        "mutation($id: ID!) { deleteSector(id: $id) }",
        "sector",
    ),
    (
        "Mutation.setSectorAlert",
        "mutation($id: ID!) { setSectorAlert(id: $id, active: true) { id } }",
        "sector",
    ),
    (
        "Mutation.startSectorAlert",
        "mutation($id: ID!) { startSectorAlert(id: $id) { id } }",
        "sector",
    ),
    (
        "Mutation.updateWebhookEndpoint",
        "mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {enabled: false}) { id } }",
        "endpoint",
    ),
    (
        "Mutation.deleteWebhookEndpoint",
        "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }",
        "endpoint",
    ),
    (
        "Mutation.rotateWebhookSecret",
        "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }",
        "endpoint",
    ),
    (
        "Mutation.sendTestWebhook",
        "mutation($id: ID!) { sendTestWebhook(id: $id) { id } }",
        "endpoint",
    ),
    ("Subscription.importProgress", "", "run"),
];

const INTROSPECTION: &str = "{ __schema {
  queryType { name } mutationType { name } subscriptionType { name }
  types { kind name
    fields { name args { name type { ...Ref } } }
    inputFields { name type { ...Ref } } } } }
fragment Ref on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

/// The named type under NON_NULL and LIST wrappers.
fn named(reference: &Value) -> &str {
    match reference["name"].as_str() {
        Some(name) => name,
        None => named(&reference["ofType"]),
    }
}

/// `Type.field` of every root field taking an ID, directly or in an input.
async fn id_taking_fields(app: &TestApp) -> BTreeSet<String> {
    let schema = app.data(INTROSPECTION, json!({})).await["__schema"].clone();
    let types = schema["types"].as_array().unwrap();
    let inputs_with_ids: BTreeSet<&str> = types
        .iter()
        .filter(|t| t["kind"] == "INPUT_OBJECT")
        .filter(|t| {
            t["inputFields"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| named(&f["type"]) == "ID")
        })
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let mut found = BTreeSet::new();
    for root in ["queryType", "mutationType", "subscriptionType"] {
        let name = schema[root]["name"].as_str().unwrap();
        let root = types.iter().find(|t| t["name"] == name).unwrap();
        for field in root["fields"].as_array().unwrap() {
            let takes_id = field["args"].as_array().unwrap().iter().any(|arg| {
                let ty = named(&arg["type"]);
                ty == "ID" || inputs_with_ids.contains(ty)
            });
            if takes_id {
                found.insert(format!("{name}.{}", field["name"].as_str().unwrap()));
            }
        }
    }
    found
}

/// Everything A owns, as A reads it: compared before and after B's tries.
const A_SEES: &str = "{
  clients { totalCount edges { node { id externalId name servicePoints(first: 10) { edges { node { id fullAddress latitude longitude
    occupants { id phone notes } } } } } } }
  sectors { id name alertActive }
  importRuns { totalCount edges { node { id undone committed } } }
  webhookEndpoints { id url enabled events }
}";

#[tokio::test]
async fn organization_b_reaches_nothing_of_organization_a_through_any_id() {
    let app = spawn_app_with(|config| config.webhooks.webhook_allow_private = true).await;
    // A's records of every kind.
    let run = app.import_pont_tenants("REPLACE_ALL").await;
    let client = app.data("{ clients { edges { node { id servicePoints(first: 10) { edges { node { id occupants { id } } } } } } } }", json!({})).await;
    let client = &client["clients"]["edges"][0]["node"];
    let point = &client["servicePoints"]["edges"][0]["node"];
    let square = json!({"type": "Polygon", "coordinates": [[[-71.3, 46.8], [-71.2, 46.8], [-71.2, 46.9], [-71.3, 46.9], [-71.3, 46.8]]]});
    let sector = app
        .data(
            "mutation($g: JSON!) { createSector(input: {name: \"Centre\", geometry: $g}) { id } }",
            json!({"g": square}),
        )
        .await["createSector"]["id"]
        .clone();
    let alerted = app
        .data(
            "mutation($g: JSON!) { createSector(input: {name: \"Alerte\", geometry: $g}) { id } }",
            json!({"g": square}),
        )
        .await["createSector"]["id"]
        .clone();
    let alert = app
        .data(
            "mutation($id: ID!) { startSectorAlert(id: $id) { id } }",
            json!({"id": alerted}),
        )
        .await["startSectorAlert"]["id"]
        .clone();
    let receiver = Receiver::start(0).await;
    let (endpoint, _) = create_endpoint(&app, &app.token, &receiver.url, &["TEST"]).await;
    let ids = json!({
        "client": client["id"], "point": point["id"], "occupant": point["occupants"][0]["id"],
        "run": run["id"], "sector": sector, "endpoint": endpoint, "alert": alert,
    });
    let before = app.data(A_SEES, json!({})).await;

    let fields = id_taking_fields(&app).await;
    let covered: BTreeSet<String> = CALLS.iter().map(|(field, ..)| field.to_string()).collect();
    assert_eq!(fields, covered, "every ID-taking field must be in CALLS");

    let b = app.new_org("Concurrent").await;
    for (field, call, kind) in CALLS {
        let id = ids[*kind].clone();
        if field.starts_with("Subscription.") {
            let parts = subscribe_over_http(&app.address, &b, &id).await;
            assert_eq!(parts.len(), 1, "{field}: {parts:#?}");
            assert_eq!(
                parts[0]["errors"][0]["extensions"]["code"], "NOT_FOUND",
                "{field}"
            );
            continue;
        }
        let body = app.graphql_as(Some(&b), call, json!({"id": id})).await;
        // A preview of nothing has nothing to show: not found, as mutations.
        if field.starts_with("Query.") && *field != "Query.previewMessage" {
            // Not found, as if the id did not exist: null or an empty list.
            assert!(body.get("errors").is_none(), "{field}: {body:#}");
            let data = &body["data"];
            let root = data.as_object().unwrap().values().next().unwrap();
            assert!(
                root.is_null() || root["totalCount"] == 0,
                "{field}: {body:#}"
            );
        } else {
            assert_eq!(error_codes(&body), ["NOT_FOUND"], "{field}: {body:#}");
        }
    }

    // A's data is as it was; B's export holds no row of A's.
    assert_eq!(app.data(A_SEES, json!({})).await, before);
    let export = app.get_as(Some(&b), "/export.xlsx", &[]).await;
    let rows = crate::spreadsheets::cells(&export.body, "Clients");
    assert_eq!(
        rows.len(),
        1,
        "B's export: a header and nothing else: {rows:?}"
    );
    assert!(
        receiver.received().is_empty(),
        "B's test webhook reached A's endpoint"
    );

    // A destructive import by A leaves B's records alone.
    let [ana, _] = pont_tenants();
    let b_run = app
        .graphql_as(Some(&b), "{ clients { totalCount } }", json!({}))
        .await;
    assert_eq!(b_run["data"]["clients"]["totalCount"], 0);
    crate::helpers::Upload {
        query: crate::helpers::IMPORT,
        file_name: "b.xlsx",
        bytes: xlsx(&[header(), ana.clone()]),
        variables: json!({"mode": "MERGE_KEEP_MISSING"}),
        lang: None,
    }
    .send(&app.http, &app.address, &b)
    .await;
    app.import(
        "a2.xlsx",
        xlsx(&[header(), ana]),
        json!({"mode": "REPLACE_ALL"}),
    )
    .await;
    let b_after = app
        .graphql_as(
            Some(&b),
            "{ clients { totalCount } servicePoints { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(b_after["data"]["clients"]["totalCount"], 1, "{b_after:#}");
    assert_eq!(
        b_after["data"]["servicePoints"]["totalCount"], 1,
        "{b_after:#}"
    );
}

/// Beside the sweep of ID-taking fields: B's unfiltered lists are empty.
#[tokio::test]
async fn another_organizations_lists_hold_none_of_its_records() {
    let app = crate::helpers::spawn_app().await;
    app.create_household("C-1").await;
    let other = app.new_org("Concurrent").await;
    let data = app
        .graphql_as(
            Some(&other),
            "{ clients { totalCount edges { node { id } } } servicePoints { totalCount }
               sectors { id } importRuns { totalCount } }",
            json!({}),
        )
        .await;
    assert!(data.get("errors").is_none(), "{data:#}");
    assert_eq!(
        data["data"],
        json!({
            "clients": {"totalCount": 0, "edges": []},
            "servicePoints": {"totalCount": 0},
            "sectors": [],
            "importRuns": {"totalCount": 0}
        })
    );
}

#[tokio::test]
async fn the_same_external_id_may_exist_in_two_organizations() {
    let app = crate::helpers::spawn_app().await;
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
