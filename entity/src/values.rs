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
