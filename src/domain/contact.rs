//! How an occupant wants to be alerted, and in which language, from the
//! words a spreadsheet uses.

use super::{ValidationError, clean, fold};

pub use entity::values::{ContactMethod, Language};

/// The spreadsheet's words for each language, case and accents ignored;
/// an empty cell is no language (the occupant's stays, French for a new one).
pub fn parse_language(input: &str) -> Result<Option<Language>, ValidationError> {
    match fold(&clean(input)).to_lowercase().as_str() {
        "fr" | "francais" | "french" | "fr-ca" | "f" => Ok(Some(Language::Fr)),
        "en" | "anglais" | "english" | "en-ca" | "a" | "e" => Ok(Some(Language::En)),
        "" => Ok(None),
        _ => Err(ValidationError::Language {
            given: clean(input),
        }),
    }
}

/// The spreadsheet's words for each method, case and accents ignored.
pub fn parse_contact_method(input: &str) -> Result<ContactMethod, ValidationError> {
    match fold(&clean(input)).as_str() {
        "sms" | "texto" | "text" => Ok(ContactMethod::Sms),
        "appel" | "call" | "telephone" | "voix" | "voice" => Ok(ContactMethod::Call),
        "" => Err(ValidationError::Required {
            field: super::Field::ContactMethod,
        }),
        _ => Err(ValidationError::ContactMethod {
            given: clean(input),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_french_and_english_words() {
        for word in ["SMS", "sms", "Texto", "text"] {
            assert_eq!(parse_contact_method(word), Ok(ContactMethod::Sms), "{word}");
        }
        for word in [
            "appel",
            "Appel",
            "CALL",
            "Téléphone",
            "telephone",
            "voix",
            "Voice",
            " appel ",
        ] {
            assert_eq!(
                parse_contact_method(word),
                Ok(ContactMethod::Call),
                "{word}"
            );
        }
    }

    #[test]
    fn reads_languages_in_both_languages() {
        for word in ["FR", "fr", "Français", "FRANCAIS", "french", " fr-CA "] {
            assert_eq!(parse_language(word), Ok(Some(Language::Fr)), "{word}");
        }
        for word in ["EN", "en", "Anglais", "ENGLISH", "English"] {
            assert_eq!(parse_language(word), Ok(Some(Language::En)), "{word}");
        }
        assert_eq!(parse_language("  "), Ok(None));
        assert_eq!(
            parse_language("espagnol").unwrap_err().code(),
            "LANGUAGE_INVALID"
        );
    }

    #[test]
    fn refuses_anything_else_with_the_accepted_list() {
        let error = parse_contact_method("courriel").unwrap_err();
        assert_eq!(error.code(), "CONTACT_METHOD_INVALID");
        assert!(
            error
                .message(super::super::Lang::En)
                .contains("SMS, texto, text")
        );
        assert_eq!(parse_contact_method("").unwrap_err().code(), "REQUIRED");
    }
}
