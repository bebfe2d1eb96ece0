//! The `webhook_endpoint` table: where an organization wants its events.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoint")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub url: String,
    /// The events it takes, as their names (`import.finished`...).
    pub events: Json,
    pub description: Option<String>,
    pub enabled: bool,
    /// `whsec_...`: kept so it can sign; never returned after creation or
    /// rotation.
    pub secret: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
