//! Writing spreadsheets: the import template and the organization's export,
//! in the same columns, with rust_xlsxwriter. Pure: records in, bytes out.
//! Both guide an Excel user the same way: a styled, frozen header row, text
//! cells (a phone stays `4185550123`, never 4.19E+09), a drop-down for the
//! alert type, and a message on the cells whose format matters.

use std::collections::HashMap;

use sea_orm::ActiveEnum;

use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, Format, FormatBorder, Workbook, Worksheet, XlsxError,
};

use crate::domain::{ContactMethod, Field, GeocodeStatus, full_address};
use crate::import::plan::Existing;
use crate::import::rows::EXAMPLE_ROW;

/// The template's headers, in order, with their field.
pub const TEMPLATE_COLUMNS: [(&str, Field); 8] = [
    ("Prénom", Field::FirstName),
    ("Nom", Field::LastName),
    ("Téléphone*", Field::Phone),
    ("SMS/Appel*", Field::ContactMethod),
    ("Adresse*", Field::Address),
    ("Notes", Field::Notes),
    ("Identifiant du client", Field::ClientId),
    ("Langue", Field::Language),
];

/// Added by the export after the template's columns. The split address
/// makes a re-import exact even for addresses with commas in their street.
const EXPORT_EXTRA_COLUMNS: [&str; 7] = [
    "Nom du client",
    "Adresse Ligne 1",
    "Ville",
    "Province",
    "Code postal",
    "Latitude",
    "Longitude",
];

const WIDTHS: [f64; 15] = [
    16.0, 18.0, 16.0, 14.0, 44.0, 30.0, 24.0, 10.0, 26.0, 30.0, 18.0, 10.0, 14.0, 12.0, 12.0,
];

/// The last row (0-based) the validations cover: Excel rows 2 to 100,001,
/// the import's default limit of 100,000 rows.
const LAST_GUIDED_ROW: u32 = 100_000;

/// The alert types the drop-down offers (the import also takes `texto`,
/// `call`...: the list warns but does not refuse them).
const CONTACT_METHODS: [&str; 2] = ["SMS", "Appel"];

/// The languages the drop-down offers (the import also takes `français`,
/// `English`...).
const LANGUAGES: [&str; 2] = ["FR", "EN"];

const EXPLANATIONS: [(&str, &str, &str); 8] = [
    ("Prénom", "Non", "Prénom de l'occupant."),
    ("Nom", "Non", "Nom de l'occupant."),
    (
        "Téléphone*",
        "Oui",
        "Numéro à alerter : 10 chiffres (ex. 418-555-0123), ou 11 commençant par 1. Pas de poste : une alerte ne peut pas le composer.",
    ),
    (
        "SMS/Appel*",
        "Oui",
        "Type d'alerte : SMS (ou texto) ou appel.",
    ),
    (
        "Adresse*",
        "Oui",
        "Adresse complète du point de service, ex. 999 Rue exemple, Québec, QC, G1P 0A0. Plusieurs occupants peuvent avoir la même adresse. On peut aussi donner les colonnes Adresse Ligne 1, Ville, Province et Code postal.",
    ),
    (
        "Notes",
        "Non",
        "Notes internes sur l'occupant (jamais envoyées).",
    ),
    (
        "Identifiant du client",
        "Non",
        "Numéro ou nom du client, unique. Laissé vide, l'adresse sert d'identifiant. Deux lignes avec le même client et la même adresse : un seul point de service avec les deux occupants.",
    ),
    (
        "Langue",
        "Non",
        "Langue des alertes de l'occupant : FR (français, par défaut) ou EN (anglais). Laissée vide, la langue ne change pas.",
    ),
];

fn header_format() -> Format {
    Format::new()
        .set_bold()
        .set_background_color("DDEBF7")
        .set_border_bottom(FormatBorder::Thin)
}

/// The template's example row: grey italics, visibly not data (and text,
/// like the column, should it be typed over).
fn example_format() -> Format {
    Format::new()
        .set_italic()
        .set_font_color("808080")
        .set_num_format("@")
}

fn setup_columns(sheet: &mut Worksheet, headers: &[&str]) -> Result<(), XlsxError> {
    let header = header_format();
    // Text cells: a phone typed as digits stays text, never 4.18E+09.
    let text = Format::new().set_num_format("@");
    for (i, title) in headers.iter().enumerate() {
        let column = i as u16;
        sheet.write_string_with_format(0, column, *title, &header)?;
        sheet.set_column_width(column, WIDTHS.get(i).copied().unwrap_or(14.0))?;
        if !title.starts_with("Latitude") && !title.starts_with("Longitude") {
            sheet.set_column_format(column, &text)?;
        }
        if let Some(validation) = guidance(title)? {
            sheet.add_data_validation(1, column, LAST_GUIDED_ROW, column, &validation)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

/// What Excel shows or offers in a column's cells: an input message where
/// the format matters, the drop-down for the alert type.
fn guidance(header: &str) -> Result<Option<DataValidation>, XlsxError> {
    let validation = match header {
        "Téléphone*" => DataValidation::new()
            .allow_any_value()
            .set_input_title("Téléphone à alerter")?
            .set_input_message(
                "10 chiffres, ex. 418-555-0123 ou 4185550123 (ou 11 commençant par 1). \
                 Sans poste. La cellule est du texte : les chiffres restent tels quels.",
            )?,
        "SMS/Appel*" => DataValidation::new()
            .allow_list_strings(&CONTACT_METHODS)?
            .set_input_title("Type d'alerte")?
            .set_input_message("SMS ou Appel : choisissez dans la liste.")?
            .set_error_style(DataValidationErrorStyle::Warning)
            .set_error_title("Type d'alerte")?
            .set_error_message("Choisissez SMS ou Appel dans la liste.")?,
        "Langue" => DataValidation::new()
            .allow_list_strings(&LANGUAGES)?
            .set_input_title("Langue")?
            .set_input_message("FR (français) ou EN (anglais).")?
            .set_error_style(DataValidationErrorStyle::Warning)
            .set_error_title("Langue")?
            .set_error_message("Choisissez FR ou EN dans la liste.")?,
        "Code postal" => DataValidation::new()
            .allow_any_value()
            .set_input_title("Code postal")?
            .set_input_message("Ex. G1P 0A0 (du texte).")?,
        _ => return Ok(None),
    };
    Ok(Some(validation))
}

/// `GET /template.xlsx`: the headers, the example row, and a second sheet
/// explaining each column in French.
pub fn template() -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Clients")?;
    let headers: Vec<&str> = TEMPLATE_COLUMNS.iter().map(|(h, _)| *h).collect();
    setup_columns(sheet, &headers)?;
    let example = example_format();
    for (column, (_, field)) in TEMPLATE_COLUMNS.iter().enumerate() {
        if let Some((_, value)) = EXAMPLE_ROW.iter().find(|(f, _)| f == field) {
            sheet.write_string_with_format(1, column as u16, *value, &example)?;
        }
    }

    let help = workbook.add_worksheet();
    help.set_name("Explications")?;
    let bold = header_format();
    let wrap = Format::new().set_text_wrap();
    for (column, title) in ["Colonne", "Obligatoire", "Description"].iter().enumerate() {
        help.write_string_with_format(0, column as u16, *title, &bold)?;
    }
    for (row, (column, required, text)) in EXPLANATIONS.iter().enumerate() {
        let row = row as u32 + 1;
        help.write_string(row, 0, *column)?;
        help.write_string(row, 1, *required)?;
        help.write_string_with_format(row, 2, *text, &wrap)?;
    }
    let notes = [
        "Une ligne par occupant. La première ligne de données de ce gabarit (en gris) est un exemple : supprimez-la.",
        "Les cellules sont du texte : un téléphone garde ses chiffres. SMS/Appel propose une liste; Téléphone affiche son format.",
        "Les en-têtes peuvent être en français ou en anglais; l'ordre des colonnes n'a pas d'importance.",
        "Latitude et Longitude (facultatives, les deux ensemble) évitent la géolocalisation de l'adresse.",
    ];
    for (i, note) in notes.iter().enumerate() {
        help.write_string_with_format(
            EXPLANATIONS.len() as u32 + 2 + i as u32,
            0,
            *note,
            &Format::new(),
        )?;
    }
    help.set_column_width(0, 24)?;
    help.set_column_width(1, 12)?;
    help.set_column_width(2, 90)?;
    workbook.save_to_buffer()
}

/// A text that a spreadsheet program could take for a formula.
fn risky(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// `GET /export.xlsx`, written page by page: one row per occupant in the
/// template's columns, then the client's name, the split address, and
/// coordinates for `MANUAL` points only (so a re-import never turns geocoded
/// points into manual ones). The worksheet streams its finished rows to a
/// temporary file (rust_xlsxwriter's constant-memory mode, strings inline),
/// so memory holds one page of records and the zipped result, whatever the
/// number of occupants.
pub struct ExportWriter {
    workbook: Workbook,
    row: u32,
    /// A leading = + - @ is written as literal text (quote prefix): the
    /// value is kept exactly, and no spreadsheet program evaluates it.
    literal: Format,
}

impl ExportWriter {
    pub fn new() -> Result<ExportWriter, XlsxError> {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name("Clients")?;
        let mut headers: Vec<&str> = TEMPLATE_COLUMNS.iter().map(|(h, _)| *h).collect();
        headers.extend(EXPORT_EXTRA_COLUMNS);
        setup_columns(sheet, &headers)?;
        Ok(ExportWriter {
            workbook,
            row: 0,
            literal: Format::new().set_quote_prefix().set_num_format("@"),
        })
    }

    /// Writes the page's occupants in its order; an occupant whose point or
    /// client is not in the page is skipped.
    pub fn write(&mut self, page: &Existing) -> Result<(), XlsxError> {
        let sheet = self.workbook.worksheet_from_index(0)?;
        let clients: HashMap<_, _> = page.clients.iter().map(|c| (c.id, c)).collect();
        let points: HashMap<_, _> = page.points.iter().map(|p| (p.id, p)).collect();
        for occupant in &page.occupants {
            let Some(point) = points.get(&occupant.service_point_id) else {
                continue;
            };
            let Some(client) = clients.get(&point.client_id) else {
                continue;
            };
            self.row += 1;
            let row = self.row;
            let method = match occupant.contact_method {
                ContactMethod::Call => "Appel",
                ContactMethod::Sms => "SMS",
            };
            let address = full_address(
                &point.address_line1,
                point.city.as_deref(),
                point.province.as_deref(),
                point.postal_code.as_deref(),
            );
            // As stored: `FR`, `EN`, which the column reads back.
            let language = occupant.language.to_value();
            let texts: [Option<&str>; 13] = [
                occupant.first_name.as_deref(),
                occupant.last_name.as_deref(),
                Some(&occupant.phone),
                Some(method),
                Some(&address),
                occupant.notes.as_deref(),
                Some(&client.external_id),
                Some(&language),
                client.name.as_deref(),
                Some(&point.address_line1),
                point.city.as_deref(),
                point.province.as_deref(),
                point.postal_code.as_deref(),
            ];
            for (column, text) in texts.iter().enumerate() {
                let Some(text) = text else { continue };
                if risky(text) {
                    sheet.write_string_with_format(row, column as u16, *text, &self.literal)?;
                } else {
                    sheet.write_string(row, column as u16, *text)?;
                }
            }
            if point.geocode_status == GeocodeStatus::Manual
                && let (Some(latitude), Some(longitude)) = (point.latitude, point.longitude)
            {
                sheet.write_number(row, 13, latitude)?;
                sheet.write_number(row, 14, longitude)?;
            }
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<Vec<u8>, XlsxError> {
        self.workbook.save_to_buffer()
    }
}
