//! Limits and hostile files: each gets a clear file error, nothing changes,
//! and the server keeps answering.

use std::io::Write;

use serde_json::json;

use crate::fixtures::{E, T, header, occupant, xlsx};
use crate::helpers::{TestApp, counts, keep, row_statuses, spawn_app, spawn_app_with};

async fn assert_healthy(app: &TestApp) {
    assert_eq!(app.get("/health").await.status, 200);
    let data = app.data("{ clients { totalCount } }", json!({})).await;
    assert_eq!(
        data["clients"]["totalCount"], 0,
        "nothing may have been imported"
    );
}

async fn file_error(app: &TestApp, name: &str, bytes: Vec<u8>) -> String {
    let run = app.import(name, bytes, keep()).await;
    assert_eq!(run["committed"], false);
    assert_eq!(run["fileErrors"].as_array().unwrap().len(), 1, "{run:#}");
    run["fileErrors"][0]["code"].as_str().unwrap().to_owned()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

#[tokio::test]
async fn reads_xls_and_ods_files() {
    for name in ["clients.xls", "clients.ods"] {
        let app = spawn_app().await;
        let run = app.import(name, fixture(name), keep()).await;
        assert_eq!(run["committed"], true, "{name}: {run:#}");
        assert_eq!(
            row_statuses(&run),
            [(4, "CREATED".to_owned()), (5, "CREATED".to_owned())],
            "{name}"
        );
        assert_eq!(counts(&run, "clients"), [1, 0, 0, 0], "{name}");
        assert_eq!(counts(&run, "servicePoints"), [1, 0, 0, 0], "{name}");
        let data = app.data("{ clients { edges { node { externalId servicePoints { edges { node { occupants { phone firstName } } } } } } } }", json!({})).await;
        let client = &data["clients"]["edges"][0]["node"];
        assert_eq!(
            client["externalId"], "501",
            "{name}: numeric id read as the integer shown"
        );
        assert_eq!(
            client["servicePoints"]["edges"][0]["node"]["occupants"],
            json!([{"phone": "418-555-0101", "firstName": "Hélène"}, {"phone": "418-555-0102", "firstName": "Óscar"}]),
            "{name}"
        );
    }
}

#[tokio::test]
async fn broken_files_get_a_file_error() {
    let app = spawn_app().await;
    let good = xlsx(&[
        header(),
        occupant("A", "418-555-0101", "SMS", "1 rue A", "C-1"),
    ]);
    assert_eq!(
        file_error(&app, "truncated.xlsx", good[..good.len() / 2].to_vec()).await,
        "FILE_UNREADABLE"
    );
    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    assert_eq!(file_error(&app, "random.xlsx", random).await, "FILE_FORMAT");
    assert_eq!(
        file_error(&app, "empty.csv", Vec::new()).await,
        "FILE_EMPTY"
    );
    assert_eq!(
        file_error(&app, "notes.txt", b"bonjour\n".to_vec()).await,
        "HEADERS_NOT_FOUND"
    );
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("hello.txt", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(b"not a spreadsheet").unwrap();
    assert_eq!(
        file_error(&app, "archive.xlsx", zip.finish().unwrap().into_inner()).await,
        "FILE_FORMAT"
    );
    assert_healthy(&app).await;
}

/// An xlsx whose sheet inflates to `size` bytes of `fill`.
fn inflating_xlsx(size: usize, fill: u8) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("xl/workbook.xml", options).unwrap();
    zip.write_all(b"<workbook/>").unwrap();
    zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
    let chunk = vec![fill; 1 << 20];
    for _ in 0..size / chunk.len() {
        zip.write_all(&chunk).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[tokio::test]
async fn zip_bombs_are_refused_before_parsing() {
    let app = spawn_app_with(|config| config.imports.max_uncompressed_bytes = 8 << 20).await;
    // 16 MiB of zeros in a few KB: refused on size and ratio.
    let bomb = inflating_xlsx(16 << 20, 0);
    assert!(bomb.len() < 100_000);
    assert_eq!(file_error(&app, "bomb.xlsx", bomb).await, "LIMIT_EXCEEDED");
    assert_healthy(&app).await;
}

#[tokio::test]
async fn a_huge_declared_dimension_allocates_nothing() {
    let app = spawn_app().await;
    // Cells at A1 and XFD1048576: calamine's worksheet_range would allocate
    // 17 billion cells (calamine #693); the streamed reader ignores the far one.
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (column, value) in ["Téléphone", "SMS/Appel", "Adresse"].iter().enumerate() {
        sheet.write_string(0, column as u16, *value).unwrap();
    }
    for (column, value) in ["418-555-0101", "SMS", "1 rue A, Québec"]
        .iter()
        .enumerate()
    {
        sheet.write_string(1, column as u16, *value).unwrap();
    }
    sheet.write_string(1_048_575, 16_383, "loin").unwrap();
    let bytes = workbook.save_to_buffer().unwrap();
    assert!(bytes.len() < 10_000);
    let run = app.import("far.xlsx", bytes, keep()).await;
    assert_eq!(run["committed"], true, "{run:#}");
    assert_eq!(counts(&run, "occupants"), [1, 0, 0, 0]);
    assert_eq!(app.get("/health").await.status, 200);
}

#[tokio::test]
async fn far_apart_cells_in_an_xls_or_ods_are_refused_before_they_are_laid_out() {
    let app = spawn_app().await;
    // clients.xls with its last cell (E5, an Rk record) moved to IV65536:
    // calamine would lay out 65,536 × 256 cells (0.5 GB) on opening it.
    let mut xls = fixture("clients.xls");
    let mut at = 512; // xlwt writes the workbook stream as one run of sectors
    while at + 4 <= xls.len() {
        let kind = u16::from_le_bytes([xls[at], xls[at + 1]]);
        let length = u16::from_le_bytes([xls[at + 2], xls[at + 3]]) as usize;
        if kind == 0x027E && xls[at + 4..at + 8] == [4, 0, 4, 0] {
            xls[at + 4..at + 8].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0x00]);
        }
        if kind == 0 && length == 0 {
            break;
        }
        at += 4 + length;
    }
    assert_ne!(xls, fixture("clients.xls"));
    assert_eq!(file_error(&app, "far.xls", xls).await, "LIMIT_EXCEEDED");
    // An ods row of three numbers repeated a million times.
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(fixture("clients.ods"))).unwrap();
    let mut ods = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).unwrap();
        if entry.name().is_ok_and(|n| n == "content.xml") {
            drop(entry);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            ods.start_file("content.xml", options).unwrap();
            let cell = r#"<table:table-cell office:value-type="float" office:value="1"/>"#;
            write!(
                ods,
                r#"<?xml version="1.0"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"><office:body><office:spreadsheet><table:table table:name="Clients"><table:table-row table:number-rows-repeated="1000000">{cell}{cell}{cell}</table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#
            )
            .unwrap();
        } else {
            ods.raw_copy_file(entry).unwrap();
        }
    }
    let ods = ods.finish().unwrap().into_inner();
    assert_eq!(
        file_error(&app, "repeated.ods", ods).await,
        "LIMIT_EXCEEDED"
    );
    assert_healthy(&app).await;
}

#[tokio::test]
async fn a_shared_string_shown_in_many_cells_is_bounded() {
    let app = spawn_app_with(|config| config.imports.max_uncompressed_bytes = 8 << 20).await;
    // One 2,000-character string in 5,000 × 10 cells: a shared string in
    // the xlsx (a 2 MB sheet), 100 MB once copied into each cell.
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (column, value) in ["Téléphone", "SMS/Appel", "Adresse"].iter().enumerate() {
        sheet.write_string(0, column as u16, *value).unwrap();
    }
    let long = "x".repeat(2_000);
    for row in 1..=5_000 {
        for column in 3..13 {
            sheet.write_string(row, column, &long).unwrap();
        }
    }
    let bytes = workbook.save_to_buffer().unwrap();
    assert!(bytes.len() < 1 << 20, "{}", bytes.len());
    assert_eq!(
        file_error(&app, "shared.xlsx", bytes).await,
        "LIMIT_EXCEEDED"
    );
    assert_healthy(&app).await;
}

#[tokio::test]
async fn too_many_rows_are_refused_whole() {
    let app = spawn_app_with(|config| config.imports.max_import_rows = 3).await;
    let mut rows = vec![header()];
    for phone in [
        "418-555-0101",
        "418-555-0102",
        "418-555-0103",
        "418-555-0104",
    ] {
        rows.push(occupant("A", phone, "SMS", "1 rue A", "C-1"));
    }
    assert_eq!(
        file_error(&app, "many.xlsx", xlsx(&rows)).await,
        "LIMIT_EXCEEDED"
    );
    assert_healthy(&app).await;
}

#[tokio::test]
async fn too_long_a_cell_is_refused_whole() {
    let app = spawn_app_with(|config| config.imports.max_cell_chars = 50).await;
    let mut row = occupant("A", "418-555-0101", "SMS", "1 rue A", "C-1");
    row[5] = crate::fixtures::V::S("n".repeat(51));
    assert_eq!(
        file_error(&app, "long.xlsx", xlsx(&[header(), row])).await,
        "LIMIT_EXCEEDED"
    );
    assert_healthy(&app).await;
}

#[tokio::test]
async fn too_large_an_upload_is_refused() {
    let app = spawn_app_with(|config| config.limits.max_upload_bytes = 16 * 1024).await;
    let mut rows = vec![header()];
    for i in 0..2_000u32 {
        rows.push(vec![
            E,
            E,
            crate::fixtures::V::S(format!("418-555-{:04}", i)),
            T("SMS"),
            T("1 rue A"),
            E,
            E,
        ]);
    }
    let bytes = xlsx(&rows);
    assert!(bytes.len() > 16 * 1024);
    let response = app
        .upload_as(
            &app.token,
            "big.xlsx",
            bytes,
            json!({"mode": "REPLACE_ALL"}),
        )
        .await;
    assert_eq!(response.status(), 413);
    assert_healthy(&app).await;
}

#[tokio::test]
async fn a_second_import_while_one_runs_is_refused() {
    let app = spawn_app().await;
    // Large enough that parsing it takes a while.
    let mut csv = String::from("Téléphone;SMS/Appel;Adresse;Identifiant du client\n");
    for i in 0..60_000u32 {
        csv.push_str(&format!(
            "418{:07};SMS;{} rue A, Québec;C-{}\n",
            5_550_000 + i % 4_000_000,
            i,
            i / 3
        ));
    }
    let first = {
        let (app, csv) = (&app, csv.clone());
        async move {
            app.upload(
                "big.csv",
                csv.into_bytes(),
                json!({"mode": "MERGE_KEEP_MISSING", "dryRun": true}),
            )
            .await
        }
    };
    let second = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let small = xlsx(&[
            header(),
            occupant("A", "418-555-0101", "SMS", "1 rue A", "C-1"),
        ]);
        app.upload("small.xlsx", small, keep()).await
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(
        first["data"]["importSpreadsheet"]["summary"]["totalRows"],
        60_000
    );
    assert_eq!(
        second["errors"][0]["extensions"]["code"], "IMPORT_IN_PROGRESS",
        "{second:#}"
    );
    // Once the first is done, imports are accepted again.
    let small = xlsx(&[
        header(),
        occupant("A", "418-555-0101", "SMS", "1 rue A", "C-1"),
    ]);
    let run = app.import("small.xlsx", small, keep()).await;
    assert_eq!(run["committed"], true);
}
