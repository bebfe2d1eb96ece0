//! The outbox: an alert's messages, written in the transaction that starts
//! it (one per recipient phone, with the organization's rules applied),
//! canceled where they have not left when it ends, and its dispatch
//! announced once when the last one has.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::values::{
    ContactMethod, Language, MessageStatus, SkipReason, SmsEncoding, WebhookEvent,
};
use entity::{alert_message, alert_settings, occupant, phone_consent, sector, sector_alert};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;
use uuid::Uuid;

use super::{CHANNEL, reads, settings};
use crate::auth::OrgId;
use crate::domain::{Lang, Phone, global_id};
use crate::messaging::segments::{self, Encoding};
use crate::messaging::{Channel, wording};
use crate::service::sectors::points_in;
use crate::service::store::batch::insert_models;
use crate::service::store::claims;
use crate::service::store::tenant::{belongs, owned, update_all_owned};
use crate::service::webhooks;

/// One phone to reach, with the first of its occupants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    pub occupant_id: Uuid,
    /// As occupants hold it (`418-555-0123`).
    pub phone: String,
    pub channel: ContactMethod,
}

/// The recipients of occupants (in their order): one per phone, the first
/// occupant's. Where occupants sharing a phone want different channels,
/// the call wins: a call reaches a landline and a mobile alike, an SMS
/// only a mobile.
pub fn recipients(occupants: &[(Uuid, String, ContactMethod)]) -> Vec<Recipient> {
    let mut by_phone: HashMap<&str, usize> = HashMap::new();
    let mut recipients: Vec<Recipient> = Vec::new();
    for (id, phone, method) in occupants {
        match by_phone.get(phone.as_str()) {
            Some(&at) => {
                if *method == ContactMethod::Call {
                    recipients[at].channel = ContactMethod::Call;
                }
            }
            None => {
                by_phone.insert(phone, recipients.len());
                recipients.push(Recipient {
                    occupant_id: *id,
                    phone: phone.clone(),
                    channel: *method,
                });
            }
        }
    }
    recipients
}

/// What the rules decide for one recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Skip(SkipReason),
    /// Leaves now, or waits for the sending hours.
    Send,
}

/// What the organization's alerts already did, read under its alert lock.
pub struct Already {
    /// Phones (E.164) messaged today, in the organization's zone.
    pub alerted_today: HashSet<String>,
    /// Phones (occupants' form) that unsubscribed.
    pub opted_out: HashSet<String>,
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
    // No phone has given its consent yet (requests come with templates):
    // an organization that requires it alerts no one rather than everyone.
    if rules.require_consent {
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
    company: &str,
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let rules = settings::get(tx, org).await?;
    let hours = settings::hours(&rules);
    let occupants: Vec<(Uuid, String, ContactMethod)> = owned::<occupant::Entity>(org)
        .select_only()
        .columns([
            occupant::Column::Id,
            occupant::Column::Phone,
            occupant::Column::ContactMethod,
        ])
        .filter(occupant::Column::ServicePointId.in_subquery(points_in(sector.id, org)))
        .order_by_asc(occupant::Column::ServicePointId)
        .order_by_asc(occupant::Column::Id)
        .into_tuple()
        .all(tx)
        .await?;
    let already = Already {
        alerted_today: alerted_since(tx, org, hours.day_start(now)).await?,
        opted_out: opted_out(tx, org, sector.id).await?,
        segments_this_month: settings::segments_since(tx, org, hours.month_start(now)).await?,
    };
    let opening = hours.next_open(now);
    let mut spent = already.segments_this_month;
    let mut leaving = 0;
    let messages: Vec<alert_message::Model> = recipients(&occupants)
        .into_iter()
        .filter_map(|recipient| {
            // Stored phones are valid; one that is not cannot be dialled.
            let e164 = Phone::parse(&recipient.phone).ok()?.e164();
            let channel = Channel::from(recipient.channel);
            let body = match &alert.message {
                Some(text) => text.clone(),
                None => wording::default_text(channel, Lang::Fr, company, &sector.name),
            };
            let cost = (channel == Channel::Sms).then(|| segments::count(&body));
            let billed = cost.map_or(0, |c| c.segments as i64);
            let decision = decide(&rules, &already, &recipient, &e164, billed, &mut spent);
            let (status, skip_reason, due) = match decision {
                Decision::Skip(reason) => (MessageStatus::Skipped, Some(reason), None),
                Decision::Send if opening > now => (MessageStatus::Scheduled, None, Some(opening)),
                Decision::Send => (MessageStatus::Queued, None, Some(now)),
            };
            leaving += usize::from(decision == Decision::Send);
            Some(alert_message::Model {
                id: Uuid::now_v7(),
                organization_id: org.uuid(),
                alert_id: alert.id,
                occupant_id: Some(recipient.occupant_id),
                to_phone: Some(e164),
                channel: recipient.channel,
                language: Language::Fr,
                body,
                encoding: cost.map(|c| match c.encoding {
                    Encoding::Gsm7 => SmsEncoding::Gsm7,
                    Encoding::Ucs2 => SmsEncoding::Ucs2,
                }),
                segments: cost.map(|c| c.segments as i32),
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
            })
        })
        .collect();
    insert_models::<alert_message::Entity>(tx, &messages, None).await?;
    if leaving > 0 {
        claims::wake(tx, CHANNEL).await?;
    } else {
        finish_if_done(tx, org, alert.id, now).await?;
    }
    Ok(leaving)
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

/// The phones of the sector's occupants that unsubscribed.
async fn opted_out(
    tx: &impl ConnectionTrait,
    org: OrgId,
    sector_id: Uuid,
) -> Result<HashSet<String>, DbErr> {
    let phones_of_sector = Query::select()
        .column(occupant::Column::Phone)
        .from(occupant::Entity)
        .and_where(belongs::<occupant::Entity>(org))
        .and_where(occupant::Column::ServicePointId.in_subquery(points_in(sector_id, org)))
        .take();
    let phones: Vec<String> = owned::<phone_consent::Entity>(org)
        .select_only()
        .column(phone_consent::Column::Phone)
        .filter(phone_consent::Column::OptedOutAt.is_not_null())
        .filter(phone_consent::Column::Phone.in_subquery(phones_of_sector))
        .into_tuple()
        .all(tx)
        .await?;
    Ok(phones.into_iter().collect())
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
    finish_if_done(tx, org, alert_id, now).await
}

/// Statuses still in our hands: the dispatch has not finished while one
/// of the alert's messages holds one. `SENDING` counts only while a call
/// to the provider is under way (a lease); once the provider took it, its
/// callbacks may or may not come.
const IN_HAND: [MessageStatus; 2] = [MessageStatus::Scheduled, MessageStatus::Queued];

/// Marks the alert dispatched and announces it (`alert.dispatch.finished`,
/// with its counts), once, when none of its messages is left in hand.
pub async fn finish_if_done(
    tx: &impl ConnectionTrait,
    org: OrgId,
    alert_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
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

    fn recipient(phone: &str) -> Recipient {
        Recipient {
            occupant_id: Uuid::nil(),
            phone: phone.to_owned(),
            channel: ContactMethod::Sms,
        }
    }

    fn nothing_yet() -> Already {
        Already {
            alerted_today: HashSet::new(),
            opted_out: HashSet::new(),
            segments_this_month: 0,
        }
    }

    #[test]
    fn a_shared_phone_gets_one_message_and_a_call_wins() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let occupants = vec![
            (a, "418-555-0101".to_owned(), ContactMethod::Sms),
            (b, "418-555-0102".to_owned(), ContactMethod::Sms),
            (c, "418-555-0101".to_owned(), ContactMethod::Call),
        ];
        let got = recipients(&occupants);
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
