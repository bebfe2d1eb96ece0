//! The language of messages, from `Accept-Language`.

/// The language of user-facing messages: French unless the client asks for
/// English with `Accept-Language`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    Fr,
    En,
}

/// An occupant's stored language is the one they are written to in.
impl From<entity::values::Language> for Lang {
    fn from(language: entity::values::Language) -> Lang {
        match language {
            entity::values::Language::Fr => Lang::Fr,
            entity::values::Language::En => Lang::En,
        }
    }
}

impl Lang {
    /// The first of French or English named in an `Accept-Language` header,
    /// by quality then order; French when neither is named.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let Some(header) = header else {
            return Lang::Fr;
        };
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("fr") => Lang::Fr,
                Some("en") => Lang::En,
                _ => continue,
            };
            if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, lang));
            }
        }
        best.map_or(Lang::Fr, |(_, lang)| lang)
    }

    /// Picks the message written in this language.
    pub fn pick(self, fr: impl Into<String>, en: impl Into<String>) -> String {
        match self {
            Lang::Fr => fr.into(),
            Lang::En => en.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn french_is_the_default() {
        assert_eq!(Lang::from_accept_language(None), Lang::Fr);
        assert_eq!(Lang::from_accept_language(Some("de-DE")), Lang::Fr);
    }

    #[test]
    fn english_when_asked_first() {
        assert_eq!(Lang::from_accept_language(Some("en")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("en-CA,fr;q=0.8")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("fr-CA,en;q=0.8")), Lang::Fr);
        assert_eq!(
            Lang::from_accept_language(Some("fr;q=0.5, en;q=0.9")),
            Lang::En
        );
    }
}
