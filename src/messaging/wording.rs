//! What an alert says when the contractor gives no text of its own: the
//! company, the sector, what to do, and (by SMS) how to stop, in the
//! occupant's language. Written in GSM-7 (no `ê`, `ç`...), so that one SMS
//! stays one segment at 160 characters. Issue "templates" makes these
//! editable per organization.

use super::Channel;
use crate::domain::Lang;

pub fn default_text(channel: Channel, lang: Lang, company: &str, sector: &str) -> String {
    match (channel, lang) {
        (Channel::Sms, Lang::Fr) => format!(
            "{company} : le déneigement de votre rue ({sector}) commence sous peu. \
             Libérez la voie SVP. ARRET pour vous désabonner."
        ),
        (Channel::Sms, Lang::En) => format!(
            "{company}: snow removal on your street ({sector}) starts soon. \
             Please clear the way. Reply STOP to unsubscribe."
        ),
        (Channel::Call, Lang::Fr) => format!(
            "Bonjour, ici {company}. Le déneigement de votre rue, secteur {sector}, \
             commence sous peu. Merci de libérer la voie."
        ),
        (Channel::Call, Lang::En) => format!(
            "Hello, this is {company}. Snow removal on your street, sector {sector}, \
             starts soon. Please clear the way."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messaging::segments::{Encoding, count};

    #[test]
    fn the_default_sms_is_one_gsm7_segment_for_a_usual_name() {
        for lang in [Lang::Fr, Lang::En] {
            let text = default_text(Channel::Sms, lang, "Déneigement Tremblay", "Secteur 12");
            let counted = count(&text);
            assert_eq!(counted.encoding, Encoding::Gsm7, "{text}");
            assert_eq!(counted.segments, 1, "{text}: {} septets", counted.units);
        }
    }
}
