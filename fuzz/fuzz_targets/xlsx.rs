//! The xlsx reader through `import::parse`: whole files (seeded with the
//! server's template), and, for inputs that are not an archive, the first
//! sheet's XML inside the template.
#![no_main]

use flokon_api::import::read::Format;
use flokon_api_fuzz::{parse_as, restore_default_panic_hook, with_entry};
use libfuzzer_sys::fuzz_target;

const TEMPLATE: &[u8] = include_bytes!("../corpus/xlsx/template.xlsx");

fuzz_target!(|data: &[u8]| {
    restore_default_panic_hook();
    if data.starts_with(b"PK") {
        parse_as(data, Format::Xlsx);
    } else {
        parse_as(
            &with_entry(TEMPLATE, "xl/worksheets/sheet1.xml", data),
            Format::Xlsx,
        );
    }
});
