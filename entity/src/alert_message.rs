//! The `alert_message` table: the outbox of alerts, one row per alert and
//! recipient phone (and the consent requests, sent the same way), with
//! what the provider said of it.

use sea_orm::entity::prelude::*;

use crate::values::{ContactMethod, Language, MessageStatus, SkipReason, SmsEncoding};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alert_message")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// Null for a consent request, which belongs to no alert.
    pub alert_id: Option<Uuid>,
    /// The first occupant with this phone; null once deleted.
    pub occupant_id: Option<Uuid>,
    /// E.164 (`+14185550123`); null once retention has purged it.
    pub to_phone: Option<String>,
    pub channel: ContactMethod,
    pub language: Language,
    /// Empty once retention has purged it.
    pub body: String,
    pub encoding: Option<SmsEncoding>,
    pub segments: Option<i32>,
    pub status: MessageStatus,
    pub skip_reason: Option<SkipReason>,
    /// The provider's id (Twilio's SID), which its callbacks name.
    pub provider_id: Option<String>,
    /// The sending number, when the message went from one of a pool.
    pub sender: Option<String>,
    pub error_code: Option<String>,
    pub attempts: i32,
    /// When it is due (the sending hours' opening, or a retry's time).
    pub next_attempt_at: Option<DateTimeUtc>,
    /// A worker's lease: while `QUEUED`, on the claim; while `SENDING`, on
    /// the call under way (lapsed: the outcome is unknown).
    pub claimed_until: Option<DateTimeUtc>,
    /// When it was due to leave at the latest (the window's opening for a
    /// `SCHEDULED` one).
    pub scheduled_for: Option<DateTimeUtc>,
    pub sent_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
