//! The `phone_consent` table: what a phone said to the organization
//! (unsubscribed, answered a consent request), kept apart from the occupants
//! so that it follows the phone: an import that deletes and re-creates
//! occupants never resets it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "phone_consent")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    /// As occupants hold it (`418-555-0123`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub phone: String,
    /// When the phone unsubscribed (STOP, or the carrier's 21610): not
    /// alerted again.
    pub opted_out_at: Option<DateTimeUtc>,
    /// Where a consent request stands (an opt-out outranks it).
    pub consent: crate::values::Consent,
    pub consent_requested_at: Option<DateTimeUtc>,
    pub consent_answered_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
