//! The alert part of the schema: an alert with its counts and messages,
//! the messages to one phone across alerts, the organization's sending
//! rules, and starting an alert with a one-off text.

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{alert_message, alert_settings, sector, sector_alert};

use super::connection::{Connection, MissingData, listed_by_id, page_request, wants_total};
use super::id::{Kind, encode};
use super::loader::{AlertKey, OccupantKey, SectorKey};
use super::object::{ContactMethod, Occupant, loader};
use super::sector::Sector;
use super::{record_by_id, tenant, writer, writer_of};
use crate::domain::{Clock, Phone, ValidationError};
use crate::error::ApiError;
use crate::service::alerts::reads::{self, Counts, MessageFilter, Rate};
use crate::service::alerts::settings::{self, Change};
use crate::service::sectors::{self, AlertStart};

/// What alerts go by: the dispatch's clock and the deployment's sending
/// rate (for `lastMessageExpectedAt`).
#[derive(Clone, Copy, Debug)]
pub struct AlertPolicy {
    pub clock: Clock,
    pub rate: Rate,
    /// `SMS_TRANSLITERATE`.
    pub transliterate: bool,
}

impl Default for AlertPolicy {
    fn default() -> AlertPolicy {
        AlertPolicy {
            clock: Clock::system(),
            rate: Rate {
                period: None,
                senders: 1,
            },
            transliterate: false,
        }
    }
}

pub(super) fn policy(ctx: &Context<'_>) -> Result<AlertPolicy, ApiError> {
    ctx.data::<AlertPolicy>()
        .copied()
        .map_err(|_| ApiError::internal(MissingData("AlertPolicy")))
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::values::MessageStatus")]
pub enum MessageStatus {
    /// Waiting for the sending hours (`scheduledFor`).
    Scheduled,
    /// Due: waiting for a worker and the carrier's rate.
    Queued,
    /// With the provider: being handed over, or taken and not sent yet.
    Sending,
    Sent,
    Delivered,
    Undelivered,
    /// Refused or lost (`errorCode`: the provider's, or `UNKNOWN_OUTCOME`
    /// when the sending instance died during the call: not sent again).
    Failed,
    /// Not sent, for `skipReason`.
    Skipped,
    /// The alert ended before it left.
    Canceled,
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::values::SkipReason")]
pub enum SkipReason {
    OptedOut,
    NoConsent,
    AlreadyAlertedToday,
    AlertsDisabled,
    SpendLimit,
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::values::SmsEncoding")]
pub enum SmsEncoding {
    #[graphql(name = "GSM7")]
    Gsm7,
    #[graphql(name = "UCS2")]
    Ucs2,
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::values::Language")]
pub enum Language {
    Fr,
    En,
}

/// An alert's messages by status.
#[derive(SimpleObject)]
pub struct AlertMessageCounts {
    pub total: i32,
    pub scheduled: i32,
    pub queued: i32,
    pub sending: i32,
    pub sent: i32,
    pub delivered: i32,
    pub undelivered: i32,
    pub failed: i32,
    pub skipped: i32,
    pub canceled: i32,
}

impl From<Counts> for AlertMessageCounts {
    fn from(counts: Counts) -> AlertMessageCounts {
        use entity::values::MessageStatus as S;
        let n = |status| counts.get(status) as i32;
        AlertMessageCounts {
            total: counts.total() as i32,
            scheduled: n(S::Scheduled),
            queued: n(S::Queued),
            sending: n(S::Sending),
            sent: n(S::Sent),
            delivered: n(S::Delivered),
            undelivered: n(S::Undelivered),
            failed: n(S::Failed),
            skipped: n(S::Skipped),
            canceled: n(S::Canceled),
        }
    }
}

/// One alert of a sector, from start to end, and its messages.
pub struct SectorAlert(pub sector_alert::Model);

#[Object]
impl SectorAlert {
    pub async fn id(&self) -> ID {
        encode(Kind::SectorAlert, self.0.id)
    }

    async fn sector(&self, ctx: &Context<'_>) -> Result<Sector, ApiError> {
        let sector = loader(ctx)?.load_one(SectorKey(self.0.sector_id)).await?;
        sector.map(Sector).ok_or(ApiError::NotFound)
    }

    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }

    /// null while the alert lasts.
    async fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.0.ended_at
    }

    /// Occupants to reach when it started.
    async fn recipients_count(&self) -> i32 {
        self.0.recipients_count
    }

    async fn counts(&self, ctx: &Context<'_>) -> Result<AlertMessageCounts, ApiError> {
        let t = tenant(ctx)?;
        let mut counts = reads::counts_of(&t.db, t.org, &[self.0.id]).await?;
        Ok(counts.remove(&self.0.id).unwrap_or_default().into())
    }

    /// When the last waiting message should leave, at the deployment's
    /// sending rate (every organization's waiting messages share it) and
    /// after the sending hours open; null when none waits. An estimate.
    async fn last_message_expected_at(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<DateTime<Utc>>, ApiError> {
        let t = tenant(ctx)?;
        let policy = policy(ctx)?;
        let now = policy.clock.now();
        Ok(reads::last_expected_at(&t.db, t.org, self.0.id, policy.rate, now).await?)
    }

    /// Its messages, in the order they were written.
    async fn messages(
        &self,
        ctx: &Context<'_>,
        status: Option<Vec<MessageStatus>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<AlertMessage>, ApiError> {
        let filter = MessageFilter {
            alert_id: Some(self.0.id),
            phone: None,
            statuses: statuses(status),
        };
        message_connection(ctx, &filter, first, after).await
    }
}

fn statuses(status: Option<Vec<MessageStatus>>) -> Vec<entity::values::MessageStatus> {
    status
        .unwrap_or_default()
        .into_iter()
        .map(Into::into)
        .collect()
}

async fn message_connection(
    ctx: &Context<'_>,
    filter: &MessageFilter,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Connection<AlertMessage>, ApiError> {
    let t = tenant(ctx)?;
    let page = page_request(ctx, first, after)?;
    let messages = reads::messages(&t.db, t.org, filter, page).await?;
    let total = match wants_total(ctx) {
        true => reads::count_messages(&t.db, t.org, filter).await?,
        false => 0,
    };
    Ok(Connection::new(messages.map(AlertMessage), total))
}

/// One message of an alert, to one phone.
pub struct AlertMessage(pub alert_message::Model);

listed_by_id! {
    AlertMessage: "AlertMessageConnection", "AlertMessageEdge", |message| message.0.id;
}

#[Object]
impl AlertMessage {
    pub async fn id(&self) -> ID {
        encode(Kind::AlertMessage, self.0.id)
    }

    // Loaded for the whole page at once, as `occupant` is.
    async fn alert(&self, ctx: &Context<'_>) -> Result<SectorAlert, ApiError> {
        let Some(alert_id) = self.0.alert_id else {
            return Err(ApiError::NotFound);
        };
        let alert = loader(ctx)?.load_one(AlertKey(alert_id)).await?;
        alert.map(SectorAlert).ok_or(ApiError::NotFound)
    }

    /// null once the occupant is deleted.
    async fn occupant(&self, ctx: &Context<'_>) -> Result<Option<Occupant>, ApiError> {
        let Some(id) = self.0.occupant_id else {
            return Ok(None);
        };
        let occupant = loader(ctx)?.load_one(OccupantKey(id)).await?;
        Ok(occupant.map(Occupant::new))
    }

    /// E.164; empty once retention purged it.
    async fn to(&self) -> &str {
        self.0.to_phone.as_deref().unwrap_or("")
    }

    async fn channel(&self) -> ContactMethod {
        self.0.channel.into()
    }

    async fn language(&self) -> Language {
        self.0.language.into()
    }

    /// What it says; empty once retention purged it.
    async fn body(&self) -> &str {
        &self.0.body
    }

    async fn encoding(&self) -> Option<SmsEncoding> {
        self.0.encoding.map(Into::into)
    }

    /// SMS segments billed (SMS only).
    async fn segments(&self) -> Option<i32> {
        self.0.segments
    }

    async fn status(&self) -> MessageStatus {
        self.0.status.into()
    }

    async fn skip_reason(&self) -> Option<SkipReason> {
        self.0.skip_reason.map(Into::into)
    }

    /// The provider's id (Twilio's SID).
    async fn provider_id(&self) -> Option<&str> {
        self.0.provider_id.as_deref()
    }

    /// The provider's error code, or `UNKNOWN_OUTCOME`.
    async fn error_code(&self) -> Option<&str> {
        self.0.error_code.as_deref()
    }

    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    /// When it waits for (the sending hours' opening).
    async fn scheduled_for(&self) -> Option<DateTime<Utc>> {
        self.0.scheduled_for
    }

    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.sent_at
    }

    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// The organization's sending rules.
pub struct AlertSettings {
    rules: alert_settings::Model,
    segments_this_month: i64,
}

#[Object]
impl AlertSettings {
    /// Off: every message is skipped (`ALERTS_DISABLED`).
    async fn enabled(&self) -> bool {
        self.rules.enabled
    }

    /// Messages leave from this time ("07:00"), in `timeZone`.
    async fn send_from(&self) -> &str {
        &self.rules.send_from
    }

    /// Until this time ("20:00"); outside, they wait (`SCHEDULED`).
    async fn send_until(&self) -> &str {
        &self.rules.send_until
    }

    /// IANA (`America/Toronto`).
    async fn time_zone(&self) -> &str {
        &self.rules.time_zone
    }

    /// One message per phone per day (in `timeZone`); a second is
    /// skipped (`ALREADY_ALERTED_TODAY`).
    async fn once_per_day(&self) -> bool {
        self.rules.once_per_day
    }

    /// Alert only occupants who accepted (others: `NO_CONSENT`).
    async fn require_consent(&self) -> bool {
        self.rules.require_consent
    }

    /// SMS segments a month (in `timeZone`); beyond: `SPEND_LIMIT`. null:
    /// no limit.
    async fn monthly_segment_limit(&self) -> Option<i32> {
        self.rules.monthly_segment_limit
    }

    async fn segments_this_month(&self) -> i32 {
        self.segments_this_month as i32
    }
}

async fn alert_settings(
    ctx: &Context<'_>,
    rules: alert_settings::Model,
) -> Result<AlertSettings, ApiError> {
    let t = tenant(ctx)?;
    let now = policy(ctx)?.clock.now();
    let since = settings::hours(&rules).month_start(now);
    let segments_this_month = settings::segments_since(&t.db, t.org, since).await?;
    Ok(AlertSettings {
        rules,
        segments_this_month,
    })
}

#[derive(InputObject)]
pub struct AlertSettingsInput {
    pub enabled: Option<bool>,
    /// "HH:MM".
    pub send_from: Option<String>,
    pub send_until: Option<String>,
    /// IANA (`America/Toronto`).
    pub time_zone: Option<String>,
    pub once_per_day: Option<bool>,
    pub require_consent: Option<bool>,
    /// null removes the limit; absent leaves it.
    pub monthly_segment_limit: MaybeUndefined<i32>,
}

#[derive(Default)]
pub struct AlertQuery;

#[Object]
impl AlertQuery {
    async fn alert(&self, ctx: &Context<'_>, id: ID) -> Result<Option<SectorAlert>, ApiError> {
        record_by_id::<sector_alert::Entity, _>(ctx, &id, Kind::SectorAlert, SectorAlert).await
    }

    /// The organization's messages across alerts, oldest first: to one
    /// phone (any common writing: `418 555-0123`, `(418) 555-0123`,
    /// `+1...`), with these statuses.
    async fn alert_messages(
        &self,
        ctx: &Context<'_>,
        phone: Option<String>,
        status: Option<Vec<MessageStatus>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<AlertMessage>, ApiError> {
        tenant(ctx)?;
        let phone = phone
            .map(|p| Phone::parse(&p).map(|p| p.e164()))
            .transpose()
            .map_err(|error| ApiError::Invalid(ValidationError::Phone(error)))?;
        let filter = MessageFilter {
            alert_id: None,
            phone,
            statuses: statuses(status),
        };
        message_connection(ctx, &filter, first, after).await
    }

    async fn alert_settings(&self, ctx: &Context<'_>) -> Result<AlertSettings, ApiError> {
        let t = tenant(ctx)?;
        let rules = settings::get(&t.db, t.org).await?;
        alert_settings(ctx, rules).await
    }
}

#[derive(Default)]
pub struct AlertMutation;

#[Object]
impl AlertMutation {
    /// Puts the sector in alert and writes its messages (one per
    /// recipient phone), which the workers send; `message` replaces the
    /// organization's wording for this alert. A sector already in alert
    /// returns its current alert unchanged.
    async fn start_sector_alert(
        &self,
        ctx: &Context<'_>,
        id: ID,
        message: Option<String>,
    ) -> Result<SectorAlert, ApiError> {
        let (t, uuid) = writer_of(ctx, &id, Kind::Sector)?;
        let message = message
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty());
        if message
            .as_ref()
            .is_some_and(|text| text.chars().count() > MAX_MESSAGE)
        {
            return Err(ApiError::Invalid(ValidationError::AlertSettings {
                fr: format!("Le message dépasse {MAX_MESSAGE} caractères."),
                en: format!("The message is longer than {MAX_MESSAGE} characters."),
            }));
        }
        let start = AlertStart {
            now: policy(ctx)?.clock.now(),
            message: message.as_deref(),
            transliterate: policy(ctx)?.transliterate,
        };
        let (_, alert) = sectors::set_alert(&t.db, t.org, uuid, true, start).await?;
        alert.map(SectorAlert).ok_or(ApiError::NotFound)
    }

    async fn update_alert_settings(
        &self,
        ctx: &Context<'_>,
        input: AlertSettingsInput,
    ) -> Result<AlertSettings, ApiError> {
        let t = writer(ctx)?;
        let change = Change {
            enabled: input.enabled,
            send_from: input.send_from,
            send_until: input.send_until,
            time_zone: input.time_zone,
            once_per_day: input.once_per_day,
            require_consent: input.require_consent,
            monthly_segment_limit: match input.monthly_segment_limit {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(limit) => Some(Some(limit)),
            },
        };
        let now = policy(ctx)?.clock.now();
        let rules = settings::update(&t.db, t.org, change, now).await?;
        alert_settings(ctx, rules).await
    }
}

/// Characters a one-off alert text may hold: ten SMS segments.
const MAX_MESSAGE: usize = 1_530;

/// Starts or ends an alert for `setSectorAlert` (no one-off text).
pub async fn set_sector_alert(
    ctx: &Context<'_>,
    id: &ID,
    active: bool,
) -> Result<sector::Model, ApiError> {
    let (t, uuid) = writer_of(ctx, id, Kind::Sector)?;
    let start = AlertStart {
        now: policy(ctx)?.clock.now(),
        message: None,
        transliterate: policy(ctx)?.transliterate,
    };
    let (sector, _) = sectors::set_alert(&t.db, t.org, uuid, active, start).await?;
    Ok(sector)
}
