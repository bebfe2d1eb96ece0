//! The spreadsheets the server writes: the template (headers, example row,
//! explanations, and what guides an Excel user: drop-down, input messages,
//! text cells, a styled frozen header) and the export, which guides the
//! same way and re-imports without a change, even once re-saved by
//! LibreOffice.

use std::io::Cursor;
use std::process::Command;
use std::time::Duration;

use calamine::{Data, Reader, Xlsx};
use serde_json::{Value, json};

use crate::fixtures::{EXAMPLE, header, occupant, pont_tenants, template_headers, xlsx};
use crate::helpers::{
    TestApp, all_counts, error_codes, keep, program_or_skip, row_statuses, run_program, spawn_app,
};
use crate::ooxml::{Sheet, Style};

pub fn cells(bytes: &[u8], sheet: &str) -> Vec<Vec<String>> {
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

/// A server holding imported and hand-made records: a name, a comma in the
/// street, hand-given coordinates, and values a spreadsheet could take for
/// formulas.
async fn app_with_records() -> TestApp {
    let app = spawn_app().await;
    let [ana, ben] = pont_tenants();
    let rows = vec![
        header(),
        ana,
        ben,
        occupant("", "581-555-0104", "SMS", "12 boul. St-Joseph, Lévis", ""),
    ];
    app.import("base.xlsx", xlsx(&rows), keep()).await;
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
    app
}

async fn export(app: &TestApp) -> Vec<u8> {
    let response = app.get_as(Some(&app.token), "/export.xlsx", &[]).await;
    assert_eq!(response.status, 200);
    response.body
}

/// The import of `app_with_records`' export: committed, every row unchanged.
fn assert_unchanged(run: &Value) {
    assert_eq!(run["committed"], true, "{run:#}");
    assert!(
        row_statuses(run).iter().all(|(_, s)| s == "UNCHANGED"),
        "{run:#}"
    );
    assert_eq!(all_counts(run), [[0, 0, 3, 0], [0, 0, 3, 0], [0, 0, 4, 0]]);
}

#[tokio::test]
async fn re_importing_the_export_changes_nothing() {
    let app = app_with_records().await;

    let bytes = export(&app).await;

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
    assert_eq!(manual[3], "Appel", "as the drop-down offers it");
    assert_eq!(
        (manual[13].as_str(), manual[14].as_str()),
        ("46.81", "-71.21")
    );
    let geocodable = rows.iter().find(|r| r[2] == "418-555-0101").unwrap();
    assert_eq!((geocodable[13].as_str(), geocodable[14].as_str()), ("", ""));
    assert_eq!(manual[7], "FR", "the language, re-imported as it is");

    let run = app.import("export.xlsx", bytes, keep()).await;
    assert_unchanged(&run);
}

/// The last row the validations must cover: a header and the import's
/// 100,000 rows.
const LAST_ROW: &str = "100001";

/// The header row of `sheet`, `columns` wide: bold on a solid fill, frozen.
fn assert_header_styled_and_frozen(sheet: &Sheet, columns: u8) {
    for column in b'A'..b'A' + columns {
        let cell = format!("{}1", column as char);
        let style = sheet.cell_style(&cell);
        assert!(style.bold, "{cell}: {style:?}");
        assert_eq!(style.fill.as_deref(), Some("FFDDEBF7"), "{cell}");
    }
    assert_eq!(sheet.frozen_rows(), 1);
}

/// The drop-down on `SMS/Appel*` (column D) and the messages on
/// `Téléphone*` (column C), from row 2 down to `last_row`.
fn assert_guided(sheet: &Sheet, last_row: &str) {
    let method = sheet
        .validation_of("D2")
        .expect("a validation on SMS/Appel*");
    assert_eq!(method.kind, "list");
    assert_eq!(method.formula.as_deref(), Some("\"SMS,Appel\""));
    assert_eq!(method.sqref, format!("D2:D{last_row}"));
    assert!(method.prompt.unwrap().contains("SMS ou Appel"));
    let phone = sheet.validation_of("C2").expect("a message on Téléphone*");
    assert_eq!(phone.kind, "any", "a message, no restriction");
    assert_eq!(phone.sqref, format!("C2:C{last_row}"));
    assert_eq!(phone.prompt_title.as_deref(), Some("Téléphone à alerter"));
    assert!(phone.prompt.unwrap().contains("418-555-0123"));
}

/// Column `column` (1 for A) is text and at least `width` wide.
fn assert_text_column(sheet: &Sheet, column: u32, width: f64) {
    let (style, actual) = sheet.column(column);
    assert_eq!(style.number_format, "@", "column {column}");
    assert!(actual >= width, "column {column}: {actual} < {width}");
}

#[tokio::test]
async fn the_template_guides_excel_users() {
    let app = spawn_app().await;

    let sheet = Sheet::open(&app.get("/template.xlsx").await.body);

    assert_header_styled_and_frozen(&sheet, 8);
    assert_guided(&sheet, LAST_ROW);
    assert_eq!(sheet.validations().len(), 3, "{:?}", sheet.validations());
    let language = sheet.validation_of("H2").expect("a drop-down on Langue");
    assert_eq!(language.formula.as_deref(), Some("\"FR,EN\""));
    // Every column is text, wide enough for its header and the example.
    for (column, header) in template_headers().iter().enumerate() {
        let example = EXAMPLE[column].chars().count();
        let width = header.chars().count().max(example) as f64 + 1.0;
        assert_text_column(&sheet, column as u32 + 1, width);
    }
    // The example row is visibly an example: grey italics (and text).
    for column in b'A'..=b'H' {
        let cell = format!("{}2", column as char);
        let expected = Style {
            bold: false,
            italic: true,
            color: Some("FF808080".to_owned()),
            fill: None,
            number_format: "@".to_owned(),
        };
        assert_eq!(sheet.cell_style(&cell), expected, "{cell}");
    }
}

#[tokio::test]
async fn the_export_guides_excel_users_like_the_template() {
    let app = app_with_records().await;

    let sheet = Sheet::open(&export(&app).await);

    assert_header_styled_and_frozen(&sheet, 15);
    assert_guided(&sheet, LAST_ROW);
    let postal = sheet.validation_of("M2").expect("a message on Code postal");
    assert_eq!(postal.sqref, format!("M2:M{LAST_ROW}"));
    assert!(postal.prompt.unwrap().contains("G1P 0A0"));
    assert_text_column(&sheet, 3, 12.0);
    assert_text_column(&sheet, 13, 12.0);
    let (latitude, _) = sheet.column(14);
    assert_eq!(latitude.number_format, "General", "coordinates are numbers");
    // Data rows are plain: no example styling.
    let style = sheet.cell_style("C2");
    assert!(!style.italic && style.color.is_none(), "{style:?}");
}

/// LibreOffice converts `file` to xlsx again (opens it and saves it as
/// Excel 2007-365): the re-saved bytes.
async fn resaved_by_libreoffice(soffice: std::path::PathBuf, bytes: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("export.xlsx");
    std::fs::write(&input, bytes).expect("write export");
    let out = dir.path().join("out");
    let mut command = Command::new(soffice);
    command
        // A profile of its own: another LibreOffice running cannot lock it.
        .arg(format!(
            "-env:UserInstallation=file://{}",
            dir.path().join("profile").display()
        ))
        .args([
            "--headless",
            "--norestore",
            "--convert-to",
            "xlsx",
            "--outdir",
        ])
        .arg(&out)
        .arg(&input);
    let output = run_program(command, Duration::from_secs(120)).await;
    assert!(output.status.success(), "soffice failed: {output:?}");
    std::fs::read(out.join("export.xlsx"))
        .unwrap_or_else(|e| panic!("no converted file ({e}): {output:?}"))
}

#[tokio::test]
async fn the_export_re_saved_by_libreoffice_re_imports_without_a_change() {
    let test = "spreadsheets::the_export_re_saved_by_libreoffice_re_imports_without_a_change";
    let Some(soffice) = program_or_skip(
        "soffice",
        test,
        "apt-get install --no-install-recommends libreoffice-calc-nogui",
    ) else {
        return;
    };
    let app = app_with_records().await;
    let exported = export(&app).await;

    let resaved = resaved_by_libreoffice(soffice, &exported).await;

    assert_ne!(resaved, exported, "LibreOffice wrote its own file");
    let run = app.import("export.xlsx", resaved.clone(), keep()).await;
    assert_unchanged(&run);
    // The guidance survives, though LibreOffice stops the validations at
    // row 1,002 and, headless, drops the frozen pane.
    let sheet = Sheet::open(&resaved);
    let method = sheet.validation_of("D2").expect("the drop-down");
    assert_eq!(method.formula.as_deref(), Some("\"SMS,Appel\""));
    assert!(sheet.validation_of("C2").unwrap().prompt.is_some());
    assert_text_column(&sheet, 3, 12.0);
}

#[tokio::test]
async fn the_export_writes_every_occupant_across_pages() {
    let app = spawn_app().await;
    // One more occupant than a page of the export (5,000).
    let rows = 5_001;
    let csv = crate::jobs::big_csv(rows);
    let run = app.import("grand.csv", csv, keep()).await;
    assert_eq!(run["committed"], true, "{run:#}");
    // Another organization's occupant never shows.
    let other = app.new_org("Autre").await;
    let theirs = xlsx(&[header(), pont_tenants()[0].clone()]);
    let theirs = crate::jobs::send_job(&app, &other, theirs, keep()).await;
    assert_eq!(
        theirs["data"]["importSpreadsheet"]["committed"], true,
        "{theirs:#}"
    );

    let exported = cells(&export(&app).await, "Clients");
    assert_eq!(exported.len(), rows + 1);
    let mut first_names: Vec<&str> = exported[1..].iter().map(|r| r[0].as_str()).collect();
    first_names.sort_unstable();
    first_names.dedup();
    assert_eq!(first_names.len(), rows);
    let last = exported
        .iter()
        .find(|r| r[0] == "P5000")
        .expect("the last occupant");
    assert_eq!(last[6], "C-1666");
    assert_eq!(last[9], "5001 rue du Test");
}
