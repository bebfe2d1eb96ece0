//! What an SMS costs: its encoding and how many segments the carrier
//! bills. GSM-7 (GSM 03.38) holds 160 characters in one message, 153 in
//! each part of a longer one; `€ [ ] { } ^ ~ \ |` and form feed take an
//! escape, so two. One character outside GSM-7 (`ê`, `ç`, an emoji...)
//! makes the whole message UCS-2: 70 UTF-16 units alone, 67 a part, and a
//! character outside the Basic Multilingual Plane takes two. An escape
//! pair or a surrogate pair is never split between two parts, so parts
//! are packed the way phones pack them.

/// How a message is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

/// A message's encoding, its length in that encoding's units (septets,
/// or UTF-16 code units) and the segments billed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segments {
    pub encoding: Encoding,
    pub units: usize,
    pub segments: usize,
}

/// GSM 03.38's basic character set.
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
     ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// Its extension table: each is an escape and a character.
const GSM_EXTENSION: &str = "\u{c}^{}\\[~]|€";

/// The units `c` takes in GSM-7, or `None` outside it.
fn gsm_septets(c: char) -> Option<usize> {
    if GSM_BASIC.contains(c) {
        Some(1)
    } else if GSM_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

pub fn count(text: &str) -> Segments {
    let gsm: Option<Vec<usize>> = text.chars().map(gsm_septets).collect();
    let (encoding, units, single, part) = match gsm {
        Some(septets) => (Encoding::Gsm7, septets, 160, 153),
        None => {
            let units = text.chars().map(char::len_utf16).collect();
            (Encoding::Ucs2, units, 70, 67)
        }
    };
    let total: usize = units.iter().sum();
    let segments = if total <= single {
        1
    } else {
        packed(&units, part)
    };
    Segments {
        encoding,
        units: total,
        segments,
    }
}

/// Parts of `size` units filled in order, a character never split.
fn packed(units: &[usize], size: usize) -> usize {
    let (mut parts, mut used) = (1, 0);
    for &unit in units {
        if used + unit > size {
            parts += 1;
            used = 0;
        }
        used += unit;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(text: &str) -> (Encoding, usize, usize) {
        let counted = count(text);
        (counted.encoding, counted.units, counted.segments)
    }

    /// 128 positions less the escape; the extension's nine and form feed.
    #[test]
    fn the_tables_are_gsm_03_38s() {
        let distinct = |table: &str| {
            table
                .chars()
                .collect::<std::collections::HashSet<_>>()
                .len()
        };
        assert_eq!((GSM_BASIC.chars().count(), distinct(GSM_BASIC)), (127, 127));
        assert_eq!(distinct(GSM_EXTENSION), 10);
    }

    #[test]
    fn french_in_gsm_7_stays_one_message_up_to_160() {
        assert_eq!(
            of("Déneigement de votre rue à Québec demain, 7 h."),
            (Encoding::Gsm7, 46, 1)
        );
        assert_eq!(of(&"a".repeat(160)), (Encoding::Gsm7, 160, 1));
        assert_eq!(of(&"a".repeat(161)), (Encoding::Gsm7, 161, 2));
        assert_eq!(of(&"a".repeat(306)), (Encoding::Gsm7, 306, 2));
        assert_eq!(of(&"a".repeat(307)), (Encoding::Gsm7, 307, 3));
        assert_eq!(of("Ç"), (Encoding::Gsm7, 1, 1));
    }

    #[test]
    fn extension_characters_count_two_and_are_never_split() {
        assert_eq!(of("Coût : 5 €"), (Encoding::Ucs2, 10, 1));
        assert_eq!(of("Prix: 5 €"), (Encoding::Gsm7, 10, 1));
        assert_eq!(of(&"€".repeat(80)), (Encoding::Gsm7, 160, 1));
        // 81 € are 162 septets: 76 fit a part of 153 (152), 5 go on.
        assert_eq!(of(&"€".repeat(81)), (Encoding::Gsm7, 162, 2));
        // 152 septets, then an escape pair that would straddle: 3 parts.
        let straddling = format!("{}{}", "a".repeat(152), "[".repeat(77));
        assert_eq!(of(&straddling), (Encoding::Gsm7, 306, 3));
    }

    #[test]
    fn one_character_outside_gsm_makes_all_of_it_ucs_2() {
        assert_eq!(of("Fête de rue"), (Encoding::Ucs2, 11, 1));
        assert_eq!(of("ç"), (Encoding::Ucs2, 1, 1));
        assert_eq!(of(&"ê".repeat(70)), (Encoding::Ucs2, 70, 1));
        assert_eq!(of(&"ê".repeat(71)), (Encoding::Ucs2, 71, 2));
        assert_eq!(of(&"ê".repeat(134)), (Encoding::Ucs2, 134, 2));
        assert_eq!(of(&"ê".repeat(135)), (Encoding::Ucs2, 135, 3));
    }

    #[test]
    fn characters_beyond_the_basic_plane_take_two_units() {
        assert_eq!(of("❄"), (Encoding::Ucs2, 1, 1));
        assert_eq!(of("🚜"), (Encoding::Ucs2, 2, 1));
        assert_eq!(of(&"🚜".repeat(35)), (Encoding::Ucs2, 70, 1));
        // 72 units: 33 tractors fill a part (66), a 34th would straddle.
        assert_eq!(of(&"🚜".repeat(36)), (Encoding::Ucs2, 72, 2));
        assert_eq!(of(&"🚜".repeat(67)), (Encoding::Ucs2, 134, 3));
    }
}
