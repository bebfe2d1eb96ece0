//! The `client` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "client")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// Unique within the organization.
    pub external_id: String,
    /// Set when the client has no identifier of its own and is keyed by its
    /// normalized address (its `external_id` is then the address as written).
    pub address_key: Option<String>,
    pub name: Option<String>,
    /// Case- and accent-folded `external_id` and `name`, for portable search.
    pub search_key: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
