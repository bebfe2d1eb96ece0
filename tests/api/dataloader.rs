//! A nested query issues the same number of SQL statements over 10 clients
//! as over 100, over 3 sectors as over 10, over 3 import runs as over 10:
//! every nested field is batched by a dataloader. (The token is looked up
//! once, then trusted for `AUTH_CACHE_TTL`.)

use serde_json::json;

use crate::helpers::TestApp;

const FROM_CLIENTS: &str = "query($first: Int) { clients(first: $first) { edges { node { externalId
    servicePoints(first: 10) { edges { node { addressLine1 client { externalId }
        occupants { phone servicePoint { addressLine1 } } } } } } } } }";

const FROM_POINTS: &str =
    "query($first: Int) { servicePoints(first: $first) { edges { node { addressLine1
    client { externalId } occupants { phone } } } } }";

/// Creates `n` clients, each with one point and two occupants, in three
/// requests of aliased mutations.
async fn seed(app: &TestApp, n: usize) {
    let clients: String = (0..n)
        .map(|i| format!("c{i}: createClient(input: {{externalId: \"C-{i}\"}}) {{ id }} "))
        .collect();
    let data = app
        .data(&format!("mutation {{ {clients} }}"), json!({}))
        .await;
    let points: String = (0..n)
        .map(|i| {
            let id = data[format!("c{i}")]["id"].as_str().unwrap();
            format!("p{i}: createServicePoint(input: {{clientId: \"{id}\", address: {{addressLine1: \"{i} rue A\"}}}}) {{ id }} ")
        })
        .collect();
    let data = app
        .data(&format!("mutation {{ {points} }}"), json!({}))
        .await;
    let occupants: String = (0..n)
        .flat_map(|i| {
            let id = data[format!("p{i}")]["id"].as_str().unwrap().to_owned();
            (0..2).map(move |k| {
                format!("o{i}_{k}: createOccupant(input: {{servicePointId: \"{id}\", phone: \"418-555-{:04}\", contactMethod: SMS}}) {{ id }} ", k)
            })
        })
        .collect();
    app.data(&format!("mutation {{ {occupants} }}"), json!({}))
        .await;
}

async fn statements_for(app: &TestApp, query: &str, first: usize) -> Vec<String> {
    app.reset_statements();
    let data = app.data(query, json!({"first": first})).await;
    let list = data.as_object().unwrap().values().next().unwrap();
    assert_eq!(list["edges"].as_array().unwrap().len(), first);
    app.statements()
}

#[tokio::test]
async fn nested_queries_cost_the_same_statements_for_10_or_100_clients() {
    let app = spawn_app_with_big_queries().await;
    seed(&app, 100).await;

    // Clients page, points of those clients, occupants of those points;
    // the way back up (`client`, `servicePoint`) is already known.
    let for_10 = statements_for(&app, FROM_CLIENTS, 10).await;
    let for_100 = statements_for(&app, FROM_CLIENTS, 100).await;
    assert_eq!(for_10.len(), 3, "{for_10:#?}");
    assert_eq!(for_100.len(), 3, "{for_100:#?}");

    // Points page, clients by id, occupants of points.
    let for_10 = statements_for(&app, FROM_POINTS, 10).await;
    let for_100 = statements_for(&app, FROM_POINTS, 100).await;
    assert_eq!(for_10.len(), 3, "{for_10:#?}");
    assert_eq!(for_100.len(), 3, "{for_100:#?}");

    // And what the occupants' phones said: one more, for the whole page.
    let for_10 = statements_for(&app, WITH_CONSENT, 10).await;
    let for_100 = statements_for(&app, WITH_CONSENT, 100).await;
    assert_eq!(for_10.len(), 3, "{for_10:#?}");
    assert_eq!(for_100.len(), 3, "{for_100:#?}");
}

const WITH_CONSENT: &str = "query($first: Int) { servicePoints(first: $first) { edges { node {
    occupants { phone language consentStatus optedOutAt } } } } }";

const FROM_SECTORS: &str = "{ sectors { name
    servicePoints(first: 1) { totalCount pageInfo { hasNextPage }
        edges { node { addressLine1 client { externalId } occupants { phone } } } }
    alertRecipients { phone servicePoint { addressLine1 } }
    alerts { recipientsCount endedAt } } }";

/// Sectors `from..to`, side by side, each holding two points of one
/// occupant each and one past alert; a few requests of aliased mutations.
async fn seed_sectors(app: &TestApp, from: usize, to: usize) {
    let square = |i: usize| {
        let (lon, lat) = (-71.0 + i as f64 * 0.01, 46.8);
        let ring = [
            (0.0, 0.0),
            (0.005, 0.0),
            (0.005, 0.005),
            (0.0, 0.005),
            (0.0, 0.0),
        ]
        .map(|(x, y)| format!("[{}, {}]", lon + x, lat + y))
        .join(", ");
        format!("{{type: \"Polygon\", coordinates: [[{ring}]]}}")
    };
    let sectors: String = (from..to)
        .map(|i| {
            format!(
                "s{i}: createSector(input: {{name: \"S-{i:02}\", geometry: {}}}) {{ id }} ",
                square(i)
            )
        })
        .collect();
    let sectors = app
        .data(&format!("mutation {{ {sectors} }}"), json!({}))
        .await;
    let clients: String = (from..to)
        .map(|i| format!("c{i}: createClient(input: {{externalId: \"S-{i}\"}}) {{ id }} "))
        .collect();
    let clients = app
        .data(&format!("mutation {{ {clients} }}"), json!({}))
        .await;
    let points: String = (from..to)
        .flat_map(|i| {
            let client = clients[format!("c{i}")]["id"].as_str().unwrap().to_owned();
            (1..=2).map(move |k| {
                let (lon, lat) = (-71.0 + i as f64 * 0.01 + 0.001 * k as f64, 46.801);
                format!("p{i}_{k}: createServicePoint(input: {{clientId: \"{client}\", address: {{addressLine1: \"{k} rue S{i}\"}}, latitude: {lat}, longitude: {lon}}}) {{ id }} ")
            })
        })
        .collect();
    let points = app
        .data(&format!("mutation {{ {points} }}"), json!({}))
        .await;
    let occupants: String = points
        .as_object()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(n, (alias, point))| {
            let id = point["id"].as_str().unwrap();
            format!("o{alias}: createOccupant(input: {{servicePointId: \"{id}\", phone: \"418-555-{n:04}\", contactMethod: SMS}}) {{ id }} ")
        })
        .collect();
    app.data(&format!("mutation {{ {occupants} }}"), json!({}))
        .await;
    for active in [true, false] {
        let alerts: String = (from..to)
            .map(|i| {
                let id = sectors[format!("s{i}")]["id"].as_str().unwrap();
                format!("a{i}: setSectorAlert(id: \"{id}\", active: {active}) {{ id }} ")
            })
            .collect();
        app.data(&format!("mutation {{ {alerts} }}"), json!({}))
            .await;
    }
}

async fn sector_statements(app: &TestApp, count: usize) -> Vec<String> {
    app.reset_statements();
    let data = app.data(FROM_SECTORS, json!({})).await;
    let sectors = data["sectors"].as_array().unwrap();
    assert_eq!(sectors.len(), count);
    for (i, sector) in sectors.iter().enumerate() {
        let points = &sector["servicePoints"];
        assert_eq!(points["totalCount"], 2, "{sector:#}");
        assert_eq!(points["pageInfo"]["hasNextPage"], true, "{sector:#}");
        assert_eq!(
            points["edges"][0]["node"]["addressLine1"],
            format!("1 rue S{i}"),
            "{sector:#}"
        );
        assert_eq!(sector["alertRecipients"].as_array().unwrap().len(), 2);
        assert_eq!(
            sector["alerts"],
            json!([{"recipientsCount": 2, "endedAt": sector["alerts"][0]["endedAt"]}])
        );
    }
    app.statements()
}

#[tokio::test]
async fn nested_sector_fields_cost_the_same_statements_for_3_or_10_sectors() {
    let app = spawn_app_with_big_queries().await;
    seed_sectors(&app, 0, 3).await;
    let for_3 = sector_statements(&app, 3).await;
    seed_sectors(&app, 3, 10).await;
    let for_10 = sector_statements(&app, 10).await;

    // Sectors; a page of points per sector, their count, their occupants
    // and clients; recipients (memberships, points, occupants); alerts.
    assert_eq!(for_3.len(), 9, "{for_3:#?}");
    assert_eq!(for_10.len(), 9, "{for_10:#?}");
}

#[tokio::test]
async fn batched_sector_pages_follow_their_arguments_and_cursors() {
    let app = spawn_app_with_big_queries().await;
    seed_sectors(&app, 0, 3).await;
    let data = app
        .data(
            "{ sectors { id
                one: servicePoints(first: 1) { pageInfo { hasNextPage endCursor } edges { node { addressLine1 } } }
                two: servicePoints(first: 2) { totalCount pageInfo { hasNextPage } edges { node { addressLine1 } } } } }",
            json!({}),
        )
        .await;
    for (i, sector) in data["sectors"].as_array().unwrap().iter().enumerate() {
        assert_eq!(sector["one"]["edges"].as_array().unwrap().len(), 1);
        assert_eq!(sector["one"]["pageInfo"]["hasNextPage"], true);
        assert_eq!(sector["two"]["edges"].as_array().unwrap().len(), 2);
        assert_eq!(sector["two"]["pageInfo"]["hasNextPage"], false);
        assert_eq!(sector["two"]["totalCount"], 2);

        let next = app
            .data(
                "query($id: ID!, $after: String) { sector(id: $id) { servicePoints(first: 1, after: $after) {
                    pageInfo { hasNextPage } edges { node { addressLine1 } } } } }",
                json!({"id": sector["id"], "after": sector["one"]["pageInfo"]["endCursor"]}),
            )
            .await;
        let points = &next["sector"]["servicePoints"];
        assert_eq!(
            points["edges"][0]["node"]["addressLine1"],
            format!("2 rue S{i}")
        );
        assert_eq!(points["pageInfo"]["hasNextPage"], false);
    }
}

const FROM_RUNS: &str = "query($first: Int) { importRuns(first: $first) { edges { node { fileName
    rows(status: [CREATED], first: 2) { totalCount pageInfo { hasNextPage endCursor }
        edges { cursor node { rowNumber status client { externalId } } } } } } } }";

/// `n` committed imports of three new clients each.
async fn seed_runs(app: &TestApp, from: usize, to: usize) {
    for run in from..to {
        let csv: String = (0..3)
            .map(|k| format!("R-{run}-{k},4185550{run:02}{k},SMS,\"{k} rue R{run}, Québec\"\n"))
            .collect();
        let csv = format!("Numéro client,Téléphone,SMS/Appel,Adresse\n{csv}");
        let run = app
            .import(
                &format!("run-{run}.csv"),
                csv.into_bytes(),
                json!({"mode": "MERGE_KEEP_MISSING"}),
            )
            .await;
        assert_eq!(run["summary"]["clients"]["created"], 3, "{run:#}");
    }
}

async fn run_statements(app: &TestApp, first: usize) -> Vec<String> {
    app.reset_statements();
    let data = app.data(FROM_RUNS, json!({"first": first})).await;
    let runs = data["importRuns"]["edges"].as_array().unwrap();
    assert_eq!(runs.len(), first);
    for run in runs {
        let rows = &run["node"]["rows"];
        assert_eq!(rows["totalCount"], 3, "{run:#}");
        assert_eq!(rows["pageInfo"]["hasNextPage"], true, "{run:#}");
        assert_eq!(rows["edges"][0]["node"]["rowNumber"], 2, "{run:#}");
        assert_eq!(rows["edges"][1]["node"]["rowNumber"], 3, "{run:#}");
        assert!(rows["edges"][1]["node"]["client"]["externalId"].is_string());
    }
    app.statements()
}

#[tokio::test]
async fn report_rows_cost_the_same_statements_for_3_or_10_import_runs() {
    let app = spawn_app_with_big_queries().await;
    seed_runs(&app, 0, 10).await;

    // Runs page, a page of rows per run, their count, their clients.
    let for_3 = run_statements(&app, 3).await;
    let for_10 = run_statements(&app, 10).await;
    assert_eq!(for_3.len(), 4, "{for_3:#?}");
    assert_eq!(for_10.len(), 4, "{for_10:#?}");
}

/// Big queries, and no background worker whose statements would mix
/// with the request's; the token, checked by the seeding requests, is
/// trusted for the whole test (no lookup among the counted statements).
async fn spawn_app_with_big_queries() -> TestApp {
    crate::helpers::spawn_app_with(|config| {
        config.auth_cache_ttl = std::time::Duration::from_secs(600);
        config.limits.max_query_bytes = 256 * 1024;
        config.limits.max_aliases = 1_000;
        config.background_workers = false;
    })
    .await
}
