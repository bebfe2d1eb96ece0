//! Seeing an import before it happens: what each updated row changes,
//! field by field, and a resident who changed phone kept as the same
//! occupant.

use serde_json::{Value, json};

use crate::fixtures::{T, xlsx};
use crate::helpers::{TestApp, keep, spawn_app};

const HEADER: [&str; 6] = [
    "Prénom",
    "Nom",
    "Téléphone",
    "SMS/Appel",
    "Adresse",
    "Identifiant du client",
];

/// Marie Tremblay at 12 and Paul Roy at 14 rue des Érables, by SMS.
const MARIE: [&str; 6] = [
    "Marie",
    "Tremblay",
    "418-555-0101",
    "SMS",
    "12 rue des Érables, Québec",
    "C-1",
];
const PAUL: [&str; 6] = [
    "Paul",
    "Roy",
    "418-555-0102",
    "SMS",
    "14 rue des Érables, Québec",
    "C-2",
];

fn file(rows: &[[&'static str; 6]]) -> Vec<u8> {
    let mut all = vec![HEADER.iter().map(|h| T(h)).collect::<Vec<_>>()];
    all.extend(rows.iter().map(|row| row.iter().map(|v| T(v)).collect()));
    xlsx(&all)
}

/// Each occupant as `(id, first name, phone, contact method, address line 1)`.
async fn occupants(app: &TestApp) -> Vec<(String, String, String, String, String)> {
    let data = app
        .data(
            "{ servicePoints(first: 50) { edges { node { addressLine1
                occupants { id firstName phone contactMethod } } } } }",
            json!({}),
        )
        .await;
    let mut found = Vec::new();
    for point in crate::helpers::nodes(&data["servicePoints"]) {
        for o in point["occupants"].as_array().unwrap() {
            let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
            found.push((
                text(&o["id"]),
                text(&o["firstName"]),
                text(&o["phone"]),
                text(&o["contactMethod"]),
                text(&point["addressLine1"]),
            ));
        }
    }
    found.sort_by(|a, b| a.1.cmp(&b.1));
    found
}

/// `(field, before, after)`.
type Change = (String, Value, Value);

/// Each row's `(number, status, changes)`.
fn rows(run: &Value) -> Vec<(i64, String, Vec<Change>)> {
    crate::helpers::nodes(&run["rows"])
        .map(|row| {
            let changes = row["changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["field"].as_str().unwrap().to_owned(),
                        c["before"].clone(),
                        c["after"].clone(),
                    )
                })
                .collect();
            (
                row["rowNumber"].as_i64().unwrap(),
                row["status"].as_str().unwrap().to_owned(),
                changes,
            )
        })
        .collect()
}

#[tokio::test]
async fn a_merge_reports_exactly_the_fields_it_changes_dry_run_or_not() {
    let app = spawn_app().await;
    app.import("avant.xlsx", file(&[MARIE, PAUL]), keep()).await;
    let before = occupants(&app).await;
    let marie = before[0].clone();
    assert_eq!(
        (marie.1.as_str(), marie.2.as_str()),
        ("Marie", "418-555-0101")
    );

    // Marie changed phone, wants a call, and the address is written anew.
    let changed = file(&[
        [
            "Marie",
            "Tremblay",
            "418-555-0199",
            "Appel",
            "12, Rue des Érables, Québec",
            "C-1",
        ],
        PAUL,
    ]);
    let dry = app
        .import(
            "après.xlsx",
            changed.clone(),
            json!({"mode": "MERGE_KEEP_MISSING", "dryRun": true}),
        )
        .await;
    assert_eq!(occupants(&app).await, before, "a dry run changes nothing");
    let run = app.import("après.xlsx", changed, keep()).await;
    let after = occupants(&app).await;
    let marie_now = after[0].clone();
    assert_eq!(marie_now.0, marie.0, "the same occupant, not a second one");
    assert_eq!(
        (marie_now.2.as_str(), marie_now.3.as_str()),
        ("418-555-0199", "CALL")
    );
    assert_eq!(after.len(), 2);
    assert_ne!(marie_now.4, marie.4, "the address as now written");
    let expected = vec![
        (
            2,
            "UPDATED".to_owned(),
            vec![
                (
                    "phone".to_owned(),
                    json!("418-555-0101"),
                    json!("418-555-0199"),
                ),
                ("contactMethod".to_owned(), json!("SMS"), json!("CALL")),
                (
                    "addressLine1".to_owned(),
                    json!(marie.4),
                    json!(marie_now.4),
                ),
            ],
        ),
        (3, "UNCHANGED".to_owned(), vec![]),
    ];
    assert_eq!(rows(&dry), expected);
    assert_eq!(rows(&run), expected);
    assert_eq!(crate::helpers::counts(&run, "occupants"), [0, 1, 1, 0]);
}

#[tokio::test]
async fn a_new_phone_is_a_new_occupant_when_the_name_is_ambiguous_or_the_old_phone_stays() {
    let app = spawn_app().await;
    app.import(
        "avant.xlsx",
        file(&[
            MARIE,
            [
                "Marie",
                "Tremblay",
                "418-555-0102",
                "SMS",
                "12 rue des Érables, Québec",
                "C-1",
            ],
            [
                "Luc",
                "Roy",
                "418-555-0103",
                "SMS",
                "14 rue des Érables, Québec",
                "C-2",
            ],
        ]),
        keep(),
    )
    .await;
    // Two Marie Tremblay at 12: which one changed phone is not known. Luc
    // keeps his phone in the file: his new number is a second occupant.
    let run = app
        .import(
            "après.xlsx",
            file(&[
                [
                    "Marie",
                    "Tremblay",
                    "418-555-0199",
                    "SMS",
                    "12 rue des Érables, Québec",
                    "C-1",
                ],
                [
                    "Luc",
                    "Roy",
                    "418-555-0103",
                    "SMS",
                    "14 rue des Érables, Québec",
                    "C-2",
                ],
                [
                    "Luc",
                    "Roy",
                    "418-555-0198",
                    "SMS",
                    "14 rue des Érables, Québec",
                    "C-2",
                ],
            ]),
            keep(),
        )
        .await;
    let statuses: Vec<(i64, String)> = rows(&run).into_iter().map(|r| (r.0, r.1)).collect();
    assert_eq!(
        statuses,
        [
            (2, "CREATED".to_owned()),
            (3, "UNCHANGED".to_owned()),
            (4, "CREATED".to_owned())
        ]
    );
    assert_eq!(occupants(&app).await.len(), 5);
}

const DELETIONS: &str = "query($id: ID!, $after: String) { importRun(id: $id) {
    deletions(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor }
        edges { node { kind clientExternalId fullAddress firstName lastName phone } } } } }";

#[tokio::test]
async fn a_delete_missing_dry_run_lists_what_it_would_delete_and_deletes_nothing() {
    let app = spawn_app().await;
    app.import(
        "avant.xlsx",
        file(&[
            MARIE,
            [
                "Jean",
                "Tremblay",
                "418-555-0103",
                "SMS",
                "12 rue des Érables, Québec",
                "C-1",
            ],
            PAUL,
            [
                "Luc",
                "Roy",
                "418-555-0104",
                "Appel",
                "16 rue des Érables, Québec",
                "C-3",
            ],
        ]),
        keep(),
    )
    .await;
    let addresses = app
        .data(
            "{ servicePoints { edges { node { fullAddress } } } }",
            json!({}),
        )
        .await;
    let address: Vec<String> = crate::helpers::nodes(&addresses["servicePoints"])
        .map(|p| p["fullAddress"].as_str().unwrap().to_owned())
        .collect();
    let run = app
        .import(
            "après.xlsx",
            file(&[MARIE, PAUL]),
            json!({"mode": "MERGE_DELETE_MISSING", "dryRun": true}),
        )
        .await;
    assert_eq!(occupants(&app).await.len(), 4, "a dry run deletes nothing");

    let first = app
        .data(DELETIONS, json!({"id": run["id"], "after": null}))
        .await["importRun"]["deletions"]
        .clone();
    assert_eq!(first["totalCount"], 4);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let rest = app
        .data(
            DELETIONS,
            json!({"id": run["id"], "after": first["pageInfo"]["endCursor"]}),
        )
        .await["importRun"]["deletions"]
        .clone();
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
    let listed: Vec<Value> = crate::helpers::nodes(&first)
        .chain(crate::helpers::nodes(&rest))
        .cloned()
        .collect();
    assert_eq!(
        listed,
        [
            json!({"kind": "CLIENT", "clientExternalId": "C-3", "fullAddress": null,
                   "firstName": null, "lastName": null, "phone": null}),
            json!({"kind": "SERVICE_POINT", "clientExternalId": "C-3", "fullAddress": address[2],
                   "firstName": null, "lastName": null, "phone": null}),
            json!({"kind": "OCCUPANT", "clientExternalId": "C-1", "fullAddress": address[0],
                   "firstName": "Jean", "lastName": "Tremblay", "phone": "418-555-0103"}),
            json!({"kind": "OCCUPANT", "clientExternalId": "C-3", "fullAddress": address[2],
                   "firstName": "Luc", "lastName": "Roy", "phone": "418-555-0104"}),
        ]
    );
}

/// The entry `name` of an xlsx (a zip), as text.
fn part(xlsx: &[u8], name: &str) -> String {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).unwrap();
    let mut text = String::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[tokio::test]
async fn the_rows_in_error_come_back_as_the_file_had_them_with_what_to_fix() {
    use crate::fixtures::{E, N};
    let app = spawn_app().await;
    let header: Vec<_> = HEADER.iter().map(|h| T(h)).collect();
    let original = xlsx(&[
        vec![T("Clients 2026-2027"), E, E, E, E, E],
        header.clone(),
        vec![
            T("Marie"),
            T("Tremblay"),
            N(4185550101.0),
            T("SMS"),
            T("12 rue A, Québec"),
            T("C-1"),
        ],
        vec![
            T("Paul"),
            T("Roy"),
            T("418-555-01"),
            T("SMS"),
            T("14 rue A, Québec"),
            T("C-2"),
        ],
        vec![
            T("Luc"),
            T("Roy"),
            N(4185550103.0),
            T("courriel"),
            T("16 rue A, Québec"),
            T("C-3"),
        ],
    ]);
    let run = app.import("clients.xlsx", original, keep()).await;
    assert_eq!(run["committed"], false);
    let messages: Vec<String> = crate::helpers::nodes(&run["rows"])
        .filter(|row| row["status"] == "ERROR")
        .map(|row| row["errors"][0]["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(messages.len(), 2);
    let url = app
        .data(
            "query($id: ID!) { importRun(id: $id) { errorsFileUrl } }",
            json!({"id": run["id"]}),
        )
        .await["importRun"]["errorsFileUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        url,
        format!("/imports/{}/errors.xlsx", run["id"].as_str().unwrap())
    );

    let file = app.get_as(Some(&app.token), &url, &[]).await;
    assert_eq!(file.status, 200);
    let rows = crate::spreadsheets::cells(&file.body, "Erreurs");
    assert_eq!(
        rows,
        [
            vec![
                "Prénom",
                "Nom",
                "Téléphone",
                "SMS/Appel",
                "Adresse",
                "Identifiant du client",
                "Erreurs"
            ],
            vec![
                "Paul",
                "Roy",
                "418-555-01",
                "SMS",
                "14 rue A, Québec",
                "C-2",
                &messages[0]
            ],
            vec![
                "Luc",
                "Roy",
                "4185550103",
                "courriel",
                "16 rue A, Québec",
                "C-3",
                &messages[1]
            ],
        ]
    );
    // Each faulty cell carries a note naming its problem.
    let notes = part(&file.body, "xl/comments1.xml");
    let escaped = |m: &str| m.replace('\'', "&apos;").replace('"', "&quot;");
    for message in &messages {
        assert!(
            notes.contains(message.as_str()) || notes.contains(&escaped(message)),
            "{message} not in {notes}"
        );
    }
    assert!(
        notes.contains("<ref>C2</ref>") || notes.contains("ref=\"C2\""),
        "{notes}"
    );
    assert!(notes.contains("ref=\"D3\""), "{notes}");

    // In English on request; another organization's token finds nothing.
    let english = app
        .http
        .get(format!("{}{url}", app.address))
        .bearer_auth(&app.token)
        .header("Accept-Language", "en")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        crate::spreadsheets::cells(&english, "Errors")[0][6],
        "Errors"
    );
    let other = app.new_org("Autre").await;
    assert_eq!(app.get_as(Some(&other), &url, &[]).await.status, 404);
    assert_eq!(app.get(&url).await.status, 401);

    // Fixed in the file itself, it imports.
    let mut fixed: Vec<Vec<_>> = rows[1..]
        .iter()
        .map(|row| {
            row[..6]
                .iter()
                .map(|v| crate::fixtures::V::S(v.clone()))
                .collect()
        })
        .collect();
    fixed[0][2] = crate::fixtures::V::S("418-555-0102".to_owned());
    fixed[1][3] = crate::fixtures::V::S("SMS".to_owned());
    fixed.insert(0, header);
    let again = app.import("corrigé.xlsx", xlsx(&fixed), keep()).await;
    assert_eq!(again["committed"], true);
    assert_eq!(crate::helpers::counts(&again, "occupants"), [2, 0, 0, 0]);
    let clean = app
        .data(
            "query($id: ID!) { importRun(id: $id) { errorsFileUrl } }",
            json!({"id": again["id"]}),
        )
        .await;
    assert_eq!(clean["importRun"]["errorsFileUrl"], Value::Null);
}

#[tokio::test]
async fn undoing_a_keep_missing_merge_restores_what_it_touched_and_keeps_later_edits() {
    let app = spawn_app().await;
    let first = app.import("avant.xlsx", file(&[MARIE, PAUL]), keep()).await;
    let before = occupants(&app).await;
    let run = app
        .import(
            "après.xlsx",
            file(&[
                [
                    "Marie",
                    "Tremblay",
                    "418-555-0199",
                    "Appel",
                    "12 rue des Érables, Québec",
                    "C-1",
                ],
                [
                    "Luc",
                    "Roy",
                    "418-555-0103",
                    "SMS",
                    "16 rue des Érables, Québec",
                    "C-3",
                ],
            ]),
            keep(),
        )
        .await;
    assert_eq!(crate::helpers::counts(&run, "occupants"), [1, 1, 0, 0]);
    // Paul, whom the import did not touch, is edited by hand since.
    let paul = before[1].0.clone();
    app.data(
        "mutation($id: ID!) { updateOccupant(id: $id, input: {notes: \"Chien dans la cour\"}) { id } }",
        json!({"id": paul}),
    )
    .await;

    // Only the latest committed import can be undone.
    let refused = app.undo_import(&first["id"]).await;
    assert_eq!(crate::helpers::error_codes(&refused), ["BAD_USER_INPUT"]);
    let undone = app.undo_import(&run["id"]).await;
    assert_eq!(
        undone["data"]["undoImport"],
        json!({"undone": true, "committed": true})
    );
    assert_eq!(occupants(&app).await, before, "Marie as she was, Luc gone");
    let data = app
        .data(
            "query($id: ID!) { occupant(id: $id) { notes } clients { totalCount } }",
            json!({"id": paul}),
        )
        .await;
    assert_eq!(data["occupant"]["notes"], "Chien dans la cour");
    assert_eq!(
        data["clients"]["totalCount"], 2,
        "C-3, created by the import, is gone"
    );
}

/// A file of `rows`, each located at its latitude (and -71.25).
fn located(rows: &[([&'static str; 6], f64)]) -> Vec<u8> {
    let mut all = vec![
        HEADER
            .iter()
            .chain(&["Latitude", "Longitude"])
            .map(|h| T(h))
            .collect::<Vec<_>>(),
    ];
    for (row, latitude) in rows {
        let mut cells: Vec<_> = row.iter().map(|v| T(v)).collect();
        cells.extend([crate::fixtures::N(*latitude), crate::fixtures::N(-71.25)]);
        all.push(cells);
    }
    xlsx(&all)
}

/// Each row's warning codes.
fn warning_codes(run: &Value) -> Vec<(i64, Vec<String>)> {
    crate::helpers::nodes(&run["rows"])
        .map(|row| {
            let codes = row["warnings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w["code"].as_str().unwrap().to_owned())
                .collect();
            (row["rowNumber"].as_i64().unwrap(), codes)
        })
        .collect()
}

#[tokio::test]
async fn a_phone_shared_by_two_clients_and_a_point_left_empty_are_warned_of() {
    let app = spawn_app().await;
    let client = app
        .data(
            "mutation { createClient(input: {externalId: \"C-9\"}) { id } }",
            json!({}),
        )
        .await["createClient"]["id"]
        .clone();
    app.data(
        "mutation($c: ID!) { createServicePoint(input: {clientId: $c, address: {addressLine1: \"9 rue Vide\", city: \"Québec\"}}) { id } }",
        json!({"c": client}),
    )
    .await;
    let run = app
        .import(
            "partagé.xlsx",
            file(&[
                MARIE,
                [
                    "Marie",
                    "Tremblay",
                    "418-555-0101",
                    "SMS",
                    "14 rue des Érables, Québec",
                    "C-2",
                ],
                [
                    "Paul",
                    "Roy",
                    "418-555-0102",
                    "SMS",
                    "16 rue des Érables, Québec",
                    "C-3",
                ],
            ]),
            json!({"mode": "MERGE_KEEP_MISSING", "dryRun": true}),
        )
        .await;
    assert_eq!(
        warning_codes(&run),
        [
            (2, vec!["PHONE_SHARED_BY_CLIENTS".to_owned()]),
            (3, vec!["PHONE_SHARED_BY_CLIENTS".to_owned()]),
            (4, vec![]),
        ]
    );
    let shared = crate::helpers::nodes(&run["rows"]).next().unwrap()["warnings"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(shared.contains("du client C-2"), "{shared}");
    let file_warnings: Vec<(Value, Value)> = run["fileWarnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["code"].clone(), w["message"].clone()))
        .collect();
    assert_eq!(file_warnings.len(), 1, "{file_warnings:?}");
    assert_eq!(file_warnings[0].0, "POINT_WITHOUT_OCCUPANT");
    let message = file_warnings[0].1.as_str().unwrap();
    assert!(message.starts_with("1 point(s) de service"), "{message}");
    assert!(
        message.contains("9 rue Vide") && message.contains("(C-9)"),
        "{message}"
    );
}

#[tokio::test]
async fn a_phone_changed_in_a_sector_in_alert_is_warned_of() {
    let app = spawn_app().await;
    let sector = app
        .data(
            "mutation($input: SectorInput!) { createSector(input: $input) { id } }",
            json!({"input": {"name": "Rue Principale", "geometry": crate::alerts::square()}}),
        )
        .await["createSector"]["id"]
        .clone();
    let marie_file = |phone: &'static str| {
        let marie = [
            "Marie",
            "Tremblay",
            phone,
            "SMS",
            "12 rue des Érables, Québec",
            "C-1",
        ];
        located(&[(marie, 46.85)])
    };
    app.import("avant.xlsx", marie_file("418-555-0101"), keep())
        .await;
    app.data(
        "mutation($id: ID!) { setSectorAlert(id: $id, active: true) { alertActive } }",
        json!({"id": sector}),
    )
    .await;
    let run = app
        .import(
            "après.xlsx",
            marie_file("418-555-0199"),
            json!({"mode": "MERGE_KEEP_MISSING", "dryRun": true}),
        )
        .await;
    assert_eq!(
        warning_codes(&run),
        [(2, vec!["PHONE_CHANGED_DURING_ALERT".to_owned()])]
    );
}

const IMPACT: &str = "query($id: ID!) { importRun(id: $id) { alertImpact {
    sector { name } recipientsBefore recipientsAfter gainedCount lostCount
    gained { occupantId firstName phone fullAddress } lost(first: 5) { occupantId firstName phone }
} } }";

#[tokio::test]
async fn moving_an_address_out_of_a_sector_shows_who_loses_and_who_gains_its_alerts() {
    let app = spawn_app().await;
    let south = json!({"type": "Polygon", "coordinates": [[
        [-71.3, 46.7], [-71.2, 46.7], [-71.2, 46.8], [-71.3, 46.8], [-71.3, 46.7]
    ]]});
    for (name, geometry) in [("Nord", crate::alerts::square()), ("Sud", south)] {
        app.data(
            "mutation($input: SectorInput!) { createSector(input: $input) { id } }",
            json!({"input": {"name": name, "geometry": geometry}}),
        )
        .await;
    }

    let luc = [
        "Luc",
        "Roy",
        "418-555-0103",
        "SMS",
        "16 rue des Érables, Québec",
        "C-3",
    ];
    app.import(
        "avant.xlsx",
        located(&[(MARIE, 46.85), (PAUL, 46.85), (luc, 46.75)]),
        keep(),
    )
    .await;
    let marie_id = occupants(&app).await[1].0.clone();
    let run = app
        .import(
            "après.xlsx",
            located(&[(MARIE, 46.75), (PAUL, 46.85), (luc, 46.75)]),
            json!({"mode": "MERGE_KEEP_MISSING", "dryRun": true}),
        )
        .await;
    let impact =
        app.data(IMPACT, json!({"id": run["id"]})).await["importRun"]["alertImpact"].clone();
    let address = "12 rue des Érables, Québec";
    let full = |a: &Value| a["fullAddress"].as_str().unwrap().starts_with(address);
    assert!(full(&impact[1]["gained"][0]), "{impact:#}");
    assert_eq!(
        impact,
        json!([
            {"sector": {"name": "Nord"}, "recipientsBefore": 2, "recipientsAfter": 1,
             "gainedCount": 0, "lostCount": 1, "gained": [],
             "lost": [{"occupantId": marie_id, "firstName": "Marie", "phone": "418-555-0101"}]},
            {"sector": {"name": "Sud"}, "recipientsBefore": 1, "recipientsAfter": 2,
             "gainedCount": 1, "lostCount": 0,
             "gained": [{"occupantId": marie_id, "firstName": "Marie", "phone": "418-555-0101",
                         "fullAddress": impact[1]["gained"][0]["fullAddress"]}],
             "lost": []},
        ])
    );
    // A dry run: the memberships are as they were.
    let sectors = app
        .data("{ sectors { name alertRecipients { phone } } }", json!({}))
        .await;
    assert_eq!(
        sectors["sectors"][0]["alertRecipients"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}
