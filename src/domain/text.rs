//! Text as people type it: cleaned of invisible characters and stray
//! spaces, folded for comparison, bounded in length.

use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

use super::{Field, ValidationError};

/// A cell or input value as a person meant it: trimmed, non-breaking and
/// other Unicode spaces folded, inner runs of spaces collapsed, control
/// characters (invisible, and never meant) dropped.
pub fn clean(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let visible: String = value
        .chars()
        .filter(|c| !c.is_control() || c.is_whitespace())
        .collect();
    for word in visible.split(|c: char| c.is_whitespace() || c == '\u{a0}' || c == '\u{202f}') {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Lowercase without accents: the form compared by search and by keys.
pub fn fold(value: &str) -> String {
    value
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// What a client search matches: its id and name, folded.
pub fn search_key(external_id: &str, name: Option<&str>) -> String {
    fold(&format!("{external_id} {}", name.unwrap_or("")))
}

/// A cleaned value that must be present and within `max` characters.
pub fn required_text(field: Field, value: &str, max: usize) -> Result<String, ValidationError> {
    optional_text(field, Some(value), max)?.ok_or(ValidationError::Required { field })
}

/// A cleaned optional value: blank becomes `None`.
pub fn optional_text(
    field: Field,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, ValidationError> {
    let Some(value) = value.map(clean).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > max {
        return Err(ValidationError::TooLong { field, max });
    }
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_trims_and_collapses_every_kind_of_space() {
        assert_eq!(clean("  Jean\u{a0}\u{a0}Tremblay \t"), "Jean Tremblay");
        assert_eq!(clean("\u{202f}"), "");
        assert_eq!(clean("a\u{1}b\u{7}\tc"), "ab c");
    }

    #[test]
    fn fold_removes_case_and_accents() {
        assert_eq!(fold("Québec ÉLÈVE Ç"), "quebec eleve c");
    }

    #[test]
    fn optional_text_rejects_too_long_values() {
        assert_eq!(optional_text(Field::Notes, Some("  "), 5), Ok(None));
        assert_eq!(
            optional_text(Field::Notes, Some("éééééé"), 5),
            Err(ValidationError::TooLong {
                field: Field::Notes,
                max: 5
            })
        );
        assert_eq!(
            required_text(Field::ClientId, " ", 5),
            Err(ValidationError::Required {
                field: Field::ClientId
            })
        );
    }
}
