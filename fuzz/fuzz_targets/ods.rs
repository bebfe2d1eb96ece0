//! The ods reader through `import::parse`: whole files (seeded with the
//! test fixture), and, for inputs that are not an archive, `content.xml`
//! inside that file.
#![no_main]

use flokon_api::import::read::Format;
use flokon_api_fuzz::{parse_as, restore_default_panic_hook, with_entry};
use libfuzzer_sys::fuzz_target;

const TEMPLATE: &[u8] = include_bytes!("../corpus/ods/clients.ods");

fuzz_target!(|data: &[u8]| {
    restore_default_panic_hook();
    if data.starts_with(b"PK") {
        parse_as(data, Format::Ods);
    } else {
        parse_as(&with_entry(TEMPLATE, "content.xml", data), Format::Ods);
    }
});
