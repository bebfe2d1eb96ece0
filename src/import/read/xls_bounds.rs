//! What calamine (0.38) would allocate for an `.xls`, measured before it
//! opens the file.
//!
//! `calamine::Xls::new` builds every sheet of the workbook at once, each as
//! a dense range spanning its first to its last cell: a 6 KB file with one
//! cell in A1 and one in IV65536 asks for 65,536 × 256 cells (about 0.5 GB),
//! and columns up to 65,535 or a declared `DIMENSIONS` of 2³² rows ask for
//! far more, which aborts the process rather than failing. Its compound file
//! reader also follows sector chains without a bound (a chain that loops
//! grows until memory runs out). So this walks the file the way calamine
//! does (same sector reads, same record framing) and measures: every chain
//! at most as many sectors as the file has, and the cells spanned by each
//! sheet (declared and real, formulas included) at most `max_cells` for the
//! whole workbook. Anything calamine would not read anyway is refused here
//! too (`Unreadable`): this never lets through what calamine would refuse
//! only after allocating.

use super::FileError;

const RESERVED_SECTORS: u32 = 0xFFFF_FFFA;
const DIFSECT: u32 = 0xFFFF_FFFC;
const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
const MINI_STREAM_CUTOFF: usize = 4096;

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u32s(bytes: &[u8]) -> impl Iterator<Item = u32> + '_ {
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

/// The file read sequentially, as calamine reads it through one `Read`.
struct Source<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl Source<'_> {
    fn read_into(&mut self, buffer: &mut [u8]) -> usize {
        let available = &self.bytes[self.position.min(self.bytes.len())..];
        let n = buffer.len().min(available.len());
        buffer[..n].copy_from_slice(&available[..n]);
        self.position += n;
        n
    }
}

/// calamine's `Sectors`: sectors loaded on demand, in the order asked for,
/// a sector past the end of the file short the first time and zero-padded
/// after.
struct Sectors {
    data: Vec<u8>,
    size: usize,
    max_id: u32,
}

impl Sectors {
    fn get(&mut self, id: u32, source: &mut Source<'_>) -> Result<&[u8], FileError> {
        if id > self.max_id {
            return Err(FileError::Unreadable);
        }
        let start = id as usize * self.size;
        let end = start + self.size;
        if end > self.data.len() {
            let mut length = self.data.len();
            self.data.resize(end, 0);
            length += source.read_into(&mut self.data[length..end]);
            if length < end {
                // calamine panics when the sector starts past what it read.
                return self.data.get(start..length).ok_or(FileError::Unreadable);
            }
        }
        Ok(&self.data[start..end])
    }

    /// A chain of at most `length` bytes; a chain longer than the file has
    /// sectors loops (calamine would follow it until memory runs out).
    fn chain(
        &mut self,
        mut id: u32,
        fats: &[u32],
        source: &mut Source<'_>,
        length: usize,
    ) -> Result<Vec<u8>, FileError> {
        let mut chain = Vec::new();
        let mut sectors = 0usize;
        while id != ENDOFCHAIN {
            sectors += 1;
            if sectors > self.max_id as usize + 1 {
                return Err(FileError::Unreadable);
            }
            let sector = self.get(id, source)?;
            let take = sector.len().min(length - chain.len());
            chain.extend_from_slice(&sector[..take]);
            if chain.len() >= length {
                break;
            }
            id = *fats.get(id as usize).ok_or(FileError::Unreadable)?;
        }
        Ok(chain)
    }
}

/// The `Workbook` (or `Book`) stream, as calamine's `Cfb` reads it.
fn workbook_stream(bytes: &[u8]) -> Result<Vec<u8>, FileError> {
    let header = bytes.get(..512).ok_or(FileError::Unreadable)?;
    let sector_size = match u16_at(header, 30) {
        Some(0x0009) => 512,
        Some(0x000C) => 4096,
        _ => return Err(FileError::Unreadable),
    };
    if u16_at(header, 32) != Some(0x0006) || bytes.len() < sector_size {
        return Err(FileError::Unreadable);
    }
    let version = u16_at(header, 26).unwrap_or(0);
    let field = |at| u32_at(header, at).ok_or(FileError::Unreadable);
    let (dir_start, mini_fat_start, mini_fat_len, difat_start) =
        (field(48)?, field(60)?, field(64)? as usize, field(68)?);
    let mut difat: Vec<u32> = u32s(&header[76..512]).collect();

    let mut source = Source {
        bytes,
        position: sector_size,
    };
    let max_id = bytes.len() / sector_size;
    let mut sectors = Sectors {
        data: Vec::new(),
        size: sector_size,
        max_id: max_id as u32,
    };
    let mut id = difat_start;
    let mut difat_sectors = 0usize;
    while id < RESERVED_SECTORS {
        difat_sectors += 1;
        if difat_sectors > max_id + 1 {
            return Err(FileError::Unreadable);
        }
        let sector = sectors.get(id, &mut source)?;
        if sector.len() % 4 != 0 {
            return Err(FileError::Unreadable);
        }
        difat.extend(u32s(sector));
        id = difat.pop().ok_or(FileError::Unreadable)?;
    }
    // More allocation-table sectors than the file has repeat some: calamine
    // would copy each again (a 20 MB file could ask for gigabytes).
    let fat_sectors: Vec<u32> = difat.into_iter().filter(|id| *id < DIFSECT).collect();
    if fat_sectors.len() > max_id + 1 {
        return Err(FileError::Unreadable);
    }
    let mut fats = Vec::new();
    for id in fat_sectors {
        let sector = sectors.get(id, &mut source)?;
        if sector.len() % 4 != 0 {
            return Err(FileError::Unreadable);
        }
        fats.extend(u32s(sector));
    }
    let directory = sectors.chain(dir_start, &fats, &mut source, usize::MAX)?;
    // (name, start, length) of each 128-byte entry.
    let entries: Vec<(String, u32, u64)> = directory
        .chunks_exact(128)
        .map(|entry| {
            // As calamine decodes it (a byte order mark switches encodings).
            let mut name = encoding_rs::UTF_16LE.decode(&entry[..64]).0.into_owned();
            if let Some(nul) = name.find('\0') {
                name.truncate(nul);
            }
            let start = u32_at(entry, 116).unwrap_or(0);
            let length = if sector_size == 512 {
                u64::from(u32_at(entry, 120).unwrap_or(0))
            } else {
                u64::from_le_bytes(entry[120..128].try_into().unwrap_or([0; 8]))
            };
            (name, start, length)
        })
        .collect();
    let Some(root) = entries.first() else {
        return Err(FileError::Unreadable);
    };
    if version != 3 && root.1 == ENDOFCHAIN {
        return Err(FileError::Unreadable);
    }
    let (mini_fats, mini_stream) = if mini_fat_len > 0 {
        let root_length = usize::try_from(root.2).map_err(|_| FileError::Unreadable)?;
        let stream = sectors.chain(root.1, &fats, &mut source, root_length)?;
        let table = sectors.chain(
            mini_fat_start,
            &fats,
            &mut source,
            mini_fat_len.saturating_mul(sector_size),
        )?;
        if table.len() % 4 != 0 {
            return Err(FileError::Unreadable);
        }
        (u32s(&table).collect(), stream)
    } else {
        (Vec::new(), Vec::new())
    };
    let mut mini_sectors = Sectors {
        data: mini_stream,
        size: 64,
        max_id: (max_id * 8) as u32,
    };
    let mut stream = |name: &str| -> Result<Vec<u8>, FileError> {
        let (_, start, length) = entries
            .iter()
            .find(|(n, ..)| n.as_bytes().eq_ignore_ascii_case(name.as_bytes()))
            .ok_or(FileError::Unreadable)?;
        let length = usize::try_from(*length).map_err(|_| FileError::Unreadable)?;
        if length < MINI_STREAM_CUTOFF {
            mini_sectors.chain(*start, &mini_fats, &mut source, length)
        } else {
            sectors.chain(*start, &fats, &mut source, length)
        }
    };
    stream("Workbook").or_else(|_| stream("Book"))
}

/// A BIFF record as calamine's `RecordIter` gives it: type, data, and the
/// `Continue` records that follow it.
struct Record<'a> {
    kind: u16,
    data: &'a [u8],
    continues: Vec<&'a [u8]>,
}

/// Splits one record (type, length, data) off the front of `rest`.
fn split<'a>(rest: &mut &'a [u8]) -> Result<(u16, &'a [u8]), FileError> {
    let kind = u16_at(rest, 0).ok_or(FileError::Unreadable)?;
    let length = u16_at(rest, 2).ok_or(FileError::Unreadable)? as usize;
    let data = rest.get(4..4 + length).ok_or(FileError::Unreadable)?;
    *rest = &rest[4 + length..];
    Ok((kind, data))
}

fn records(stream: &[u8]) -> impl Iterator<Item = Result<Record<'_>, FileError>> {
    let mut rest = stream;
    let mut failed = false;
    std::iter::from_fn(move || {
        if rest.is_empty() || failed {
            return None;
        }
        let record = split(&mut rest).and_then(|(kind, data)| {
            let mut continues = Vec::new();
            while rest.len() > 4 && u16_at(rest, 0) == Some(0x003C) {
                continues.push(split(&mut rest)?.1);
            }
            Ok(Record {
                kind,
                data,
                continues,
            })
        });
        failed = record.is_err();
        Some(record)
    })
}

/// The UTF-8 length of decoded string bytes, at most. With the UTF-16
/// code page: Latin-1 characters without high bytes, UTF-16LE units with
/// (unless the chunk starts with a UTF-8 or big-endian byte order mark,
/// which `encoding_rs` follows). Otherwise any byte may become three, and
/// calamine adds a NUL after each byte without high bytes.
fn decoded_length(chunk: &[u8], high_byte: bool, utf16: bool) -> u64 {
    let sniffed = chunk.starts_with(&[0xEF, 0xBB, 0xBF]) || chunk.starts_with(&[0xFE, 0xFF]);
    match (utf16, high_byte) {
        (true, false) => chunk.iter().map(|b| if *b < 0x80 { 1 } else { 2 }).sum(),
        (true, true) if !sniffed => chunk
            .chunks(2)
            .map(
                |unit| match u16::from_le_bytes([unit[0], *unit.get(1).unwrap_or(&0)]) {
                    0..0x80 => 1,
                    0x80..0x800 => 2,
                    _ => 3,
                },
            )
            .sum(),
        (_, high) => 3 * chunk.len() as u64 * if high { 1 } else { 2 },
    }
}

/// A record's data read across its `Continue` records.
struct Reading<'a, 'r> {
    data: &'a [u8],
    continues: std::slice::Iter<'r, &'a [u8]>,
}

impl Reading<'_, '_> {
    /// On to the next `Continue` record, if any.
    fn next(&mut self) -> bool {
        self.continues.next().map(|next| self.data = next).is_some()
    }

    fn skip(&mut self, mut n: usize) -> Result<(), FileError> {
        while n > 0 {
            if self.data.is_empty() && !self.next() {
                return Err(FileError::Unreadable);
            }
            let step = n.min(self.data.len());
            self.data = &self.data[step..];
            n -= step;
        }
        Ok(())
    }
}

/// The decoded length of each shared string, read as calamine's
/// `parse_sst` reads them (across `Continue` records).
fn shared_string_lengths(sst: &Record<'_>, utf16: bool) -> Result<Vec<u64>, FileError> {
    let mut r = Reading {
        data: sst.data.get(8..).ok_or(FileError::Unreadable)?,
        continues: sst.continues.iter(),
    };
    let mut lengths = Vec::new();
    while !r.data.is_empty() || r.next() {
        if r.data.is_empty() {
            lengths.push(0);
            continue;
        }
        let (Some(count), Some(&flags)) = (u16_at(r.data, 0), r.data.get(2)) else {
            return Err(FileError::Unreadable);
        };
        r.data = &r.data[3..];
        let mut runs = 0;
        if flags & 0x8 != 0 {
            runs = u16_at(r.data, 0).ok_or(FileError::Unreadable)? as usize;
            r.data = &r.data[2..];
        }
        let mut extension = 0;
        if flags & 0x4 != 0 {
            let bytes = r.data.get(..4).ok_or(FileError::Unreadable)?;
            extension = i32::from_le_bytes(bytes.try_into().unwrap_or([0; 4])) as usize;
            r.data = &r.data[4..];
        }
        let (mut left, mut high_byte, mut length) = (count as usize, flags & 0x1 != 0, 0u64);
        while left > 0 {
            let characters = if high_byte {
                r.data.len() / 2
            } else {
                r.data.len()
            }
            .min(left);
            let bytes = if high_byte {
                2 * characters
            } else {
                characters
            };
            length += decoded_length(&r.data[..bytes], high_byte, utf16);
            r.data = &r.data[bytes..];
            left -= characters;
            if left > 0 {
                if !r.next() {
                    return Err(FileError::Unreadable);
                }
                high_byte = r.data.first().ok_or(FileError::Unreadable)? & 0x1 != 0;
                r.data = &r.data[1..];
            }
        }
        r.skip(runs * 4)?;
        r.skip(extension)?;
        lengths.push(length);
    }
    Ok(lengths)
}

/// The smallest rectangle holding some cells.
#[derive(Default)]
struct Span(Option<(u32, u32, u32, u32)>);

impl Span {
    fn add(&mut self, row: u32, column: u32) {
        let (r0, r1, c0, c1) = self.0.unwrap_or((row, row, column, column));
        self.0 = Some((r0.min(row), r1.max(row), c0.min(column), c1.max(column)));
    }

    fn cells(&self) -> u64 {
        self.0.map_or(0, |(r0, r1, c0, c1)| {
            u64::from(r1 - r0 + 1) * u64::from(c1 - c0 + 1)
        })
    }
}

/// What calamine's sheets would hold for the whole workbook: cells in
/// dense ranges (values and formulas, or each sheet's declared
/// `DIMENSIONS` when larger: it reserves that much up front), and the bytes
/// of shared strings copied into their cells.
fn measure(stream: &[u8]) -> Result<(u64, u64), FileError> {
    let mut sheets = Vec::new();
    let mut utf16 = true; // calamine's default code page, 1200
    let mut strings = Vec::new();
    for record in records(stream) {
        let record = record?;
        match record.kind {
            0x000A => break,
            // CodePage: 1200 is UTF-16 (little-endian).
            0x0042 => utf16 = u16_at(record.data, 0) == Some(1200),
            // SST: the shared strings.
            0x00FC => strings = shared_string_lengths(&record, utf16)?,
            // BoundSheet8: where the sheet's records start.
            0x0085 => {
                if record.data.len() < 6 {
                    return Err(FileError::Unreadable);
                }
                sheets.push(u32_at(record.data, 0).unwrap_or(0) as usize);
            }
            _ => {}
        }
    }
    let (mut cells, mut text) = (0u64, 0u64);
    for start in sheets {
        let sheet = stream.get(start..).ok_or(FileError::Unreadable)?;
        let (mut values, mut formulas) = (Span::default(), Span::default());
        let mut declared = 0u64;
        let mut formula_position = (0, 0);
        let (mut seen_bof, mut depth) = (false, 0usize);
        for record in records(sheet) {
            let Record { kind, data, .. } = record?;
            if depth > 0 {
                match kind {
                    0x0809 => depth += 1,
                    0x000A => depth -= 1,
                    _ => {}
                }
                continue;
            }
            let position = || -> Result<(u32, u32), FileError> {
                match (u16_at(data, 0), u16_at(data, 2)) {
                    (Some(row), Some(column)) => Ok((u32::from(row), u32::from(column))),
                    _ => Err(FileError::Unreadable),
                }
            };
            match kind {
                0x0809 if seen_bof => depth += 1,
                0x0809 => seen_bof = true,
                0x000A => break,
                // Dimensions: calamine reserves rows × columns cells.
                0x0200 => {
                    let (first_row, last_row, mut first_col, last_col) = match data.len() {
                        10 => (
                            u32::from(u16_at(data, 0).unwrap_or(0)),
                            u32::from(u16_at(data, 2).unwrap_or(0)),
                            u32::from(u16_at(data, 4).unwrap_or(0)),
                            u32::from(u16_at(data, 6).unwrap_or(0)),
                        ),
                        14 | 16 => (
                            u32_at(data, 0).unwrap_or(0),
                            u32_at(data, 4).unwrap_or(0),
                            u32::from(u16_at(data, 8).unwrap_or(0)),
                            u32::from(u16_at(data, 10).unwrap_or(0)),
                        ),
                        _ => return Err(FileError::Unreadable),
                    };
                    if first_col > 0xFF || last_col < first_col {
                        first_col = 0;
                    }
                    if last_row >= 1 && last_col >= 1 {
                        // calamine's `end - start + 1` overflows (a panic,
                        // or a wrapped size in a release build) below this.
                        if last_row <= first_row || last_col <= first_col {
                            return Err(FileError::Unreadable);
                        }
                        declared = declared
                            .max(u64::from(last_row - first_row) * u64::from(last_col - first_col));
                    }
                }
                // LabelSst: a copy of a shared string.
                0x00FD => {
                    let (row, column) = position()?;
                    values.add(row, column);
                    let index = u32_at(data, 6).ok_or(FileError::Unreadable)? as usize;
                    text = text.saturating_add(strings.get(index).copied().unwrap_or(0));
                }
                // Number, Label, RString, BoolErr, Rk.
                0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E => {
                    let (row, column) = position()?;
                    values.add(row, column);
                }
                // String (a formula's text value), at the last formula's cell.
                0x0207 => values.add(formula_position.0, formula_position.1),
                // MulRk: one row, consecutive columns, six bytes each.
                0x00BD => {
                    let (row, first) = position()?;
                    let count = data.len().saturating_sub(6).div_ceil(6) as u32;
                    if count > 0 {
                        values.add(row, first);
                        values.add(row, first + count - 1);
                    }
                }
                0x0006 => {
                    formula_position = position()?;
                    values.add(formula_position.0, formula_position.1);
                    formulas.add(formula_position.0, formula_position.1);
                }
                _ => {}
            }
        }
        // The declared size is reserved for the values' list, then the
        // values are copied into their dense range: whichever is larger.
        cells = cells
            .saturating_add(declared.max(values.cells()))
            .saturating_add(formulas.cells());
    }
    Ok((cells, text))
}

/// Refuses an `.xls` that calamine would expand past `max_cells` cells or
/// `max_text` bytes of shared strings copied into cells, or whose structure
/// would make it loop or allocate without bound.
pub(super) fn check(bytes: &[u8], max_cells: u64, max_text: u64) -> Result<(), FileError> {
    let (cells, text) = measure(&workbook_stream(bytes)?)?;
    if cells > max_cells {
        return Err(FileError::TooManyCells { max: max_cells });
    }
    if text > max_text {
        return Err(FileError::Uncompressed {
            max_bytes: max_text,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut bytes = kind.to_le_bytes().to_vec();
        bytes.extend((data.len() as u16).to_le_bytes());
        bytes.extend(data);
        bytes
    }

    #[test]
    fn measures_the_fixture() {
        let stream =
            workbook_stream(include_bytes!("../../../tests/fixtures/clients.xls")).unwrap();
        let (cells, text) = measure(&stream).unwrap();
        // A1 to E5, and the shared strings shown (ASCII and accents).
        assert_eq!(cells, 25);
        assert!((150..300).contains(&text), "{text}");
    }

    #[test]
    fn counts_a_shared_string_once_per_cell_that_shows_it() {
        // One 8,000-character string, its second half in a Continue record
        // (which starts with its own high-byte flag), and a sheet of 10,000
        // cells showing it: 80 MB of copies from a 140 KB stream.
        let mut sst = vec![1, 0, 0, 0, 1, 0, 0, 0];
        sst.extend(8000u16.to_le_bytes());
        sst.push(0);
        sst.extend([b'x'; 4000]);
        let mut continued = vec![0];
        continued.extend([b'y'; 4000]);
        let mut sheet = record(0x0809, &[0; 16]);
        for row in 0..10_000u16 {
            let mut cell = row.to_le_bytes().to_vec();
            cell.extend([0, 0, 0x11, 0, 0, 0, 0, 0]);
            sheet.extend(record(0x00FD, &cell));
        }
        sheet.extend(record(0x000A, &[]));
        let mut globals = record(0x0809, &[0; 16]);
        globals.extend(record(0x00FC, &sst));
        globals.extend(record(0x003C, &continued));
        let sheet_at = globals.len() + 4 + 6 + 4;
        let mut bound = (sheet_at as u32).to_le_bytes().to_vec();
        bound.extend([0, 0]);
        globals.extend(record(0x0085, &bound));
        globals.extend(record(0x000A, &[]));
        assert_eq!(globals.len(), sheet_at);
        let stream = [globals, sheet].concat();
        assert_eq!(measure(&stream), Ok((10_000, 80_000_000)));
    }
}
