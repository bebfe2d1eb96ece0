//! Replies from residents (`POST /twilio/inbound`): an opt-out keyword
//! unsubscribes the phone, an opt-in word subscribes it again, a help word
//! is answered. The sending numbers serve the whole deployment, so the
//! phone is (un)subscribed in every organization that has it as an
//! occupant or has messaged it: a STOP sent to a number stops what comes
//! from that number, whoever sends it. Other text changes nothing.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use entity::{alert_message, occupant, phone_consent};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use uuid::Uuid;

use crate::domain::{Lang, Phone};
use crate::messaging::keywords::{self, Keyword};

/// What a reply did, and what to answer (a text of 160 GSM-7 characters
/// at most, or nothing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handled {
    pub keyword: Option<Keyword>,
    /// Organizations whose record of the phone changed.
    pub organizations: usize,
    pub answer: Option<String>,
}

pub async fn on_reply(
    db: &DatabaseConnection,
    from: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<Handled, DbErr> {
    let keyword = keywords::read(body);
    let (Some(keyword), Ok(phone)) = (keyword, Phone::parse(from)) else {
        return Ok(Handled {
            keyword,
            organizations: 0,
            answer: None,
        });
    };
    let tx = db.begin().await?;
    let organizations = organizations_of(&tx, &phone).await?;
    let company = company(&tx, &phone, &organizations).await?;
    let (opted_out_at, answer) = match keyword {
        Keyword::OptOut(lang) => (Some(Some(now)), opted_out_text(lang, &company)),
        Keyword::OptIn(lang) => (Some(None), opted_in_text(lang, &company)),
        Keyword::Help(lang) => (None, help_text(lang, &company)),
    };
    if let Some(opted_out_at) = opted_out_at {
        for org in &organizations {
            set_opted_out(&tx, *org, &phone, opted_out_at, now).await?;
        }
    }
    tx.commit().await?;
    Ok(Handled {
        keyword: Some(keyword),
        organizations: if opted_out_at.is_some() {
            organizations.len()
        } else {
            0
        },
        answer: Some(answer),
    })
}

/// Every organization that has the phone as an occupant's or messaged it.
async fn organizations_of(
    db: &impl ConnectionTrait,
    phone: &Phone,
) -> Result<BTreeSet<Uuid>, DbErr> {
    let holding: Vec<Uuid> = occupant::Entity::find()
        .select_only()
        .column(occupant::Column::OrganizationId)
        .distinct()
        .filter(occupant::Column::Phone.eq(phone.formatted()))
        .into_tuple()
        .all(db)
        .await?;
    let messaged: Vec<Uuid> = alert_message::Entity::find()
        .select_only()
        .column(alert_message::Column::OrganizationId)
        .distinct()
        .filter(alert_message::Column::ToPhone.eq(phone.e164()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(holding.into_iter().chain(messaged).collect())
}

/// Whom the resident answers: the organization that last messaged the
/// phone, else one that has it as an occupant's.
async fn company(
    db: &impl ConnectionTrait,
    phone: &Phone,
    organizations: &BTreeSet<Uuid>,
) -> Result<String, DbErr> {
    let last: Option<Uuid> = alert_message::Entity::find()
        .select_only()
        .column(alert_message::Column::OrganizationId)
        .filter(alert_message::Column::ToPhone.eq(phone.e164()))
        .order_by_desc(alert_message::Column::CreatedAt)
        .into_tuple()
        .one(db)
        .await?;
    let Some(org) = last.or_else(|| organizations.first().copied()) else {
        return Ok(ANONYMOUS.to_owned());
    };
    let name = crate::service::organizations::name(db, org).await?;
    Ok(name.unwrap_or_else(|| ANONYMOUS.to_owned()))
}

/// Who signs an answer to a phone no organization knows.
const ANONYMOUS: &str = "Flokon";

/// Records whether the phone is unsubscribed in the organization (`None`:
/// subscribed again).
pub(super) async fn set_opted_out(
    db: &impl ConnectionTrait,
    org: Uuid,
    phone: &Phone,
    opted_out_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let consent = phone_consent::ActiveModel {
        organization_id: Set(org),
        phone: Set(phone.formatted()),
        opted_out_at: Set(opted_out_at),
        updated_at: Set(now),
    };
    phone_consent::Entity::insert(consent)
        .on_conflict(
            OnConflict::columns([
                phone_consent::Column::OrganizationId,
                phone_consent::Column::Phone,
            ])
            .update_columns([
                phone_consent::Column::OptedOutAt,
                phone_consent::Column::UpdatedAt,
            ])
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

fn opted_out_text(lang: Lang, company: &str) -> String {
    fitted(
        lang.pick(
            "{company} : vous ne recevrez plus d'alertes de déneigement. Répondez OUI pour vous réabonner.",
            "{company}: you will receive no more snow removal alerts. Reply START to resubscribe.",
        ),
        company,
    )
}

fn opted_in_text(lang: Lang, company: &str) -> String {
    fitted(
        lang.pick(
            "{company} : alertes de déneigement réactivées. Répondez ARRET pour vous désabonner.",
            "{company}: snow removal alerts are back on. Reply STOP to unsubscribe.",
        ),
        company,
    )
}

fn help_text(lang: Lang, company: &str) -> String {
    fitted(
        lang.pick(
            "{company} : alertes de déneigement par SMS. Répondez ARRET pour vous désabonner, OUI pour vous réabonner.",
            "{company}: snow removal alerts by SMS. Reply STOP to unsubscribe, START to resubscribe.",
        ),
        company,
    )
}

/// Carriers want these answers in one SMS: 160 characters. The company's
/// name is shortened to fit, never the instructions.
pub const MAX_ANSWER: usize = 160;

fn fitted(template: String, company: &str) -> String {
    let room = MAX_ANSWER.saturating_sub(template.chars().count() - "{company}".len());
    let company: String = company.chars().take(room).collect();
    template.replace("{company}", company.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_fit_one_sms_whatever_the_company_name() {
        let long = "Les Entreprises de Déneigement et d'Entretien Paysager du Grand Québec Métropolitain inc.";
        for lang in [Lang::Fr, Lang::En] {
            for text in [
                opted_out_text(lang, long),
                opted_in_text(lang, long),
                help_text(lang, long),
            ] {
                assert!(text.chars().count() <= MAX_ANSWER, "{text}");
                assert!(text.starts_with("Les Entreprises"), "{text}");
            }
        }
        assert_eq!(
            help_text(Lang::Fr, "Déneigement Test"),
            "Déneigement Test : alertes de déneigement par SMS. Répondez ARRET pour vous désabonner, OUI pour vous réabonner."
        );
    }
}
