//! The csv reader (encoding, delimiter, quoting) through `import::parse`;
//! inputs that are not detected as text are skipped.
#![no_main]

use flokon_api::import::read::Format;
use flokon_api_fuzz::parse_as;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    parse_as(data, Format::Csv);
});
