//! How an occupant wants to be alerted, from the words a spreadsheet uses.

use super::{ValidationError, clean, fold};

pub use entity::values::ContactMethod;

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
