//! Which column holds which field: the header row is the first of the first
//! ten rows with recognizable headers; case, accents, spaces, punctuation
//! and the trailing `*` do not matter; French and English names are known.
//! A `columns` mapping given with the import overrides recognition.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::cell::RawRow;
use super::error::{FileError, Issue};
use crate::domain::{Field, fold};

/// How one header of the file was understood.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectedColumn {
    pub header: String,
    pub index: usize,
    pub field: Option<FieldName>,
}

/// A field as stored in a run's report (serde-friendly).
pub type FieldName = String;

/// The header row and where each field is read.
#[derive(Clone, Debug, Default)]
pub struct Columns {
    pub header_row: u32,
    pub detected: Vec<DetectedColumn>,
    positions: HashMap<Field, usize>,
    headers: HashMap<usize, String>,
}

impl Columns {
    pub fn position(&self, field: Field) -> Option<usize> {
        self.positions.get(&field).copied()
    }

    pub fn has(&self, field: Field) -> bool {
        self.positions.contains_key(&field)
    }

    /// The header as written above `field`'s column, for issues.
    pub fn header_of(&self, field: Field) -> Option<&str> {
        self.position(field)
            .and_then(|i| self.headers.get(&i))
            .map(String::as_str)
    }
}

/// A user's override: this header (as written) is this field, or ignored.
#[derive(Clone, Debug)]
pub struct Mapping {
    pub header: String,
    pub field: Option<Field>,
}

const SYNONYMS: &[(Field, &[&str])] = &[
    (
        Field::FirstName,
        &[
            "prenom",
            "first name",
            "firstname",
            "given name",
            "prenom de l occupant",
        ],
    ),
    (
        Field::LastName,
        &[
            "nom",
            "last name",
            "lastname",
            "surname",
            "family name",
            "nom de famille",
            "nom de l occupant",
        ],
    ),
    (
        Field::Phone,
        &[
            "telephone",
            "phone",
            "phone number",
            "tel",
            "no de telephone",
            "numero de telephone",
            "cellulaire",
            "cell",
            "mobile",
            "telephone number",
        ],
    ),
    (
        Field::ContactMethod,
        &[
            "sms appel",
            "sms ou appel",
            "contact method",
            "methode de contact",
            "mode de contact",
            "type d alerte",
            "alert type",
            "methode",
            "method",
            "contact",
        ],
    ),
    (
        Field::Address,
        &[
            "adresse",
            "address",
            "adresse complete",
            "full address",
            "adresse du point de service",
            "service address",
        ],
    ),
    (
        Field::AddressLine1,
        &[
            "adresse ligne 1",
            "address line 1",
            "adresse 1",
            "address 1",
            "address line1",
            "street address",
            "numero et rue",
            "rue",
        ],
    ),
    (Field::City, &["ville", "city", "municipalite", "town"]),
    (Field::Province, &["province", "prov", "state"]),
    (
        Field::PostalCode,
        &[
            "code postal",
            "postal code",
            "postcode",
            "zip",
            "zip code",
            "cp",
        ],
    ),
    (
        Field::Notes,
        &[
            "notes",
            "note",
            "remarques",
            "remarque",
            "commentaires",
            "commentaire",
            "comments",
            "comment",
        ],
    ),
    (
        Field::Language,
        &[
            "langue",
            "language",
            "lang",
            "langue de communication",
            "langue preferee",
            "preferred language",
        ],
    ),
    (
        Field::ClientId,
        &[
            "identifiant du client",
            "identifiant client",
            "id du client",
            "client id",
            "id client",
            "no client",
            "numero de client",
            "numero du client",
            "client number",
            "customer id",
            "client",
        ],
    ),
    (
        Field::ClientName,
        &[
            "nom du client",
            "client name",
            "customer name",
            "customer",
            "nom client",
        ],
    ),
    (Field::Latitude, &["latitude", "lat"]),
    (Field::Longitude, &["longitude", "lon", "lng", "long"]),
];

/// A header folded for comparison: `Téléphone*` → `telephone`.
pub fn normalize(header: &str) -> String {
    let folded = fold(header);
    let spaced: String = folded
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn recognize(header: &str) -> Option<Field> {
    let normalized = normalize(header);
    SYNONYMS
        .iter()
        .find(|(_, names)| names.contains(&normalized.as_str()))
        .map(|(field, _)| *field)
}

/// The fields a spreadsheet column can be read as.
pub const COLUMN_FIELDS: [Field; 15] = [
    Field::FirstName,
    Field::LastName,
    Field::Phone,
    Field::ContactMethod,
    Field::Address,
    Field::AddressLine1,
    Field::City,
    Field::Province,
    Field::PostalCode,
    Field::Notes,
    Field::Language,
    Field::ClientId,
    Field::ClientName,
    Field::Latitude,
    Field::Longitude,
];

/// The column field of that `ImportField` name.
pub fn field_named(name: &str) -> Option<Field> {
    COLUMN_FIELDS.into_iter().find(|f| field_name(*f) == name)
}

/// The field's name in the `ImportField` enum.
pub fn field_name(field: Field) -> &'static str {
    match field {
        Field::FirstName => "FIRST_NAME",
        Field::LastName => "LAST_NAME",
        Field::Phone => "PHONE",
        Field::ContactMethod => "CONTACT_METHOD",
        Field::Address => "ADDRESS",
        Field::AddressLine1 => "ADDRESS_LINE1",
        Field::City => "CITY",
        Field::Province => "PROVINCE",
        Field::PostalCode => "POSTAL_CODE",
        Field::Notes => "NOTES",
        Field::Language => "LANGUAGE",
        Field::ClientId => "CLIENT_ID",
        Field::ClientName => "CLIENT_NAME",
        Field::Latitude => "LATITUDE",
        Field::Longitude => "LONGITUDE",
        // Not spreadsheet columns.
        Field::SectorName | Field::SectorGeometry => "",
    }
}

/// Reads one candidate header row: each non-empty cell's field.
fn read_row(row: &RawRow, mapping: &[Mapping]) -> Vec<(usize, String, Option<Field>)> {
    row.cells
        .iter()
        .enumerate()
        .filter(|(_, cell)| !cell.is_empty())
        .map(|(index, cell)| {
            let header = cell.text();
            let normalized = normalize(&header);
            let field = match mapping.iter().find(|m| normalize(&m.header) == normalized) {
                Some(mapped) => mapped.field,
                None => recognize(&header),
            };
            (index, header, field)
        })
        .collect()
}

/// Finds the header row among the first ten rows and checks the required
/// columns. Returns the columns and file-level warnings.
pub fn detect(rows: &[RawRow], mapping: &[Mapping]) -> Result<(Columns, Vec<Issue>), FileError> {
    let (row, cells) = rows
        .iter()
        .filter(|row| row.number <= 10)
        .map(|row| (row, read_row(row, mapping)))
        .find(|(_, cells)| {
            let mut fields: Vec<Field> = cells.iter().filter_map(|c| c.2).collect();
            fields.dedup();
            fields.len() >= 2
        })
        .ok_or(FileError::NoHeaders)?;

    let mut columns = Columns {
        header_row: row.number,
        ..Columns::default()
    };
    let mut warnings = Vec::new();
    for (index, header, field) in cells {
        let field = match field {
            Some(field) if columns.positions.contains_key(&field) => {
                warnings.push(Issue::new(
                    "DUPLICATE_COLUMN",
                    Some(&header),
                    format!(
                        "Colonne « {header} » ignorée : une autre colonne donne déjà ce champ."
                    ),
                    format!(
                        "Column \"{header}\" ignored: another column already gives this field."
                    ),
                ));
                None
            }
            Some(field) => {
                columns.positions.insert(field, index);
                Some(field)
            }
            None => {
                warnings.push(Issue::new(
                    "UNKNOWN_COLUMN",
                    Some(&header),
                    format!("Colonne « {header} » non reconnue : ignorée."),
                    format!("Column \"{header}\" not recognized: ignored."),
                ));
                None
            }
        };
        columns.headers.insert(index, header.clone());
        columns.detected.push(DetectedColumn {
            header,
            index,
            field: field.map(|f| field_name(f).to_owned()),
        });
    }

    for required in [Field::Phone, Field::ContactMethod] {
        if !columns.has(required) {
            return Err(FileError::MissingColumn { field: required });
        }
    }
    if !columns.has(Field::Address) && !columns.has(Field::AddressLine1) {
        return Err(FileError::MissingColumn {
            field: Field::Address,
        });
    }
    if columns.has(Field::Latitude) != columns.has(Field::Longitude) {
        return Err(FileError::HalfCoordinates);
    }
    Ok((columns, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::cell::Cell;

    fn row(number: u32, cells: &[&str]) -> RawRow {
        RawRow {
            number,
            cells: cells.iter().map(|c| Cell::Text((*c).to_owned())).collect(),
        }
    }

    #[test]
    fn recognizes_template_and_english_headers() {
        assert_eq!(recognize("Prénom"), Some(Field::FirstName));
        assert_eq!(recognize(" TÉLÉPHONE* "), Some(Field::Phone));
        assert_eq!(recognize("SMS/Appel*"), Some(Field::ContactMethod));
        assert_eq!(recognize("Adresse*"), Some(Field::Address));
        assert_eq!(recognize("Identifiant du client"), Some(Field::ClientId));
        assert_eq!(recognize("Address line 1"), Some(Field::AddressLine1));
        assert_eq!(recognize("Postal Code"), Some(Field::PostalCode));
        assert_eq!(recognize("Client ID"), Some(Field::ClientId));
        assert_eq!(recognize("Couleur préférée"), None);
    }

    #[test]
    fn finds_the_header_row_below_title_rows() {
        let rows = [
            row(1, &["Liste des clients 2026"]),
            row(3, &["Téléphone", "SMS/Appel", "Adresse", "Couleur"]),
        ];
        let (columns, warnings) = detect(&rows, &[]).unwrap();
        assert_eq!(columns.header_row, 3);
        assert_eq!(columns.position(Field::Address), Some(2));
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].code, "UNKNOWN_COLUMN");
        assert_eq!(columns.detected[3].field, None);
    }

    #[test]
    fn a_missing_required_column_is_a_file_error() {
        let rows = [row(1, &["Prénom", "Téléphone", "Adresse"])];
        assert_eq!(
            detect(&rows, &[]).unwrap_err(),
            FileError::MissingColumn {
                field: Field::ContactMethod
            }
        );
    }

    #[test]
    fn the_mapping_overrides_recognition() {
        let rows = [row(1, &["Cell", "Mode", "Lieu", "Nom"])];
        let mapping = [
            Mapping {
                header: "mode".into(),
                field: Some(Field::ContactMethod),
            },
            Mapping {
                header: "Lieu".into(),
                field: Some(Field::Address),
            },
            Mapping {
                header: "Nom".into(),
                field: None,
            },
        ];
        let (columns, _) = detect(&rows, &mapping).unwrap();
        assert_eq!(columns.position(Field::Phone), Some(0));
        assert_eq!(columns.position(Field::ContactMethod), Some(1));
        assert_eq!(columns.position(Field::LastName), None);
        assert_eq!(columns.header_of(Field::Address), Some("Lieu"));
    }
}
