//! What each message says: the organization's templates (or ours) filled
//! for one occupant, in their language, transliterated when the deployment
//! asks (`SMS_TRANSLITERATE`), and what it costs.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::values::{ContactMethod, Language, SmsEncoding};
use entity::{message_template, occupant, sector, service_point};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

use crate::auth::OrgId;
use crate::domain::{Lang, ValidationError};
use crate::messaging::Channel;
use crate::messaging::segments::{self, Encoding, Segments};
use crate::messaging::templates::{self, Template, Values};
use crate::messaging::transliterate::transliterate;
use crate::service::store::tenant::{delete_all_owned, get_owned, owned};
use uuid::Uuid;

pub const CHANNELS: [ContactMethod; 2] = [ContactMethod::Sms, ContactMethod::Call];
pub const LANGUAGES: [Language; 2] = [Language::Fr, Language::En];

/// One template as the organization sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateView {
    pub channel: ContactMethod,
    pub language: Language,
    pub body: String,
    pub is_default: bool,
}

/// The organization's own templates, by channel and language.
pub async fn custom(
    db: &impl ConnectionTrait,
    org: OrgId,
) -> Result<HashMap<(ContactMethod, Language), String>, DbErr> {
    let rows = owned::<message_template::Entity>(org).all(db).await?;
    Ok(rows
        .into_iter()
        .map(|row| ((row.channel, row.language), row.body))
        .collect())
}

/// The four templates (SMS and call, French and English), each the
/// organization's or ours.
pub async fn list(db: &impl ConnectionTrait, org: OrgId) -> Result<Vec<TemplateView>, DbErr> {
    let mut custom = custom(db, org).await?;
    Ok(CHANNELS
        .into_iter()
        .flat_map(|channel| LANGUAGES.map(|language| (channel, language)))
        .map(
            |(channel, language)| match custom.remove(&(channel, language)) {
                Some(body) => TemplateView {
                    channel,
                    language,
                    body,
                    is_default: false,
                },
                None => TemplateView {
                    channel,
                    language,
                    body: default_source(channel, language).to_owned(),
                    is_default: true,
                },
            },
        )
        .collect())
}

fn default_source(channel: ContactMethod, language: Language) -> &'static str {
    templates::default_source(Channel::from(channel), Lang::from(language))
}

/// A template's error, for the person who wrote it.
pub fn invalid(error: &templates::TemplateError) -> ValidationError {
    ValidationError::Template {
        fr: error.message(Lang::Fr),
        en: error.message(Lang::En),
    }
}

/// Saves the organization's template (checked first: nothing is saved when
/// it does not compile, names an unknown variable or renders too long), or
/// goes back to ours (`None`, or only spaces).
pub async fn save(
    db: &impl ConnectionTrait,
    org: OrgId,
    channel: ContactMethod,
    language: Language,
    body: Option<&str>,
    now: DateTime<Utc>,
) -> Result<TemplateView, crate::service::ServiceError> {
    let body = body.map(str::trim).filter(|body| !body.is_empty());
    let Some(body) = body else {
        delete_all_owned::<message_template::Entity>(org)
            .filter(message_template::Column::Channel.eq(channel))
            .filter(message_template::Column::Language.eq(language))
            .exec(db)
            .await?;
        return Ok(TemplateView {
            channel,
            language,
            body: default_source(channel, language).to_owned(),
            is_default: true,
        });
    };
    templates::check(body).map_err(|error| invalid(&error))?;
    let row = message_template::ActiveModel {
        organization_id: Set(org.uuid()),
        channel: Set(channel),
        language: Set(language),
        body: Set(body.to_owned()),
        updated_at: Set(now),
    };
    message_template::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                message_template::Column::OrganizationId,
                message_template::Column::Channel,
                message_template::Column::Language,
            ])
            .update_columns([
                message_template::Column::Body,
                message_template::Column::UpdatedAt,
            ])
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(TemplateView {
        channel,
        language,
        body: body.to_owned(),
        is_default: false,
    })
}

/// A message ready to store: its text and, by SMS, its cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Composed {
    pub body: String,
    pub cost: Option<Segments>,
}

impl Composed {
    /// `transliterate`: the deployment's `SMS_TRANSLITERATE`.
    pub fn new(channel: Channel, text: String, transliterate_sms: bool) -> Composed {
        if channel == Channel::Call {
            return Composed {
                body: text,
                cost: None,
            };
        }
        let body = if transliterate_sms {
            transliterate(&text).into_owned()
        } else {
            text
        };
        let cost = Some(segments::count(&body));
        Composed { body, cost }
    }

    pub fn encoding(&self) -> Option<SmsEncoding> {
        self.cost.map(|cost| sms_encoding(cost.encoding))
    }

    pub fn segments(&self) -> Option<i32> {
        self.cost.map(|cost| cost.segments as i32)
    }

    /// Segments billed (a call: none).
    pub fn billed(&self) -> i64 {
        self.cost.map_or(0, |cost| cost.segments as i64)
    }
}

pub fn sms_encoding(encoding: Encoding) -> SmsEncoding {
    match encoding {
        Encoding::Gsm7 => SmsEncoding::Gsm7,
        Encoding::Ucs2 => SmsEncoding::Ucs2,
    }
}

/// Who messages come from and how they are written.
#[derive(Clone, Copy, Debug)]
pub struct Sender<'a> {
    /// The organization's name.
    pub company: &'a str,
    /// `SMS_TRANSLITERATE`.
    pub transliterate: bool,
}

/// The organization's templates and ours, compiled once for a whole alert.
pub struct Composer<'s> {
    custom: HashMap<(ContactMethod, Language), Template<'s>>,
    ours: HashMap<(ContactMethod, Language), Template<'static>>,
    transliterate: bool,
}

impl<'s> Composer<'s> {
    pub fn new(
        custom: &'s HashMap<(ContactMethod, Language), String>,
        transliterate: bool,
    ) -> Composer<'s> {
        let compiled = |source: &'s str| Template::compile(source).ok();
        let keys = CHANNELS
            .into_iter()
            .flat_map(|channel| LANGUAGES.map(|language| (channel, language)));
        Composer {
            custom: custom
                .iter()
                .filter_map(|(key, source)| Some((*key, compiled(source)?)))
                .collect(),
            ours: keys
                .filter_map(|key| {
                    let template = Template::compile(default_source(key.0, key.1)).ok()?;
                    Some((key, template))
                })
                .collect(),
            transliterate,
        }
    }

    /// The organization's template filled for one occupant; ours when
    /// theirs fails on these values (checked when saved, it fails only on
    /// values far longer than any it was tried with): a resident is never
    /// left unalerted, nor sent sample values.
    pub fn compose(&self, channel: ContactMethod, language: Language, values: &Values) -> Composed {
        let key = (channel, language);
        let text = self
            .custom
            .get(&key)
            .and_then(|template| template.render(values).ok())
            .or_else(|| self.ours.get(&key)?.render(values).ok())
            .unwrap_or_else(|| values.company.clone());
        Composed::new(Channel::from(channel), text, self.transliterate)
    }
}

/// What `previewMessage` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preview {
    pub text: String,
    /// SMS only.
    pub cost: Option<Segments>,
    /// The text without the accents outside GSM-7, when that changes it
    /// (what `SMS_TRANSLITERATE=true` sends), and its cost.
    pub transliterated: Option<(String, Segments)>,
}

/// What to preview: a template (the organization's, or `body` not yet
/// saved) for one occupant and sector, or sample values.
pub struct PreviewRequest<'a> {
    pub channel: ContactMethod,
    pub language: Language,
    pub body: Option<&'a str>,
    pub occupant_id: Option<Uuid>,
    pub sector_id: Option<Uuid>,
    pub now: DateTime<Utc>,
}

pub async fn preview(
    db: &impl ConnectionTrait,
    org: OrgId,
    request: PreviewRequest<'_>,
) -> Result<Preview, crate::service::ServiceError> {
    use crate::service::ServiceError;
    let custom = custom(db, org).await?;
    let source = match request.body.map(str::trim).filter(|b| !b.is_empty()) {
        Some(body) => body.to_owned(),
        None => custom
            .get(&(request.channel, request.language))
            .cloned()
            .unwrap_or_else(|| default_source(request.channel, request.language).to_owned()),
    };
    let template = Template::compile(&source).map_err(|error| invalid(&error))?;
    let lang = Lang::from(request.language);
    let company = crate::service::organizations::name(db, org.uuid())
        .await?
        .unwrap_or_default();
    let sector = match request.sector_id {
        Some(id) => Some(
            get_owned::<sector::Entity>(db, org, id)
                .await?
                .ok_or(ServiceError::NotFound)?
                .name,
        ),
        None => None,
    };
    let mut values = Values::sample(lang, &company, sector.as_deref());
    if let Some(id) = request.occupant_id {
        let occupant = get_owned::<occupant::Entity>(db, org, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let point = get_owned::<service_point::Entity>(db, org, occupant.service_point_id).await?;
        values.first_name = occupant.first_name.unwrap_or_default();
        values.last_name = occupant.last_name.unwrap_or_default();
        values.address = point
            .map(|p| match p.city {
                Some(city) => format!("{}, {city}", p.address_line1),
                None => p.address_line1,
            })
            .unwrap_or_default();
    }
    let rules = super::settings::get(db, org).await?;
    values.date =
        templates::date_words(super::settings::hours(&rules).local_date(request.now), lang);
    let text = template.render(&values).map_err(|error| invalid(&error))?;
    if request.channel == ContactMethod::Call {
        return Ok(Preview {
            text,
            cost: None,
            transliterated: None,
        });
    }
    let plain = transliterate(&text);
    let transliterated = (plain != text).then(|| {
        let plain = plain.into_owned();
        let cost = segments::count(&plain);
        (plain, cost)
    });
    Ok(Preview {
        cost: Some(segments::count(&text)),
        text,
        transliterated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(last_name: &str) -> Values {
        Values {
            last_name: last_name.to_owned(),
            sector: "Secteur 12".to_owned(),
            company: "Déneigement Tremblay".to_owned(),
            ..Values::default()
        }
    }

    #[test]
    fn a_template_that_fails_on_an_occupant_gives_way_to_ours_never_to_samples() {
        let mut custom = HashMap::new();
        custom.insert(
            (ContactMethod::Sms, Language::Fr),
            "{{ nom }} {{ nom }} {{ nom }}".repeat(6),
        );
        let composer = Composer::new(&custom, false);
        let short = composer.compose(ContactMethod::Sms, Language::Fr, &values("Roy"));
        assert_eq!(
            short.body,
            "Roy Roy RoyRoy Roy RoyRoy Roy RoyRoy Roy RoyRoy Roy RoyRoy Roy Roy"
        );
        // 18 names of 100 characters: over 1,600, so ours.
        let long = composer.compose(ContactMethod::Sms, Language::Fr, &values(&"x".repeat(100)));
        assert_eq!(
            long.body,
            "Déneigement Tremblay : le déneigement de votre rue (Secteur 12) commence sous peu. \
             Libérez la voie SVP. ARRET pour vous désabonner."
        );
        assert_eq!(long.segments(), Some(1));
        // English and calls have no template of theirs: ours.
        let call = composer.compose(ContactMethod::Call, Language::En, &values("Roy"));
        assert!(
            call.body
                .starts_with("Hello, this is Déneigement Tremblay."),
            "{}",
            call.body
        );
        assert_eq!(call.cost, None);
    }
}
