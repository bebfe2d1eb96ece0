//! Sectors: a point belongs to a sector when its position is inside the
//! (multi)polygon, holes excluded and boundary included, and membership
//! follows every change of points, sectors and imports; alerts list who to
//! call; another organization's sectors stay apart.

use serde_json::{Value, json};

use crate::fixtures::{E, N, T, xlsx};
use crate::helpers::{TestApp, error_codes, error_message, first_error, nodes, spawn_app};

/// A square ring from (min, min) to (max, max), as [longitude, latitude].
fn ring(min_lon: f64, min_lat: f64, max_lon: f64, max_lat: f64) -> Value {
    json!([
        [min_lon, min_lat],
        [max_lon, min_lat],
        [max_lon, max_lat],
        [min_lon, max_lat],
        [min_lon, min_lat]
    ])
}

fn polygon(rings: Vec<Value>) -> Value {
    json!({"type": "Polygon", "coordinates": rings})
}

/// The sector most tests draw: it holds (46.85, -71.25), not (46.95, -71.25).
fn square() -> Value {
    polygon(vec![ring(-71.3, 46.8, -71.2, 46.9)])
}

async fn create_sector(app: &TestApp, name: &str, geometry: Value) -> String {
    let data = app
        .data(
            "mutation($input: SectorInput!) { createSector(input: $input) { id name } }",
            json!({"input": {"name": name, "geometry": geometry}}),
        )
        .await;
    data["createSector"]["id"].as_str().unwrap().to_owned()
}

/// A manual point at (latitude, longitude) for a new client named `id`.
async fn point_at(app: &TestApp, id: &str, latitude: f64, longitude: f64) -> String {
    let client = app.create_client(id, None).await;
    let street = json!({"addressLine1": "1 rue A"});
    let point = app
        .create_located_point(&client, street, latitude, longitude)
        .await;
    app.create_occupant(&point, "418-555-0101", "SMS").await;
    point
}

/// The `externalId` of a point's client.
fn client_id(point: &Value) -> String {
    point["client"]["externalId"].as_str().unwrap().to_owned()
}

/// The client ids of the sector's points, sorted.
async fn members(app: &TestApp, sector: &str) -> Vec<String> {
    let data = app
        .data(
            "query($s: ID!) { sector(id: $s) { servicePoints { totalCount edges { node { client { externalId } } } } } }",
            json!({"s": sector}),
        )
        .await;
    let points = &data["sector"]["servicePoints"];
    let mut ids: Vec<String> = nodes(points).map(client_id).collect();
    ids.sort();
    assert_eq!(points["totalCount"], ids.len());
    ids
}

#[tokio::test]
async fn a_polygon_with_a_hole_holds_its_boundary_but_not_its_hole() {
    let app = spawn_app().await;
    let sector = create_sector(
        &app,
        "Est",
        polygon(vec![
            ring(-71.3, 46.8, -71.2, 46.9),
            ring(-71.27, 46.83, -71.23, 46.87),
        ]),
    )
    .await;
    point_at(&app, "inside", 46.81, -71.29).await;
    point_at(&app, "hole", 46.85, -71.25).await;
    point_at(&app, "boundary", 46.8, -71.25).await;
    point_at(&app, "outside", 46.95, -71.25).await;
    let client = app.create_client("no-coordinates", None).await;
    app.create_service_point(&client, crate::helpers::address("2 rue B", "Québec", None))
        .await;

    assert_eq!(members(&app, &sector).await, ["boundary", "inside"]);
    let data = app
        .data(
            "query($s: ID!) {
                clients(sectorId: $s) { totalCount }
                servicePoints(sectorId: $s) { totalCount }
                all: servicePoints { edges { node { client { externalId } sectors { name } } } }
            }",
            json!({"s": sector}),
        )
        .await;
    assert_eq!(data["clients"]["totalCount"], 2);
    assert_eq!(data["servicePoints"]["totalCount"], 2);
    let sectors_of: Vec<(String, usize)> = nodes(&data["all"])
        .map(|point| (client_id(point), point["sectors"].as_array().unwrap().len()))
        .collect();
    assert_eq!(
        sectors_of,
        [
            ("inside".to_owned(), 1),
            ("hole".to_owned(), 0),
            ("boundary".to_owned(), 1),
            ("outside".to_owned(), 0),
            ("no-coordinates".to_owned(), 0)
        ]
    );
}

#[tokio::test]
async fn a_multipolygon_holds_each_of_its_parts() {
    let app = spawn_app().await;
    point_at(&app, "west", 46.85, -71.45).await;
    point_at(&app, "east", 46.85, -71.05).await;
    point_at(&app, "between", 46.85, -71.25).await;
    let geometry = json!({"type": "MultiPolygon", "coordinates": [[ring(-71.5, 46.8, -71.4, 46.9)], [ring(-71.1, 46.8, -71.0, 46.9)]]});
    let sector = create_sector(&app, "Deux rives", geometry).await;
    assert_eq!(members(&app, &sector).await, ["east", "west"]);
}

#[tokio::test]
async fn membership_follows_points_and_sectors_as_they_change() {
    let app = spawn_app().await;
    let sector = create_sector(&app, "Centre", square()).await;
    let point = point_at(&app, "mobile", 46.95, -71.25).await;
    assert_eq!(members(&app, &sector).await, Vec::<String>::new());

    let move_to = "mutation($p: ID!, $lat: Float, $lon: Float) { updateServicePoint(id: $p, input: {latitude: $lat, longitude: $lon}) { sectors { name } } }";
    let data = app
        .data(move_to, json!({"p": point, "lat": 46.85, "lon": -71.25}))
        .await;
    assert_eq!(
        data["updateServicePoint"]["sectors"],
        json!([{"name": "Centre"}])
    );
    assert_eq!(members(&app, &sector).await, ["mobile"]);

    // A new address without coordinates: no position, no sector.
    app.data(
        "mutation($p: ID!) { updateServicePoint(id: $p, input: {address: {addressLine1: \"9 rue Z\"}}) { id } }",
        json!({"p": point}),
    )
    .await;
    assert_eq!(members(&app, &sector).await, Vec::<String>::new());
    app.data(move_to, json!({"p": point, "lat": 46.85, "lon": -71.25}))
        .await;

    // Reshaped away from the point, then back.
    let reshape = "mutation($s: ID!, $g: JSON!) { updateSector(id: $s, input: {name: \"Centre\", geometry: $g}) { id } }";
    app.data(
        reshape,
        json!({"s": sector, "g": polygon(vec![ring(-71.0, 46.8, -70.9, 46.9)])}),
    )
    .await;
    assert_eq!(members(&app, &sector).await, Vec::<String>::new());
    app.data(reshape, json!({"s": sector, "g": square()})).await;
    assert_eq!(members(&app, &sector).await, ["mobile"]);

    let body = app.delete("deleteSector", &sector).await;
    assert_eq!(body["data"]["deleteSector"], sector.as_str(), "{body:#}");
    let data = app
        .data(
            "query($p: ID!) { servicePoint(id: $p) { sectors { name } } }",
            json!({"p": point}),
        )
        .await;
    assert_eq!(data["servicePoint"]["sectors"], json!([]));
}

/// Each stored membership's point and physical row (SQLite's rowid,
/// PostgreSQL's ctid): a row deleted and inserted again gets another.
async fn membership_rows(app: &TestApp) -> Vec<(uuid::Uuid, String)> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let backend = app.db.get_database_backend();
    let row = match backend {
        DbBackend::Postgres => "ctid::text",
        _ => "CAST(rowid AS TEXT)",
    };
    let sql = format!("SELECT service_point_id, {row} AS row FROM sector_membership");
    let mut rows: Vec<(uuid::Uuid, String)> = app
        .db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .expect("memberships")
        .iter()
        .map(|r| {
            (
                r.try_get("", "service_point_id").expect("point"),
                r.try_get("", "row").expect("row"),
            )
        })
        .collect();
    rows.sort();
    rows
}

/// The statements since the last reset that wrote memberships.
fn membership_writes(app: &TestApp) -> Vec<String> {
    app.statements()
        .into_iter()
        .filter(|sql| {
            let sql = sql.trim_start().to_uppercase();
            (sql.starts_with("INSERT") || sql.starts_with("DELETE"))
                && sql.contains("SECTOR_MEMBERSHIP")
        })
        .collect()
}

#[tokio::test]
async fn moving_a_sector_rewrites_only_the_memberships_that_change() {
    let app = spawn_app().await;
    let reshape = "mutation($s: ID!, $g: JSON!) { updateSector(id: $s, input: {name: \"Centre\", geometry: $g}) { id } }";
    let sector = create_sector(&app, "Centre", square()).await;
    point_at(&app, "stays-west", 46.85, -71.25).await;
    point_at(&app, "stays-east", 46.82, -71.22).await;
    point_at(&app, "leaves", 46.85, -71.29).await;
    point_at(&app, "enters", 46.85, -71.15).await;
    // A second sector holding every point, drawn after the first: its rows
    // keep the highest rowids, so a row of the first deleted and inserted
    // again could not get its old rowid back on SQLite.
    create_sector(&app, "Tout", polygon(vec![ring(-71.5, 46.7, -71.0, 47.0)])).await;
    assert_eq!(
        members(&app, &sector).await,
        ["leaves", "stays-east", "stays-west"]
    );
    let before = membership_rows(&app).await;

    // Moved east: two points stay inside, one leaves, one enters.
    app.reset_statements();
    app.data(
        reshape,
        json!({"s": sector, "g": polygon(vec![ring(-71.27, 46.8, -71.1, 46.9)])}),
    )
    .await;
    assert_eq!(
        members(&app, &sector).await,
        ["enters", "stays-east", "stays-west"]
    );
    let after = membership_rows(&app).await;
    let kept: Vec<&(uuid::Uuid, String)> =
        before.iter().filter(|row| after.contains(row)).collect();
    // The second sector's four rows and the first's two points still inside.
    assert_eq!(kept.len(), 6, "before {before:?}, after {after:?}");
    assert_eq!(after.len(), 7);
    assert_eq!(membership_writes(&app).len(), 2, "{:#?}", app.statements());

    // Redrawn larger without reaching another point: nothing to write.
    app.reset_statements();
    app.data(
        reshape,
        json!({"s": sector, "g": polygon(vec![ring(-71.275, 46.79, -71.1, 46.91)])}),
    )
    .await;
    assert_eq!(membership_writes(&app), Vec::<String>::new());
    assert_eq!(membership_rows(&app).await, after);
    assert_eq!(
        members(&app, &sector).await,
        ["enters", "stays-east", "stays-west"]
    );
}

#[tokio::test]
async fn an_import_places_its_points_in_sectors() {
    let app = spawn_app().await;
    let sector = create_sector(&app, "Nord", square()).await;
    let rows = vec![
        vec![
            T("Téléphone"),
            T("SMS/Appel"),
            T("Adresse"),
            T("Identifiant du client"),
            T("Latitude"),
            T("Longitude"),
        ],
        vec![
            T("418-555-0101"),
            T("SMS"),
            T("1 rue A, Québec"),
            T("in"),
            N(46.85),
            N(-71.25),
        ],
        vec![
            T("418-555-0102"),
            T("SMS"),
            T("2 rue A, Québec"),
            T("out"),
            N(46.95),
            N(-71.25),
        ],
        vec![
            T("418-555-0103"),
            T("SMS"),
            T("3 rue A, Québec"),
            T("unknown"),
            E,
            E,
        ],
    ];
    let run = app
        .import("c.xlsx", xlsx(&rows), json!({"mode": "MERGE_KEEP_MISSING"}))
        .await;
    assert_eq!(run["committed"], true);
    assert_eq!(members(&app, &sector).await, ["in"]);

    // Starting over keeps the sector and places the new points again.
    let run = app
        .import("c.xlsx", xlsx(&rows), json!({"mode": "REPLACE_ALL"}))
        .await;
    assert_eq!(members(&app, &sector).await, ["in"]);
    let body = app.undo_import(&run["id"]).await;
    assert_eq!(body["data"]["undoImport"]["undone"], true, "{body:#}");
    assert_eq!(members(&app, &sector).await, ["in"]);
}

#[tokio::test]
async fn an_alert_lists_its_recipients_and_is_kept_in_the_history() {
    let app = spawn_app().await;
    let sector = create_sector(&app, "Alerte", square()).await;
    let point = point_at(&app, "in", 46.85, -71.25).await;
    app.create_occupant(&point, "581-555-0102", "CALL").await;
    point_at(&app, "out", 46.95, -71.25).await;

    let alert = "mutation($s: ID!, $a: Boolean!) { setSectorAlert(id: $s, active: $a) { alertActive alertStartedAt } }";
    let data = app.data(alert, json!({"s": sector, "a": true})).await;
    assert_eq!(data["setSectorAlert"]["alertActive"], true);
    assert!(data["setSectorAlert"]["alertStartedAt"].is_string());
    let recipients = "alertRecipients { phone phoneE164 contactMethod servicePoint { fullAddress client { externalId } } }";
    assert_eq!(
        app.record("sector", &sector, recipients).await["alertRecipients"],
        json!([
            {"phone": "418-555-0101", "phoneE164": "+14185550101", "contactMethod": "SMS", "servicePoint": {"fullAddress": "1 rue A", "client": {"externalId": "in"}}},
            {"phone": "581-555-0102", "phoneE164": "+15815550102", "contactMethod": "CALL", "servicePoint": {"fullAddress": "1 rue A", "client": {"externalId": "in"}}}
        ])
    );

    let data = app.data(alert, json!({"s": sector, "a": false})).await;
    assert_eq!(
        data["setSectorAlert"],
        json!({"alertActive": false, "alertStartedAt": null})
    );
    let history = app
        .record(
            "sector",
            &sector,
            "alerts { startedAt endedAt recipientsCount }",
        )
        .await;
    let alerts = history["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["recipientsCount"], 2);
    assert!(alerts[0]["endedAt"].is_string());
}

#[tokio::test]
async fn invalid_geometries_are_refused_with_what_is_wrong() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"type": "Point", "coordinates": [-71.2, 46.8]}),
            "Point",
        ),
        (
            json!({"type": "Polygon", "coordinates": [[[-71.2, 46.8], [-71.1, 46.8], [-71.2, 46.8]]]}),
            "au moins 4 positions",
        ),
        (
            json!({"type": "Polygon", "coordinates": [[[-71.2, 46.8], [-71.1, 46.8], [-71.1, 46.9], [-71.2, 46.9]]]}),
            "pas fermé",
        ),
        (
            json!({"type": "Polygon", "coordinates": [[[46.8, -71.2], [46.9, -71.2], [46.9, -191.1], [46.8, -71.2]]]}),
            "Latitude -191.1",
        ),
        (
            json!({"type": "Polygon", "coordinates": [[[-191.2, 46.8], [-71.1, 46.8], [-71.1, 46.9], [-191.2, 46.8]]]}),
            "Longitude -191.2",
        ),
        (
            json!({"type": "Polygon", "coordinates": "nope"}),
            "illisible",
        ),
    ];
    for (geometry, expected) in cases {
        let body = app
            .graphql(
                "mutation($input: SectorInput!) { createSector(input: $input) { id } }",
                json!({"input": {"name": "X", "geometry": geometry}}),
            )
            .await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{body:#}");
        assert_eq!(
            first_error(&body)["extensions"]["reason"],
            "GEOMETRY_INVALID"
        );
        let message = error_message(&body);
        assert!(message.contains(expected), "{expected}: {message}");
    }
    let data = app.data("{ sectors { id } }", json!({})).await;
    assert_eq!(data["sectors"], json!([]));
}

/// Uploads `collection` (GeoJSON) to `importSectors` as `file_name`: the
/// whole response, each sector's name and point count.
async fn import_sectors(app: &TestApp, file_name: &str, collection: &Value) -> Value {
    let query = "mutation($file: Upload!) { importSectors(file: $file) { name servicePoints { totalCount } } }";
    let bytes = collection.to_string().into_bytes();
    app.upload_with(query, file_name, bytes, json!({}), None)
        .await
}

#[tokio::test]
async fn sectors_are_imported_from_a_feature_collection() {
    let app = spawn_app().await;
    point_at(&app, "in-a", 46.85, -71.25).await;
    let collection = json!({
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"name": "Secteur A"}, "geometry": square()},
            {"type": "Feature", "properties": {"nom": "Secteur B", "couleur": "rouge"}, "geometry": polygon(vec![ring(-71.1, 46.8, -71.0, 46.9)])},
            {"type": "Feature", "properties": null, "geometry": polygon(vec![ring(-70.1, 46.8, -70.0, 46.9)])}
        ]
    });
    let body = import_sectors(&app, "secteurs.geojson", &collection).await;
    assert_eq!(
        body["data"]["importSectors"],
        json!([
            {"name": "Secteur A", "servicePoints": {"totalCount": 1}},
            {"name": "Secteur B", "servicePoints": {"totalCount": 0}},
            {"name": "Secteur 3", "servicePoints": {"totalCount": 0}}
        ])
    );

    // One bad feature: nothing is created.
    let bad = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Ok"}, "geometry": square()},
        {"type": "Feature", "properties": {"name": "Bad"}, "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}
    ]});
    let body = import_sectors(&app, "bad.geojson", &bad).await;
    assert_eq!(
        first_error(&body)["extensions"]["reason"],
        "GEOMETRY_INVALID"
    );
    assert!(error_message(&body).starts_with("Entité 2"));
    let data = app.data("{ sectors { name } }", json!({})).await;
    assert_eq!(data["sectors"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn another_organizations_sectors_and_points_stay_apart() {
    let app = spawn_app().await;
    let sector = create_sector(&app, "Mien", square()).await;
    point_at(&app, "mine", 46.85, -71.25).await;
    let other = app.new_org("Concurrent").await;
    let as_other =
        async |query: &str, variables| app.graphql_as(Some(&other), query, variables).await;

    let data = as_other(
        "query($s: ID!) { sector(id: $s) { id } sectors { id } node(id: $s) { id } }",
        json!({"s": sector}),
    )
    .await;
    assert_eq!(
        data["data"],
        json!({"sector": null, "sectors": [], "node": null})
    );
    for (mutation, variables) in [
        (
            "mutation($s: ID!) { deleteSector(id: $s) }",
            json!({"s": sector}),
        ),
        (
            "mutation($s: ID!) { setSectorAlert(id: $s, active: true) { id } }",
            json!({"s": sector}),
        ),
        (
            "mutation($s: ID!, $g: JSON!) { updateSector(id: $s, input: {name: \"x\", geometry: $g}) { id } }",
            json!({"s": sector, "g": polygon(vec![ring(0.0, 0.0, 1.0, 1.0)])}),
        ),
    ] {
        let body = as_other(mutation, variables).await;
        assert_eq!(error_codes(&body), ["NOT_FOUND"], "{mutation}");
    }

    // Their sector over our point never lists it.
    let body = as_other("mutation($g: JSON!) { createSector(input: {name: \"Leur\", geometry: $g}) { servicePoints { totalCount } alertRecipients { phone } } }", json!({"g": square()})).await;
    assert_eq!(
        body["data"]["createSector"],
        json!({"servicePoints": {"totalCount": 0}, "alertRecipients": []})
    );
    let body = as_other(
        "query($s: ID!) { servicePoints(sectorId: $s) { totalCount } }",
        json!({"s": sector}),
    )
    .await;
    assert_eq!(body["data"]["servicePoints"]["totalCount"], 0);
    assert_eq!(members(&app, &sector).await, ["mine"]);
}
