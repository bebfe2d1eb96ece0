//! The `sector_alert` table.

use sea_orm::entity::prelude::*;

/// One alert of a sector, from start to end, for the history.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sector_alert")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub sector_id: Uuid,
    pub started_at: DateTimeUtc,
    pub ended_at: Option<DateTimeUtc>,
    pub recipients_count: i32,
    /// A one-off text instead of the organization's template.
    pub message: Option<String>,
    /// When its last message left our hands (`alert.dispatch.finished`
    /// was announced then, once).
    pub dispatched_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
