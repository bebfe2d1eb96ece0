//! What a resident's reply asks for. Carriers require Canadian numbers to
//! honour STOP, ARRET, HELP, AIDE and INFO; we take the usual opt-out and
//! opt-in words in French and English, in any case, with or without
//! accents, spaces or punctuation around them.
//!
//! An opt-out counts when its keyword is the first word of the reply
//! (`ARRET SVP`, `Stop please!`): missing one breaks the law (CASL) and
//! gets the number blocked, while a wrong one is undone by `START`. Opt-in
//! and help words count only alone (`oui mais...` is not a consent), and so
//! does `NON`, which declines a consent request without unsubscribing.

use crate::domain::Lang;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keyword {
    /// Stop every alert to this phone. The language the word was in.
    OptOut(Lang),
    /// Alerts again (and `OUI` accepts a pending consent request).
    OptIn(Lang),
    /// Declines a pending consent request (and nothing else).
    Decline(Lang),
    /// How to stop, and who writes.
    Help(Lang),
}

const OPT_OUT: [(&str, Lang); 7] = [
    ("STOP", Lang::En),
    ("ARRET", Lang::Fr),
    ("UNSUBSCRIBE", Lang::En),
    ("END", Lang::En),
    ("QUIT", Lang::En),
    ("CANCEL", Lang::En),
    ("STOPALL", Lang::En),
];
const OPT_IN: [(&str, Lang); 3] = [("START", Lang::En), ("OUI", Lang::Fr), ("YES", Lang::En)];
const DECLINE: [(&str, Lang); 2] = [("NON", Lang::Fr), ("NO", Lang::En)];
const HELP: [(&str, Lang); 3] = [("HELP", Lang::En), ("AIDE", Lang::Fr), ("INFO", Lang::Fr)];

/// The keyword `body` holds, if any.
pub fn read(body: &str) -> Option<Keyword> {
    let words: Vec<String> = body
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| crate::domain::fold(word).to_uppercase())
        .collect();
    let first = words.first()?;
    let find = |list: &[(&str, Lang)]| {
        list.iter()
            .find(|(word, _)| word == first)
            .map(|(_, lang)| *lang)
    };
    if let Some(lang) = find(&OPT_OUT) {
        return Some(Keyword::OptOut(lang));
    }
    if words.len() != 1 {
        return None;
    }
    find(&OPT_IN)
        .map(Keyword::OptIn)
        .or_else(|| find(&DECLINE).map(Keyword::Decline))
        .or_else(|| find(&HELP).map(Keyword::Help))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opt_outs_are_read_however_they_are_written() {
        for body in [
            "STOP",
            " stop ",
            "Arrêt.",
            "ARRET",
            "arret!!",
            "ARRET SVP",
            "Stop please",
            "unsubscribe",
            "Quit",
        ] {
            assert!(matches!(read(body), Some(Keyword::OptOut(_))), "{body:?}");
        }
        assert_eq!(read("Arrêt."), Some(Keyword::OptOut(Lang::Fr)));
        assert_eq!(read(" stop "), Some(Keyword::OptOut(Lang::En)));
    }

    #[test]
    fn opt_ins_and_help_count_alone_and_other_text_is_nothing() {
        assert_eq!(read("Oui"), Some(Keyword::OptIn(Lang::Fr)));
        assert_eq!(read("START"), Some(Keyword::OptIn(Lang::En)));
        assert_eq!(read("aide ?"), Some(Keyword::Help(Lang::Fr)));
        assert_eq!(read("HELP"), Some(Keyword::Help(Lang::En)));
        assert_eq!(read("Non."), Some(Keyword::Decline(Lang::Fr)));
        assert_eq!(read("non merci"), None);
        assert_eq!(read("oui mais pas demain"), None);
        assert_eq!(read("Merci, je déplace mon auto"), None);
        assert_eq!(read("   "), None);
        // A word that merely starts like a keyword is not one.
        assert_eq!(read("Stopper le camion"), None);
    }
}
