//! The outbox: an alert's messages, written in the transaction that starts
//! it (one per recipient phone, with the organization's rules applied),
//! canceled where they have not left when it ends, and its dispatch
//! announced once when the last one has.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::values::{ContactMethod, Language, MessageStatus, SkipReason, WebhookEvent};
use entity::{alert_message, alert_settings, occupant, sector, sector_alert, service_point};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query, SelectStatement, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use super::wording::{self, Composed, Composer, Sender};
use super::{CHANNEL, consent, reads, settings};
use crate::auth::OrgId;
use crate::domain::{Lang, Phone, global_id};
use crate::messaging::Channel;
use crate::messaging::templates::{Values, date_words};
use crate::service::sectors::points_in;
use crate::service::store::batch::insert_models;
use crate::service::store::claims;
use crate::service::store::tenant::{owned, update_all_owned};
use crate::service::webhooks;

/// An occupant an alert may reach, with what its message says of them.
#[derive(Clone, Debug, PartialEq, Eq, FromQueryResult)]
pub struct Recipient {
    pub occupant_id: Uuid,
    /// As occupants hold it (`418-555-0123`).
    pub phone: String,
    pub channel: ContactMethod,
    pub language: Language,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub service_point_id: Uuid,
}

/// The recipients of occupants (in their order): one per phone, the first
/// occupant's. Where occupants sharing a phone want different channels,
/// the call wins: a call reaches a landline and a mobile alike, an SMS
/// only a mobile.
pub fn recipients(occupants: Vec<Recipient>) -> Vec<Recipient> {
    let mut by_phone: HashMap<String, usize> = HashMap::new();
    let mut recipients: Vec<Recipient> = Vec::new();
    for occupant in occupants {
        match by_phone.get(occupant.phone.as_str()) {
            Some(&at) => {
                if occupant.channel == ContactMethod::Call {
                    recipients[at].channel = ContactMethod::Call;
                }
            }
            None => {
                by_phone.insert(occupant.phone.clone(), recipients.len());
                recipients.push(occupant);
            }
        }
    }
    recipients
}

/// The organization's occupants that `filter` selects, in a stable order
/// (point, then occupant).
pub async fn occupants(
    tx: &impl ConnectionTrait,
    org: OrgId,
    filter: SimpleExpr,
) -> Result<Vec<Recipient>, DbErr> {
    owned::<occupant::Entity>(org)
        .select_only()
        .column_as(occupant::Column::Id, "occupant_id")
        .column(occupant::Column::Phone)
        .column_as(occupant::Column::ContactMethod, "channel")
        .columns([
            occupant::Column::Language,
            occupant::Column::FirstName,
            occupant::Column::LastName,
            occupant::Column::ServicePointId,
        ])
        .filter(filter)
        .order_by_asc(occupant::Column::ServicePointId)
        .order_by_asc(occupant::Column::Id)
        .into_model::<Recipient>()
        .all(tx)
        .await
}

/// The written address (`12 Rue X, Québec`) of the points `points` selects.
pub async fn addresses_of(
    tx: &impl ConnectionTrait,
    org: OrgId,
    points: SelectStatement,
) -> Result<HashMap<Uuid, String>, DbErr> {
    let rows: Vec<(Uuid, String, Option<String>)> = owned::<service_point::Entity>(org)
        .select_only()
        .columns([
            service_point::Column::Id,
            service_point::Column::AddressLine1,
            service_point::Column::City,
        ])
        .filter(service_point::Column::Id.in_subquery(points))
        .into_tuple()
        .all(tx)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, line1, city)| match city {
            Some(city) => (id, format!("{line1}, {city}")),
            None => (id, line1),
        })
        .collect())
}

/// What the rules decide for one recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Skip(SkipReason),
    /// Leaves now, or waits for the sending hours.
    Send,
}

/// What the organization's alerts already did, read under its alert lock.
#[derive(Default)]
pub struct Already {
    /// Phones (E.164) messaged today, in the organization's zone.
    pub alerted_today: HashSet<String>,
    /// Phones (occupants' form) that unsubscribed.
    pub opted_out: HashSet<String>,
    /// Phones (occupants' form) that accepted the consent request.
    pub accepted: HashSet<String>,
    pub segments_this_month: i64,
}

/// The rules, in order: alerts off, unsubscribed, consent, once a day,
/// then the monthly budget (`spent` counts up as messages are let through).
pub fn decide(
    rules: &alert_settings::Model,
    already: &Already,
    recipient: &Recipient,
    e164: &str,
    segments: i64,
    spent: &mut i64,
) -> Decision {
    if !rules.enabled {
        return Decision::Skip(SkipReason::AlertsDisabled);
    }
    if already.opted_out.contains(&recipient.phone) {
        return Decision::Skip(SkipReason::OptedOut);
    }
    if rules.require_consent && !already.accepted.contains(&recipient.phone) {
        return Decision::Skip(SkipReason::NoConsent);
    }
    if rules.once_per_day && already.alerted_today.contains(e164) {
        return Decision::Skip(SkipReason::AlreadyAlertedToday);
    }
    if let Some(limit) = rules.monthly_segment_limit
        && *spent + segments > i64::from(limit)
    {
        return Decision::Skip(SkipReason::SpendLimit);
    }
    *spent += segments;
    Decision::Send
}

/// Writes the alert's messages; returns how many will leave. The caller
/// holds the organization's alert lock (`locks::lock_alerts`).
pub async fn write(
    tx: &impl ConnectionTrait,
    org: OrgId,
    alert: &sector_alert::Model,
    sector: &sector::Model,
    sender: Sender<'_>,
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let rules = settings::get(tx, org).await?;
    let hours = settings::hours(&rules);
    let in_sector = occupant::Column::ServicePointId.in_subquery(points_in(sector.id, org));
    let occupants = occupants(tx, org, in_sector).await?;
    let addresses = addresses_of(tx, org, points_in(sector.id, org)).await?;
    let consent = consent::of_sector(tx, org, sector.id).await?;
    let already = Already {
        alerted_today: alerted_since(tx, org, hours.day_start(now)).await?,
        opted_out: consent.opted_out,
        accepted: consent.accepted,
        segments_this_month: settings::segments_since(tx, org, hours.month_start(now)).await?,
    };
    let custom = wording::custom(tx, org).await?;
    let composer = Composer::new(&custom, sender.transliterate);
    let date = hours.local_date(alert.started_at);
    let opening = hours.next_open(now);
    let mut spent = already.segments_this_month;
    let mut leaving = 0;
    let messages: Vec<alert_message::Model> = recipients(occupants)
        .into_iter()
        .filter_map(|recipient| {
            // Stored phones are valid; one that is not cannot be dialled.
            let e164 = Phone::parse(&recipient.phone).ok()?.e164();
            let composed = match &alert.message {
                Some(text) => Composed::new(
                    Channel::from(recipient.channel),
                    text.clone(),
                    sender.transliterate,
                ),
                None => {
                    let lang = Lang::from(recipient.language);
                    let values = Values {
                        first_name: recipient.first_name.clone().unwrap_or_default(),
                        last_name: recipient.last_name.clone().unwrap_or_default(),
                        address: addresses
                            .get(&recipient.service_point_id)
                            .cloned()
                            .unwrap_or_default(),
                        sector: sector.name.clone(),
                        company: sender.company.to_owned(),
                        date: date_words(date, lang),
                    };
                    composer.compose(recipient.channel, recipient.language, &values)
                }
            };
            let billed = composed.billed();
            let decision = decide(&rules, &already, &recipient, &e164, billed, &mut spent);
            leaving += usize::from(decision == Decision::Send);
            Some(message(
                org,
                Some(alert.id),
                &recipient,
                e164,
                composed,
                decision,
                opening,
                now,
            ))
        })
        .collect();
    insert_models::<alert_message::Entity>(tx, &messages, None).await?;
    if leaving > 0 {
        claims::wake(tx, CHANNEL).await?;
    } else {
        finish_if_done(tx, org, Some(alert.id), now).await?;
    }
    Ok(leaving)
}

/// One message row: due now (`QUEUED`), at the next opening of the sending
/// hours (`SCHEDULED`), or skipped.
#[allow(clippy::too_many_arguments)]
pub fn message(
    org: OrgId,
    alert_id: Option<Uuid>,
    recipient: &Recipient,
    e164: String,
    composed: Composed,
    decision: Decision,
    opening: DateTime<Utc>,
    now: DateTime<Utc>,
) -> alert_message::Model {
    let (status, skip_reason, due) = match decision {
        Decision::Skip(reason) => (MessageStatus::Skipped, Some(reason), None),
        Decision::Send if opening > now => (MessageStatus::Scheduled, None, Some(opening)),
        Decision::Send => (MessageStatus::Queued, None, Some(now)),
    };
    alert_message::Model {
        id: Uuid::now_v7(),
        organization_id: org.uuid(),
        alert_id,
        occupant_id: Some(recipient.occupant_id),
        to_phone: Some(e164),
        channel: recipient.channel,
        language: recipient.language,
        encoding: composed.encoding(),
        segments: composed.segments(),
        body: composed.body,
        status,
        skip_reason,
        provider_id: None,
        sender: None,
        error_code: None,
        attempts: 0,
        next_attempt_at: due,
        claimed_until: None,
        scheduled_for: (status == MessageStatus::Scheduled).then_some(opening),
        sent_at: None,
        delivered_at: None,
        created_at: now,
        updated_at: now,
    }
}

/// Phones (E.164) the organization's alerts reached, or are reaching,
/// since `since`: a message counts on the day it leaves (one scheduled
/// last night for this morning counts today).
async fn alerted_since(
    tx: &impl ConnectionTrait,
    org: OrgId,
    since: DateTime<Utc>,
) -> Result<HashSet<String>, DbErr> {
    let phones: Vec<Option<String>> = owned::<alert_message::Entity>(org)
        .select_only()
        .column(alert_message::Column::ToPhone)
        .distinct()
        .filter(
            Expr::expr(Func::coalesce([
                Expr::col(alert_message::Column::ScheduledFor),
                Expr::col(alert_message::Column::CreatedAt),
            ]))
            .gte(since),
        )
        .filter(alert_message::Column::Status.is_in(settings::BILLED))
        .into_tuple()
        .all(tx)
        .await?;
    Ok(phones.into_iter().flatten().collect())
}

/// Cancels the alert's messages that have not left.
pub async fn cancel_waiting(
    tx: &impl ConnectionTrait,
    org: OrgId,
    alert_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    update_all_owned::<alert_message::Entity>(org)
        .col_expr(
            alert_message::Column::Status,
            Expr::value(MessageStatus::Canceled),
        )
        .col_expr(alert_message::Column::UpdatedAt, Expr::value(now))
        .filter(alert_message::Column::AlertId.eq(alert_id))
        .filter(alert_message::Column::Status.is_in(MessageStatus::WAITING))
        .exec(tx)
        .await?;
    finish_if_done(tx, org, Some(alert_id), now).await
}

/// Statuses still in our hands: the dispatch has not finished while one
/// of the alert's messages holds one. `SENDING` counts only while a call
/// to the provider is under way (a lease); once the provider took it, its
/// callbacks may or may not come.
const IN_HAND: [MessageStatus; 2] = [MessageStatus::Scheduled, MessageStatus::Queued];

/// Marks the alert dispatched and announces it (`alert.dispatch.finished`,
/// with its counts), once, when none of its messages is left in hand. A
/// message of no alert (a consent request) has nothing to finish.
pub async fn finish_if_done(
    tx: &impl ConnectionTrait,
    org: OrgId,
    alert_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let Some(alert_id) = alert_id else {
        return Ok(());
    };
    // One at a time per alert: two messages recorded at once would each
    // see the other still in hand (neither committed) and neither would
    // announce the end. Under the alert's row lock, the second looks
    // after the first has committed. (SQLite runs one writer at a time.)
    if tx.get_database_backend() == sea_orm::DbBackend::Postgres {
        owned::<sector_alert::Entity>(org)
            .filter(sector_alert::Column::Id.eq(alert_id))
            .lock_exclusive()
            .one(tx)
            .await?;
    }
    let in_hand = Query::select()
        .expr(Expr::val(1))
        .from(alert_message::Entity)
        .and_where(alert_message::Column::AlertId.eq(alert_id))
        .and_where(
            alert_message::Column::Status
                .is_in(IN_HAND)
                .or(alert_message::Column::Status
                    .eq(MessageStatus::Sending)
                    .and(alert_message::Column::ClaimedUntil.is_not_null())),
        )
        .take();
    let finished = update_all_owned::<sector_alert::Entity>(org)
        .col_expr(sector_alert::Column::DispatchedAt, Expr::value(now))
        .filter(sector_alert::Column::Id.eq(alert_id))
        .filter(sector_alert::Column::DispatchedAt.is_null())
        .filter(Expr::exists(in_hand).not())
        .exec_with_returning(tx)
        .await?;
    let Some(alert) = finished.first() else {
        return Ok(());
    };
    let counts = reads::counts_of(tx, org, &[alert_id])
        .await?
        .remove(&alert_id)
        .unwrap_or_default();
    let data = json!({
        "alertId": global_id::encode(global_id::Kind::SectorAlert, alert_id),
        "sectorId": global_id::encode(global_id::Kind::Sector, alert.sector_id),
        "counts": counts.to_json(),
    });
    webhooks::enqueue(tx, org, WebhookEvent::AlertDispatchFinished, data).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> alert_settings::Model {
        let organization = entity::organization::Model {
            id: Uuid::nil(),
            name: "Test".to_owned(),
            created_at: DateTime::UNIX_EPOCH,
            import_seq: 0,
        };
        settings::defaults(OrgId::owning(&organization))
    }

    fn occupant(id: Uuid, phone: &str, channel: ContactMethod) -> Recipient {
        Recipient {
            occupant_id: id,
            phone: phone.to_owned(),
            channel,
            language: Language::Fr,
            first_name: None,
            last_name: None,
            service_point_id: Uuid::nil(),
        }
    }

    fn recipient(phone: &str) -> Recipient {
        occupant(Uuid::nil(), phone, ContactMethod::Sms)
    }

    fn nothing_yet() -> Already {
        Already::default()
    }

    #[test]
    fn a_shared_phone_gets_one_message_and_a_call_wins() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let occupants = vec![
            occupant(a, "418-555-0101", ContactMethod::Sms),
            occupant(b, "418-555-0102", ContactMethod::Sms),
            occupant(c, "418-555-0101", ContactMethod::Call),
        ];
        let got = recipients(occupants);
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].occupant_id, got[0].channel),
            (a, ContactMethod::Call)
        );
        assert_eq!(
            (got[1].occupant_id, got[1].channel),
            (b, ContactMethod::Sms)
        );
    }

    #[test]
    fn the_rules_apply_in_order() {
        let mut spent = 0;
        let mut off = rules();
        off.enabled = false;
        let mut already = nothing_yet();
        already.opted_out.insert("418-555-0101".to_owned());
        already.alerted_today.insert("+14185550101".to_owned());
        let one = recipient("418-555-0101");
        // Off beats everything; then the opt-out beats once a day.
        assert_eq!(
            decide(&off, &already, &one, "+14185550101", 1, &mut spent),
            Decision::Skip(SkipReason::AlertsDisabled)
        );
        assert_eq!(
            decide(&rules(), &already, &one, "+14185550101", 1, &mut spent),
            Decision::Skip(SkipReason::OptedOut)
        );
        already.opted_out.clear();
        // Consent required: only a phone that accepted goes on.
        let mut consenting = rules();
        consenting.require_consent = true;
        assert_eq!(
            decide(&consenting, &already, &one, "+14185550101", 1, &mut spent),
            Decision::Skip(SkipReason::NoConsent)
        );
        already.accepted.insert("418-555-0101".to_owned());
        assert_eq!(
            decide(&consenting, &already, &one, "+14185550101", 1, &mut spent),
            Decision::Skip(SkipReason::AlreadyAlertedToday)
        );
        assert_eq!(
            decide(&rules(), &already, &one, "+14185550101", 1, &mut spent),
            Decision::Skip(SkipReason::AlreadyAlertedToday)
        );
        let mut twice = rules();
        twice.once_per_day = false;
        assert_eq!(
            decide(&twice, &already, &one, "+14185550101", 1, &mut spent),
            Decision::Send
        );
        assert_eq!(spent, 1);
    }

    #[test]
    fn the_monthly_budget_lets_through_what_fits() {
        let mut limited = rules();
        limited.monthly_segment_limit = Some(5);
        let already = Already {
            segments_this_month: 2,
            ..nothing_yet()
        };
        let mut spent = already.segments_this_month;
        let decisions: Vec<Decision> = ["418-555-0101", "418-555-0102", "418-555-0103"]
            .iter()
            .map(|phone| decide(&limited, &already, &recipient(phone), phone, 2, &mut spent))
            .collect();
        // 2 spent + 2 = 4 fits; + 2 = 6 does not, and neither does the next.
        assert_eq!(
            decisions,
            [
                Decision::Send,
                Decision::Skip(SkipReason::SpendLimit),
                Decision::Skip(SkipReason::SpendLimit)
            ]
        );
        assert_eq!(spent, 4);
    }
}
