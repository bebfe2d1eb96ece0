//! The `import_deletion` table.

use sea_orm::entity::prelude::*;

/// What a run deletes (or would), positions `first_index..=last_index`
/// (from 1) of its list, deflated JSON (the codec is
/// `flokon_api::import::report`). Like the report, it outlives the records
/// it names: it is all that is left of them.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "import_deletion")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub import_run_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub first_index: i32,
    pub last_index: i32,
    pub organization_id: Uuid,
    pub records: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
