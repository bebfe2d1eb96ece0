//! The `import_report` table.

use sea_orm::entity::prelude::*;

/// Consecutive rows of an import's per-row report, deflated JSON (the
/// codec is `flokon_api::import::report`), with how many rows of each
/// status they hold, so that pages and totals by status need not decode
/// chunks without such rows. The record ids inside are not foreign keys:
/// the report outlives the records it names.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "import_report")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub import_run_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub first_row: i32,
    pub last_row: i32,
    pub organization_id: Uuid,
    pub created_rows: i32,
    pub updated_rows: i32,
    pub unchanged_rows: i32,
    pub skipped_rows: i32,
    pub error_rows: i32,
    pub rows: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
