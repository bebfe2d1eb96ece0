use super::{ValidationError, clean, fold};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContactMethod {
    Sms,
    Call,
}

impl ContactMethod {
    /// The spreadsheet's words for each method, case and accents ignored.
    pub fn parse(input: &str) -> Result<ContactMethod, ValidationError> {
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

    /// The stored form, also the GraphQL enum value.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactMethod::Sms => "SMS",
            ContactMethod::Call => "CALL",
        }
    }

    /// The stored form back; anything else is a corrupt row.
    pub fn from_stored(value: &str) -> Option<ContactMethod> {
        match value {
            "SMS" => Some(ContactMethod::Sms),
            "CALL" => Some(ContactMethod::Call),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_french_and_english_words() {
        for word in ["SMS", "sms", "Texto", "text"] {
            assert_eq!(ContactMethod::parse(word), Ok(ContactMethod::Sms), "{word}");
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
                ContactMethod::parse(word),
                Ok(ContactMethod::Call),
                "{word}"
            );
        }
    }

    #[test]
    fn refuses_anything_else_with_the_accepted_list() {
        let error = ContactMethod::parse("courriel").unwrap_err();
        assert_eq!(error.code(), "CONTACT_METHOD_INVALID");
        assert!(
            error
                .message(super::super::Lang::En)
                .contains("SMS, texto, text")
        );
        assert_eq!(ContactMethod::parse("").unwrap_err().code(), "REQUIRED");
    }
}
