//! What the fuzz targets share: the server's import entry point, and a way
//! to put fuzzed XML inside a real archive.

use std::io::{Cursor, Write};

use flokon_api::import::read::{Format, detect};

/// Parses `bytes` as the server does (`import::parse`, default limits, no
/// mapping), when their content is of `format`; other inputs are skipped,
/// so each target stays on its own reader.
pub fn parse_as(bytes: &[u8], format: Format) {
    if detect(bytes).ok() != Some(format) {
        return;
    }
    let limits = flokon_api::config::Limits::default().import();
    let progress = flokon_api::import::progress::Progress::default();
    let parsed = flokon_api::import::parse(bytes, &limits, &[], &progress);
    // A refused file says why in one file error, and has no rows.
    assert!(parsed.file_errors.len() <= 1);
    assert!(parsed.file_errors.is_empty() || parsed.rows.is_empty());
    assert!(parsed.rows.len() <= limits.max_rows);
}

/// `archive` with its entry `name` replaced by `content` (stored), the
/// other entries copied as they are: mutating a compressed archive byte by
/// byte mostly breaks its checksums, so the targets for zip formats also
/// fuzz the sheet's XML itself inside a valid archive.
pub fn with_entry(archive: &[u8], name: &str, content: &[u8]) -> Vec<u8> {
    let mut source = zip::ZipArchive::new(Cursor::new(archive)).expect("seed archive");
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..source.len() {
        let entry = source.by_index_raw(i).expect("seed entry");
        if entry.name().is_ok_and(|n| n == name) {
            drop(entry);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            writer.start_file(name, options).expect("start entry");
            writer.write_all(content).expect("write entry");
        } else {
            writer.raw_copy_file(entry).expect("copy entry");
        }
    }
    writer.finish().expect("finish archive").into_inner()
}

/// libfuzzer-sys's panic hook aborts on any panic, even one that the reader
/// catches on purpose (calamine's panics on a malformed file become a file
/// error): put the default hook back, which only prints the panic. A panic
/// that escapes `import::parse` still fails the run (libfuzzer-sys aborts
/// when its own `catch_unwind` sees one).
pub fn restore_default_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = std::panic::take_hook();
    });
}
