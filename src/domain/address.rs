//! Addresses as written in one cell or in several, validated, and the
//! normalized key that matches two spellings of one address.

use super::{
    Field, MAX_IDENTIFIER, PostalCode, Province, ValidationError, fold, optional_text,
    required_text,
};

/// A service point's address, validated: the province is a two-letter code,
/// inferred from the postal code when not given.
#[derive(Clone, Debug, PartialEq)]
pub struct Address {
    pub line1: String,
    pub city: Option<String>,
    pub province: Option<Province>,
    pub postal_code: Option<PostalCode>,
}

impl Address {
    pub fn new(
        line1: &str,
        city: Option<&str>,
        province: Option<&str>,
        postal_code: Option<&str>,
    ) -> Result<Address, ValidationError> {
        let line1 = required_text(Field::AddressLine1, line1, MAX_IDENTIFIER)?;
        let city = optional_text(Field::City, city, MAX_IDENTIFIER)?;
        let postal_code = optional_text(Field::PostalCode, postal_code, MAX_IDENTIFIER)?
            .map(|p| PostalCode::parse(&p))
            .transpose()?;
        let province = match optional_text(Field::Province, province, MAX_IDENTIFIER)? {
            Some(p) => Some(Province::parse(&p)?),
            None => postal_code.as_ref().map(PostalCode::province),
        };
        Ok(Address {
            line1,
            city,
            province,
            postal_code,
        })
    }

    /// Splits a one-column address on commas: civic number and street first,
    /// then the city, with the province and postal code recognized wherever
    /// they stand (`QC G1P 0A0` in one part included).
    pub fn parse_one_line(input: &str) -> Result<Address, ValidationError> {
        let mut parts = input
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .peekable();
        let mut line1 = parts.next().unwrap_or("").to_owned();
        // `999, rue Exemple`: a lone civic number belongs with the street.
        if is_civic_number(&line1)
            && let Some(street) = parts.next()
        {
            line1 = format!("{line1} {street}");
        }
        let (mut city, mut province, mut postal) = (None, None, None);
        for part in parts {
            if postal.is_none() && PostalCode::parse(part).is_ok() {
                postal = Some(part.to_owned());
            } else if province.is_none() && Province::recognize(part).is_some() && city.is_some() {
                province = Some(part.to_owned());
            } else if let Some((head, tail)) = split_trailing_postal_code(part) {
                postal.get_or_insert(tail);
                if Province::recognize(&head).is_some() && city.is_some() {
                    province.get_or_insert(head);
                } else if city.is_none() {
                    city = Some(head);
                }
            } else if postal.is_none() && part.chars().any(|c| c.is_ascii_digit()) {
                // A mistyped postal code: keep it so that it is reported.
                postal = Some(part.to_owned());
            } else if city.is_none() {
                city = Some(part.to_owned());
            } else if province.is_none() {
                // A fourth part that is not a province: keep the error visible.
                province = Some(part.to_owned());
            }
        }
        Address::new(
            &line1,
            city.as_deref(),
            province.as_deref(),
            postal.as_deref(),
        )
    }

    /// The key two spellings of one place share: case, accents, punctuation
    /// and spacing folded, usual abbreviations expanded, the postal code
    /// without its space. The province is left out: it follows from the rest.
    pub fn key(&self) -> String {
        // A part that folds to nothing (`-`) adds no space: the key stays
        // normalized (`-, G0J 0G0` and `G0J 0G0` share `g0j0g0`), found by
        // tests/properties.rs.
        let parts = [
            Some(normalize_words(&self.line1)),
            self.city.as_deref().map(normalize_words),
            self.postal_code
                .as_ref()
                .map(|p| p.compact().to_lowercase()),
        ];
        parts
            .into_iter()
            .flatten()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A key for an address that does not validate: its folded words, so
    /// that an invalid row still protects the point it names.
    pub fn loose_key(text: &str) -> String {
        let line1 = text.split(',').next().unwrap_or("");
        normalize_words(line1)
    }

    /// `999 Rue Exemple, Québec, QC, G1P 0A0`.
    pub fn full(&self) -> String {
        full_address(
            &self.line1,
            self.city.as_deref(),
            self.province.map(Province::code),
            self.postal_code.as_ref().map(PostalCode::as_str),
        )
    }
}

/// The parts of an address joined as people write it on one line.
pub fn full_address(
    line1: &str,
    city: Option<&str>,
    province: Option<&str>,
    postal_code: Option<&str>,
) -> String {
    let mut parts = vec![line1];
    parts.extend(city);
    parts.extend(province);
    parts.extend(postal_code);
    parts.join(", ")
}

/// `999`, `12A`, `12-14`: a civic number without its street.
fn is_civic_number(part: &str) -> bool {
    part.starts_with(|c: char| c.is_ascii_digit())
        && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && part.chars().filter(|c| c.is_ascii_alphabetic()).count() <= 1
}

/// `QC G1P 0A0` or `Québec G1P0A0` → (`QC`, `G1P 0A0`).
fn split_trailing_postal_code(part: &str) -> Option<(String, String)> {
    let compact: String = part.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() < 7 || !compact.is_char_boundary(compact.len() - 6) {
        return None;
    }
    let tail = &compact[compact.len() - 6..];
    PostalCode::parse(tail).ok()?;
    // Cut the original text where the six postal characters begin.
    let mut seen = 0;
    let cut = part
        .char_indices()
        .rev()
        .find(|(_, c)| {
            if !c.is_whitespace() {
                seen += 1;
            }
            seen == 6
        })
        .map(|(i, _)| i)?;
    Some((part[..cut].trim().to_owned(), part[cut..].trim().to_owned()))
}

fn normalize_words(text: &str) -> String {
    let folded = fold(text);
    let cleaned: String = folded
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let words: Vec<&str> = cleaned
        .split_whitespace()
        .map(expand_abbreviation)
        .collect();
    words.join(" ")
}

fn expand_abbreviation(word: &str) -> &str {
    match word {
        "st" => "saint",
        "ste" => "sainte",
        "boul" | "bd" | "blvd" => "boulevard",
        "av" | "ave" => "avenue",
        "ch" => "chemin",
        "rte" => "route",
        other => other,
    }
}

/// Latitude and longitude, both in range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coordinates {
    pub latitude: f64,
    pub longitude: f64,
}

impl Coordinates {
    /// Both or neither: one alone is an error.
    pub fn from_pair(
        latitude: Option<f64>,
        longitude: Option<f64>,
    ) -> Result<Option<Coordinates>, ValidationError> {
        match (latitude, longitude) {
            (None, None) => Ok(None),
            (Some(latitude), Some(longitude)) => Coordinates::new(latitude, longitude).map(Some),
            _ => Err(ValidationError::CoordinatesIncomplete),
        }
    }

    pub fn new(latitude: f64, longitude: f64) -> Result<Coordinates, ValidationError> {
        if !(-90.0..=90.0).contains(&latitude) {
            return Err(ValidationError::CoordinateOutOfRange {
                field: Field::Latitude,
            });
        }
        if !(-180.0..=180.0).contains(&longitude) {
            return Err(ValidationError::CoordinateOutOfRange {
                field: Field::Longitude,
            });
        }
        Ok(Coordinates {
            latitude,
            longitude,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_line(input: &str) -> Address {
        Address::parse_one_line(input).unwrap_or_else(|e| panic!("{input}: {e:?}"))
    }

    #[test]
    fn two_spellings_of_one_place_share_a_key() {
        assert_eq!(
            one_line("999 Rue Exemple, Québec").key(),
            one_line("999, rue exemple, Quebec").key()
        );
        assert_eq!(
            one_line("12 boul. St-Joseph, Gatineau").key(),
            one_line("12 Boulevard Saint Joseph, GATINEAU").key()
        );
        assert_eq!(
            one_line("5 av. du Parc, Lévis, G6V 1A1").key(),
            one_line("5 Avenue du Parc, Levis, g6v1a1").key()
        );
        assert_eq!(
            one_line("999 Rue Exemple, Québec").key(),
            "999 rue exemple quebec"
        );
        assert_ne!(
            one_line("999 Rue Exemple, Québec").key(),
            one_line("998 Rue Exemple, Québec").key()
        );
    }

    #[test]
    fn splits_a_one_column_address() {
        let address = one_line("999 Rue exemple, Québec, QC, G1P 0A0");
        assert_eq!(address.line1, "999 Rue exemple");
        assert_eq!(address.city.as_deref(), Some("Québec"));
        assert_eq!(address.province.map(Province::code), Some("QC"));
        assert_eq!(
            address.postal_code.as_ref().map(PostalCode::as_str),
            Some("G1P 0A0")
        );
        assert_eq!(address.full(), "999 Rue exemple, Québec, QC, G1P 0A0");
    }

    #[test]
    fn finds_province_and_postal_code_in_one_part() {
        let address = one_line("10 rue des Érables, Lévis (Québec) , QC G6V 1A1");
        assert_eq!(address.city.as_deref(), Some("Lévis (Québec)"));
        assert_eq!(address.province.map(Province::code), Some("QC"));
        assert_eq!(address.postal_code.unwrap().as_str(), "G6V 1A1");
    }

    #[test]
    fn infers_the_province_from_the_postal_code() {
        let address = one_line("1 rue Principale, Gatineau, J8X 1A1");
        assert_eq!(address.province.map(Province::code), Some("QC"));
    }

    #[test]
    fn refuses_a_bad_postal_code_or_an_empty_street() {
        assert_eq!(
            Address::new("1 rue A", None, None, Some("123"))
                .unwrap_err()
                .code(),
            "POSTAL_CODE_INVALID"
        );
        assert_eq!(
            Address::new("  ", None, None, None).unwrap_err().code(),
            "REQUIRED"
        );
    }

    #[test]
    fn coordinates_go_in_pairs_and_in_range() {
        assert_eq!(
            Coordinates::from_pair(Some(46.8), None).unwrap_err().code(),
            "COORDINATES_INCOMPLETE"
        );
        assert_eq!(
            Coordinates::from_pair(Some(91.0), Some(0.0))
                .unwrap_err()
                .code(),
            "LATITUDE_INVALID"
        );
        assert_eq!(
            Coordinates::from_pair(Some(46.8), Some(-181.0))
                .unwrap_err()
                .code(),
            "LONGITUDE_INVALID"
        );
        assert_eq!(Coordinates::from_pair(None, None), Ok(None));
    }
}
