//! What the dispatch worker does to one message, each step a statement
//! that holds whatever else runs: claim the due ones with a lease, mark
//! one `SENDING` (committed before the provider is called: at most once),
//! record the provider's answer, and declare `UNKNOWN_OUTCOME` where an
//! instance died during the call. Status callbacks move sent messages on.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::alert_message::{self, Column};
use entity::values::{MessageStatus, WebhookEvent};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr,
    EntityTrait, QueryFilter, QueryOrder, Select, TransactionTrait,
};
use serde_json::json;

use super::consent;
use super::outbox::finish_if_done;
use crate::auth::OrgId;
use crate::domain::{Phone, global_id};
use crate::messaging::{Accepted, Refusal, RefusalKind, State};
use crate::service::store::claims::{WorkQueue, after};
use crate::service::webhooks;

/// The error code of a message whose instance died during the call: the
/// provider may or may not have taken it, so it is not sent again.
pub const UNKNOWN_OUTCOME: &str = "UNKNOWN_OUTCOME";

/// Queued messages due that no lease holds, oldest due first: read in the
/// order of their index (`status, next_attempt_at, id`), so a claim reads
/// the few rows it takes, not every message waiting.
pub struct DueMessages;

impl WorkQueue for DueMessages {
    type Entity = alert_message::Entity;
    const CLAIM_LOCK: i64 = crate::db::locks::MESSAGE_CLAIMS;

    fn due(now: DateTime<Utc>) -> Select<alert_message::Entity> {
        alert_message::Entity::find()
            .filter(Column::Status.eq(MessageStatus::Queued))
            .filter(Column::NextAttemptAt.lte(now))
            .filter(
                Condition::any()
                    .add(Column::ClaimedUntil.is_null())
                    .add(Column::ClaimedUntil.lt(now)),
            )
            .order_by_asc(Column::NextAttemptAt)
            .order_by_asc(Column::Id)
    }

    async fn mark(
        tx: &DatabaseTransaction,
        items: &[alert_message::Model],
        until: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        alert_message::Entity::update_many()
            .col_expr(Column::ClaimedUntil, Expr::value(until))
            .filter(Column::Id.is_in(items.iter().map(|m| m.id)))
            .exec(tx)
            .await?;
        Ok(())
    }
}

/// Scheduled messages whose time has come join the queue (their
/// `scheduledFor` stays). Returns how many.
pub async fn release_scheduled(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let released = alert_message::Entity::update_many()
        .col_expr(Column::Status, Expr::value(MessageStatus::Queued))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Status.eq(MessageStatus::Scheduled))
        .filter(Column::NextAttemptAt.lte(now))
        .exec(db)
        .await?;
    Ok(released.rows_affected)
}

/// Puts a claimed message back to wait for the sending hours' opening.
pub async fn reschedule(
    db: &DatabaseConnection,
    message: &alert_message::Model,
    opening: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    alert_message::Entity::update_many()
        .col_expr(Column::Status, Expr::value(MessageStatus::Scheduled))
        .col_expr(Column::NextAttemptAt, Expr::value(opening))
        .col_expr(Column::ScheduledFor, Expr::value(opening))
        .col_expr(
            Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(held(message))
        .exec(db)
        .await?;
    Ok(())
}

/// The message as this claim left it: still waiting, and still ours (the
/// lease not taken over by another instance after it lapsed).
fn held(message: &alert_message::Model) -> Condition {
    Condition::all()
        .add(Column::Id.eq(message.id))
        .add(Column::Status.is_in(MessageStatus::WAITING))
        .add(Column::ClaimedUntil.eq(message.claimed_until))
}

/// Marks the message `SENDING`, committed, for the time a call may take;
/// `false` when it is no longer ours to send (canceled, or taken over).
pub async fn mark_sending(
    db: &DatabaseConnection,
    message: &alert_message::Model,
    sender: Option<&str>,
    call_lease: Duration,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let marked = alert_message::Entity::update_many()
        .col_expr(Column::Status, Expr::value(MessageStatus::Sending))
        .col_expr(Column::ClaimedUntil, Expr::value(after(now, call_lease)))
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .col_expr(Column::Sender, Expr::value(sender.map(str::to_owned)))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(held(message))
        .exec(db)
        .await?;
    Ok(marked.rows_affected == 1)
}

/// Our status for what the provider reports.
pub fn status_of(state: State) -> MessageStatus {
    match state {
        State::Queued | State::Sending => MessageStatus::Sending,
        State::Sent => MessageStatus::Sent,
        State::Delivered => MessageStatus::Delivered,
        State::Undelivered => MessageStatus::Undelivered,
        State::Failed => MessageStatus::Failed,
    }
}

/// A message with one of `statuses`, or `FAILED` as `UNKNOWN_OUTCOME`: a
/// guess that a call was lost, which the provider's word (its answer, a
/// callback) always beats.
fn at_or_guessed_lost(statuses: impl IntoIterator<Item = MessageStatus>) -> Condition {
    Condition::any().add(Column::Status.is_in(statuses)).add(
        Column::Status
            .eq(MessageStatus::Failed)
            .and(Column::ErrorCode.eq(UNKNOWN_OUTCOME)),
    )
}

/// Records the provider's answer for a message marked `SENDING`:
/// accepted (with its id, which callbacks name), to try again later
/// (`retry_delays`, by attempt), or failed for good (announced; a
/// recipient unsubscribed at the carrier is opted out).
pub async fn record(
    db: &DatabaseConnection,
    message: &alert_message::Model,
    answer: Result<Accepted, Refusal>,
    retry_delays: &[Duration],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let org = OrgId::owning(message);
    let attempts = message.attempts + 1;
    let tx = db.begin().await?;
    let mut update = alert_message::Entity::update_many()
        .col_expr(
            Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(message.id))
        .filter(at_or_guessed_lost([MessageStatus::Sending]));
    let mut failed_with = None;
    match answer {
        Ok(accepted) => {
            let status = status_of(accepted.state);
            update = update
                .col_expr(Column::Status, Expr::value(status))
                .col_expr(Column::ProviderId, Expr::value(accepted.provider_id))
                .col_expr(Column::ErrorCode, Expr::value(Option::<String>::None))
                .col_expr(Column::SentAt, Expr::value(now));
            if status == MessageStatus::Delivered {
                update = update.col_expr(Column::DeliveredAt, Expr::value(now));
            }
        }
        Err(refusal) => {
            let retry = match refusal.kind {
                RefusalKind::Temporary => retry_delays.get(message.attempts as usize),
                _ => None,
            };
            let code = match refusal.kind {
                RefusalKind::Unknown => Some(UNKNOWN_OUTCOME.to_owned()),
                _ => refusal.code.clone(),
            };
            update = update.col_expr(Column::ErrorCode, Expr::value(code.clone()));
            update = match retry {
                Some(delay) => update
                    .col_expr(Column::Status, Expr::value(MessageStatus::Queued))
                    .col_expr(Column::NextAttemptAt, Expr::value(after(now, *delay))),
                None => {
                    failed_with = Some((refusal.kind, code));
                    update.col_expr(Column::Status, Expr::value(MessageStatus::Failed))
                }
            };
        }
    }
    let written = update.exec(&tx).await?;
    if written.rows_affected == 1
        && let Some((kind, code)) = failed_with
    {
        if kind == RefusalKind::OptedOut {
            opt_out(&tx, org, message.to_phone.as_deref(), now).await?;
        }
        announce_failure(&tx, org, message, code.as_deref(), attempts).await?;
    }
    finish_if_done(&tx, org, message.alert_id, now).await?;
    tx.commit().await
}

/// The phone unsubscribed: its occupants are not alerted again.
async fn opt_out(
    tx: &impl ConnectionTrait,
    org: OrgId,
    e164: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    match e164.and_then(|p| Phone::parse(p).ok()) {
        Some(phone) => consent::set_opted_out(tx, org.uuid(), &phone, Some(now), now).await,
        None => Ok(()),
    }
}

/// `alert.message.failed`: which message, to whom, and the provider's code.
async fn announce_failure(
    tx: &impl ConnectionTrait,
    org: OrgId,
    message: &alert_message::Model,
    code: Option<&str>,
    attempts: i32,
) -> Result<(), DbErr> {
    let data = json!({
        "messageId": global_id::encode(global_id::Kind::AlertMessage, message.id),
        "alertId": message
            .alert_id
            .map(|id| global_id::encode(global_id::Kind::SectorAlert, id)),
        "to": message.to_phone,
        "channel": message.channel,
        "errorCode": code,
        "attempts": attempts,
    });
    webhooks::enqueue(tx, org, WebhookEvent::AlertMessageFailed, data).await
}

/// Messages `SENDING` whose call lease lapsed: their instance died (or
/// stalled past the provider's timeout) during the call. Never sent
/// again: `FAILED`, `UNKNOWN_OUTCOME`, announced. Returns how many.
pub async fn declare_lost(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<usize, DbErr> {
    let tx = db.begin().await?;
    let lost = alert_message::Entity::update_many()
        .col_expr(Column::Status, Expr::value(MessageStatus::Failed))
        .col_expr(Column::ErrorCode, Expr::value(UNKNOWN_OUTCOME))
        .col_expr(
            Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Status.eq(MessageStatus::Sending))
        .filter(Column::ClaimedUntil.lt(now))
        .exec_with_returning(&tx)
        .await?;
    for message in &lost {
        let org = OrgId::owning(message);
        announce_failure(&tx, org, message, Some(UNKNOWN_OUTCOME), message.attempts).await?;
        finish_if_done(&tx, org, message.alert_id, now).await?;
    }
    tx.commit().await?;
    Ok(lost.len())
}

/// What a status callback did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Callback {
    Moved,
    /// Not news (a status the message is past, or says nothing new).
    Stale,
    /// No message has this provider id yet.
    Unknown,
}

/// Whether a call to the provider is under way whose answer is not
/// recorded yet: a callback for an unknown id may be about it (the
/// provider can call back before we have written down its answer).
pub async fn answer_pending(db: &DatabaseConnection) -> Result<bool, DbErr> {
    let pending = alert_message::Entity::find()
        .filter(Column::Status.eq(MessageStatus::Sending))
        .filter(Column::ClaimedUntil.is_not_null())
        .filter(Column::ProviderId.is_null());
    Ok(sea_orm::PaginatorTrait::count(pending, db).await? > 0)
}

/// A status callback: the message the provider names moves to `state`,
/// forward only (a late `sent` never overwrites `delivered`).
pub async fn on_status(
    db: &DatabaseConnection,
    provider_id: &str,
    state: State,
    error_code: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Callback, DbErr> {
    let next = status_of(state);
    // The statuses `state` is news for, by rank; a guessed
    // `UNKNOWN_OUTCOME` always yields to the provider's word.
    let earlier: Vec<MessageStatus> = [
        (State::Sending, MessageStatus::Sending),
        (State::Sent, MessageStatus::Sent),
    ]
    .into_iter()
    .filter(|(was, _)| was.moves_to(state))
    .map(|(_, status)| status)
    .collect();
    if earlier.is_empty() {
        return Ok(Callback::Stale);
    }
    // The write comes first: it takes SQLite's write lock at once (a read
    // first would fail outright when another writer commits between).
    let tx = db.begin().await?;
    let mut update = alert_message::Entity::update_many()
        .col_expr(Column::Status, Expr::value(next))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .col_expr(
            Column::ErrorCode,
            Expr::value(error_code.map(str::to_owned)),
        )
        .filter(Column::ProviderId.eq(provider_id))
        .filter(at_or_guessed_lost(earlier));
    if next == MessageStatus::Delivered {
        update = update.col_expr(Column::DeliveredAt, Expr::value(now));
    }
    let moved = update.exec_with_returning(&tx).await?.pop();
    let Some(message) = moved else {
        let known = alert_message::Entity::find()
            .filter(Column::ProviderId.eq(provider_id))
            .one(&tx)
            .await?
            .is_some();
        tx.commit().await?;
        return Ok(if known {
            Callback::Stale
        } else {
            Callback::Unknown
        });
    };
    if matches!(next, MessageStatus::Failed | MessageStatus::Undelivered) {
        let org = OrgId::owning(&message);
        if error_code == Some("21610") {
            opt_out(&tx, org, message.to_phone.as_deref(), now).await?;
        }
        announce_failure(&tx, org, &message, error_code, message.attempts).await?;
    }
    tx.commit().await?;
    Ok(Callback::Moved)
}
