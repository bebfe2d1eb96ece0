//! Row validation and normalization: pure functions from a raw row to a
//! typed row, or to the issues that make it an error. (Over 450 lines for
//! its tests: one per kind of messy cell real files carry.)

use super::cell::{Cell, RawRow};
use super::error::Issue;
use super::headers::Columns;
use crate::domain::{
    Address, ContactMethod, Coordinates, Field, Language, MAX_IDENTIFIER, MAX_NAME, MAX_NOTES,
    Phone, PhoneError, ValidationError, clean, fold, optional_text, parse_contact_method,
    parse_language,
};

/// A valid row, ready for grouping.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedRow {
    pub number: u32,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Phone,
    pub contact_method: ContactMethod,
    pub address: Address,
    /// The address as written, for a client keyed by it.
    pub address_written: String,
    pub notes: Option<String>,
    /// `None`: the cell (or column) is empty.
    pub language: Option<Language>,
    pub client_id: Option<String>,
    pub client_name: Option<String>,
    pub coordinates: Option<Coordinates>,
}

/// What an invalid row names, so that `MERGE_DELETE_MISSING` with
/// `skipInvalidRows` deletes none of it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Named {
    pub client_id: Option<String>,
    /// The address key, or the folded street when the address is invalid.
    pub address_key: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RowOutcome {
    Valid(ParsedRow),
    Invalid {
        number: u32,
        errors: Vec<Issue>,
        named: Named,
    },
    /// The template's example row, left in.
    Example {
        number: u32,
    },
}

/// The template's example row, as `(field, value)`.
pub const EXAMPLE_ROW: &[(Field, &str)] = &[
    (Field::FirstName, "Jean"),
    (Field::LastName, "Exemple"),
    (Field::Phone, "000-000-0000"),
    (Field::ContactMethod, "SMS"),
    (Field::Address, "999 Rue exemple, Québec, QC, G1P 0A0"),
    (Field::Notes, "Exemple de note"),
    (Field::ClientId, "Client-001"),
    (Field::Language, "FR"),
];

struct RowReader<'a> {
    row: &'a RawRow,
    columns: &'a Columns,
    errors: Vec<Issue>,
}

impl RowReader<'_> {
    fn cell(&self, field: Field) -> Option<&Cell> {
        self.columns.position(field).map(|i| self.row.cell(i))
    }

    fn column(&self, field: Field) -> Option<&str> {
        self.columns.header_of(field)
    }

    fn fail(&mut self, error: &ValidationError, field: Field) {
        let column = self
            .column(
                error
                    .field()
                    .filter(|f| self.columns.has(*f))
                    .unwrap_or(field),
            )
            .map(str::to_owned);
        self.errors
            .push(Issue::from_validation(error, column.as_deref()));
    }

    /// The cleaned text of a field's cell; a formula error is an issue.
    fn text(&mut self, field: Field) -> Option<String> {
        let cell = self.cell(field)?;
        match cell.error() {
            Some(error) => {
                let column = self.column(field).map(str::to_owned);
                self.errors.push(Issue::new(
                    "FORMULA_ERROR",
                    column.as_deref(),
                    format!("Erreur de formule ({error}) dans la cellule."),
                    format!("Formula error ({error}) in the cell."),
                ));
                None
            }
            None => Some(cell.text()).filter(|t| !t.is_empty()),
        }
    }

    fn optional(&mut self, field: Field, max: usize) -> Option<String> {
        let text = self.text(field);
        match optional_text(field, text.as_deref(), max) {
            Ok(value) => value,
            Err(error) => {
                self.fail(&error, field);
                None
            }
        }
    }

    fn coordinate(&mut self, field: Field) -> Option<f64> {
        match self.cell(field)? {
            Cell::Int(n) => Some(*n as f64),
            Cell::Float(f) => Some(*f),
            _ => {
                let text = self.text(field)?;
                text.replace(',', ".")
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .or_else(|| {
                        self.fail(&ValidationError::CoordinateOutOfRange { field }, field);
                        None
                    })
            }
        }
    }

    fn address(&mut self) -> Option<(Address, String)> {
        if let Some(line1) = self.text(Field::AddressLine1) {
            let city = self.text(Field::City);
            let province = self.text(Field::Province);
            let postal = self.text(Field::PostalCode);
            return match Address::new(
                &line1,
                city.as_deref(),
                province.as_deref(),
                postal.as_deref(),
            ) {
                Ok(address) => {
                    let written = address.full();
                    Some((address, written))
                }
                Err(error) => {
                    self.fail(&error, Field::AddressLine1);
                    None
                }
            };
        }
        let field = if self.columns.has(Field::Address) {
            Field::Address
        } else {
            Field::AddressLine1
        };
        let Some(written) = self.text(Field::Address) else {
            self.fail(&ValidationError::Required { field }, field);
            return None;
        };
        match Address::parse_one_line(&written) {
            Ok(address) => Some((address, written)),
            Err(error) => {
                // The parts of a one-column address all stand in that column.
                let column = self.column(Field::Address).map(str::to_owned);
                self.errors
                    .push(Issue::from_validation(&error, column.as_deref()));
                None
            }
        }
    }

    fn is_example(&self) -> bool {
        EXAMPLE_ROW
            .iter()
            .all(|(field, example)| match self.cell(*field) {
                Some(cell) => fold(&cell.text()) == fold(example),
                None => true,
            })
            && self.cell(Field::Phone).is_some()
    }

    /// What the row names, valid or not, for deletion protection.
    fn named(&self) -> Named {
        let client_id = self
            .cell(Field::ClientId)
            .map(Cell::text)
            .filter(|t| !t.is_empty());
        let line1 = self
            .cell(Field::AddressLine1)
            .map(Cell::text)
            .filter(|t| !t.is_empty());
        let address_key = match line1 {
            Some(line1) => {
                let city = self.cell(Field::City).map(Cell::text);
                let postal = self.cell(Field::PostalCode).map(Cell::text);
                Address::new(&line1, city.as_deref(), None, postal.as_deref())
                    .map(|a| a.key())
                    .unwrap_or_else(|_| Address::loose_key(&line1))
            }
            None => {
                let text = self
                    .cell(Field::Address)
                    .map(Cell::text)
                    .unwrap_or_default();
                Address::parse_one_line(&text)
                    .map(|a| a.key())
                    .unwrap_or_else(|_| Address::loose_key(&text))
            }
        };
        Named {
            client_id,
            address_key: Some(address_key).filter(|k| !k.is_empty()),
        }
    }
}

pub fn parse_row(row: &RawRow, columns: &Columns) -> RowOutcome {
    let mut reader = RowReader {
        row,
        columns,
        errors: Vec::new(),
    };
    if reader.is_example() {
        return RowOutcome::Example { number: row.number };
    }
    let first_name = reader.optional(Field::FirstName, MAX_NAME);
    let last_name = reader.optional(Field::LastName, MAX_NAME);
    let notes = reader.optional(Field::Notes, MAX_NOTES);
    let client_id = reader.optional(Field::ClientId, MAX_IDENTIFIER);
    let client_name = reader.optional(Field::ClientName, MAX_NAME);

    let phone = match reader.text(Field::Phone).map(|t| Phone::parse(&t)) {
        Some(Ok(phone)) => Some(phone),
        Some(Err(PhoneError::Empty)) | None => {
            if reader
                .cell(Field::Phone)
                .is_some_and(|c| !matches!(c, Cell::Error(_)))
            {
                reader.fail(
                    &ValidationError::Required {
                        field: Field::Phone,
                    },
                    Field::Phone,
                );
            }
            None
        }
        Some(Err(error)) => {
            reader.fail(&ValidationError::Phone(error), Field::Phone);
            None
        }
    };
    let contact_method = match reader.text(Field::ContactMethod) {
        Some(text) => parse_contact_method(&text)
            .map_err(|e| reader.fail(&e, Field::ContactMethod))
            .ok(),
        None => {
            if reader
                .cell(Field::ContactMethod)
                .is_some_and(|c| !matches!(c, Cell::Error(_)))
            {
                reader.fail(
                    &ValidationError::Required {
                        field: Field::ContactMethod,
                    },
                    Field::ContactMethod,
                );
            }
            None
        }
    };
    let language = match reader.text(Field::Language) {
        Some(text) => parse_language(&text)
            .map_err(|e| reader.fail(&e, Field::Language))
            .ok()
            .flatten(),
        None => None,
    };
    let address = reader.address();
    let latitude = reader.coordinate(Field::Latitude);
    let longitude = reader.coordinate(Field::Longitude);
    let coordinates = Coordinates::from_pair(latitude, longitude)
        .map_err(|e| {
            let field = e.field().unwrap_or(Field::Latitude);
            reader.fail(&e, field)
        })
        .ok()
        .flatten();

    match (phone, contact_method, address) {
        (Some(phone), Some(contact_method), Some((address, address_written)))
            if reader.errors.is_empty() =>
        {
            RowOutcome::Valid(ParsedRow {
                number: row.number,
                first_name,
                last_name,
                phone,
                contact_method,
                address,
                address_written: clean(&address_written),
                notes,
                language,
                client_id,
                client_name,
                coordinates,
            })
        }
        _ => RowOutcome::Invalid {
            number: row.number,
            named: reader.named(),
            errors: reader.errors,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::headers::detect;

    fn text(values: &[&str]) -> Vec<Cell> {
        values
            .iter()
            .map(|v| {
                if v.is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text((*v).to_owned())
                }
            })
            .collect()
    }

    fn columns(headers: &[&str]) -> Columns {
        detect(
            &[RawRow {
                number: 1,
                cells: text(headers),
            }],
            &[],
        )
        .unwrap()
        .0
    }

    fn parse(headers: &[&str], cells: Vec<Cell>) -> RowOutcome {
        parse_row(&RawRow { number: 2, cells }, &columns(headers))
    }

    const TEMPLATE: &[&str] = &[
        "Prénom",
        "Nom",
        "Téléphone*",
        "SMS/Appel*",
        "Adresse*",
        "Notes",
        "Identifiant du client",
    ];

    #[test]
    fn a_template_row_becomes_a_typed_row() {
        let outcome = parse(
            TEMPLATE,
            vec![
                Cell::Text("Marie".into()),
                Cell::Empty,
                Cell::Float(4185550123.0),
                Cell::Text("appel".into()),
                Cell::Text("12, boul. St-Joseph, Québec, G1K 3A1".into()),
                Cell::Empty,
                Cell::Int(1001),
            ],
        );
        let RowOutcome::Valid(row) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(row.phone.formatted(), "418-555-0123");
        assert_eq!(row.contact_method, ContactMethod::Call);
        assert_eq!(row.client_id.as_deref(), Some("1001"));
        assert_eq!(row.address.line1, "12 boul. St-Joseph");
        assert_eq!(row.address.province.unwrap().code(), "QC");
        assert_eq!(row.address_written, "12, boul. St-Joseph, Québec, G1K 3A1");
        assert_eq!(row.last_name, None);
    }

    #[test]
    fn every_error_of_a_row_is_reported_with_its_column() {
        let outcome = parse(
            TEMPLATE,
            text(&[
                "",
                "",
                "418-555-01",
                "courriel",
                "1 rue A, Québec, 12345",
                "",
                "C-1",
            ]),
        );
        let RowOutcome::Invalid { errors, named, .. } = outcome else {
            panic!("{outcome:?}")
        };
        let found: Vec<(&str, Option<&str>)> = errors
            .iter()
            .map(|e| (e.code.as_str(), e.column.as_deref()))
            .collect();
        assert_eq!(
            found,
            [
                ("PHONE_INVALID", Some("Téléphone*")),
                ("CONTACT_METHOD_INVALID", Some("SMS/Appel*")),
                ("POSTAL_CODE_INVALID", Some("Adresse*"))
            ]
        );
        assert_eq!(named.client_id.as_deref(), Some("C-1"));
        assert_eq!(named.address_key.as_deref(), Some("1 rue a"));
    }

    #[test]
    fn formula_errors_and_missing_values_are_row_errors() {
        let mut cells = text(&["", "", "", "SMS", "1 rue A", "", ""]);
        cells[2] = Cell::Error("#N/A".into());
        let RowOutcome::Invalid { errors, .. } = parse(TEMPLATE, cells) else {
            panic!()
        };
        assert_eq!(errors[0].code, "FORMULA_ERROR");
        assert_eq!(errors[0].column.as_deref(), Some("Téléphone*"));
        let RowOutcome::Invalid { errors, .. } =
            parse(TEMPLATE, text(&["", "", "4185550123", "", "", "", ""]))
        else {
            panic!()
        };
        let codes: Vec<&str> = errors.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["REQUIRED", "REQUIRED"]);
    }

    #[test]
    fn the_example_row_is_recognized() {
        let example: Vec<&str> = EXAMPLE_ROW.iter().map(|(_, v)| *v).collect();
        assert_eq!(
            parse(TEMPLATE, text(&example)),
            RowOutcome::Example { number: 2 }
        );
    }

    #[test]
    fn split_address_columns_and_coordinates() {
        let headers = [
            "Téléphone",
            "Méthode",
            "Adresse Ligne 1",
            "Ville",
            "Code postal",
            "Latitude",
            "Longitude",
        ];
        let mut cells = text(&[
            "418 555 0123",
            "SMS",
            "5 av. du Parc",
            "Lévis",
            "g6v1a1",
            "",
            "",
        ]);
        cells[5] = Cell::Float(46.8);
        cells[6] = Cell::Text("-71,17".into());
        let RowOutcome::Valid(row) = parse(&headers, cells) else {
            panic!()
        };
        assert_eq!(
            row.address.postal_code.as_ref().unwrap().as_str(),
            "G6V 1A1"
        );
        assert_eq!(
            row.coordinates,
            Some(Coordinates {
                latitude: 46.8,
                longitude: -71.17
            })
        );
    }
}
