//! The `import_impact` table.

use sea_orm::entity::prelude::*;

/// Who gains or loses each sector's alerts with a run (dry run or not),
/// deflated JSON (the codec is `flokon_api::import::report`), purged with
/// the run's report.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "import_impact")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub import_run_id: Uuid,
    pub organization_id: Uuid,
    pub data: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
