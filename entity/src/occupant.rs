//! The `occupant` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "occupant")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub service_point_id: Uuid,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Normalized `418-555-0123`; unique per service point.
    pub phone: String,
    pub contact_method: crate::values::ContactMethod,
    pub notes: Option<String>,
    /// What the occupant is written to and spoken to in (undo snapshots
    /// taken before it existed read as French).
    #[serde(default)]
    pub language: crate::values::Language,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
