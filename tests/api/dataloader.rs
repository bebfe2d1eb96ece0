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

/// The fields of `type_name`, each as a selection (objects by their id,
/// connections by their nodes' ids).
async fn selections_of(app: &TestApp, type_name: &str) -> Vec<(String, String)> {
    let data = app
        .data(
            "query($t: String!) { __type(name: $t) { fields { name type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }",
            json!({"t": type_name}),
        )
        .await;
    data["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| {
            let name = field["name"].as_str().unwrap().to_owned();
            let mut ty = &field["type"];
            while !ty["ofType"].is_null() {
                ty = &ty["ofType"];
            }
            let inner = ty["name"].as_str().unwrap();
            let selection = match ty["kind"].as_str().unwrap() {
                "OBJECT" if inner.ends_with("Connection") => {
                    format!("{name} {{ edges {{ node {{ id }} }} }}")
                }
                "OBJECT" => format!("{name} {{ id }}"),
                _ => name.clone(),
            };
            (name, selection)
        })
        .collect()
}

/// A nested read selects only the columns its fields need (a fifth of a
/// read was decoding the others): each field of a client, a point and an
/// occupant, asked alone, answers what it answers beside all the others,
/// and the statements name only the columns asked for.
#[tokio::test]
async fn each_field_asked_alone_answers_as_it_does_beside_all_the_others() {
    // Every field at once, unpaged lists and all: beyond the default cost.
    let app = crate::helpers::spawn_app_with(|config| {
        config.limits.max_complexity = 100_000_000;
    })
    .await;
    let client = app
        .data(
            r#"mutation { createClient(input: {externalId: "C-1", name: "Bérubé inc."}) { id } }"#,
            json!({}),
        )
        .await["createClient"]["id"]
        .clone();
    let point = app
        .data(
            r#"mutation($c: ID!) { createServicePoint(input: {clientId: $c, address: {addressLine1: "12 rue du Pont", city: "Québec", province: "QC", postalCode: "G1K 1A1"}, latitude: 46.81, longitude: -71.2}) { id } }"#,
            json!({"c": client}),
        )
        .await["createServicePoint"]["id"]
        .clone();
    let occupant = app
        .data(
            r#"mutation($p: ID!) { createOccupant(input: {servicePointId: $p, firstName: "Éloïse", lastName: "Tremblay", phone: "418 555-0101", contactMethod: CALL, notes: "Porte arrière", language: EN}) { id } }"#,
            json!({"p": point}),
        )
        .await["createOccupant"]["id"]
        .clone();

    let query = |c: &str, p: &str, o: &str| {
        format!(
            "{{ clients {{ edges {{ node {{ {c} servicePoints {{ edges {{ node {{ {p} occupants {{ {o} }} }} }} }} }} }} }} }}"
        )
    };
    let clients = selections_of(&app, "Client").await;
    let points = selections_of(&app, "ServicePoint").await;
    let occupants = selections_of(&app, "Occupant").await;
    let all = |fields: &[(String, String)]| {
        let selections: Vec<&str> = fields.iter().map(|(_, s)| s.as_str()).collect();
        selections.join(" ")
    };
    let client_of = |data: &serde_json::Value| data["clients"]["edges"][0]["node"].clone();
    let point_of =
        |data: &serde_json::Value| client_of(data)["servicePoints"]["edges"][0]["node"].clone();
    let occupant_of = |data: &serde_json::Value| point_of(data)["occupants"][0].clone();
    // Each record read by id, whole, is what every nested read must answer.
    let full = app
        .data(
            &format!(
                "query($c: ID!, $p: ID!, $o: ID!) {{ client(id: $c) {{ {} }} servicePoint(id: $p) {{ {} }} occupant(id: $o) {{ {} }} }}",
                all(&clients),
                all(&points),
                all(&occupants)
            ),
            json!({"c": client, "p": point, "o": occupant}),
        )
        .await;
    let whole = json!({"clients": {"edges": [{"node": full["client"]}]}});
    let whole_point = full["servicePoint"].clone();
    let whole_occupant = full["occupant"].clone();
    assert_eq!(client_of(&whole)["name"], "Bérubé inc.");
    assert_eq!(whole_point["geocodeStatus"], "MANUAL");
    assert_eq!(whole_point["latitude"], 46.81);
    assert_eq!(whole_occupant["notes"], "Porte arrière");
    assert_eq!(whole_occupant["language"], "EN");
    let nested = app
        .data(
            &query(&all(&clients), &all(&points), &all(&occupants)),
            json!({}),
        )
        .await;

    // The lists the query walks through are compared level by level.
    let clients = clients
        .into_iter()
        .filter(|(name, _)| name != "servicePoints");
    let points = points.into_iter().filter(|(name, _)| name != "occupants");
    for (name, selection) in clients {
        let alone = app.data(&query(&selection, "id", "id"), json!({})).await;
        let expected = &client_of(&whole)[&name];
        assert_eq!(&client_of(&alone)[&name], expected, "Client.{name}");
        assert_eq!(&client_of(&nested)[&name], expected, "Client.{name}");
    }
    for (name, selection) in points {
        let alone = app.data(&query("id", &selection, "id"), json!({})).await;
        let expected = &whole_point[&name];
        assert_eq!(&point_of(&alone)[&name], expected, "ServicePoint.{name}");
        assert_eq!(&point_of(&nested)[&name], expected, "ServicePoint.{name}");
    }
    for (name, selection) in &occupants {
        let alone = app.data(&query("id", "id", selection), json!({})).await;
        let expected = &whole_occupant[name];
        assert_eq!(&occupant_of(&alone)[name], expected, "Occupant.{name}");
        assert_eq!(&occupant_of(&nested)[name], expected, "Occupant.{name}");
    }
    // Aliases and `__typename` in a list answered field by field or not.
    let plain = app
        .data(
            &query("id", "id", "__typename p: phone l: language"),
            json!({}),
        )
        .await;
    let loaded = app
        .data(
            &query("id", "id", "__typename p: phone l: language phoneE164"),
            json!({}),
        )
        .await;
    let expected = json!({"__typename": "Occupant", "p": "418-555-0101", "l": "EN"});
    assert_eq!(occupant_of(&plain), expected);
    let mut loaded = occupant_of(&loaded);
    loaded.as_object_mut().unwrap().remove("phoneE164");
    assert_eq!(loaded, expected);

    app.reset_statements();
    app.data(&query("externalId", "fullAddress", "phone"), json!({}))
        .await;
    let statements = app.statements();
    let reading = |table: &str| {
        statements
            .iter()
            .find(|sql| sql.contains(&format!("FROM \"{table}\"")))
            .unwrap_or_else(|| panic!("no read of {table}: {statements:#?}"))
            .clone()
    };
    let occupants_read = reading("occupant");
    assert!(occupants_read.contains("\"phone\""), "{occupants_read}");
    for unread in ["first_name", "notes", "language", "created_at"] {
        assert!(!occupants_read.contains(unread), "{occupants_read}");
    }
    let points_read = reading("service_point");
    assert!(points_read.contains("\"postal_code\""), "{points_read}");
    for unread in ["latitude", "geocode_status", "address_key", "updated_at"] {
        assert!(!points_read.contains(unread), "{points_read}");
    }
}
