//! `errors.xlsx`: a run's rows in error written back as the file had them
//! (its headers, its column order, its values and their types), with an
//! "Erreurs" column saying what is wrong and each faulty cell highlighted
//! with a note naming the problem, ready to fix and import again. Pure:
//! the file and the report's issues in, bytes out.

use std::collections::HashMap;

use rust_xlsxwriter::{Format, FormatBorder, Note, Workbook, XlsxError};

use super::cell::Cell;
use super::error::{FileError, Issue};
use super::headers::Mapping;
use super::read::ReadLimits;
use crate::domain::Lang;

#[derive(Debug, thiserror::Error)]
pub enum ErrorsFileError {
    /// The file no longer reads as it did (never, unless the reader changed).
    #[error("the import's file cannot be read again: {0:?}")]
    Unreadable(FileError),
    #[error(transparent)]
    Xlsx(#[from] XlsxError),
}

/// The rows in `errors` (row number → its issues, as the report has them)
/// of `bytes`, read with `mapping` as the import read it.
pub fn write(
    bytes: &[u8],
    limits: &ReadLimits,
    mapping: &[Mapping],
    errors: &[(u32, Vec<Issue>)],
    lang: Lang,
) -> Result<Vec<u8>, ErrorsFileError> {
    let limits = ReadLimits {
        max_rows: limits.max_rows + super::HEADER_ROWS,
        ..limits.clone()
    };
    let (sheet, columns, _) =
        super::data_sheet(bytes, &limits, mapping).map_err(ErrorsFileError::Unreadable)?;
    let header = sheet
        .rows
        .iter()
        .find(|row| row.number == columns.header_row);
    let width = sheet
        .rows
        .iter()
        .filter(|row| row.number >= columns.header_row)
        .map(|row| row.cells.len())
        .max()
        .unwrap_or(0);
    let index_of: HashMap<&str, usize> = columns
        .detected
        .iter()
        .map(|c| (c.header.as_str(), c.index))
        .collect();
    let rows: HashMap<u32, &super::cell::RawRow> =
        sheet.rows.iter().map(|row| (row.number, row)).collect();

    let mut workbook = Workbook::new();
    let out = workbook.add_worksheet();
    out.set_name(lang.pick("Erreurs", "Errors"))?;
    let bold = Format::new()
        .set_bold()
        .set_background_color("DDEBF7")
        .set_border_bottom(FormatBorder::Thin);
    let faulty = Format::new().set_background_color("FFC7CE");
    let wrap = Format::new().set_text_wrap();
    for column in 0..width {
        let title = header.map(|h| h.cell(column).text()).unwrap_or_default();
        out.write_string_with_format(0, column as u16, title, &bold)?;
        out.set_column_width(column as u16, 18)?;
    }
    let errors_column = width as u16;
    out.write_string_with_format(0, errors_column, lang.pick("Erreurs", "Errors"), &bold)?;
    out.set_column_width(errors_column, 60)?;
    out.set_freeze_panes(1, 0)?;

    let mut at = 0u32;
    for (number, issues) in errors {
        let Some(row) = rows.get(number) else {
            continue;
        };
        at += 1;
        // What is wrong with each cell, then with the row.
        let mut by_column: HashMap<usize, Vec<String>> = HashMap::new();
        for issue in issues {
            if let Some(index) = issue.column.as_deref().and_then(|h| index_of.get(h)) {
                by_column
                    .entry(*index)
                    .or_default()
                    .push(issue.message(lang).to_owned());
            }
        }
        for column in 0..width {
            let format = by_column.contains_key(&column).then_some(&faulty);
            write_cell(out, at, column as u16, row.cell(column), format)?;
        }
        for (column, messages) in &by_column {
            let note = Note::new(messages.join("\n")).set_author("Flokon");
            out.insert_note(at, *column as u16, &note)?;
        }
        let all: Vec<&str> = issues.iter().map(|issue| issue.message(lang)).collect();
        out.write_string_with_format(at, errors_column, all.join("\n"), &wrap)?;
    }
    Ok(workbook.save_to_buffer()?)
}

/// A cell as the file had it: numbers stay numbers, text stays text.
fn write_cell(
    out: &mut rust_xlsxwriter::Worksheet,
    row: u32,
    column: u16,
    cell: &Cell,
    format: Option<&Format>,
) -> Result<(), XlsxError> {
    let plain = Format::new();
    let format = format.unwrap_or(&plain);
    match cell {
        Cell::Empty => {
            if format != &plain {
                out.write_blank(row, column, format)?;
            }
        }
        Cell::Text(text) => {
            out.write_string_with_format(row, column, text, format)?;
        }
        Cell::Int(n) => {
            out.write_number_with_format(row, column, *n as f64, format)?;
        }
        Cell::Float(f) => {
            out.write_number_with_format(row, column, *f, format)?;
        }
        Cell::Bool(b) => {
            out.write_boolean_with_format(row, column, *b, format)?;
        }
        Cell::Error(error) => {
            out.write_string_with_format(row, column, error, format)?;
        }
    }
    Ok(())
}
