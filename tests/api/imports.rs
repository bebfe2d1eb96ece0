//! The spreadsheet import end to end: messy real-world files read right,
//! invalid rows reported by row and column, each mode's merge and delete
//! counts, dry runs, and undo.

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::fixtures::{E, N, T, V, example, header, occupant, pont_tenants, xlsx, xlsx_at};
use crate::helpers::{
    TestApp, all_counts, counts, error_message, first_error, issues, keep, mode, row_issues,
    row_statuses, spawn_app,
};

/// The organization's occupants as `client | address | phone | first name | method`, sorted.
async fn state(app: &TestApp) -> Vec<String> {
    let data = app
        .data(
            "{ clients(first: 500) { edges { node { externalId name servicePoints(first: 10) { edges { node {
                fullAddress geocodeStatus latitude occupants { phone firstName contactMethod notes } } } } } } } }",
            json!({}),
        )
        .await;
    let mut lines = Vec::new();
    for client in data["clients"]["edges"].as_array().unwrap() {
        let client = &client["node"];
        for point in client["servicePoints"]["edges"].as_array().unwrap() {
            let point = &point["node"];
            for occupant in point["occupants"].as_array().unwrap() {
                lines.push(format!(
                    "{} | {} | {} | {} | {}",
                    client["externalId"].as_str().unwrap(),
                    point["fullAddress"].as_str().unwrap(),
                    occupant["phone"].as_str().unwrap(),
                    occupant["firstName"].as_str().unwrap_or("-"),
                    occupant["contactMethod"].as_str().unwrap(),
                ));
            }
        }
    }
    lines.sort();
    lines
}

/// Imports `rows` as c.xlsx with `variables`: the run.
async fn import_rows(app: &TestApp, rows: &[Vec<V>], variables: Value) -> Value {
    app.import("c.xlsx", xlsx(rows), variables).await
}

/// Asserts that `run` was committed and that the organization now holds
/// exactly the occupants `expected`, as `state` writes them.
async fn assert_committed(app: &TestApp, run: &Value, expected: &[&str]) {
    assert_eq!(run["committed"], true, "{run:#}");
    assert_eq!(state(app).await, expected);
}

/// The seed's three examples: an apartment building (one client, one
/// address, three tenants), a single-family home without client id, a condo
/// syndicate (one client, two buildings).
fn seed_examples() -> Vec<u8> {
    let [ana, ben] = pont_tenants();
    xlsx(&[
        header(),
        ana,
        ben,
        occupant(
            "Cléo",
            "418-555-0103",
            "texto",
            "100, Rue du Pont, Quebec, G1K1A1",
            "IMM-100",
        ),
        occupant(
            "Dany",
            "581-555-0104",
            "SMS",
            "12 boul. St-Joseph, Lévis",
            "",
        ),
        occupant(
            "Éloi",
            "418-555-0105",
            "CALL",
            "1 av. des Érables, Québec",
            "SYND-ERABLES",
        ),
        occupant(
            "Flo",
            "418-555-0106",
            "SMS",
            "3 av. des Érables, Québec",
            "SYND-ERABLES",
        ),
    ])
}

#[tokio::test]
async fn imports_the_seeds_three_examples() {
    let app = spawn_app().await;
    let run = app.import("clients.xlsx", seed_examples(), keep()).await;

    assert_eq!(run["fileName"], "clients.xlsx");
    assert_eq!(run["summary"]["totalRows"], 6);
    assert_eq!(all_counts(&run), [[3, 0, 0, 0], [4, 0, 0, 0], [6, 0, 0, 0]]);
    assert!(row_statuses(&run).iter().all(|(_, s)| s == "CREATED"));
    assert_eq!(
        row_statuses(&run)[0].0,
        2,
        "row numbers are the spreadsheet's"
    );
    assert_committed(
        &app,
        &run,
        &[
            "12 boul. St-Joseph, Lévis | 12 boul. St-Joseph, Lévis | 581-555-0104 | Dany | SMS",
            "IMM-100 | 100 rue du Pont, Québec, QC, G1K 1A1 | 418-555-0101 | Ana | SMS",
            "IMM-100 | 100 rue du Pont, Québec, QC, G1K 1A1 | 418-555-0102 | Ben | CALL",
            "IMM-100 | 100 rue du Pont, Québec, QC, G1K 1A1 | 418-555-0103 | Cléo | SMS",
            "SYND-ERABLES | 1 av. des Érables, Québec | 418-555-0105 | Éloi | CALL",
            "SYND-ERABLES | 3 av. des Érables, Québec | 418-555-0106 | Flo | SMS",
        ],
    )
    .await;
}

#[tokio::test]
async fn messy_headers_title_rows_and_numeric_cells() {
    let app = spawn_app().await;
    let rows = vec![
        vec![T("Liste de clients — hiver 2026")],
        vec![],
        vec![
            T(" téléphone "),
            T("sms / appel *"),
            T("ADRESSE"),
            T("No client"),
            T("Couleur"),
            T("prénom"),
        ],
        vec![
            N(4185550123.0),
            T("Sms"),
            T("1 rue A, Québec"),
            N(1001.0),
            T("bleu"),
            T("Zoé"),
        ],
        vec![],
        vec![
            T("(418) 555-0124"),
            T("Appel"),
            T("1 rue A, Québec"),
            N(1001.0),
            E,
            T("Yan"),
        ],
    ];
    let run = app
        .import("export logiciel.xlsx", xlsx(&rows), keep())
        .await;
    assert_eq!(run["summary"]["totalRows"], 2);
    assert_eq!(
        run["columns"],
        json!([
            {"header": "téléphone", "index": 0, "field": "PHONE"},
            {"header": "sms / appel *", "index": 1, "field": "CONTACT_METHOD"},
            {"header": "ADRESSE", "index": 2, "field": "ADDRESS"},
            {"header": "No client", "index": 3, "field": "CLIENT_ID"},
            {"header": "Couleur", "index": 4, "field": null},
            {"header": "prénom", "index": 5, "field": "FIRST_NAME"},
        ])
    );
    assert_eq!(run["fileWarnings"][0]["code"], "UNKNOWN_COLUMN");
    assert_eq!(run["fileWarnings"][0]["column"], "Couleur");
    assert_eq!(
        row_statuses(&run),
        [(4, "CREATED".to_owned()), (6, "CREATED".to_owned())]
    );
    assert_committed(
        &app,
        &run,
        &[
            "1001 | 1 rue A, Québec | 418-555-0123 | Zoé | SMS",
            "1001 | 1 rue A, Québec | 418-555-0124 | Yan | CALL",
        ],
    )
    .await;
}

#[tokio::test]
async fn reads_a_windows_1252_semicolon_csv() {
    let app = spawn_app().await;
    let text = "Pr\u{e9}nom;T\u{e9}l\u{e9}phone*;SMS/Appel*;Adresse*;Identifiant du client\r\n\
                Hél\u{e8}ne;418 555 0199;t\u{e9}l\u{e9}phone;\"5 ch. Sainte-Foy, Qu\u{e9}bec, QC, G1R 1T1\";C-9\r\n";
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(text);
    let run = app.import("clients.csv", bytes.into_owned(), keep()).await;
    assert_committed(
        &app,
        &run,
        &["C-9 | 5 ch. Sainte-Foy, Québec, QC, G1R 1T1 | 418-555-0199 | Hélène | CALL"],
    )
    .await;
}

#[tokio::test]
async fn a_csv_named_xlsx_is_read_by_its_content() {
    let app = spawn_app().await;
    let csv = "Téléphone,SMS/Appel,Adresse\n4185550123,SMS,\"1 rue A, Québec\"\n";
    let run = app
        .import("clients.xlsx", csv.as_bytes().to_vec(), keep())
        .await;
    assert_eq!(run["committed"], true);
    assert_eq!(counts(&run, "occupants"), [1, 0, 0, 0]);
}

#[tokio::test]
async fn every_phone_form_of_the_spec_is_read() {
    let app = spawn_app().await;
    let phones = [
        "418-555-0101",
        "4185550102",
        "(418) 555-0103",
        "418.555.0104",
        "1-418-555-0105",
        "+1 418 555 0106",
    ];
    let mut rows = vec![header()];
    for (i, phone) in phones.iter().enumerate() {
        rows.push(vec![
            E,
            E,
            T(phone),
            T("SMS"),
            V::S(format!("{} rue A, Québec", i + 1)),
            E,
            E,
        ]);
    }
    rows.push(vec![
        E,
        E,
        N(4185550107.0),
        T("SMS"),
        T("7 rue A, Québec"),
        E,
        E,
    ]);
    let run = app.import("phones.xlsx", xlsx(&rows), keep()).await;
    assert_eq!(counts(&run, "occupants"), [7, 0, 0, 0], "{run:#}");
    let phones: Vec<String> = state(&app)
        .await
        .iter()
        .map(|l| l.split(" | ").nth(2).unwrap().to_owned())
        .collect();
    assert_eq!(
        phones,
        [
            "418-555-0101",
            "418-555-0102",
            "418-555-0103",
            "418-555-0104",
            "418-555-0105",
            "418-555-0106",
            "418-555-0107"
        ]
    );
}

#[tokio::test]
async fn invalid_rows_are_reported_and_by_default_nothing_is_committed() {
    let app = spawn_app().await;
    let rows = vec![
        header(),
        occupant("Ok", "418-555-0101", "SMS", "1 rue A, Québec", "C-1"),
        occupant("", "418-555-01", "SMS", "2 rue A, Québec", "C-2"),
        occupant("", "418-555-0103", "courriel", "3 rue A, Québec", "C-3"),
        occupant("", "911-555-0104", "SMS", "4 rue A, Québec, 12345", "C-4"),
        occupant("", "", "SMS", "", "C-5"),
        vec![
            E,
            E,
            T("418-555-0106 poste 3"),
            T("SMS"),
            T("6 rue A"),
            E,
            V::S("x".repeat(201)),
        ],
    ];
    let body = app
        .upload_with(
            crate::helpers::IMPORT,
            "c.xlsx",
            xlsx(&rows),
            keep(),
            Some("en"),
        )
        .await;
    let run = &body["data"]["importSpreadsheet"];
    assert_eq!(run["committed"], false);
    assert_eq!(run["summary"]["errorRows"], 5);
    assert_eq!(
        row_issues(run, "errors"),
        issues(&[
            (3, "PHONE_INVALID", "Téléphone*"),
            (4, "CONTACT_METHOD_INVALID", "SMS/Appel*"),
            (5, "PHONE_INVALID", "Téléphone*"),
            (5, "POSTAL_CODE_INVALID", "Adresse*"),
            (6, "REQUIRED", "Téléphone*"),
            (6, "REQUIRED", "Adresse*"),
            (7, "TOO_LONG", "Identifiant du client"),
            (7, "PHONE_INVALID", "Téléphone*"),
        ])
    );
    let message = run["rows"]["edges"][1]["node"]["errors"][0]["message"]
        .as_str()
        .unwrap();
    assert!(
        message.starts_with("The phone number must have 10 digits"),
        "{message}"
    );
    assert_eq!(state(&app).await, Vec::<String>::new());

    let run = import_rows(
        &app,
        &rows,
        json!({"mode": "MERGE_KEEP_MISSING", "skip": true}),
    )
    .await;
    assert_eq!(counts(&run, "occupants"), [1, 0, 0, 0]);
    assert_committed(
        &app,
        &run,
        &["C-1 | 1 rue A, Québec | 418-555-0101 | Ok | SMS"],
    )
    .await;
}

#[tokio::test]
async fn a_missing_required_column_refuses_the_file() {
    let app = spawn_app().await;
    let rows = vec![
        vec![T("Prénom"), T("Téléphone"), T("Adresse")],
        vec![T("A"), T("418-555-0101"), T("1 rue A")],
    ];
    let run = import_rows(&app, &rows, keep()).await;
    assert_eq!(run["committed"], false);
    assert_eq!(
        run["fileErrors"],
        json!([{"code": "MISSING_COLUMN", "column": "SMS/Appel", "message": "Colonne obligatoire absente : SMS/Appel."}])
    );
    assert_eq!(run["summary"]["totalRows"], 0);
}

#[tokio::test]
async fn the_columns_mapping_reads_another_softwares_headers() {
    let app = spawn_app().await;
    let rows = vec![
        vec![T("Cell"), T("Canal"), T("Lieu"), T("Dossier")],
        vec![T("418-555-0101"), T("SMS"), T("1 rue A, Québec"), T("D-77")],
    ];
    let run = import_rows(&app, &rows, keep()).await;
    assert_eq!(run["fileErrors"][0]["code"], "HEADERS_NOT_FOUND");

    let columns = json!([
        {"header": "Canal", "field": "CONTACT_METHOD"},
        {"header": "lieu", "field": "ADDRESS"},
        {"header": "Dossier", "field": "CLIENT_ID"},
        {"header": "Cell", "field": "PHONE"}
    ]);
    let run = import_rows(
        &app,
        &rows,
        json!({"mode": "MERGE_KEEP_MISSING", "columns": columns}),
    )
    .await;
    assert_eq!(
        run["columns"][2],
        json!({"header": "Lieu", "index": 2, "field": "ADDRESS"})
    );
    assert_committed(
        &app,
        &run,
        &["D-77 | 1 rue A, Québec | 418-555-0101 | - | SMS"],
    )
    .await;
}

#[tokio::test]
async fn the_template_example_row_left_in_is_skipped_with_a_warning() {
    let app = spawn_app().await;
    let rows = vec![
        header(),
        example(),
        occupant("A", "418-555-0101", "SMS", "1 rue A, Québec", "C-1"),
    ];
    let run = import_rows(&app, &rows, keep()).await;
    assert_eq!(run["committed"], true);
    assert_eq!(run["summary"]["totalRows"], 2);
    assert_eq!(run["summary"]["skippedRows"], 1);
    assert_eq!(
        row_statuses(&run),
        [(2, "SKIPPED".to_owned()), (3, "CREATED".to_owned())]
    );
    assert_eq!(
        run["rows"]["edges"][0]["node"]["warnings"][0]["code"],
        "EXAMPLE_ROW"
    );
}

/// The header of a file whose address is split in columns: phone, method,
/// line 1, city, then `rest`.
fn split_header(rest: &[&'static str]) -> Vec<V> {
    ["Téléphone", "SMS/Appel", "Adresse Ligne 1", "Ville"]
        .iter()
        .chain(rest)
        .map(|cell| T(cell))
        .collect()
}

/// A row under `split_header`: phone, SMS, line 1, city, then `rest`.
fn split_row<const K: usize>(
    phone: &'static str,
    street: &'static str,
    city: &'static str,
    rest: [V; K],
) -> Vec<V> {
    [T(phone), T("SMS"), T(street), T(city)]
        .into_iter()
        .chain(rest)
        .collect()
}

#[tokio::test]
async fn split_address_columns_and_coordinates_give_manual_points() {
    let app = spawn_app().await;
    let rows = vec![
        split_header(&["Code postal", "Latitude", "Longitude"]),
        split_row(
            "418-555-0101",
            "5 av. du Parc",
            "Lévis",
            [T("g6v1a1"), N(46.8), N(-71.17)],
        ),
        split_row("418-555-0102", "6 av. du Parc", "Lévis", [E, E, E]),
    ];
    let run = import_rows(&app, &rows, keep()).await;
    assert_eq!(run["committed"], true, "{run:#}");
    let data = app
        .data("{ servicePoints { edges { node { fullAddress province latitude longitude geocodeStatus } } } }", json!({}))
        .await;
    assert_eq!(
        data["servicePoints"]["edges"],
        json!([
            {"node": {"fullAddress": "5 av. du Parc, Lévis, QC, G6V 1A1", "province": "QC", "latitude": 46.8, "longitude": -71.17, "geocodeStatus": "MANUAL"}},
            {"node": {"fullAddress": "6 av. du Parc, Lévis", "province": null, "latitude": null, "longitude": null, "geocodeStatus": "PENDING"}}
        ])
    );
}

#[tokio::test]
async fn a_repeated_row_is_skipped_and_a_conflicting_one_is_an_error() {
    let app = spawn_app().await;
    let rows = vec![
        header(),
        occupant("A", "418-555-0101", "SMS", "1 rue A, Québec", "C-1"),
        occupant("A", "4185550101", "SMS", "1, Rue A, Quebec", "C-1"),
        occupant("B", "418-555-0101", "SMS", "1 rue A, Québec", "C-1"),
    ];
    let run = import_rows(&app, &rows, keep()).await;
    assert_eq!(
        row_statuses(&run),
        [
            (2, "CREATED".to_owned()),
            (3, "SKIPPED".to_owned()),
            (4, "ERROR".to_owned())
        ]
    );
    assert_eq!(
        run["rows"]["edges"][2]["node"]["errors"][0]["code"],
        "DUPLICATE_OCCUPANT"
    );
    let message = run["rows"]["edges"][2]["node"]["errors"][0]["message"].as_str();
    assert!(message.unwrap().contains("ligne 2"));
    assert_eq!(run["committed"], false);
}

/// The organization's state after `prepared`: C-1 (two occupants at 1 rue
/// A), C-2 (one at 2 rue B), C-3 (one at 3 rue C).
const BASE: [&str; 4] = [
    "C-1 | 1 rue A, Québec | 418-555-0101 | A | SMS",
    "C-1 | 1 rue A, Québec | 418-555-0102 | B | SMS",
    "C-2 | 2 rue B, Québec | 418-555-0103 | C | SMS",
    "C-3 | 3 rue C, Québec | 418-555-0104 | D | SMS",
];

/// `BASE` as a file.
fn base_file() -> Vec<u8> {
    xlsx(&[
        header(),
        occupant("A", "418-555-0101", "SMS", "1 rue A, Québec", "C-1"),
        occupant("B", "418-555-0102", "SMS", "1 rue A, Québec", "C-1"),
        occupant("C", "418-555-0103", "SMS", "2 rue B, Québec", "C-2"),
        occupant("D", "418-555-0104", "SMS", "3 rue C, Québec", "C-3"),
    ])
}

/// A new app whose organization holds `BASE`, imported from base.xlsx.
async fn prepared() -> TestApp {
    let app = spawn_app().await;
    let run = app.import("base.xlsx", base_file(), keep()).await;
    assert_committed(&app, &run, &BASE).await;
    app
}

/// C-1 unchanged but B renamed, C-2 absent, C-3 moved to a new address, C-4 new.
fn second_file() -> Vec<u8> {
    xlsx(&[
        header(),
        occupant("A", "418-555-0101", "SMS", "1 rue A, Québec", "C-1"),
        occupant("Bea", "418-555-0102", "SMS", "1 rue A, Québec", "C-1"),
        occupant("D", "418-555-0104", "SMS", "4 rue D, Québec", "C-3"),
        occupant("E", "418-555-0105", "CALL", "5 rue E, Québec", "C-4"),
    ])
}

/// `second_file` imported as second.xlsx over `prepared`, with `variables`:
/// the app and the run.
async fn second_import(variables: Value) -> (TestApp, Value) {
    let app = prepared().await;
    let run = app.import("second.xlsx", second_file(), variables).await;
    (app, run)
}

#[tokio::test]
async fn merge_keep_missing_merges_and_deletes_nothing() {
    let (app, run) = second_import(keep()).await;
    assert_eq!(all_counts(&run), [[1, 0, 2, 0], [2, 0, 1, 0], [2, 1, 1, 0]]);
    assert_eq!(state(&app).await.len(), 6);
}

#[tokio::test]
async fn merge_delete_missing_deletes_what_the_file_lacks() {
    let (app, run) = second_import(mode("MERGE_DELETE_MISSING")).await;
    assert_eq!(all_counts(&run), [[1, 0, 2, 1], [2, 0, 1, 2], [2, 1, 1, 2]]);
    assert_committed(
        &app,
        &run,
        &[
            "C-1 | 1 rue A, Québec | 418-555-0101 | A | SMS",
            "C-1 | 1 rue A, Québec | 418-555-0102 | Bea | SMS",
            "C-3 | 4 rue D, Québec | 418-555-0104 | D | SMS",
            "C-4 | 5 rue E, Québec | 418-555-0105 | E | CALL",
        ],
    )
    .await;
}

#[tokio::test]
async fn replace_all_starts_over() {
    let (app, run) = second_import(mode("REPLACE_ALL")).await;
    assert_eq!(all_counts(&run), [[3, 0, 0, 3], [3, 0, 0, 3], [4, 0, 0, 4]]);
    assert_eq!(state(&app).await.len(), 4);
}

#[tokio::test]
async fn a_dry_run_reports_and_changes_nothing() {
    let (app, run) = second_import(json!({"mode": "MERGE_DELETE_MISSING", "dryRun": true})).await;
    assert_eq!(run["dryRun"], true);
    assert_eq!(run["committed"], false);
    assert_eq!(all_counts(&run), [[1, 0, 2, 1], [2, 0, 1, 2], [2, 1, 1, 2]]);
    assert_eq!(state(&app).await, BASE);
}

#[tokio::test]
async fn skipping_invalid_rows_never_deletes_what_they_name() {
    let app = prepared().await;
    let rows = vec![
        header(),
        occupant("A", "418-555-0101", "SMS", "1 rue A, Québec", "C-1"),
        occupant("C", "418-555-01", "SMS", "9 rue Z, Québec", "C-2"),
        occupant("D", "bad", "SMS", "3 rue C, Québec", ""),
    ];
    let run = import_rows(
        &app,
        &rows,
        json!({"mode": "MERGE_DELETE_MISSING", "skip": true}),
    )
    .await;
    assert_eq!(run["summary"]["errorRows"], 2);
    // Only B (at 1 rue A, named by no invalid row) goes.
    assert_eq!(counts(&run, "clients"), [0, 0, 1, 0]);
    assert_eq!(counts(&run, "occupants"), [0, 0, 1, 1]);
    assert_committed(
        &app,
        &run,
        &[
            "C-1 | 1 rue A, Québec | 418-555-0101 | A | SMS",
            "C-2 | 2 rue B, Québec | 418-555-0103 | C | SMS",
            "C-3 | 3 rue C, Québec | 418-555-0104 | D | SMS",
        ],
    )
    .await;
}

#[tokio::test]
async fn import_runs_are_kept_and_their_rows_filtered_by_status() {
    let (app, run) = second_import(keep()).await;
    let data = app
        .data(
            "query($id: ID!) {
                importRun(id: $id) { fileName rows(status: [UPDATED, CREATED], first: 1) { totalCount
                    pageInfo { hasNextPage endCursor } edges { node { rowNumber status occupant { firstName } client { externalId } } } } }
                importRuns { totalCount edges { node { fileName } } }
            }",
            json!({"id": run["id"]}),
        )
        .await;
    let rows = &data["importRun"]["rows"];
    assert_eq!(rows["totalCount"], 3);
    assert_eq!(rows["pageInfo"]["hasNextPage"], true);
    assert_eq!(
        rows["edges"][0]["node"],
        json!({"rowNumber": 3, "status": "UPDATED", "occupant": {"firstName": "Bea"}, "client": {"externalId": "C-1"}})
    );
    assert_eq!(data["importRuns"]["totalCount"], 2);
    assert_eq!(
        data["importRuns"]["edges"][0]["node"]["fileName"],
        "second.xlsx"
    );

    let data = app
        .data(
            "query($id: ID!, $after: String) { importRun(id: $id) { rows(status: [UPDATED, CREATED], after: $after) { edges { node { rowNumber } } } } }",
            json!({"id": run["id"], "after": rows["pageInfo"]["endCursor"]}),
        )
        .await;
    assert_eq!(
        data["importRun"]["rows"]["edges"],
        json!([{"node": {"rowNumber": 4}}, {"node": {"rowNumber": 5}}])
    );
}

#[tokio::test]
async fn undo_restores_the_state_before_a_destructive_import() {
    let (app, run) = second_import(mode("REPLACE_ALL")).await;
    assert_ne!(state(&app).await, BASE);

    let body = app.undo_import(&run["id"]).await;
    assert_eq!(
        body["data"]["undoImport"],
        json!({"undone": true, "committed": true})
    );
    assert_eq!(state(&app).await, BASE);

    let body = app.undo_import(&run["id"]).await;
    assert_eq!(first_error(&body)["extensions"]["code"], "BAD_USER_INPUT");
}

/// A synchronization that finds nothing to change keeps no copy of the
/// records, and its undo restores nothing: not even over edits made since.
#[tokio::test]
async fn undoing_an_import_that_changed_nothing_leaves_later_edits_alone() {
    let app = prepared().await;
    let run = app
        .import("base.xlsx", base_file(), mode("MERGE_DELETE_MISSING"))
        .await;
    assert_eq!(all_counts(&run), [[0, 0, 3, 0], [0, 0, 3, 0], [0, 0, 4, 0]]);
    let snapshot: String = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT data FROM import_snapshot",
        ))
        .await
        .unwrap()
        .expect("a snapshot row")
        .try_get_by_index(0)
        .unwrap();
    assert_eq!(snapshot, "unchanged");
    app.create_client("C-9", Some("Saisi à la main")).await;

    let body = app.undo_import(&run["id"]).await;
    assert_eq!(
        body["data"]["undoImport"],
        json!({"undone": true, "committed": true})
    );
    assert_eq!(state(&app).await, BASE);
    let data = app
        .data("{ clients(search: \"C-9\") { totalCount } }", json!({}))
        .await;
    assert_eq!(data["clients"]["totalCount"], 1);
}

#[tokio::test]
async fn undo_is_refused_once_a_later_import_was_committed() {
    let (app, first) = second_import(mode("MERGE_DELETE_MISSING")).await;
    app.import("third.xlsx", seed_examples(), keep()).await;
    let body = app.undo_import(&first["id"]).await;
    assert_eq!(first_error(&body)["extensions"]["code"], "BAD_USER_INPUT");
    assert!(error_message(&body).contains("plus récent"));
}

#[tokio::test]
async fn title_rows_written_lower_in_the_sheet_are_found() {
    let app = spawn_app().await;
    let rows = vec![
        header(),
        occupant("A", "418-555-0101", "SMS", "1 rue A, Québec", "C-1"),
    ];
    let run = app.import("c.xlsx", xlsx_at(&rows, 4), keep()).await;
    assert_eq!(row_statuses(&run), [(6, "CREATED".to_owned())]);
}

#[tokio::test]
async fn address_coordinate_and_formula_errors_name_their_column() {
    let app = spawn_app().await;
    let rows = vec![
        split_header(&["Province", "Code postal", "Latitude", "Longitude"]),
        split_row("418-555-0101", "1 rue A", "Québec", [T("Texas"), E, E, E]),
        split_row("418-555-0102", "2 rue A", "Québec", [E, T("G1K 1A"), E, E]),
        split_row("418-555-0103", "3 rue A", "Québec", [E, E, N(46.8), E]),
        split_row(
            "418-555-0104",
            "4 rue A",
            "Québec",
            [E, E, N(95.0), N(-71.0)],
        ),
        split_row(
            "418-555-0105",
            "5 rue A",
            "Québec",
            [E, E, N(46.8), T("ouest")],
        ),
        split_row("#N/A", "6 rue A", "Québec", [E, E, E, E]),
    ];
    let run = import_rows(&app, &rows, keep()).await;
    // Each row's first error: the one that names the column at fault.
    let mut first_errors = row_issues(&run, "errors");
    first_errors.dedup_by_key(|(row, _, _)| *row);
    assert_eq!(
        first_errors,
        issues(&[
            (2, "PROVINCE_INVALID", "Province"),
            (3, "POSTAL_CODE_INVALID", "Code postal"),
            (4, "COORDINATES_INCOMPLETE", "Latitude"),
            (5, "LATITUDE_INVALID", "Latitude"),
            (6, "LONGITUDE_INVALID", "Longitude"),
            (7, "FORMULA_ERROR", "Téléphone"),
        ])
    );
    assert_eq!(run["committed"], false);
}

#[tokio::test]
async fn a_merge_writes_a_known_address_the_way_the_new_file_writes_it() {
    let app = spawn_app().await;
    let file = |address: &'static str| {
        crate::fixtures::xlsx(&[
            crate::fixtures::header(),
            crate::fixtures::occupant("Ana", "418-555-0101", "SMS", address, ""),
        ])
    };
    let merge = json!({"mode": "MERGE_KEEP_MISSING"});
    app.import(
        "a.xlsx",
        file("22 rue des Lilas, Québec, QC, G1K 1A1"),
        merge.clone(),
    )
    .await;
    let run = app
        .import(
            "b.xlsx",
            file("22, Rue des Lilas, Québec, QC, G1K 1A1"),
            merge,
        )
        .await;

    // The same address (same key): the point is matched, its written form
    // follows the file (the lone civic number joins the street), and its
    // occupant is unchanged.
    assert_eq!(counts(&run, "servicePoints"), [0, 1, 0, 0]);
    assert_eq!(counts(&run, "occupants"), [0, 0, 1, 0]);
    let data = app
        .data(
            "{ servicePoints { edges { node { addressLine1 city } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["servicePoints"]["edges"],
        json!([{"node": {"addressLine1": "22 Rue des Lilas", "city": "Québec"}}])
    );
}
