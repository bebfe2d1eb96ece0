//! Spreadsheets built by the tests themselves, messy on purpose: the import
//! is proved on files whose every cell the test chose.

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Workbook};

/// A cell to write: text, a number (as Excel stores phone numbers typed
/// without dashes), or nothing.
#[derive(Clone, Debug)]
pub enum V {
    T(&'static str),
    S(String),
    N(f64),
    E,
}

pub use V::{E, N, T};

/// The template's headers, in order, as the server writes and reads them.
pub fn template_headers() -> Vec<&'static str> {
    flokon_api::spreadsheet::TEMPLATE_COLUMNS
        .iter()
        .map(|(header, _)| *header)
        .collect()
}

/// The template's example row, as the import must recognize it (written
/// out here, not taken from the server, so that a change to it shows).
pub const EXAMPLE: [&str; 8] = [
    "Jean",
    "Exemple",
    "000-000-0000",
    "SMS",
    "999 Rue exemple, Québec, QC, G1P 0A0",
    "Exemple de note",
    "Client-001",
    "FR",
];

/// An xlsx with the given rows on its first sheet, from row 1.
pub fn xlsx(rows: &[Vec<V>]) -> Vec<u8> {
    xlsx_at(rows, 0)
}

/// An xlsx whose rows start `offset` rows down (title rows above are the
/// caller's to include).
pub fn xlsx_at(rows: &[Vec<V>], offset: u32) -> Vec<u8> {
    let mut workbook = Workbook::new();
    // A fixed creation time: the same rows give the same bytes (idempotency
    // keys compare a file's hash, and a second boundary must not flip it).
    let created = ExcelDateTime::from_ymd(2026, 1, 1).unwrap();
    workbook.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let sheet = workbook.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            let (r, c) = (r as u32 + offset, c as u16);
            match value {
                V::T(text) => {
                    sheet.write_string(r, c, *text).unwrap();
                }
                V::S(text) => {
                    sheet.write_string(r, c, text).unwrap();
                }
                V::N(number) => {
                    sheet.write_number(r, c, *number).unwrap();
                }
                V::E => {}
            }
        }
    }
    workbook.save_to_buffer().unwrap()
}

/// The template's header row.
pub fn header() -> Vec<V> {
    template_headers().into_iter().map(T).collect()
}

/// The template's example row.
pub fn example() -> Vec<V> {
    EXAMPLE.into_iter().map(T).collect()
}

/// A template row: first name, phone, method, address, client id.
pub fn occupant(
    first: &'static str,
    phone: &'static str,
    method: &'static str,
    address: &'static str,
    client: &'static str,
) -> Vec<V> {
    let opt = |v: &'static str| if v.is_empty() { E } else { T(v) };
    vec![
        opt(first),
        E,
        T(phone),
        T(method),
        T(address),
        E,
        opt(client),
    ]
}

/// Two tenants of the building at 100 rue du Pont (client IMM-100): Ana by
/// SMS, Ben by "appel".
pub fn pont_tenants() -> [Vec<V>; 2] {
    let address = "100 rue du Pont, Québec, QC, G1K 1A1";
    [
        occupant("Ana", "418-555-0101", "SMS", address, "IMM-100"),
        occupant("Ben", "418-555-0102", "appel", address, "IMM-100"),
    ]
}
