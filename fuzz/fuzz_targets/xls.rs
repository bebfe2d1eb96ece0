//! The xls reader (calamine's BIFF in an OLE container) through
//! `import::parse`, seeded with the test fixture; other inputs are skipped.
#![no_main]

use flokon_api::import::read::Format;
use flokon_api_fuzz::{parse_as, restore_default_panic_hook};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    restore_default_panic_hook();
    parse_as(data, Format::Xls);
});
