//! Relay connections: cursors walk a list once, nested lists paginate, and
//! `first` is capped (configurably) so no page can be unbounded.

use serde_json::json;

use crate::helpers::{error_codes, error_message, spawn_app};

const PAGE: &str = "query($first: Int, $after: String) { clients(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { externalId } } } }";

fn ids(data: &serde_json::Value) -> Vec<&str> {
    data["clients"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["externalId"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn cursors_walk_the_whole_list_once() {
    let app = spawn_app().await;
    for i in 1..=5 {
        app.create_client(&format!("C-{i}"), None).await;
    }
    let first = app.data(PAGE, json!({"first": 2})).await;
    assert_eq!(ids(&first), ["C-1", "C-2"]);
    assert_eq!(first["clients"]["totalCount"], 5);
    assert_eq!(first["clients"]["pageInfo"]["hasNextPage"], true);
    let cursor = first["clients"]["pageInfo"]["endCursor"].clone();
    assert_eq!(cursor, first["clients"]["edges"][1]["cursor"]);

    let second = app.data(PAGE, json!({"first": 2, "after": cursor})).await;
    assert_eq!(ids(&second), ["C-3", "C-4"]);
    let third = app
        .data(
            PAGE,
            json!({"first": 2, "after": second["clients"]["pageInfo"]["endCursor"]}),
        )
        .await;
    assert_eq!(ids(&third), ["C-5"]);
    assert_eq!(third["clients"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(third["clients"]["totalCount"], 5);
}

#[tokio::test]
async fn nested_connections_paginate_too() {
    let app = spawn_app().await;
    let client = app.create_client("C-1", None).await;
    for i in 1..=3 {
        app.create_service_point(
            &client,
            crate::helpers::address(&format!("{i} rue A"), "Québec", None),
        )
        .await;
    }
    let query = "query($id: ID!, $after: String) { client(id: $id) { servicePoints(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { addressLine1 } } } } }";
    let data = app.data(query, json!({"id": client})).await;
    let points = &data["client"]["servicePoints"];
    assert_eq!(points["totalCount"], 3);
    assert_eq!(points["pageInfo"]["hasNextPage"], true);
    assert_eq!(points["edges"][1]["node"]["addressLine1"], "2 rue A");
    let data = app
        .data(
            query,
            json!({"id": client, "after": points["pageInfo"]["endCursor"]}),
        )
        .await;
    let points = &data["client"]["servicePoints"];
    assert_eq!(points["edges"].as_array().unwrap().len(), 1);
    assert_eq!(points["edges"][0]["node"]["addressLine1"], "3 rue A");
    assert_eq!(points["pageInfo"]["hasNextPage"], false);
}

#[tokio::test]
async fn first_is_capped_and_bad_cursors_are_refused() {
    let app = spawn_app().await;
    let body = app.graphql(PAGE, json!({"first": 501})).await;
    assert_eq!(error_codes(&body), ["LIMIT_EXCEEDED"]);
    let body = app.graphql(PAGE, json!({"first": -1})).await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);
    let body = app.graphql(PAGE, json!({"after": "%%%"})).await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);
    let data = app.data(PAGE, json!({"first": 500})).await;
    assert_eq!(data["clients"]["totalCount"], 0);
}

#[tokio::test]
async fn the_cap_on_first_is_configurable() {
    let app = crate::helpers::spawn_app_with(|config| config.limits.max_page_size = 10).await;
    let body = app.graphql(PAGE, json!({"first": 11})).await;
    assert_eq!(error_codes(&body), ["LIMIT_EXCEEDED"]);
    assert!(error_message(&body).contains("10"));
}
