//! North American phone numbers (NANP): ten digits, an optional leading 1
//! or +1, the usual separators; area code and exchange starting 2-9, no
//! N11 service code, no extension; stored as `418-555-0123`, sent as E.164.
//! Hand-written rather
//! than the `phonenumber` crate: the NANP rules are short and exact, and the
//! crate costs ~16 µs a number, misreads float cells and accepts extensions.

use super::Lang;

/// A valid NANP number: area code and exchange start with 2-9, the area code
/// is not an N11 service code, no extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone([u8; 10]);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PhoneError {
    Empty,
    /// Letters or symbols that are not punctuation of a phone number.
    Characters,
    /// An extension (`x12`, `poste 4`): an alert cannot dial it.
    Extension,
    Length(usize),
    AreaCode,
    ServiceCode,
    Exchange,
}

impl PhoneError {
    pub fn message(&self, lang: Lang) -> String {
        match self {
            PhoneError::Empty => lang.pick("Le téléphone est obligatoire.", "The phone number is required."),
            PhoneError::Characters => lang.pick(
                "Le téléphone ne doit contenir que des chiffres (10 chiffres, ex. 418-555-0123).",
                "The phone number must hold digits only (10 digits, e.g. 418-555-0123).",
            ),
            PhoneError::Extension => lang.pick(
                "Le téléphone contient un poste : une alerte ne peut pas le composer. Donnez un numéro direct.",
                "The phone number has an extension, which an alert cannot dial. Give a direct number.",
            ),
            PhoneError::Length(n) => lang.pick(
                format!("Le téléphone doit avoir 10 chiffres (ou 11 commençant par 1), pas {n}."),
                format!("The phone number must have 10 digits (or 11 starting with 1), not {n}."),
            ),
            PhoneError::AreaCode => lang.pick(
                "L'indicatif régional ne peut pas commencer par 0 ou 1.",
                "The area code cannot start with 0 or 1.",
            ),
            PhoneError::ServiceCode => lang.pick(
                "L'indicatif régional ne peut pas être un code de service (211, 311... 911).",
                "The area code cannot be a service code (211, 311... 911).",
            ),
            PhoneError::Exchange => lang.pick(
                "Le central (3 chiffres après l'indicatif) ne peut pas commencer par 0 ou 1.",
                "The exchange (3 digits after the area code) cannot start with 0 or 1.",
            ),
        }
    }
}

impl Phone {
    pub fn parse(input: &str) -> Result<Phone, PhoneError> {
        let mut digits = [0u8; 11];
        let mut count = 0usize;
        let mut stray = false;
        for (i, c) in input.char_indices() {
            match c {
                '0'..='9' => {
                    if count < digits.len() {
                        digits[count] = c as u8 - b'0';
                    }
                    count += 1;
                }
                ' ' | '-' | '.' | '(' | ')' | '+' | '/' | '\u{a0}' | '\u{202f}' | '\t' => {}
                _ => {
                    // Ten digits then more after a letter or '#': an extension.
                    let rest_has_digits = input[i..].chars().any(|c| c.is_ascii_digit());
                    if count >= 10 && rest_has_digits {
                        return Err(PhoneError::Extension);
                    }
                    stray = true;
                    break;
                }
            }
        }
        if stray {
            return Err(PhoneError::Characters);
        }
        let number: [u8; 10] = match count {
            0 => return Err(PhoneError::Empty),
            10 => digits[..10].try_into().expect("ten digits"),
            11 if digits[0] == 1 => digits[1..].try_into().expect("ten digits"),
            n => return Err(PhoneError::Length(n)),
        };
        if number[0] < 2 {
            return Err(PhoneError::AreaCode);
        }
        if number[1] == 1 && number[2] == 1 {
            return Err(PhoneError::ServiceCode);
        }
        if number[3] < 2 {
            return Err(PhoneError::Exchange);
        }
        Ok(Phone(number))
    }

    fn digit_string(&self, range: std::ops::Range<usize>) -> String {
        self.0[range].iter().map(|d| char::from(b'0' + d)).collect()
    }

    /// `418-555-0123`: the stored and displayed form.
    pub fn formatted(&self) -> String {
        format!(
            "{}-{}-{}",
            self.digit_string(0..3),
            self.digit_string(3..6),
            self.digit_string(6..10)
        )
    }

    /// `+14185550123`.
    pub fn e164(&self) -> String {
        format!("+1{}", self.digit_string(0..10))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> String {
        Phone::parse(input)
            .map(|p| p.formatted())
            .unwrap_or_else(|e| panic!("{input}: {e:?}"))
    }

    #[test]
    fn accepts_every_usual_written_form() {
        for input in [
            "418-555-0123",
            "4185550123",
            "(418) 555-0123",
            "418.555.0123",
            "418 555 0123",
            "1-418-555-0123",
            "+1 418 555 0123",
            "+14185550123",
            "14185550123",
            " 418\u{a0}555\u{a0}0123 ",
        ] {
            assert_eq!(ok(input), "418-555-0123", "{input}");
        }
    }

    #[test]
    fn e164_has_the_country_code() {
        assert_eq!(Phone::parse("418-555-0123").unwrap().e164(), "+14185550123");
    }

    #[test]
    fn refuses_wrong_lengths() {
        assert_eq!(Phone::parse("555-0123"), Err(PhoneError::Length(7)));
        assert_eq!(Phone::parse("24185550123"), Err(PhoneError::Length(11)));
        assert_eq!(
            Phone::parse("+33 1 23 45 67 89"),
            Err(PhoneError::Length(11))
        );
        assert_eq!(Phone::parse("418555012345"), Err(PhoneError::Length(12)));
    }

    #[test]
    fn refuses_invalid_area_codes_and_exchanges() {
        assert_eq!(Phone::parse("018-555-0123"), Err(PhoneError::AreaCode));
        assert_eq!(Phone::parse("118-555-0123"), Err(PhoneError::AreaCode));
        assert_eq!(Phone::parse("911-555-0123"), Err(PhoneError::ServiceCode));
        assert_eq!(Phone::parse("411-555-0123"), Err(PhoneError::ServiceCode));
        assert_eq!(Phone::parse("418-055-0123"), Err(PhoneError::Exchange));
        assert_eq!(Phone::parse("418-155-0123"), Err(PhoneError::Exchange));
        assert_eq!(Phone::parse("000-000-0000"), Err(PhoneError::AreaCode));
    }

    #[test]
    fn refuses_extensions_and_letters() {
        assert_eq!(Phone::parse("418-555-0123 x12"), Err(PhoneError::Extension));
        assert_eq!(
            Phone::parse("418-555-0123 poste 4"),
            Err(PhoneError::Extension)
        );
        assert_eq!(
            Phone::parse("418-555-0123 ext. 4"),
            Err(PhoneError::Extension)
        );
        assert_eq!(Phone::parse("418-555-0123#4"), Err(PhoneError::Extension));
        assert_eq!(Phone::parse("418-555-CALL"), Err(PhoneError::Characters));
        assert_eq!(Phone::parse("4185550123.0"), Err(PhoneError::Length(11)));
    }

    #[test]
    fn empty_is_its_own_error() {
        assert_eq!(Phone::parse("  "), Err(PhoneError::Empty));
    }
}
