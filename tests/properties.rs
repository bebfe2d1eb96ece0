//! Properties of the domain values, on random input: parsing never panics,
//! and a normalized value parsed again is the same value (normalizing twice
//! is normalizing once). 256 cases each: a few seconds.

use flokon_api::domain::{Address, Phone, PostalCode};
use proptest::prelude::*;

/// Any text, and text shaped like what people type in each column (mostly
/// the right characters, sometimes a stray one), so that both the errors
/// and the valid values are reached.
fn phone_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9 ().+/-]{0,20}",
        "\\+?1?[ -]?\\(?[2-9][0-9]{2}\\)?[ .-]?[2-9][0-9]{2}[ .-]?[0-9]{4}( (x|poste|ext\\.?|#) ?[0-9]{1,5})?",
        "[0-9]{3}[\u{a0}\u{202f}\t-][0-9]{3}-[0-9]{4}[a-zA-Z#é]?[0-9]{0,3}",
    ]
}

fn postal_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[A-Za-z][0-9][A-Za-z][ \u{a0}-]{0,2}[0-9][A-Za-z][0-9]",
        "[ A-Za-z0-9\u{a0}-]{0,10}",
    ]
}

fn address_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9]{0,5}[A-Z]?,? ?(rue|Rue|boul\\.|av|Ch\\.|St-|Ste-)? ?[A-Za-zÀ-ÿ' .-]{0,30}(, [A-Za-zÀ-ÿ -]{0,20})?(, (QC|Qc|Québec|ON|on|Ont\\.|XX))?(, ?[A-Z][0-9][A-Z] ?[0-9][A-Z][0-9])?",
        "[\\PC]{0,60}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_phone_parsed_again_is_the_same_phone(input in phone_like()) {
        if let Ok(phone) = Phone::parse(&input) {
            let formatted = phone.formatted();
            prop_assert_eq!(Phone::parse(&formatted).ok(), Some(phone));
            prop_assert_eq!(Phone::parse(&phone.e164()).ok(), Some(phone));
            prop_assert_eq!(Phone::parse(&formatted).unwrap().formatted(), formatted);
        }
    }

    #[test]
    fn a_postal_code_parsed_again_is_the_same_code(input in postal_like()) {
        if let Ok(code) = PostalCode::parse(&input) {
            prop_assert_eq!(PostalCode::parse(code.as_str()).ok(), Some(code.clone()));
            prop_assert_eq!(PostalCode::parse(&code.compact()).ok(), Some(code.clone()));
            prop_assert_eq!(PostalCode::parse(&code.as_str().to_lowercase()).ok(), Some(code.clone()));
            // Its province is always one of the thirteen.
            let _ = code.province();
        }
    }

    #[test]
    fn an_address_key_normalized_again_is_the_same_key(input in address_like()) {
        // The loose key (any text) is a fixed point of itself.
        let loose = Address::loose_key(&input);
        prop_assert_eq!(Address::loose_key(&loose), loose.clone());
        if let Ok(address) = Address::parse_one_line(&input) {
            let key = address.key();
            // A key is already folded: normalizing it changes nothing.
            prop_assert_eq!(Address::loose_key(&key), key.clone());
            // Written out in full, it reads back as the same place (with a
            // city: without one, the province written out would be read as
            // the city, as `1 rue A, QC` is).
            if address.city.is_some() {
                let again = Address::parse_one_line(&address.full());
                prop_assert_eq!(again.ok().map(|a| a.key()), Some(key));
            }
        }
    }
}
