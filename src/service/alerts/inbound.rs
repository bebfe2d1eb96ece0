//! Replies from residents (`POST /twilio/inbound`): an opt-out keyword
//! unsubscribes the phone, an opt-in word subscribes it again (and accepts
//! a pending consent request), NON declines one, a help word is answered.
//! The sending numbers serve the whole deployment, so the phone is
//! (un)subscribed in every organization that has it as an occupant or has
//! messaged it: a STOP sent to a number stops what comes from that number,
//! whoever sends it. Every reply is kept for the organization it answers
//! (the last to write to the phone); other text changes nothing.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use entity::values::Consent;
use entity::{alert_message, inbound_message, occupant};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::consent;
use crate::domain::{Lang, Phone};
use crate::messaging::keywords::{self, Keyword};
use crate::service::store::locks;

/// What a reply did, and what to answer (a text of 160 GSM-7 characters
/// at most, or nothing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handled {
    /// The keyword acted on (`NON` with no request pending is none).
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
    let mut keyword = keywords::read(body);
    let Ok(phone) = Phone::parse(from) else {
        return Ok(Handled {
            keyword,
            organizations: 0,
            answer: None,
        });
    };
    // Read, then written: on SQLite the write lock is taken first.
    let tx = locks::begin_write_any(db).await?;
    let organizations = organizations_of(&tx, &phone).await?;
    let answering = answering(&tx, &phone, &organizations).await?;
    let company = match answering {
        Some(org) => crate::service::organizations::name(&tx, org).await?,
        None => None,
    }
    .unwrap_or_else(|| ANONYMOUS.to_owned());
    let mut changed = 0;
    let mut done = None;
    let answer = match keyword {
        Some(Keyword::OptOut(lang)) => {
            for org in &organizations {
                consent::set_opted_out(&tx, *org, &phone, Some(now), now).await?;
            }
            changed = organizations.len();
            done = Some("OPT_OUT");
            Some(opted_out_text(lang, &company))
        }
        Some(Keyword::OptIn(lang)) => {
            for org in &organizations {
                consent::set_opted_out(&tx, *org, &phone, None, now).await?;
            }
            changed = organizations.len();
            let pending = [Consent::Pending, Consent::Declined];
            let accepted = consent::answer(&tx, &phone, &pending, Consent::Accepted, now).await?;
            if accepted.is_empty() {
                done = Some("OPT_IN");
                Some(opted_in_text(lang, &company))
            } else {
                done = Some("ACCEPTED");
                Some(accepted_text(lang, &company))
            }
        }
        Some(Keyword::Decline(lang)) => {
            let pending = [Consent::Pending];
            let declined = consent::answer(&tx, &phone, &pending, Consent::Declined, now).await?;
            changed = declined.len();
            if declined.is_empty() {
                // Nothing was asked: a "non" is only text.
                keyword = None;
                None
            } else {
                done = Some("DECLINED");
                Some(declined_text(lang, &company))
            }
        }
        Some(Keyword::Help(lang)) => {
            done = Some("HELP");
            Some(help_text(lang, &company))
        }
        None => None,
    };
    if let Some(org) = answering {
        keep(&tx, org, &phone, body, done, now).await?;
    }
    tx.commit().await?;
    Ok(Handled {
        keyword,
        organizations: changed,
        answer,
    })
}

/// Keeps the reply for the organization it answers.
async fn keep(
    db: &impl ConnectionTrait,
    org: Uuid,
    phone: &Phone,
    body: &str,
    keyword: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let body: String = body.trim().chars().take(MAX_KEPT).collect();
    let row = inbound_message::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        from_phone: Set(phone.formatted()),
        body: Set(body),
        keyword: Set(keyword.map(str::to_owned)),
        received_at: Set(now),
    };
    inbound_message::Entity::insert(row)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Characters of a reply kept: an SMS of ten segments.
const MAX_KEPT: usize = 1_600;

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
async fn answering(
    db: &impl ConnectionTrait,
    phone: &Phone,
    organizations: &BTreeSet<Uuid>,
) -> Result<Option<Uuid>, DbErr> {
    let last: Option<Uuid> = alert_message::Entity::find()
        .select_only()
        .column(alert_message::Column::OrganizationId)
        .filter(alert_message::Column::ToPhone.eq(phone.e164()))
        .order_by_desc(alert_message::Column::CreatedAt)
        .into_tuple()
        .one(db)
        .await?;
    Ok(last.or_else(|| organizations.first().copied()))
}

/// Who signs an answer to a phone no organization knows.
const ANONYMOUS: &str = "Flokon";

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

fn accepted_text(lang: Lang, company: &str) -> String {
    fitted(
        lang.pick(
            "{company} : merci, vous recevrez nos alertes de déneigement. Répondez ARRET pour vous désabonner.",
            "{company}: thank you, you will receive our snow removal alerts. Reply STOP to unsubscribe.",
        ),
        company,
    )
}

fn declined_text(lang: Lang, company: &str) -> String {
    fitted(
        lang.pick(
            "{company} : c'est noté, vous ne recevrez pas nos alertes de déneigement. Répondez OUI si vous changez d'avis.",
            "{company}: noted, you will not receive our snow removal alerts. Reply YES if you change your mind.",
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

pub(super) fn fitted(template: String, company: &str) -> String {
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
                accepted_text(lang, long),
                declined_text(lang, long),
                help_text(lang, long),
                super::super::consent::request_text(lang, long),
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
