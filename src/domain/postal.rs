//! Canadian postal codes and provinces: the forms people write, one stored
//! form, and the province a postal code implies.

use super::{ValidationError, clean, fold};

/// A Canadian postal code, stored as `G1P 0A0`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PostalCode(String);

impl PostalCode {
    /// `A1A 1A1`, spaces and hyphens optional, any case; never D F I O Q U,
    /// never W or Z first.
    pub fn parse(input: &str) -> Result<PostalCode, ValidationError> {
        let compact: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-' && *c != '\u{a0}')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let invalid = || ValidationError::PostalCode {
            given: clean(input),
        };
        let chars: Vec<char> = compact.chars().collect();
        if chars.len() != 6 {
            return Err(invalid());
        }
        let letter_ok = |c: char| c.is_ascii_uppercase() && !"DFIOQU".contains(c);
        for (i, c) in chars.iter().enumerate() {
            let ok = if i % 2 == 0 {
                letter_ok(*c)
            } else {
                c.is_ascii_digit()
            };
            if !ok {
                return Err(invalid());
            }
        }
        if matches!(chars[0], 'W' | 'Z') {
            return Err(invalid());
        }
        Ok(PostalCode(format!("{} {}", &compact[..3], &compact[3..])))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Without the space, as in address keys.
    pub fn compact(&self) -> String {
        self.0.replace(' ', "")
    }

    /// The province of the postal code's first letter (X is shared by the
    /// Northwest Territories and Nunavut: X0A-X0C is Nunavut).
    pub fn province(&self) -> Province {
        let bytes = self.0.as_bytes();
        let code = match bytes[0] {
            b'A' => "NL",
            b'B' => "NS",
            b'C' => "PE",
            b'E' => "NB",
            b'G' | b'H' | b'J' => "QC",
            b'K' | b'L' | b'M' | b'N' | b'P' => "ON",
            b'R' => "MB",
            b'S' => "SK",
            b'T' => "AB",
            b'V' => "BC",
            b'X' if bytes[1] == b'0' && matches!(bytes[2], b'A' | b'B' | b'C') => "NU",
            b'X' => "NT",
            _ => "YT",
        };
        Province(code)
    }
}

/// A Canadian province or territory, stored as its two-letter code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Province(&'static str);

const PROVINCES: &[(&str, &[&str])] = &[
    ("QC", &["qc", "quebec", "que", "pq", "province de quebec"]),
    ("ON", &["on", "ontario", "ont"]),
    (
        "NB",
        &[
            "nb",
            "nouveau-brunswick",
            "nouveau brunswick",
            "new brunswick",
        ],
    ),
    (
        "NS",
        &[
            "ns",
            "ne",
            "nouvelle-ecosse",
            "nouvelle ecosse",
            "nova scotia",
        ],
    ),
    (
        "PE",
        &[
            "pe",
            "pei",
            "ipe",
            "ile-du-prince-edouard",
            "ile du prince edouard",
            "prince edward island",
        ],
    ),
    (
        "NL",
        &[
            "nl",
            "tnl",
            "terre-neuve-et-labrador",
            "terre-neuve",
            "newfoundland and labrador",
            "newfoundland",
        ],
    ),
    ("MB", &["mb", "manitoba"]),
    ("SK", &["sk", "saskatchewan"]),
    ("AB", &["ab", "alberta"]),
    (
        "BC",
        &[
            "bc",
            "cb",
            "colombie-britannique",
            "colombie britannique",
            "british columbia",
        ],
    ),
    ("YT", &["yt", "yukon"]),
    (
        "NT",
        &[
            "nt",
            "tno",
            "territoires du nord-ouest",
            "northwest territories",
        ],
    ),
    ("NU", &["nu", "nunavut"]),
];

impl Province {
    /// A code or a French or English name, case and accents ignored.
    pub fn parse(input: &str) -> Result<Province, ValidationError> {
        Province::recognize(input).ok_or_else(|| ValidationError::Province {
            given: clean(input),
        })
    }

    pub fn recognize(input: &str) -> Option<Province> {
        let folded = fold(&clean(input)).replace('.', "");
        PROVINCES
            .iter()
            .find(|(_, names)| names.contains(&folded.as_str()))
            .map(|(code, _)| Province(code))
    }

    pub fn code(self) -> &'static str {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_postal_codes() {
        for input in ["G1P 0A0", "g1p0a0", " G1P-0A0 ", "g1p\u{a0}0a0"] {
            assert_eq!(
                PostalCode::parse(input).unwrap().as_str(),
                "G1P 0A0",
                "{input}"
            );
        }
    }

    #[test]
    fn refuses_invalid_postal_codes() {
        for input in [
            "G1P 0A",
            "12345",
            "D1P 0A0",
            "G1P 0O0",
            "W1P 0A0",
            "Z1P 0A0",
            "GGP 0A0",
            "G1P 0A0 1",
        ] {
            assert_eq!(
                PostalCode::parse(input).unwrap_err().code(),
                "POSTAL_CODE_INVALID",
                "{input}"
            );
        }
    }

    #[test]
    fn infers_the_province() {
        assert_eq!(
            PostalCode::parse("G1P 0A0").unwrap().province().code(),
            "QC"
        );
        assert_eq!(
            PostalCode::parse("H2X 1Y4").unwrap().province().code(),
            "QC"
        );
        assert_eq!(
            PostalCode::parse("K1A 0B1").unwrap().province().code(),
            "ON"
        );
        assert_eq!(
            PostalCode::parse("X0A 0H0").unwrap().province().code(),
            "NU"
        );
        assert_eq!(
            PostalCode::parse("X1A 2L9").unwrap().province().code(),
            "NT"
        );
    }

    #[test]
    fn reads_province_names() {
        for input in ["QC", "qc", "Québec", "QUEBEC", "Qué."] {
            assert_eq!(Province::parse(input).unwrap().code(), "QC", "{input}");
        }
        assert_eq!(Province::parse("Ontario").unwrap().code(), "ON");
        assert_eq!(
            Province::parse("Texas").unwrap_err().code(),
            "PROVINCE_INVALID"
        );
    }
}
