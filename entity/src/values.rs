//! The closed sets of values some columns hold. Stored as the same strings
//! as before (`DeriveActiveEnum` with string values), so no migration: the
//! type only stops code from comparing or writing free text.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Where a service point stands in geocoding: located exactly or
/// approximately, not found, waiting for a try (`PENDING`, `FAILED`), or
/// placed by hand.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GeocodeStatus {
    /// Not located yet: never tried, or deferred.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// House or building match.
    #[sea_orm(string_value = "OK")]
    Ok,
    /// Street, postal-code or locality match.
    #[sea_orm(string_value = "APPROXIMATE")]
    Approximate,
    #[sea_orm(string_value = "NOT_FOUND")]
    NotFound,
    /// The provider refused after retries.
    #[sea_orm(string_value = "FAILED")]
    Failed,
    /// Coordinates given by hand or by the file; never overwritten.
    #[sea_orm(string_value = "MANUAL")]
    Manual,
}

impl GeocodeStatus {
    /// Statuses the background worker still has to settle.
    pub const WAITING: [GeocodeStatus; 2] = [GeocodeStatus::Pending, GeocodeStatus::Failed];
}

/// How an occupant wants to be alerted.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContactMethod {
    #[sea_orm(string_value = "SMS")]
    Sms,
    #[sea_orm(string_value = "CALL")]
    Call,
}

/// The three import modes: replace everything, merge and delete what the
/// file misses, merge and keep it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ImportMode {
    /// "Repartir à neuf": delete everything, then import the file.
    #[sea_orm(string_value = "REPLACE_ALL")]
    ReplaceAll,
    /// "Fusionner et supprimer le reste".
    #[sea_orm(string_value = "MERGE_DELETE_MISSING")]
    MergeDeleteMissing,
    /// "Fusionner et conserver le reste".
    #[sea_orm(string_value = "MERGE_KEEP_MISSING")]
    MergeKeepMissing,
}

impl ImportMode {
    /// Modes that delete, and so are snapshotted for undo.
    pub fn destructive(self) -> bool {
        self != ImportMode::MergeKeepMissing
    }
}

/// What an import did with one row.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RowStatus {
    #[sea_orm(string_value = "CREATED")]
    Created,
    #[sea_orm(string_value = "UPDATED")]
    Updated,
    #[sea_orm(string_value = "UNCHANGED")]
    Unchanged,
    #[sea_orm(string_value = "SKIPPED")]
    Skipped,
    #[sea_orm(string_value = "ERROR")]
    Error,
}

/// Where an import run stands as a job.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ImportStatus {
    /// Stored, waiting for a worker.
    #[sea_orm(string_value = "QUEUED")]
    Queued,
    #[sea_orm(string_value = "RUNNING")]
    Running,
    /// Ran to its end, committed or not.
    #[sea_orm(string_value = "FINISHED")]
    Finished,
    /// Interrupted or crashed: nothing committed.
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

impl ImportStatus {
    pub fn is_final(self) -> bool {
        matches!(self, ImportStatus::Finished | ImportStatus::Failed)
    }
}

/// What a running import is doing, in order.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ImportPhase {
    #[sea_orm(string_value = "QUEUED")]
    Queued,
    #[sea_orm(string_value = "READING")]
    Reading,
    #[sea_orm(string_value = "LOCATING")]
    Locating,
    #[sea_orm(string_value = "PLANNING")]
    Planning,
    #[sea_orm(string_value = "APPLYING")]
    Applying,
    #[sea_orm(string_value = "DONE")]
    Done,
}

/// What a webhook announces.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum WebhookEvent {
    #[sea_orm(string_value = "import.finished")]
    #[serde(rename = "import.finished")]
    ImportFinished,
    #[sea_orm(string_value = "import.failed")]
    #[serde(rename = "import.failed")]
    ImportFailed,
    #[sea_orm(string_value = "sector.alert.started")]
    #[serde(rename = "sector.alert.started")]
    SectorAlertStarted,
    #[sea_orm(string_value = "sector.alert.ended")]
    #[serde(rename = "sector.alert.ended")]
    SectorAlertEnded,
    #[sea_orm(string_value = "geocoding.needs_attention")]
    #[serde(rename = "geocoding.needs_attention")]
    GeocodingNeedsAttention,
    #[sea_orm(string_value = "test")]
    #[serde(rename = "test")]
    Test,
    #[sea_orm(string_value = "alert.dispatch.finished")]
    #[serde(rename = "alert.dispatch.finished")]
    AlertDispatchFinished,
    #[sea_orm(string_value = "alert.message.failed")]
    #[serde(rename = "alert.message.failed")]
    AlertMessageFailed,
}

/// Where a webhook delivery stands.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryStatus {
    /// Not sent yet, or to be tried again at `next_attempt_at`.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "SUCCEEDED")]
    Succeeded,
    /// Every attempt failed.
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

/// Where an alert's message to one phone stands, from the outbox to the
/// carrier's last word.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageStatus {
    /// Waiting for the organization's sending hours.
    #[sea_orm(string_value = "SCHEDULED")]
    Scheduled,
    /// Due: waiting for a worker and the carrier's rate.
    #[sea_orm(string_value = "QUEUED")]
    Queued,
    /// Handed to the provider (committed before the call), or taken by it
    /// and not sent yet.
    #[sea_orm(string_value = "SENDING")]
    Sending,
    #[sea_orm(string_value = "SENT")]
    Sent,
    #[sea_orm(string_value = "DELIVERED")]
    Delivered,
    #[sea_orm(string_value = "UNDELIVERED")]
    Undelivered,
    #[sea_orm(string_value = "FAILED")]
    Failed,
    #[sea_orm(string_value = "SKIPPED")]
    Skipped,
    #[sea_orm(string_value = "CANCELED")]
    Canceled,
}

impl MessageStatus {
    /// Not left yet: ending the alert cancels these.
    pub const WAITING: [MessageStatus; 2] = [MessageStatus::Scheduled, MessageStatus::Queued];
    /// Every status, in the order the counts list them.
    pub const ALL: [MessageStatus; 9] = [
        MessageStatus::Scheduled,
        MessageStatus::Queued,
        MessageStatus::Sending,
        MessageStatus::Sent,
        MessageStatus::Delivered,
        MessageStatus::Undelivered,
        MessageStatus::Failed,
        MessageStatus::Skipped,
        MessageStatus::Canceled,
    ];
}

/// Why a message was not sent.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SkipReason {
    #[sea_orm(string_value = "OPTED_OUT")]
    OptedOut,
    #[sea_orm(string_value = "NO_CONSENT")]
    NoConsent,
    #[sea_orm(string_value = "ALREADY_ALERTED_TODAY")]
    AlreadyAlertedToday,
    #[sea_orm(string_value = "ALERTS_DISABLED")]
    AlertsDisabled,
    #[sea_orm(string_value = "SPEND_LIMIT")]
    SpendLimit,
}

/// How an SMS is encoded, which sets its price in segments.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SmsEncoding {
    #[sea_orm(string_value = "GSM7")]
    Gsm7,
    #[sea_orm(string_value = "UCS2")]
    Ucs2,
}

/// The language an occupant is written to and spoken to in.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(2))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Language {
    #[default]
    #[sea_orm(string_value = "FR")]
    Fr,
    #[sea_orm(string_value = "EN")]
    En,
}

/// What a phone answered to the organization's consent request.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Consent {
    /// Never asked.
    #[default]
    #[sea_orm(string_value = "UNKNOWN")]
    Unknown,
    /// Asked, no answer yet.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "ACCEPTED")]
    Accepted,
    #[sea_orm(string_value = "DECLINED")]
    Declined,
}
