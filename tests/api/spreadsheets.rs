//! The spreadsheets the server writes: the template (headers, example row,
//! explanations) and the export, which re-imports without a change.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use serde_json::json;

use crate::fixtures::{EXAMPLE, header, occupant, pont_tenants, template_headers, xlsx};
use crate::helpers::{all_counts, error_codes, keep, row_statuses, spawn_app};

fn cells(bytes: &[u8], sheet: &str) -> Vec<Vec<String>> {
    let mut workbook = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
    let range = workbook.worksheet_range(sheet).unwrap();
    range
        .rows()
        .map(|row| {
            row.iter()
                .map(|cell| match cell {
                    Data::Empty => String::new(),
                    Data::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn the_template_has_the_headers_the_example_row_and_explanations() {
    let app = spawn_app().await;
    let response = app.get("/template.xlsx").await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.headers["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let bytes = response.body;
    let workbook = Xlsx::new(Cursor::new(bytes.clone())).unwrap();
    assert_eq!(workbook.sheet_names(), ["Clients", "Explications"]);
    let rows = cells(&bytes, "Clients");
    assert_eq!(rows[0], template_headers());
    assert_eq!(rows[1], EXAMPLE);
    let help = cells(&bytes, "Explications");
    assert_eq!(help[0], ["Colonne", "Obligatoire", "Description"]);
    assert_eq!(help[3][0], "Téléphone*");
    assert_eq!(help[3][1], "Oui");

    // Uploaded as is, the template imports nothing: its only row is the example.
    let run = app.import("gabarit.xlsx", bytes, keep()).await;
    assert_eq!(run["committed"], false);
    assert_eq!(run["summary"]["skippedRows"], 1);
    assert_eq!(row_statuses(&run), [(2, "SKIPPED".to_owned())]);
}

#[tokio::test]
async fn the_export_needs_a_token() {
    let app = spawn_app().await;
    let response = app.get("/export.xlsx").await;
    assert_eq!(response.status, 401);
    let body = response.json();
    assert_eq!(error_codes(&body), ["UNAUTHENTICATED"]);
}

#[tokio::test]
async fn re_importing_the_export_changes_nothing() {
    let app = spawn_app().await;
    let [ana, ben] = pont_tenants();
    let rows = vec![
        header(),
        ana,
        ben,
        occupant("", "581-555-0104", "SMS", "12 boul. St-Joseph, Lévis", ""),
    ];
    app.import("base.xlsx", xlsx(&rows), keep()).await;
    // Manual records: a name, a comma in the street, hand-given coordinates,
    // and a note a spreadsheet could take for a formula.
    let client = app
        .create_client("=HYPERLINK(\"http://x\")", Some("Syndicat, Érables"))
        .await;
    let point = app
        .create_located_point(
            &client,
            json!({"addressLine1": "App. 3, 5 rue B", "city": "Québec"}),
            46.81,
            -71.21,
        )
        .await;
    app.data(
        "mutation($p: ID!) { createOccupant(input: {servicePointId: $p, firstName: \"-Zed\", lastName: \"@Roy\", phone: \"418-555-0199\", contactMethod: CALL, notes: \"+1 chien\"}) { id } }",
        json!({"p": point}),
    )
    .await;

    let response = app.get_as(Some(&app.token), "/export.xlsx", &[]).await;
    assert_eq!(response.status, 200);
    let bytes = response.body;
    let rows = cells(&bytes, "Clients");
    assert_eq!(rows.len(), 5);
    let mut headers = template_headers();
    headers.extend([
        "Nom du client",
        "Adresse Ligne 1",
        "Ville",
        "Province",
        "Code postal",
        "Latitude",
        "Longitude",
    ]);
    assert_eq!(rows[0], headers);
    let manual = rows.iter().find(|r| r[2] == "418-555-0199").unwrap();
    assert_eq!(
        manual[6], "=HYPERLINK(\"http://x\")",
        "a formula-like value stays literal text"
    );
    assert_eq!(
        (manual[12].as_str(), manual[13].as_str()),
        ("46.81", "-71.21")
    );
    let geocodable = rows.iter().find(|r| r[2] == "418-555-0101").unwrap();
    assert_eq!((geocodable[12].as_str(), geocodable[13].as_str()), ("", ""));

    let run = app.import("export.xlsx", bytes, keep()).await;
    assert_eq!(run["committed"], true, "{run:#}");
    assert!(
        row_statuses(&run).iter().all(|(_, s)| s == "UNCHANGED"),
        "{run:#}"
    );
    assert_eq!(all_counts(&run), [[0, 0, 3, 0], [0, 0, 3, 0], [0, 0, 4, 0]]);
}
