//! `SMS_TRANSLITERATE=true`: French letters outside GSM-7 sent without
//! their accent, so that one `ê` no longer makes the whole message UCS-2
//! (70 characters a segment instead of 160). `é è à ù É` stay: they are
//! GSM-7. Typographic punctuation that word processors put in (’ « » –)
//! becomes its plain form for the same reason: a pasted apostrophe costs
//! as much as an accent.

use std::borrow::Cow;

/// The plain form of a character outside GSM-7, where French text has one.
fn plain(c: char) -> Option<&'static str> {
    Some(match c {
        'ê' | 'ë' => "e",
        'â' => "a",
        'î' | 'ï' => "i",
        'ô' => "o",
        'û' => "u",
        'ç' => "c",
        'Ê' | 'Ë' | 'È' => "E",
        'Â' | 'À' => "A",
        'Î' | 'Ï' => "I",
        'Ô' => "O",
        'Û' | 'Ù' => "U",
        'œ' => "oe",
        'Œ' => "OE",
        '’' | '‘' | 'ʼ' => "'",
        '«' | '»' | '“' | '”' => "\"",
        '–' | '—' => "-",
        '…' => "...",
        '\u{a0}' | '\u{202f}' => " ",
        _ => return None,
    })
}

/// The text with those characters replaced (borrowed when none is there).
pub fn transliterate(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| plain(c).is_some()) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match plain(c) {
            Some(replacement) => out.push_str(replacement),
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messaging::segments::{Encoding, count};

    #[test]
    fn accents_outside_gsm7_go_and_those_inside_stay() {
        assert_eq!(transliterate("ê â î ô û ç ë ï"), "e a i o u c e i");
        assert_eq!(transliterate("é è à ù É Ç"), "é è à ù É Ç");
        assert!(matches!(
            transliterate("Déneigement à Québec"),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            transliterate("Fête d’hiver « Côte-des-Neiges » – tôt"),
            "Fete d'hiver \" Cote-des-Neiges \" - tot"
        );
    }

    #[test]
    fn a_transliterated_french_message_is_gsm7() {
        let text = "Déneigement Côté : votre rue sera déneigée très tôt. Ça commence à 7 h.";
        assert_eq!(count(text).encoding, Encoding::Ucs2);
        let plain = transliterate(text);
        let counted = count(&plain);
        assert_eq!(counted.encoding, Encoding::Gsm7, "{plain}");
        assert_eq!(counted.segments, 1);
    }
}
