//! The spreadsheet import as a pipeline of plain functions:
//! read (bounded) → recognize headers → validate rows → plan against the
//! existing records; the service layer then applies the plan in one
//! transaction. Everything here is testable without HTTP or a database.

pub mod cell;
pub mod error;
pub mod errors_file;
pub mod headers;
pub mod plan;
pub mod progress;
pub mod read;
pub mod report;
pub mod rows;

use error::{FileError, Issue};
use headers::{DetectedColumn, Mapping};
use plan::Present;
use progress::{Phase, Progress};
use read::ReadLimits;
use rows::RowOutcome;

use crate::domain::Field;

/// Limits of an import, all configurable (`MAX_IMPORT_ROWS`,
/// `MAX_UNCOMPRESSED_BYTES`, `MAX_CELL_CHARS`).
#[derive(Clone, Debug)]
pub struct ImportLimits {
    /// Data rows, header and title rows not counted.
    pub max_rows: usize,
    pub read: ReadLimits,
}

impl From<&crate::config::ImportConfig> for ImportLimits {
    fn from(config: &crate::config::ImportConfig) -> ImportLimits {
        ImportLimits {
            max_rows: config.max_import_rows,
            read: ReadLimits {
                max_rows: config.max_import_rows,
                max_uncompressed_bytes: config.max_uncompressed_bytes,
                max_cell_chars: config.max_cell_chars,
                max_columns: 200,
            },
        }
    }
}

/// A file read and validated, not yet planned.
#[derive(Debug, Default)]
pub struct Parsed {
    pub columns: Vec<DetectedColumn>,
    pub file_errors: Vec<Issue>,
    pub file_warnings: Vec<Issue>,
    pub rows: Vec<RowOutcome>,
    pub present: Present,
}

/// Header and title rows a file may have above its data.
const HEADER_ROWS: usize = 10;

pub fn parse(
    bytes: &[u8],
    limits: &ImportLimits,
    mapping: &[Mapping],
    progress: &Progress,
) -> Parsed {
    progress.enter(Phase::Reading);
    match parse_inner(bytes, limits.max_rows, &limits.read, mapping, progress) {
        Ok(parsed) => parsed,
        Err((error, columns)) => Parsed {
            file_errors: vec![error.issue()],
            columns,
            ..Parsed::default()
        },
    }
}

type Failure = (FileError, Vec<DetectedColumn>);

/// The file's data: the first visible sheet with a recognizable header
/// row, its columns, and file-level warnings.
pub fn data_sheet(
    bytes: &[u8],
    limits: &ReadLimits,
    mapping: &[Mapping],
) -> Result<(read::Sheet, headers::Columns, Vec<Issue>), FileError> {
    let format = read::detect(bytes)?;
    let found = read::read_sheets(bytes, format, limits, |sheet| {
        match headers::detect(&sheet.rows, mapping) {
            Err(FileError::NoHeaders) => None,
            result => Some((sheet, result)),
        }
    })?;
    let (sheet, detected) = found.ok_or(FileError::NoHeaders)?;
    let (columns, warnings) = detected?;
    Ok((sheet, columns, warnings))
}

fn parse_inner(
    bytes: &[u8],
    max_data_rows: usize,
    limits: &ReadLimits,
    mapping: &[Mapping],
    progress: &Progress,
) -> Result<Parsed, Failure> {
    let limits = ReadLimits {
        max_rows: max_data_rows + HEADER_ROWS,
        ..limits.clone()
    };
    let (sheet, columns, file_warnings) =
        data_sheet(bytes, &limits, mapping).map_err(|e| (e, vec![]))?;

    let data: Vec<_> = sheet
        .rows
        .iter()
        .filter(|row| row.number > columns.header_row)
        .collect();
    if data.len() > max_data_rows {
        return Err((
            FileError::TooManyRows { max: max_data_rows },
            columns.detected,
        ));
    }
    progress.set_rows_total(data.len());
    let rows = data
        .into_iter()
        .map(|row| {
            progress.row_read();
            rows::parse_row(row, &columns)
        })
        .collect();
    let present = Present {
        first_name: columns.has(Field::FirstName),
        last_name: columns.has(Field::LastName),
        notes: columns.has(Field::Notes),
        client_name: columns.has(Field::ClientName),
        coordinates: columns.has(Field::Latitude),
    };
    Ok(Parsed {
        columns: columns.detected,
        file_errors: vec![],
        file_warnings,
        rows,
        present,
    })
}
