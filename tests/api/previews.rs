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
    app.import(
        "avant.xlsx",
        file(&[
            [
                "Marie",
                "Tremblay",
                "418-555-0101",
                "SMS",
                "12 rue des Érables, Québec",
                "C-1",
            ],
            [
                "Paul",
                "Roy",
                "418-555-0102",
                "SMS",
                "14 rue des Érables, Québec",
                "C-2",
            ],
        ]),
        keep(),
    )
    .await;
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
        [
            "Paul",
            "Roy",
            "418-555-0102",
            "SMS",
            "14 rue des Érables, Québec",
            "C-2",
        ],
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
            [
                "Marie",
                "Tremblay",
                "418-555-0101",
                "SMS",
                "12 rue des Érables, Québec",
                "C-1",
            ],
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
            [
                "Marie",
                "Tremblay",
                "418-555-0101",
                "SMS",
                "12 rue des Érables, Québec",
                "C-1",
            ],
            [
                "Jean",
                "Tremblay",
                "418-555-0103",
                "SMS",
                "12 rue des Érables, Québec",
                "C-1",
            ],
            [
                "Paul",
                "Roy",
                "418-555-0102",
                "SMS",
                "14 rue des Érables, Québec",
                "C-2",
            ],
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
            file(&[
                [
                    "Marie",
                    "Tremblay",
                    "418-555-0101",
                    "SMS",
                    "12 rue des Érables, Québec",
                    "C-1",
                ],
                [
                    "Paul",
                    "Roy",
                    "418-555-0102",
                    "SMS",
                    "14 rue des Érables, Québec",
                    "C-2",
                ],
            ]),
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
