//! What the contractor reads of alerts: each alert's counts by status, its
//! messages, the messages to one phone across alerts, and when the last
//! one should leave.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::alert_message::{self, Column};
use entity::values::MessageStatus;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Select};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::OrgId;
use crate::service::store::claims::after;
use crate::service::store::tenant::owned;
use crate::service::{Page, PageRequest, Reader, ServiceError, count, list};

/// An alert's messages by status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts([i64; MessageStatus::ALL.len()]);

impl Counts {
    pub fn get(&self, status: MessageStatus) -> i64 {
        self.0[position(status)]
    }

    pub fn total(&self) -> i64 {
        self.0.iter().sum()
    }

    /// As webhooks carry them: `{"total": 50, "delivered": 48, ...}`.
    pub fn to_json(&self) -> Value {
        let mut counts = serde_json::Map::new();
        counts.insert("total".to_owned(), json!(self.total()));
        for status in MessageStatus::ALL {
            let name = serde_json::to_value(status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_lowercase))
                .unwrap_or_default();
            counts.insert(name, json!(self.get(status)));
        }
        Value::Object(counts)
    }
}

fn position(status: MessageStatus) -> usize {
    MessageStatus::ALL
        .iter()
        .position(|s| *s == status)
        .expect("every status is listed")
}

/// The counts of each of these alerts (every one gets an entry), in one
/// statement.
pub async fn counts_of(
    db: &impl ConnectionTrait,
    org: OrgId,
    alert_ids: &[Uuid],
) -> Result<HashMap<Uuid, Counts>, DbErr> {
    let rows: Vec<(Uuid, MessageStatus, i64)> = owned::<alert_message::Entity>(org)
        .select_only()
        .column(Column::AlertId)
        .column(Column::Status)
        .expr(Expr::col(Column::Id).count())
        .filter(Column::AlertId.is_in(alert_ids.iter().copied()))
        .group_by(Column::AlertId)
        .group_by(Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let mut counts: HashMap<Uuid, Counts> = alert_ids
        .iter()
        .map(|id| (*id, Counts::default()))
        .collect();
    for (alert, status, n) in rows {
        counts.entry(alert).or_default().0[position(status)] = n;
    }
    Ok(counts)
}

/// Which messages a list shows.
#[derive(Clone, Debug, Default)]
pub struct MessageFilter {
    pub alert_id: Option<Uuid>,
    /// E.164.
    pub phone: Option<String>,
    pub statuses: Vec<MessageStatus>,
}

fn filtered(org: OrgId, filter: &MessageFilter) -> Select<alert_message::Entity> {
    let mut select = owned::<alert_message::Entity>(org);
    // Alerts' messages only: consent requests belong to no alert.
    select = match filter.alert_id {
        Some(alert) => select.filter(Column::AlertId.eq(alert)),
        None => select.filter(Column::AlertId.is_not_null()),
    };
    if let Some(phone) = &filter.phone {
        select = select.filter(Column::ToPhone.eq(phone.as_str()));
    }
    if !filter.statuses.is_empty() {
        select = select.filter(Column::Status.is_in(filter.statuses.iter().copied()));
    }
    select
}

/// One page of the messages the filter keeps, oldest first.
pub async fn messages(
    db: &impl Reader,
    org: OrgId,
    filter: &MessageFilter,
    request: PageRequest,
) -> Result<Page<alert_message::Model>, ServiceError> {
    list(db, filtered(org, filter), request).await
}

pub async fn count_messages(
    db: &impl ConnectionTrait,
    org: OrgId,
    filter: &MessageFilter,
) -> Result<u64, ServiceError> {
    count(db, filtered(org, filter)).await
}

/// The deployment's sending rate: `senders` numbers, one message each per
/// `period` (`None`: no limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub period: Option<Duration>,
    pub senders: usize,
}

/// When the alert's last waiting message should leave: after every
/// message of the deployment due before it (the rate is shared by all),
/// at the rate, from its due time or now. `None` when none waits.
pub async fn last_expected_at(
    db: &impl ConnectionTrait,
    org: OrgId,
    alert_id: Uuid,
    rate: Rate,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    let last_due: Option<Option<DateTime<Utc>>> = owned::<alert_message::Entity>(org)
        .select_only()
        .expr(Expr::col(Column::NextAttemptAt).max())
        .filter(Column::AlertId.eq(alert_id))
        .filter(Column::Status.is_in(MessageStatus::WAITING))
        .into_tuple()
        .one(db)
        .await?;
    let Some(last_due) = last_due.flatten() else {
        return Ok(None);
    };
    let start = Ord::max(last_due, now);
    let Some(period) = rate.period else {
        return Ok(Some(start));
    };
    // Every tenant's waiting messages share the carrier's rate: counted
    // across the deployment, as the senders are.
    let waiting = alert_message::Entity::find()
        .filter(Column::Status.is_in(MessageStatus::WAITING))
        .filter(Column::NextAttemptAt.lte(last_due));
    let ahead = sea_orm::PaginatorTrait::count(waiting, db).await?;
    let queue = period.mul_f64(ahead as f64 / rate.senders.max(1) as f64);
    Ok(Some(after(start, queue)))
}
