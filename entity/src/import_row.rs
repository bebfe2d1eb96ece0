//! The `import_row` table.

use sea_orm::entity::prelude::*;

/// One line of an import's per-row report. The record ids are not foreign
/// keys: the report outlives the records it names.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "import_row")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub import_run_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub row_number: i32,
    pub organization_id: Uuid,
    pub status: crate::values::RowStatus,
    pub errors: Json,
    pub warnings: Json,
    pub client_id: Option<Uuid>,
    pub service_point_id: Option<Uuid>,
    pub occupant_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
