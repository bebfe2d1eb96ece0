//! The `alert_settings` table: an organization's sending rules, one row
//! once it changes one (until then, the defaults).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alert_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    pub enabled: bool,
    /// `HH:MM`, in `time_zone`.
    pub send_from: String,
    pub send_until: String,
    /// IANA (`America/Toronto`).
    pub time_zone: String,
    pub once_per_day: bool,
    pub require_consent: bool,
    pub monthly_segment_limit: Option<i32>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
