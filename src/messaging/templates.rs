//! What an alert says: the organization's template for the channel and
//! the occupant's language, or ours. Templates are minijinja (Jinja's
//! syntax, which contractors' web tools already use); only the variables
//! below exist, so a template is checked once when saved (syntax, unknown
//! names, length) and then renders for every occupant without surprises.
//! Fuel bounds what one render may run, and the output is bounded too.

use std::collections::BTreeSet;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use super::Channel;
use crate::domain::Lang;

/// The variables a template may use, French and English names alike.
pub const VARIABLES: [&str; 11] = [
    "prenom",
    "first_name",
    "nom",
    "last_name",
    "adresse",
    "address",
    "secteur",
    "sector",
    "compagnie",
    "company",
    "date",
];

/// A template's source, in characters.
pub const MAX_SOURCE: usize = 1_000;

/// A rendered message, in characters: Twilio's limit for one SMS body (ten
/// segments), and more than any call needs.
pub const MAX_OUTPUT: usize = 1_600;

/// Instructions one render may run: plenty for conditions and filters,
/// nothing near a runaway loop.
const FUEL: u64 = 20_000;

/// What fills a template's variables for one occupant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Values {
    pub first_name: String,
    pub last_name: String,
    pub address: String,
    pub sector: String,
    pub company: String,
    /// The day of the alert, in words of the language (`7 décembre`).
    pub date: String,
}

impl Values {
    /// What a preview without an occupant shows.
    pub fn sample(lang: Lang, company: &str, sector: Option<&str>) -> Values {
        Values {
            first_name: lang.pick("Marie", "Mary"),
            last_name: "Tremblay".to_owned(),
            address: "999 Rue Exemple, Québec".to_owned(),
            sector: sector
                .map(str::to_owned)
                .unwrap_or_else(|| lang.pick("Secteur 1", "Sector 1")),
            company: company.to_owned(),
            date: String::new(),
        }
    }
}

#[derive(Serialize)]
struct Context<'a> {
    prenom: &'a str,
    first_name: &'a str,
    nom: &'a str,
    last_name: &'a str,
    adresse: &'a str,
    address: &'a str,
    secteur: &'a str,
    sector: &'a str,
    compagnie: &'a str,
    company: &'a str,
    date: &'a str,
}

impl<'a> From<&'a Values> for Context<'a> {
    fn from(values: &'a Values) -> Context<'a> {
        Context {
            prenom: &values.first_name,
            first_name: &values.first_name,
            nom: &values.last_name,
            last_name: &values.last_name,
            adresse: &values.address,
            address: &values.address,
            secteur: &values.sector,
            sector: &values.sector,
            compagnie: &values.company,
            company: &values.company,
            date: &values.date,
        }
    }
}

/// Why a template was refused, with where (1-based line) when known.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template syntax error at line {line}: {detail}")]
    Syntax { line: usize, detail: String },
    #[error("unknown variable {name}")]
    UnknownVariable { name: String },
    #[error("template longer than {max} characters")]
    TooLong { max: usize },
    #[error("rendered message longer than {max} characters")]
    OutputTooLong { max: usize },
    #[error("template failed to render: {detail}")]
    Render { detail: String },
}

impl TemplateError {
    /// For the person who wrote the template.
    pub fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (TemplateError::Syntax { line, detail }, Lang::Fr) => {
                format!("Erreur de syntaxe à la ligne {line} du modèle : {detail}.")
            }
            (TemplateError::Syntax { line, detail }, Lang::En) => {
                format!("Syntax error on line {line} of the template: {detail}.")
            }
            (TemplateError::UnknownVariable { name }, Lang::Fr) => format!(
                "Variable inconnue « {name} ». Variables permises : {}.",
                VARIABLES.join(", ")
            ),
            (TemplateError::UnknownVariable { name }, Lang::En) => format!(
                "Unknown variable \"{name}\". Allowed variables: {}.",
                VARIABLES.join(", ")
            ),
            (TemplateError::TooLong { max }, Lang::Fr) => {
                format!("Le modèle dépasse {max} caractères.")
            }
            (TemplateError::TooLong { max }, Lang::En) => {
                format!("The template is longer than {max} characters.")
            }
            (TemplateError::OutputTooLong { max }, Lang::Fr) => {
                format!("Le message produit dépasse {max} caractères.")
            }
            (TemplateError::OutputTooLong { max }, Lang::En) => {
                format!("The message it makes is longer than {max} characters.")
            }
            (TemplateError::Render { detail }, Lang::Fr) => {
                format!("Le modèle ne peut pas être rendu : {detail}.")
            }
            (TemplateError::Render { detail }, Lang::En) => {
                format!("The template cannot be rendered: {detail}.")
            }
        }
    }
}

/// A template compiled once, rendered for each occupant.
pub struct Template<'s> {
    env: Environment<'s>,
}

const NAME: &str = "message";

impl<'s> Template<'s> {
    pub fn compile(source: &'s str) -> Result<Template<'s>, TemplateError> {
        if source.chars().count() > MAX_SOURCE {
            return Err(TemplateError::TooLong { max: MAX_SOURCE });
        }
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.add_template(NAME, source)
            .map_err(|error| TemplateError::Syntax {
                line: error.line().unwrap_or(1),
                detail: error.detail().unwrap_or("invalid").to_owned(),
            })?;
        let template = Template { env };
        let used: BTreeSet<String> = template
            .env
            .get_template(NAME)
            .map(|t| t.undeclared_variables(false).into_iter().collect())
            .unwrap_or_default();
        if let Some(name) = used
            .into_iter()
            .find(|name| !VARIABLES.contains(&name.as_str()))
        {
            return Err(TemplateError::UnknownVariable { name });
        }
        Ok(template)
    }

    pub fn render(&self, values: &Values) -> Result<String, TemplateError> {
        let rendered = self
            .env
            .get_template(NAME)
            .and_then(|t| t.render(Context::from(values)))
            .map_err(|error| TemplateError::Render {
                detail: error
                    .detail()
                    .map(str::to_owned)
                    .unwrap_or_else(|| error.kind().to_string()),
            })?;
        let text = rendered.trim();
        if text.chars().count() > MAX_OUTPUT {
            return Err(TemplateError::OutputTooLong { max: MAX_OUTPUT });
        }
        Ok(text.to_owned())
    }
}

/// Checks a template before it is saved: it compiles, uses only known
/// variables, and renders within bounds with long values.
pub fn check(source: &str) -> Result<(), TemplateError> {
    let template = Template::compile(source)?;
    let long = "x".repeat(100);
    template.render(&Values {
        first_name: long.clone(),
        last_name: long.clone(),
        address: long.clone(),
        sector: long.clone(),
        company: long.clone(),
        date: long,
    })?;
    Ok(())
}

/// Our wording, used where the organization has none: the company, the
/// sector, what to do, and (by SMS) how to stop. In GSM-7 (no `ê`, `ç`...)
/// so that one SMS stays one segment for usual names.
pub fn default_source(channel: Channel, lang: Lang) -> &'static str {
    match (channel, lang) {
        (Channel::Sms, Lang::Fr) => {
            "{{ compagnie }} : le déneigement de votre rue ({{ secteur }}) commence sous peu. \
             Libérez la voie SVP. ARRET pour vous désabonner."
        }
        (Channel::Sms, Lang::En) => {
            "{{ company }}: snow removal on your street ({{ sector }}) starts soon. \
             Please clear the way. Reply STOP to unsubscribe."
        }
        (Channel::Call, Lang::Fr) => {
            "Bonjour, ici {{ compagnie }}. Le déneigement de votre rue, secteur {{ secteur }}, \
             commence sous peu. Merci de libérer la voie."
        }
        (Channel::Call, Lang::En) => {
            "Hello, this is {{ company }}. Snow removal on your street, sector {{ sector }}, \
             starts soon. Please clear the way."
        }
    }
}

/// A day in words: `7 décembre`, `December 7`.
pub fn date_words(date: jiff::civil::Date, lang: Lang) -> String {
    const MOIS: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let month = (date.month() - 1) as usize;
    match lang {
        Lang::Fr if date.day() == 1 => format!("1er {}", MOIS[month]),
        Lang::Fr => format!("{} {}", date.day(), MOIS[month]),
        Lang::En => format!("{} {}", MONTHS[month], date.day()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messaging::segments::{Encoding, count};

    fn values() -> Values {
        Values {
            first_name: "Émile".into(),
            last_name: "Côté".into(),
            address: "12 Rue des Érables".into(),
            sector: "Secteur 12".into(),
            company: "Déneigement Tremblay".into(),
            date: "7 décembre".into(),
        }
    }

    #[test]
    fn a_template_renders_french_and_english_names_alike() {
        let template =
            Template::compile("Bonjour {{ prenom }} {{ last_name }}, {{ secteur }} le {{ date }}.")
                .unwrap();
        assert_eq!(
            template.render(&values()).unwrap(),
            "Bonjour Émile Côté, Secteur 12 le 7 décembre."
        );
        let conditional =
            Template::compile("{% if prenom %}Bonjour {{ prenom }}{% else %}Bonjour{% endif %}")
                .unwrap();
        let nameless = Values {
            first_name: String::new(),
            ..values()
        };
        assert_eq!(conditional.render(&nameless).unwrap(), "Bonjour");
    }

    #[test]
    fn unknown_variables_and_syntax_errors_are_refused_with_where() {
        assert_eq!(
            check("Bonjour {{ prenon }}").err(),
            Some(TemplateError::UnknownVariable {
                name: "prenon".into()
            })
        );
        // Names are ASCII: an accent is a syntax error, at its line.
        assert!(matches!(
            check("Bonjour {{ prénom }}"),
            Err(TemplateError::Syntax { line: 1, .. })
        ));
        assert_eq!(
            check("{% for i in range(100000) %}x{% endfor %}").err(),
            Some(TemplateError::UnknownVariable {
                name: "range".into()
            })
        );
        let Err(TemplateError::Syntax { line, .. }) = check("Bonjour\n{{ prenom ") else {
            panic!("a syntax error");
        };
        assert_eq!(line, 2);
        assert_eq!(
            check(&"a".repeat(MAX_SOURCE + 1)),
            Err(TemplateError::TooLong { max: MAX_SOURCE })
        );
        // 20 names of 100 characters: 2,000 characters, more than a message.
        assert_eq!(
            check(&"{{ nom }}".repeat(20)),
            Err(TemplateError::OutputTooLong { max: MAX_OUTPUT })
        );
    }

    #[test]
    fn the_defaults_check_and_make_one_gsm7_segment_for_a_usual_name() {
        for lang in [Lang::Fr, Lang::En] {
            for channel in [Channel::Sms, Channel::Call] {
                check(default_source(channel, lang)).unwrap();
            }
            let text = Template::compile(default_source(Channel::Sms, lang))
                .unwrap()
                .render(&values())
                .unwrap();
            let counted = count(&text);
            assert_eq!(counted.encoding, Encoding::Gsm7, "{text}");
            assert_eq!(counted.segments, 1, "{text}: {} septets", counted.units);
            assert!(text.contains(lang.pick("ARRET", "STOP").as_str()), "{text}");
        }
    }

    #[test]
    fn dates_are_written_in_words() {
        let date = jiff::civil::date(2026, 12, 7);
        assert_eq!(date_words(date, Lang::Fr), "7 décembre");
        assert_eq!(date_words(date, Lang::En), "December 7");
        assert_eq!(
            date_words(jiff::civil::date(2027, 1, 1), Lang::Fr),
            "1er janvier"
        );
    }
}
