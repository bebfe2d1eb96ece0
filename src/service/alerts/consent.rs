//! Consent requests (`requestConsent`) and what phones answered. A
//! phone's consent follows the phone within the organization
//! (`phone_consent`), never its occupants: an import that deletes and
//! re-creates them keeps it. States: `UNKNOWN → PENDING → ACCEPTED |
//! DECLINED`; an opt-out outranks them all and a later opt-in brings the
//! state back.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::phone_consent::{self, Column};
use entity::values::{Consent, ContactMethod, SkipReason};
use entity::{alert_message, occupant};
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};
use uuid::Uuid;

use super::outbox::{self, Decision, Recipient};
use super::wording::{Composed, Sender};
use super::{CHANNEL, settings};
use crate::auth::OrgId;
use crate::domain::{Lang, Phone, ValidationError};
use crate::messaging::Channel;
use crate::service::ServiceError;
use crate::service::sectors::points_in;
use crate::service::store::batch::insert_models;
use crate::service::store::tenant::{belongs, owned};
use crate::service::store::{claims, locks};

/// Occupants one request may name.
pub const MAX_REQUEST: usize = 1_000;

/// A request names at most [`MAX_REQUEST`] occupants.
pub fn check_size(ids: usize) -> Result<(), ValidationError> {
    if ids > MAX_REQUEST {
        return Err(ValidationError::Consent {
            fr: format!("Au plus {MAX_REQUEST} occupants par demande."),
            en: format!("At most {MAX_REQUEST} occupants a request."),
        });
    }
    Ok(())
}

/// What the organization knows of these phones (occupants' form).
pub async fn of_phones(
    db: &impl ConnectionTrait,
    org: OrgId,
    phones: &[&str],
) -> Result<Vec<phone_consent::Model>, DbErr> {
    owned::<phone_consent::Entity>(org)
        .filter(Column::Phone.is_in(phones.iter().copied()))
        .all(db)
        .await
}

/// The phones of a sector's occupants that unsubscribed, and those that
/// accepted.
pub struct SectorConsent {
    pub opted_out: HashSet<String>,
    pub accepted: HashSet<String>,
}

pub async fn of_sector(
    db: &impl ConnectionTrait,
    org: OrgId,
    sector_id: Uuid,
) -> Result<SectorConsent, DbErr> {
    let phones_of_sector = Query::select()
        .column(occupant::Column::Phone)
        .from(occupant::Entity)
        .and_where(belongs::<occupant::Entity>(org))
        .and_where(occupant::Column::ServicePointId.in_subquery(points_in(sector_id, org)))
        .take();
    let rows = owned::<phone_consent::Entity>(org)
        .filter(Column::Phone.in_subquery(phones_of_sector))
        .all(db)
        .await?;
    let mut consent = SectorConsent {
        opted_out: HashSet::new(),
        accepted: HashSet::new(),
    };
    for row in rows {
        if row.opted_out_at.is_some() {
            consent.opted_out.insert(row.phone);
        } else if row.consent == Consent::Accepted {
            consent.accepted.insert(row.phone);
        }
    }
    Ok(consent)
}

/// A change to what a phone said; `None` leaves a column as it is.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConsentChange {
    pub opted_out_at: Option<Option<DateTime<Utc>>>,
    pub consent: Option<Consent>,
    pub requested_at: Option<DateTime<Utc>>,
}

/// Records `change` for the phone (occupants' form) in the organization,
/// creating its row if needed.
pub async fn record(
    db: &impl ConnectionTrait,
    org: Uuid,
    phone: &str,
    change: ConsentChange,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut columns = vec![Column::UpdatedAt];
    if change.opted_out_at.is_some() {
        columns.push(Column::OptedOutAt);
    }
    if change.consent.is_some() {
        columns.push(Column::Consent);
    }
    if change.requested_at.is_some() {
        columns.push(Column::ConsentRequestedAt);
    }
    let row = phone_consent::ActiveModel {
        organization_id: Set(org),
        phone: Set(phone.to_owned()),
        opted_out_at: Set(change.opted_out_at.flatten()),
        consent: Set(change.consent.unwrap_or_default()),
        consent_requested_at: Set(change.requested_at),
        consent_answered_at: Set(None),
        updated_at: Set(now),
    };
    phone_consent::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([Column::OrganizationId, Column::Phone])
                .update_columns(columns)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Records that the phone unsubscribed at `at`, or (`None`) subscribed
/// again.
pub async fn set_opted_out(
    db: &impl ConnectionTrait,
    org: Uuid,
    phone: &Phone,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let change = ConsentChange {
        opted_out_at: Some(at),
        ..ConsentChange::default()
    };
    record(db, org, &phone.formatted(), change, now).await
}

/// Moves the phone's consent from one of `from` to `to` in every
/// organization where it stands so; returns those organizations.
pub async fn answer(
    db: &impl ConnectionTrait,
    phone: &Phone,
    from: &[Consent],
    to: Consent,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, DbErr> {
    let changed = phone_consent::Entity::update_many()
        .col_expr(Column::Consent, to.into())
        .col_expr(Column::ConsentAnsweredAt, Some(now).into())
        .col_expr(Column::UpdatedAt, now.into())
        .filter(Column::Phone.eq(phone.formatted()))
        .filter(Column::Consent.is_in(from.iter().copied()))
        .exec_with_returning(db)
        .await?;
    Ok(changed.into_iter().map(|row| row.organization_id).collect())
}

/// The confirmation SMS (`requestConsent`), in the occupant's language, in
/// one GSM-7 segment whatever the company's name.
pub fn request_text(lang: Lang, company: &str) -> String {
    super::inbound::fitted(
        lang.pick(
            "{company} : répondez OUI pour recevoir nos alertes de déneigement par SMS, ARRET pour refuser.",
            "{company}: reply YES to receive our snow removal alerts by SMS, STOP to refuse.",
        ),
        company,
    )
}

/// Sends the confirmation SMS to the phones of `occupant_ids` (one per
/// phone), except those that unsubscribed or already accepted; returns
/// how many will leave. Sent as alerts are (the queue, the sending hours,
/// the rate, the monthly budget), by SMS whatever the occupant's contact
/// method: a call cannot be answered OUI. Every id must be one of the
/// organization's occupants, or nothing is sent.
pub async fn request(
    db: &DatabaseConnection,
    org: OrgId,
    occupant_ids: &[Uuid],
    sender: Sender<'_>,
    now: DateTime<Utc>,
) -> Result<usize, ServiceError> {
    check_size(occupant_ids.len())?;
    let tx = db.begin().await?;
    // The budget and the once-per-request rule count with the alerts'.
    locks::lock_alerts(&tx, org).await?;
    let ids: HashSet<Uuid> = occupant_ids.iter().copied().collect();
    let occupants =
        outbox::occupants(&tx, org, occupant::Column::Id.is_in(ids.iter().copied())).await?;
    if occupants.len() != ids.len() {
        return Err(ServiceError::NotFound);
    }
    let phones: Vec<&str> = occupants.iter().map(|o| o.phone.as_str()).collect();
    let known: HashMap<String, phone_consent::Model> = of_phones(&tx, org, &phones)
        .await?
        .into_iter()
        .map(|row| (row.phone.clone(), row))
        .collect();
    let rules = settings::get(&tx, org).await?;
    let hours = settings::hours(&rules);
    let mut spent = settings::segments_since(&tx, org, hours.month_start(now)).await?;
    let opening = hours.next_open(now);
    let mut messages = Vec::new();
    for recipient in outbox::recipients(occupants) {
        let asked = known.get(&recipient.phone);
        if asked.is_some_and(|c| c.opted_out_at.is_some() || c.consent == Consent::Accepted) {
            continue;
        }
        let Ok(phone) = Phone::parse(&recipient.phone) else {
            continue;
        };
        let text = request_text(Lang::from(recipient.language), sender.company);
        let composed = Composed::new(Channel::Sms, text, sender.transliterate);
        let decision = match rules.monthly_segment_limit {
            Some(limit) if spent + composed.billed() > i64::from(limit) => {
                Decision::Skip(SkipReason::SpendLimit)
            }
            _ => {
                spent += composed.billed();
                Decision::Send
            }
        };
        let recipient = Recipient {
            channel: ContactMethod::Sms,
            ..recipient
        };
        if decision == Decision::Send {
            let change = ConsentChange {
                consent: Some(Consent::Pending),
                requested_at: Some(now),
                ..ConsentChange::default()
            };
            record(&tx, org.uuid(), &recipient.phone, change, now).await?;
        }
        messages.push(outbox::message(
            org,
            None,
            &recipient,
            phone.e164(),
            composed,
            decision,
            opening,
            now,
        ));
    }
    insert_models::<alert_message::Entity>(&tx, &messages, None).await?;
    let leaving = messages.iter().filter(|m| m.skip_reason.is_none()).count();
    if leaving > 0 {
        claims::wake(&tx, CHANNEL).await?;
    }
    tx.commit().await?;
    Ok(leaving)
}
