//! Readers for `.xlsx`, `.xls`, `.ods` and `.csv`, chosen by content, all
//! bounded: the archive is pre-scanned before calamine opens it (zip bombs),
//! xlsx cells are streamed (a declared `XFD1048576` allocates nothing), and
//! rows, columns and cell lengths are capped. calamine reads `.xls` and
//! `.ods` whole into dense ranges: their extent is measured first
//! (`xls_bounds`, `ods_bounds`), and a panic inside calamine on a malformed
//! file is a file error.

mod ods_bounds;
mod xls_bounds;

use std::io::{Cursor, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};

use calamine::{Data, DataRef, Reader, SheetVisible};

use super::cell::{Cell, RawRow};
use super::error::FileError;

/// Bounds on what a file may hold.
#[derive(Clone, Debug)]
pub struct ReadLimits {
    /// Non-empty rows, header and title rows included.
    pub max_rows: usize,
    /// Total uncompressed size of an xlsx/ods archive.
    pub max_uncompressed_bytes: u64,
    pub max_cell_chars: usize,
    /// Columns beyond this are ignored.
    pub max_columns: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Xls,
    Ods,
    Csv,
}

/// A sheet: its name and its non-empty rows.
#[derive(Debug)]
pub struct Sheet {
    pub name: String,
    pub rows: Vec<RawRow>,
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
/// Past this many entries an archive is not a spreadsheet.
const MAX_ZIP_ENTRIES: usize = 10_000;
/// Spreadsheet XML compresses well, but not a thousand times.
const MAX_COMPRESSION_RATIO: u64 = 200;
/// Cells that calamine may lay out densely for one `.xls` or `.ods` (each
/// sheet from its first to its last filled cell, all sheets together): about
/// 64 MB a copy, room for 65,536 rows × 30 columns. Without it a 6 KB
/// `.xls` with cells in A1 and IV65536 asks for 0.5 GB (see the tests).
const MAX_SPANNED_CELLS: u64 = 2_000_000;
/// Text that calamine may copy into those cells: a shared string (`.xls`)
/// or a repeated cell (`.ods`) is copied into each cell that shows it, so
/// a small file can name one long string millions of times.
const MAX_EXPANDED_TEXT: u64 = 64 * 1024 * 1024;

/// Runs a calamine call, turning its panics into `Unreadable`: on
/// malformed input calamine 0.38 indexes past the end of its buffers (a
/// sheet offset past the stream, a record shorter than its type says...).
/// Nothing it built survives the panic.
fn guarded<T, E>(call: impl FnOnce() -> Result<T, E>) -> Result<T, FileError> {
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(_)) | Err(_) => Err(FileError::Unreadable),
    }
}

/// The format by content; the extension is not trusted.
pub fn detect(bytes: &[u8]) -> Result<Format, FileError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(FileError::Empty);
    }
    if bytes.starts_with(OLE_MAGIC) {
        return Ok(Format::Xls);
    }
    if bytes.starts_with(ZIP_MAGIC) {
        let mut archive =
            zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| FileError::Unreadable)?;
        if archive.index_for_name("xl/workbook.xml").is_some() {
            return Ok(Format::Xlsx);
        }
        let mimetype = archive.by_name("mimetype").ok().and_then(|mut file| {
            let mut text = String::new();
            file.by_ref()
                .take(200)
                .read_to_string(&mut text)
                .ok()
                .map(|_| text)
        });
        if mimetype.is_some_and(|m| m.trim() == "application/vnd.oasis.opendocument.spreadsheet") {
            return Ok(Format::Ods);
        }
        return Err(FileError::Unsupported);
    }
    if looks_like_text(bytes) {
        return Ok(Format::Csv);
    }
    Err(FileError::Unsupported)
}

/// Text has no NUL bytes and few control characters.
fn looks_like_text(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(8192)];
    if sample.starts_with(&[0xFF, 0xFE]) || sample.starts_with(&[0xFE, 0xFF]) {
        return true; // UTF-16 with a BOM: Excel's "Unicode text".
    }
    let controls = sample
        .iter()
        .filter(|b| **b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C))
        .count();
    !sample.contains(&0) && controls * 100 <= sample.len()
}

/// Checks entry count, declared and real uncompressed sizes, and the
/// compression ratio, before any XML is parsed.
pub fn prescan_archive(bytes: &[u8], limits: &ReadLimits) -> Result<(), FileError> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| FileError::Unreadable)?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(FileError::Unreadable);
    }
    let too_large = || FileError::Uncompressed {
        max_bytes: limits.max_uncompressed_bytes,
    };
    let mut declared = 0u64;
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|_| FileError::Unreadable)?;
        declared = declared.saturating_add(entry.size());
        if declared > limits.max_uncompressed_bytes {
            return Err(too_large());
        }
        if entry.size() > 1_000_000
            && entry.size() / entry.compressed_size().max(1) > MAX_COMPRESSION_RATIO
        {
            return Err(too_large());
        }
    }
    // Declared sizes can lie: inflate everything, counting, up to the limit.
    let mut real = 0u64;
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(|_| FileError::Unreadable)?;
        let budget = limits.max_uncompressed_bytes - real;
        let read = std::io::copy(&mut entry.take(budget + 1), &mut std::io::sink())
            .map_err(|_| FileError::Unreadable)?;
        real += read;
        if real > limits.max_uncompressed_bytes {
            return Err(too_large());
        }
    }
    Ok(())
}

/// Collects rows cell by cell, enforcing the limits.
struct RowBuilder<'a> {
    limits: &'a ReadLimits,
    rows: Vec<RawRow>,
    current: Option<RawRow>,
    /// Bytes of text kept: an xlsx shared string is copied into each cell
    /// that shows it, so a small sheet can name one long string millions
    /// of times; past the uncompressed size limit the file is refused.
    text: u64,
}

impl<'a> RowBuilder<'a> {
    fn new(limits: &'a ReadLimits) -> Self {
        RowBuilder {
            limits,
            rows: Vec::new(),
            current: None,
            text: 0,
        }
    }

    /// `row` and `column` are 0-based; cells come in row order.
    fn push(&mut self, row: u32, column: u32, cell: Cell) -> Result<(), FileError> {
        if cell.is_empty() || column as usize >= self.limits.max_columns {
            return Ok(());
        }
        if cell.len_chars() > self.limits.max_cell_chars {
            return Err(FileError::CellTooLong {
                row: row + 1,
                max: self.limits.max_cell_chars,
            });
        }
        if let Cell::Text(text) | Cell::Error(text) = &cell {
            self.text += text.len() as u64;
            if self.text > self.limits.max_uncompressed_bytes {
                return Err(FileError::Uncompressed {
                    max_bytes: self.limits.max_uncompressed_bytes,
                });
            }
        }
        let number = row + 1;
        if self.current.as_ref().is_none_or(|r| r.number != number) {
            self.finish_row()?;
            self.current = Some(RawRow {
                number,
                cells: Vec::new(),
            });
        }
        if let Some(current) = &mut self.current {
            let column = column as usize;
            if current.cells.len() <= column {
                current.cells.resize(column + 1, Cell::Empty);
            }
            current.cells[column] = cell;
        }
        Ok(())
    }

    fn finish_row(&mut self) -> Result<(), FileError> {
        if let Some(row) = self.current.take() {
            self.rows.push(row);
            if self.rows.len() > self.limits.max_rows {
                return Err(FileError::TooManyRows {
                    max: self.limits.max_rows,
                });
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<RawRow>, FileError> {
        self.finish_row()?;
        Ok(self.rows)
    }
}

fn from_data(data: &Data) -> Cell {
    match data {
        Data::Empty => Cell::Empty,
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Int(i) => Cell::Int(*i),
        Data::Float(f) => Cell::Float(*f),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(d) => Cell::Text(d.to_string()),
        Data::Error(e) => Cell::Error(e.to_string()),
    }
}

fn from_data_ref(data: &DataRef<'_>) -> Cell {
    match data {
        DataRef::Empty => Cell::Empty,
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => {
            Cell::Text(s.clone())
        }
        DataRef::SharedString(s) => Cell::Text((*s).to_owned()),
        DataRef::Int(i) => Cell::Int(*i),
        DataRef::Float(f) => Cell::Float(*f),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::DateTime(d) => Cell::Text(d.to_string()),
        DataRef::Error(e) => Cell::Error(e.to_string()),
    }
}

/// Reads the visible sheets in order, handing each to `accept` until it
/// takes one (the first with recognizable headers).
pub fn read_sheets<T>(
    bytes: &[u8],
    format: Format,
    limits: &ReadLimits,
    mut accept: impl FnMut(Sheet) -> Option<T>,
) -> Result<Option<T>, FileError> {
    match format {
        Format::Csv => Ok(accept(Sheet {
            name: String::new(),
            rows: read_csv(bytes, limits)?,
        })),
        Format::Xlsx => {
            prescan_archive(bytes, limits)?;
            let mut workbook = guarded(|| calamine::Xlsx::new(Cursor::new(bytes)))?;
            for name in visible_sheets(workbook.sheets_metadata()) {
                let mut reader = guarded(|| workbook.worksheet_cells_reader(&name))?;
                let mut builder = RowBuilder::new(limits);
                while let Some(cell) = guarded(|| reader.next_cell())? {
                    let (row, column) = cell.get_position();
                    builder.push(row, column, from_data_ref(cell.get_value()))?;
                }
                if let Some(found) = accept(Sheet {
                    name,
                    rows: builder.finish()?,
                }) {
                    return Ok(Some(found));
                }
            }
            Ok(None)
        }
        Format::Xls | Format::Ods => {
            // Both are read whole when opened: measured first.
            let mut workbook = match format {
                Format::Xls => {
                    xls_bounds::check(bytes, MAX_SPANNED_CELLS, MAX_EXPANDED_TEXT)?;
                    calamine::Sheets::Xls(guarded(|| calamine::Xls::new(Cursor::new(bytes)))?)
                }
                _ => {
                    prescan_archive(bytes, limits)?;
                    ods_bounds::check(bytes, limits, MAX_SPANNED_CELLS, MAX_EXPANDED_TEXT)?;
                    calamine::Sheets::Ods(guarded(|| calamine::Ods::new(Cursor::new(bytes)))?)
                }
            };
            for name in visible_sheets(workbook.sheets_metadata()) {
                let range = guarded(|| workbook.worksheet_range(&name))?;
                let mut builder = RowBuilder::new(limits);
                for (row, column, data) in range.used_cells() {
                    let (start_row, start_column) = range.start().unwrap_or((0, 0));
                    builder.push(
                        start_row + row as u32,
                        start_column + column as u32,
                        from_data(data),
                    )?;
                }
                if let Some(found) = accept(Sheet {
                    name,
                    rows: builder.finish()?,
                }) {
                    return Ok(Some(found));
                }
            }
            Ok(None)
        }
    }
}

fn visible_sheets(sheets: &[calamine::Sheet]) -> Vec<String> {
    sheets
        .iter()
        .filter(|s| s.visible == SheetVisible::Visible)
        .map(|s| s.name.clone())
        .collect()
}

/// UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252 as Excel
/// writes it in French locales.
pub fn decode_text(bytes: &[u8]) -> String {
    if let Some((encoding, bom_length)) = encoding_rs::Encoding::for_bom(bytes) {
        return encoding
            .decode_without_bom_handling(&bytes[bom_length..])
            .0
            .into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

/// The delimiter: `sep=X` on the first line (Excel's hint), else whichever
/// of `,` `;` tab splits the first lines most often outside quotes.
fn delimiter(text: &str) -> (u8, &str) {
    let first_line = text.lines().next().unwrap_or("");
    if let Some(sep) = first_line.trim().strip_prefix("sep=")
        && let [byte] = sep.as_bytes()
    {
        let rest = text.split_once('\n').map_or("", |(_, rest)| rest);
        return (*byte, rest);
    }
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(20)
        .collect();
    let count = |delimiter: char, line: &str| {
        let mut quoted = false;
        line.chars()
            .filter(|c| {
                if *c == '"' {
                    quoted = !quoted;
                }
                !quoted && *c == delimiter
            })
            .count()
    };
    let best = [';', ',', '\t']
        .into_iter()
        .max_by_key(|d| {
            let counts: Vec<usize> = lines.iter().map(|l| count(*d, l)).collect();
            let lines_with = counts.iter().filter(|c| **c > 0).count();
            (lines_with, counts.iter().sum::<usize>())
        })
        .unwrap_or(',');
    (best as u8, text)
}

pub fn read_csv(bytes: &[u8], limits: &ReadLimits) -> Result<Vec<RawRow>, FileError> {
    let text = decode_text(bytes);
    let (delimiter, body) = delimiter(&text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(body.as_bytes());
    let mut builder = RowBuilder::new(limits);
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|_| FileError::Unreadable)?;
        for (column, value) in record.iter().enumerate() {
            builder.push(index as u32, column as u32, Cell::Text(value.to_owned()))?;
        }
    }
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ReadLimits {
        ReadLimits {
            max_rows: 100,
            max_uncompressed_bytes: 1 << 20,
            max_cell_chars: 50,
            max_columns: 10,
        }
    }

    #[test]
    fn detects_by_content() {
        assert_eq!(detect(b"Pr\xe9nom;Nom\n"), Ok(Format::Csv));
        assert_eq!(detect(OLE_MAGIC), Ok(Format::Xls));
        assert_eq!(detect(b"   "), Err(FileError::Empty));
        assert_eq!(
            detect(&[0u8, 1, 2, 3, 0, 0, 7, 8]),
            Err(FileError::Unsupported)
        );
        assert_eq!(detect(b"PK\x03\x04garbage"), Err(FileError::Unreadable));
    }

    #[test]
    fn reads_windows_1252_semicolon_csv_with_quotes() {
        let bytes = b"Pr\xe9nom;T\xe9l\xe9phone;Adresse\n\"Ren\xe9e\";4185550123;\"1 rue A, Qu\xe9bec\"\n;;\nJos;;x\n";
        let rows = read_csv(bytes, &limits()).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].cells[0], Cell::Text("Prénom".into()));
        assert_eq!(rows[1].number, 2);
        assert_eq!(rows[1].cells[2], Cell::Text("1 rue A, Québec".into()));
        assert_eq!(rows[2].number, 4);
    }

    #[test]
    fn honours_excels_sep_line_and_a_bom() {
        let rows = read_csv("\u{feff}sep=,\nA,B\n1,2\n".as_bytes(), &limits()).unwrap();
        assert_eq!(
            rows[0].cells,
            vec![Cell::Text("A".into()), Cell::Text("B".into())]
        );
        assert_eq!(rows[1].number, 2);
    }

    #[test]
    fn detects_tabs_and_commas() {
        assert_eq!(delimiter("a\tb\tc\n1\t2\t3").0, b'\t');
        assert_eq!(delimiter("a,b,c\n\"1;2\",2,3").0, b',');
    }

    const CLIENTS_XLS: &[u8] = include_bytes!("../../tests/fixtures/clients.xls");
    const CLIENTS_ODS: &[u8] = include_bytes!("../../tests/fixtures/clients.ods");

    fn default_limits() -> ReadLimits {
        crate::import::ImportLimits::from(&crate::config::ImportConfig::default()).read
    }

    fn read(bytes: &[u8]) -> Result<usize, FileError> {
        let format = detect(bytes)?;
        read_sheets(bytes, format, &default_limits(), |sheet| {
            Some(sheet.rows.len())
        })
        .map(Option::unwrap_or_default)
    }

    /// The fixture with `patch` applied to the data of its BIFF records
    /// (its `Workbook` stream is one run of sectors from offset 512).
    fn patched_xls(patch: impl Fn(u16, &mut [u8])) -> Vec<u8> {
        let mut bytes = CLIENTS_XLS.to_vec();
        let mut at = 512;
        while at + 4 <= bytes.len() {
            let kind = u16::from_le_bytes([bytes[at], bytes[at + 1]]);
            let length = u16::from_le_bytes([bytes[at + 2], bytes[at + 3]]) as usize;
            if kind == 0 && length == 0 {
                break;
            }
            patch(kind, &mut bytes[at + 4..at + 4 + length]);
            at += 4 + length;
        }
        bytes
    }

    /// `clients.ods` with another `content.xml`.
    fn ods_with_content(content: &str) -> Vec<u8> {
        use std::io::Write;
        let mut source = zip::ZipArchive::new(Cursor::new(CLIENTS_ODS)).unwrap();
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for i in 0..source.len() {
            let entry = source.by_index_raw(i).unwrap();
            if entry.name().is_ok_and(|n| n == "content.xml") {
                drop(entry);
                let options = zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated);
                writer.start_file("content.xml", options).unwrap();
                writer.write_all(content.as_bytes()).unwrap();
            } else {
                writer.raw_copy_file(entry).unwrap();
            }
        }
        writer.finish().unwrap().into_inner()
    }

    fn ods_table(rows: &str) -> Vec<u8> {
        ods_with_content(&format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"><office:body><office:spreadsheet><table:table table:name="Clients">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
        ))
    }

    const TOO_MANY: FileError = FileError::TooManyCells {
        max: MAX_SPANNED_CELLS,
    };

    #[test]
    fn reads_the_xls_and_ods_fixtures_within_the_bounds() {
        assert_eq!(read(CLIENTS_XLS), Ok(4));
        assert_eq!(read(CLIENTS_ODS), Ok(4));
        let cell =
            r#"<table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell>"#;
        // LibreOffice's trailing empty rows and columns are not cells.
        let trailing = r#"<table:table-row table:number-rows-repeated="1048570"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>"#;
        let row = format!("<table:table-row>{cell}{cell}</table:table-row>");
        assert_eq!(read(&ods_table(&format!("{row}{row}{trailing}"))), Ok(2));
    }

    #[test]
    fn an_xls_with_far_apart_cells_is_refused_before_calamine_expands_it() {
        // The last cell (E5) moved to IV65536: 65,536 × 256 dense cells, a
        // 0.5 GB allocation for a 6 KB file.
        let far = patched_xls(|kind, data| {
            if kind == 0x027E && data[..4] == [4, 0, 4, 0] {
                data[..4].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0x00]);
            }
        });
        assert_eq!(read(&far), Err(TOO_MANY));
        // Column 65,535: 2³² cells, which calamine's allocation aborts on.
        let wide = patched_xls(|kind, data| {
            if kind == 0x027E && data[..4] == [4, 0, 4, 0] {
                data[..4].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
            }
        });
        assert_eq!(read(&wide), Err(TOO_MANY));
        // A declared 2³² rows × 255 columns, reserved up front.
        let declared = patched_xls(|kind, data| {
            if kind == 0x0200 {
                data[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
                data[10..12].copy_from_slice(&255u16.to_le_bytes());
            }
        });
        assert_eq!(read(&declared), Err(TOO_MANY));
        // A sheet said to start past the end of the stream (calamine
        // slices there and panics).
        let past = patched_xls(|kind, data| {
            if kind == 0x0085 {
                data[..4].copy_from_slice(&0x00FF_FFFFu32.to_le_bytes());
            }
        });
        assert_eq!(read(&past), Err(FileError::Unreadable));
    }

    #[test]
    fn an_xls_whose_sector_chain_loops_is_refused() {
        // The directory's chain made to point at itself: calamine would
        // follow it until memory runs out.
        let mut bytes = CLIENTS_XLS.to_vec();
        let dir_start = u32::from_le_bytes(bytes[48..52].try_into().unwrap());
        let fat_sector = u32::from_le_bytes(bytes[76..80].try_into().unwrap()) as usize;
        let entry = 512 + fat_sector * 512 + dir_start as usize * 4;
        bytes[entry..entry + 4].copy_from_slice(&dir_start.to_le_bytes());
        assert_eq!(read(&bytes), Err(FileError::Unreadable));
    }

    #[test]
    fn an_ods_whose_repeats_expand_past_the_bounds_is_refused() {
        let cell = r#"<table:table-cell office:value-type="float" office:value="1"/>"#;
        let rows = format!(
            r#"<table:table-row table:number-rows-repeated="1000000">{cell}{cell}{cell}</table:table-row>"#
        );
        assert_eq!(read(&ods_table(&rows)), Err(TOO_MANY));
        let columns = r#"<table:table-row table:number-rows-repeated="200"><table:table-cell table:number-columns-repeated="16384" office:value-type="float" office:value="1"/></table:table-row>"#;
        assert_eq!(read(&ods_table(columns)), Err(TOO_MANY));
        // 10¹² spaces in one cell.
        let spaces = r#"<table:table-row><table:table-cell office:value-type="string"><text:p><text:s text:c="1000000000000"/></text:p></table:table-cell></table:table-row>"#;
        assert!(matches!(
            read(&ods_table(spaces)),
            Err(FileError::Uncompressed { .. })
        ));
        // A 1,000-character string copied into 100 × 1,000 cells.
        let long = format!(
            r#"<table:table-row table:number-rows-repeated="1000"><table:table-cell table:number-columns-repeated="100" office:value-type="string"><text:p>{}</text:p></table:table-cell></table:table-row>"#,
            "x".repeat(1000)
        );
        assert!(matches!(
            read(&ods_table(&long)),
            Err(FileError::Uncompressed { .. })
        ));
    }

    #[test]
    fn an_ods_left_open_at_its_end_is_refused() {
        // calamine reads an unclosed table, or an unclosed annotation in a
        // cell, forever.
        let cell =
            r#"<table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell>"#;
        let open_table = ods_with_content(&format!(
            r#"<office:document-content><office:body><office:spreadsheet><table:table table:name="S"><table:table-row>{cell}</table:table-row>"#
        ));
        assert_eq!(read(&open_table), Err(FileError::Unreadable));
        let open_annotation = ods_table(
            r#"<table:table-row><table:table-cell office:value-type="string"><office:annotation><text:p>note"#,
        );
        assert_eq!(read(&open_annotation), Err(FileError::Unreadable));
        // The cell closed, but not its annotation.
        let annotation_holding_the_cell_end = ods_table(
            r#"<table:table-row><table:table-cell office:value-type="string"><office:annotation><text:p>note</text:p></table:table-cell></table:table-row>"#,
        );
        assert_eq!(
            read(&annotation_holding_the_cell_end),
            Err(FileError::Unreadable)
        );
    }

    /// What the fuzzers found (tests/fixtures/fuzz, one file each, named
    /// after the fault): each is now one file error, in bounded time and
    /// memory.
    #[test]
    fn fuzz_findings_get_a_file_error() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
        let limits = crate::import::ImportLimits::from(&crate::config::ImportConfig::default());
        let mut files = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let progress = crate::import::progress::Progress::default();
            let parsed = crate::import::parse(&bytes, &limits, &[], &progress);
            assert_eq!(parsed.file_errors.len(), 1, "{}", path.display());
            assert!(parsed.rows.is_empty(), "{}", path.display());
            files += 1;
        }
        assert!(files > 0);
    }

    #[test]
    fn enforces_row_and_cell_limits() {
        let long = format!("a\n{}\n", "x".repeat(51));
        assert_eq!(
            read_csv(long.as_bytes(), &limits()),
            Err(FileError::CellTooLong { row: 2, max: 50 })
        );
        let wide = format!("{}\n", vec!["x".repeat(40); 10].join(",")).repeat(30);
        let small = ReadLimits {
            max_uncompressed_bytes: 10_000,
            ..limits()
        };
        assert_eq!(
            read_csv(wide.as_bytes(), &small),
            Err(FileError::Uncompressed { max_bytes: 10_000 })
        );
        let many = "a\n".repeat(101);
        assert_eq!(
            read_csv(many.as_bytes(), &limits()),
            Err(FileError::TooManyRows { max: 100 })
        );
    }
}
