//! What calamine (0.38) would allocate for an `.ods`, measured before it
//! opens the file.
//!
//! `calamine::Ods::new` reads every table of `content.xml` at once into
//! dense ranges, expanding `table:number-rows-repeated` (up to 1,048,576
//! rows), `table:number-columns-repeated` (up to 16,384 columns) and
//! `<text:s text:c="N"/>` (N spaces, unbounded): a few hundred bytes of XML
//! can ask for gigabytes. This reads `content.xml` the way calamine does
//! (same XML settings, same rules for which cells count) and adds up, for
//! all tables, the cells of each row as calamine lists them, the cells of
//! each table's dense range (repeats expanded), and the text those cells
//! hold once copied into every repeat. A table or a cell annotation left
//! open at the end of the file, which calamine would read forever, is
//! refused. The archive was checked by `prescan_archive` before.

use std::io::{BufReader, Cursor};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::{FileError, ReadLimits};

/// calamine's caps on an ods table.
const MAX_ROWS: usize = 1_048_576;
const MAX_COLUMNS: usize = 16_384;

fn attribute(element: &BytesStart<'_>, name: &str) -> Result<Option<String>, FileError> {
    for attribute in element.attributes().with_checks(false) {
        let attribute = attribute.map_err(|_| FileError::Unreadable)?;
        if attribute.key.as_ref() == name {
            return Ok(Some(attribute.value.into_owned()));
        }
    }
    Ok(None)
}

/// A repeat count as calamine parses it (`usize`, 1 when absent).
fn repeats(element: &BytesStart<'_>, name: &str) -> Result<usize, FileError> {
    match attribute(element, name)? {
        Some(value) => value.trim().parse().map_err(|_| FileError::Unreadable),
        None => Ok(1),
    }
}

/// One table's measures, in cells and text bytes.
#[derive(Default)]
struct Table {
    rows: usize,
    /// Cells of every row as listed before the dense range is built.
    listed: u64,
    /// Rows from the first to the last non-empty one, repeats expanded.
    span_rows: u64,
    /// Repeated rows seen since the last non-empty row.
    pending_rows: u64,
    width: u64,
    text: u64,
}

/// Reads one cell's text (when calamine reads its content) up to its end
/// tag: returns its length in bytes, saturating.
fn cell_text(
    reader: &mut Reader<BufReader<Cursor<Vec<u8>>>>,
    buffer: &mut Vec<u8>,
) -> Result<u64, FileError> {
    let mut length = 0u64;
    loop {
        buffer.clear();
        match reader
            .read_event_into(buffer)
            .map_err(|_| FileError::Unreadable)?
        {
            Event::Text(text) => length = length.saturating_add(text.len() as u64),
            Event::GeneralRef(_) => length = length.saturating_add(4),
            Event::End(end)
                if matches!(
                    end.name().as_ref(),
                    "table:table-cell" | "table:covered-table-cell"
                ) =>
            {
                return Ok(length);
            }
            Event::Start(start) => match start.name().as_ref() {
                // calamine skips an annotation up to its end tag, and on
                // the end of the file reads again forever (found by fuzzing:
                // an annotation holding the cell's end tag but not its own).
                "office:annotation" => loop {
                    buffer.clear();
                    match reader
                        .read_event_into(buffer)
                        .map_err(|_| FileError::Unreadable)?
                    {
                        Event::End(end) if end.name().as_ref() == "office:annotation" => break,
                        Event::Eof => return Err(FileError::Unreadable),
                        _ => {}
                    }
                },
                "text:s" => {
                    let spaces = repeats(&start, "text:c")?;
                    length = length.saturating_add(spaces as u64);
                }
                _ => length = length.saturating_add(1),
            },
            Event::Eof => return Err(FileError::Unreadable),
            _ => {}
        }
    }
}

/// Adds up what calamine would build for the tables of `content.xml`.
fn measure(content: Vec<u8>, max_cells: u64, max_text: u64) -> Result<(), FileError> {
    let mut reader = Reader::from_reader(BufReader::new(Cursor::new(content)));
    let config = reader.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    config.check_comments = false;
    config.expand_empty_elements = true;
    let (mut buffer, mut inner) = (Vec::new(), Vec::new());
    let mut table: Option<Table> = None;
    let (mut cells, mut text) = (0u64, 0u64);
    let too_many = || FileError::TooManyCells { max: max_cells };
    loop {
        buffer.clear();
        let event = reader
            .read_event_into(&mut buffer)
            .map_err(|_| FileError::Unreadable)?;
        match (event, table.as_mut()) {
            // calamine reads a table until its end tag, and on the end of
            // the file reads again forever (found by fuzzing).
            (Event::Eof, Some(_)) => return Err(FileError::Unreadable),
            (Event::Eof, None) => break,
            // calamine reads the tables that have a name.
            (Event::Start(start), None)
                if start.name().as_ref() == "table:table"
                    && attribute(&start, "table:name")?.is_some() =>
            {
                table = Some(Table::default());
            }
            (Event::End(end), Some(t)) if end.name().as_ref() == "table:table" => {
                cells = cells.saturating_add(t.listed);
                cells = cells.saturating_add(t.span_rows.saturating_mul(t.width));
                text = text.saturating_add(t.text);
                table = None;
            }
            (Event::Start(start), Some(t)) if start.name().as_ref() == "table:table-row" => {
                let row_repeats = repeats(&start, "table:number-rows-repeated")?
                    .min(MAX_ROWS.saturating_sub(t.rows));
                t.rows = t.rows.saturating_add(row_repeats);
                // The row's cells: empty ones are listed only before a
                // non-empty one; each cell's repeats are capped per row.
                let (mut listed, mut empty_run, mut row_text) = (0usize, 0usize, 0u64);
                let mut non_empty = false;
                loop {
                    inner.clear();
                    let event = reader
                        .read_event_into(&mut inner)
                        .map_err(|_| FileError::Unreadable)?;
                    let cell = match event {
                        Event::Start(cell)
                            if matches!(
                                cell.name().as_ref(),
                                "table:table-cell" | "table:covered-table-cell"
                            ) =>
                        {
                            cell.into_owned()
                        }
                        Event::End(end) if end.name().as_ref() == "table:table-row" => break,
                        _ => return Err(FileError::Unreadable),
                    };
                    let column_repeats = repeats(&cell, "table:number-columns-repeated")?;
                    listed += empty_run.min(MAX_COLUMNS - listed);
                    let count = column_repeats.min(MAX_COLUMNS - listed);
                    // Any value, value type or formula may make a cell
                    // non-empty: counted as such.
                    let mut has_value = false;
                    let mut length = 0u64;
                    // Whether calamine reads the cell's content (its text)
                    // or skips to its end tag, counting nested cells: the
                    // same rule as its `get_datatype`, attribute by
                    // attribute (found by fuzzing: a float cell holding a
                    // cell's start tag swallowed the table's end).
                    let (mut value_set, mut is_string, mut is_error) = (false, false, false);
                    let mut empty_string_value = false;
                    for attribute in cell.attributes().with_checks(false) {
                        let attribute = attribute.map_err(|_| FileError::Unreadable)?;
                        let key = attribute.key.as_ref();
                        match key {
                            "office:value"
                            | "office:string-value"
                            | "office:date-value"
                            | "office:time-value"
                            | "office:boolean-value"
                                if !value_set =>
                            {
                                value_set = true;
                                empty_string_value =
                                    key == "office:string-value" && attribute.value.is_empty();
                            }
                            "office:value-type" if !value_set => {
                                is_string = &*attribute.value == "string";
                            }
                            "calcext:value-type" => {
                                is_error = &*attribute.value == "error";
                            }
                            _ => {}
                        }
                        if key.starts_with("office:")
                            || key == "calcext:value-type"
                            || key == "table:formula"
                        {
                            has_value = true;
                            length = length.saturating_add(attribute.value.len() as u64);
                        }
                    }
                    let reads_content =
                        (!value_set && is_string) || (is_error && empty_string_value);
                    if reads_content {
                        length = length.saturating_add(cell_text(&mut reader, &mut inner)?);
                    } else {
                        reader
                            .read_to_end_into(cell.name(), &mut inner)
                            .map_err(|_| FileError::Unreadable)?;
                    }
                    if has_value {
                        listed += count;
                        empty_run = 0;
                        non_empty = true;
                        row_text = row_text.saturating_add(length.saturating_mul(count as u64));
                    } else {
                        empty_run = count;
                    }
                }
                let row_repeats = row_repeats as u64;
                t.listed = t.listed.saturating_add(listed as u64);
                if non_empty {
                    t.span_rows = t
                        .span_rows
                        .saturating_add(t.pending_rows)
                        .saturating_add(row_repeats);
                    t.pending_rows = 0;
                    t.width = t.width.max(listed as u64);
                    t.text = t.text.saturating_add(row_text.saturating_mul(row_repeats));
                } else if t.span_rows > 0 {
                    t.pending_rows = t.pending_rows.saturating_add(row_repeats);
                }
            }
            _ => {}
        }
        if cells.saturating_add(table.as_ref().map_or(0, |t| t.listed)) > max_cells {
            return Err(too_many());
        }
        if text > max_text {
            return Err(FileError::Uncompressed {
                max_bytes: max_text,
            });
        }
    }
    if cells > max_cells {
        return Err(too_many());
    }
    Ok(())
}

/// Refuses an `.ods` that calamine would expand past `max_cells` cells, or
/// past `max_text` bytes of text.
pub(super) fn check(
    bytes: &[u8],
    limits: &ReadLimits,
    max_cells: u64,
    max_text: u64,
) -> Result<(), FileError> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| FileError::Unreadable)?;
    let mut content = Vec::new();
    {
        use std::io::Read;
        let mut entry = archive
            .by_name("content.xml")
            .map_err(|_| FileError::Unreadable)?;
        entry
            .by_ref()
            .take(limits.max_uncompressed_bytes + 1)
            .read_to_end(&mut content)
            .map_err(|_| FileError::Unreadable)?;
    }
    measure(content, max_cells, max_text)
}
