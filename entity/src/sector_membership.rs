//! The `sector_membership` table.

use sea_orm::entity::prelude::*;

/// Which service point lies in which sector, kept up to date on every change
/// so that "by sector" reads are plain indexed lookups.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sector_membership")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub sector_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub service_point_id: Uuid,
    pub organization_id: Uuid,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
