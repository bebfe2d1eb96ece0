//! Service points: addresses normalized and validated field by field, one
//! point per address and client, coordinates by hand or pending geocoding.

use serde_json::json;

use crate::helpers::{address, error_codes, error_reason, first_error, spawn_app};

/// What the tests read of a stored point.
const POINT: &str = "addressLine1 city province postalCode fullAddress latitude longitude geocodeStatus client { externalId }";

#[tokio::test]
async fn a_point_without_coordinates_is_pending_with_its_province_inferred() {
    let app = spawn_app().await;
    let client = app.create_client("C-1", None).await;
    let point = app
        .create_service_point(
            &client,
            address(" 999  Rue exemple ", "Québec", Some("g1p0a0")),
        )
        .await;
    assert_eq!(
        app.record("servicePoint", &point, POINT).await,
        json!({
            "addressLine1": "999 Rue exemple",
            "city": "Québec",
            "province": "QC",
            "postalCode": "G1P 0A0",
            "fullAddress": "999 Rue exemple, Québec, QC, G1P 0A0",
            "latitude": null,
            "longitude": null,
            "geocodeStatus": "PENDING",
            "client": {"externalId": "C-1"}
        })
    );
}

#[tokio::test]
async fn coordinates_given_by_hand_are_manual() {
    let app = spawn_app().await;
    let client = app.create_client("C-1", None).await;
    let street = json!({"addressLine1": "1 rue A", "province": "Québec"});
    let point = app
        .create_located_point(&client, street, 46.81, -71.22)
        .await;
    assert_eq!(
        app.record("servicePoint", &point, POINT).await,
        json!({"addressLine1": "1 rue A", "city": null, "province": "QC", "postalCode": null, "fullAddress": "1 rue A, QC",
            "latitude": 46.81, "longitude": -71.22, "geocodeStatus": "MANUAL", "client": {"externalId": "C-1"}})
    );
}

#[tokio::test]
async fn invalid_addresses_are_refused_with_the_field_at_fault() {
    let app = spawn_app().await;
    let client = app.create_client("C-1", None).await;
    let create =
        "mutation($input: CreateServicePointInput!) { createServicePoint(input: $input) { id } }";
    let cases = [
        (
            json!({"addressLine1": "1 rue A", "postalCode": "12345"}),
            json!(null),
            json!(null),
            "POSTAL_CODE_INVALID",
            "postalCode",
        ),
        (
            json!({"addressLine1": "1 rue A", "province": "Texas"}),
            json!(null),
            json!(null),
            "PROVINCE_INVALID",
            "province",
        ),
        (
            json!({"addressLine1": "  "}),
            json!(null),
            json!(null),
            "REQUIRED",
            "addressLine1",
        ),
        (
            json!({"addressLine1": "1 rue A"}),
            json!(46.8),
            json!(null),
            "COORDINATES_INCOMPLETE",
            "",
        ),
        (
            json!({"addressLine1": "1 rue A"}),
            json!(95.0),
            json!(-71.0),
            "LATITUDE_INVALID",
            "latitude",
        ),
        (
            json!({"addressLine1": "1 rue A"}),
            json!(46.0),
            json!(-200.0),
            "LONGITUDE_INVALID",
            "longitude",
        ),
    ];
    for (address, latitude, longitude, reason, field) in cases {
        let input = json!({"clientId": client, "address": address, "latitude": latitude, "longitude": longitude});
        let body = app.graphql(create, json!({"input": input})).await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{reason}");
        assert_eq!(error_reason(&body), reason);
        assert_eq!(
            first_error(&body)["extensions"]["field"]
                .as_str()
                .unwrap_or(""),
            field
        );
    }
    let data = app
        .data("{ servicePoints { totalCount } }", json!({}))
        .await;
    assert_eq!(data["servicePoints"]["totalCount"], 0);
}

#[tokio::test]
async fn the_same_address_written_two_ways_is_one_point_per_client() {
    let app = spawn_app().await;
    let client = app.create_client("C-1", None).await;
    app.create_service_point(&client, address("12 boul. St-Joseph", "Québec", None))
        .await;
    let body = app
        .graphql(
            "mutation($input: CreateServicePointInput!) { createServicePoint(input: $input) { id } }",
            json!({"input": {"clientId": client, "address": address("12, Boulevard Saint Joseph", "QUEBEC", None)}}),
        )
        .await;
    assert_eq!(error_reason(&body), "DUPLICATE_ADDRESS");

    // Another client may have a point at the same address.
    let other = app.create_client("C-2", None).await;
    app.create_service_point(&other, address("12 boul. St-Joseph", "Québec", None))
        .await;
}

#[tokio::test]
async fn moving_a_point_drops_its_position_and_respelling_keeps_it() {
    let app = spawn_app().await;
    let (_, point) = app.create_client_with_point("C-1").await;
    let update = "mutation($id: ID!, $input: UpdateServicePointInput!) {
        updateServicePoint(id: $id, input: $input) { addressLine1 latitude longitude geocodeStatus } }";

    // Each step's input, and the point it leaves.
    let steps = [
        (
            json!({"latitude": 46.8, "longitude": -71.2}),
            json!({"addressLine1": "1 rue A", "latitude": 46.8, "longitude": -71.2, "geocodeStatus": "MANUAL"}),
        ),
        (
            json!({"address": address("1, RUE A", "Quebec", None)}),
            json!({"addressLine1": "1, RUE A", "latitude": 46.8, "longitude": -71.2, "geocodeStatus": "MANUAL"}),
        ),
        (
            json!({"address": address("2 rue B", "Québec", None)}),
            json!({"addressLine1": "2 rue B", "latitude": null, "longitude": null, "geocodeStatus": "PENDING"}),
        ),
        (
            json!({"latitude": 46.8, "longitude": -71.2}),
            json!({"addressLine1": "2 rue B", "latitude": 46.8, "longitude": -71.2, "geocodeStatus": "MANUAL"}),
        ),
        (
            json!({"latitude": null, "longitude": null}),
            json!({"addressLine1": "2 rue B", "latitude": null, "longitude": null, "geocodeStatus": "PENDING"}),
        ),
    ];
    for (input, expected) in steps {
        let data = app.data(update, json!({"id": point, "input": input})).await;
        assert_eq!(data["updateServicePoint"], expected, "after {input}");
    }
}

#[tokio::test]
async fn service_points_filter_by_client_and_geocode_status() {
    let app = spawn_app().await;
    let first = app.create_client("C-1", None).await;
    let second = app.create_client("C-2", None).await;
    app.create_service_point(&first, address("1 rue A", "Québec", None))
        .await;
    app.create_service_point(&first, address("2 rue A", "Québec", None))
        .await;
    app.create_located_point(&second, json!({"addressLine1": "3 rue A"}), 46.8, -71.2)
        .await;
    let data = app
        .data(
            "query($c: ID!) {
                byClient: servicePoints(clientId: $c) { totalCount }
                manual: servicePoints(geocodeStatus: MANUAL) { totalCount edges { node { addressLine1 } } }
                pending: servicePoints(geocodeStatus: PENDING) { totalCount }
            }",
            json!({"c": first}),
        )
        .await;
    assert_eq!(data["byClient"]["totalCount"], 2);
    assert_eq!(data["manual"]["totalCount"], 1);
    assert_eq!(
        data["manual"]["edges"][0]["node"]["addressLine1"],
        "3 rue A"
    );
    assert_eq!(data["pending"]["totalCount"], 2);
}

#[tokio::test]
async fn deleting_a_point_removes_its_occupants() {
    let app = spawn_app().await;
    let (_, point) = app.create_client_with_point("C-1").await;
    let occupant = app.create_occupant(&point, "418-555-0123", "CALL").await;
    let body = app.delete("deleteServicePoint", &point).await;
    assert_eq!(
        body["data"]["deleteServicePoint"],
        point.as_str(),
        "{body:#}"
    );
    assert_eq!(
        app.find("occupant", &occupant).await,
        serde_json::Value::Null
    );
    let body = app.delete("deleteServicePoint", &point).await;
    assert_eq!(error_codes(&body), ["NOT_FOUND"]);
}
