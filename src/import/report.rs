//! The per-row report of a run, stored in chunks: each chunk holds up to
//! [`ROWS_PER_CHUNK`] consecutive rows as deflated JSON, with how many rows
//! of each status it holds. A 100,000-row import writes 100 chunks (a few
//! MB) in one statement instead of 100,000 rows; a page of the report
//! reads the chunks that can hold it, skipping those without a row of the
//! statuses asked for, and totals come from the chunks' counts.

use std::io::{Read, Write};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::plan::RowResult;
use crate::domain::RowStatus;

pub const ROWS_PER_CHUNK: usize = 1_000;

/// How many rows of each status a chunk (or a report) holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
    pub skipped: i32,
    pub error: i32,
}

impl StatusCounts {
    fn add(&mut self, status: RowStatus) {
        let count = match status {
            RowStatus::Created => &mut self.created,
            RowStatus::Updated => &mut self.updated,
            RowStatus::Unchanged => &mut self.unchanged,
            RowStatus::Skipped => &mut self.skipped,
            RowStatus::Error => &mut self.error,
        };
        *count += 1;
    }
}

/// Consecutive rows of a report, encoded.
#[derive(Clone, Debug, PartialEq)]
pub struct Chunk {
    pub first_row: i32,
    pub last_row: i32,
    pub counts: StatusCounts,
    pub data: Vec<u8>,
}

/// The report of `rows` (in row order) as chunks.
pub fn chunks(rows: &[RowResult]) -> impl Iterator<Item = Result<Chunk, serde_json::Error>> + '_ {
    rows.chunks(ROWS_PER_CHUNK).map(|rows| {
        let mut counts = StatusCounts::default();
        for row in rows {
            counts.add(row.status);
        }
        Ok(Chunk {
            first_row: rows[0].number as i32,
            last_row: rows[rows.len() - 1].number as i32,
            counts,
            data: encode(rows)?,
        })
    })
}

/// Items as deflated JSON: a report chunk's rows, a run's deletions.
pub fn encode<T: Serialize>(items: &[T]) -> Result<Vec<u8>, serde_json::Error> {
    let mut encoder = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(items.len() * 64),
        flate2::Compression::fast(),
    );
    serde_json::to_writer(&mut encoder, items)?;
    encoder.flush().map_err(serde_json::Error::io)?;
    encoder.finish().map_err(serde_json::Error::io)
}

/// The rows of a chunk's `data`, in row order.
pub fn decode(data: &[u8]) -> Result<Vec<RowResult>, serde_json::Error> {
    decode_as(data)
}

/// What [`encode`] wrote.
pub fn decode_as<T: DeserializeOwned>(data: &[u8]) -> Result<Vec<T>, serde_json::Error> {
    let mut json = Vec::with_capacity(data.len() * 4);
    flate2::read::DeflateDecoder::new(data)
        .read_to_end(&mut json)
        .map_err(serde_json::Error::io)?;
    serde_json::from_slice(&json)
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::import::error::Issue;

    fn row(number: u32) -> RowResult {
        let status = match number % 5 {
            0 => RowStatus::Error,
            1 => RowStatus::Created,
            2 => RowStatus::Updated,
            3 => RowStatus::Unchanged,
            _ => RowStatus::Skipped,
        };
        let issue = Issue::new("PHONE_INVALID", Some("Téléphone"), "Numéro invalide", "Bad");
        RowResult {
            number,
            status,
            errors: match status {
                RowStatus::Error => vec![issue.clone()],
                _ => Vec::new(),
            },
            warnings: match number % 7 {
                0 => vec![issue],
                _ => Vec::new(),
            },
            client_id: (status != RowStatus::Error).then(Uuid::new_v4),
            point_id: (status == RowStatus::Created).then(Uuid::new_v4),
            occupant_id: None,
            changes: vec![],
        }
    }

    #[test]
    fn a_report_splits_into_chunks_that_decode_to_the_same_rows_and_count_their_statuses() {
        let rows: Vec<RowResult> = (2..=2_504).map(row).collect();
        let chunks: Vec<Chunk> = chunks(&rows).collect::<Result<_, _>>().unwrap();

        let bounds: Vec<(i32, i32)> = chunks.iter().map(|c| (c.first_row, c.last_row)).collect();
        assert_eq!(bounds, [(2, 1_001), (1_002, 2_001), (2_002, 2_504)]);
        assert_eq!(
            chunks[2].counts,
            StatusCounts {
                created: 100,
                updated: 101,
                unchanged: 101,
                skipped: 101,
                error: 100,
            }
        );
        let decoded: Vec<RowResult> = chunks
            .iter()
            .flat_map(|chunk| decode(&chunk.data).unwrap())
            .collect();
        assert_eq!(decoded, rows);
    }

    #[test]
    fn empty_lists_and_absent_ids_are_left_out_of_the_encoding() {
        let plain = RowResult {
            number: 9,
            status: RowStatus::Unchanged,
            errors: Vec::new(),
            warnings: Vec::new(),
            client_id: None,
            point_id: None,
            occupant_id: None,
            changes: vec![],
        };
        assert_eq!(
            serde_json::to_string(&plain).unwrap(),
            r#"{"n":9,"s":"UNCHANGED"}"#
        );
    }

    #[test]
    fn damaged_data_is_an_error_not_a_panic() {
        let rows = [row(3)];
        let mut data = chunks(&rows).next().unwrap().unwrap().data;
        data.truncate(data.len() / 2);
        assert!(decode(&data).is_err());
        assert!(decode(b"not deflate").is_err());
    }
}
