//! The `import_upload` table: a queued import's file and options, kept
//! until the run has run.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "import_upload")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub import_run_id: Uuid,
    pub organization_id: Uuid,
    #[sea_orm(column_type = "Blob")]
    pub bytes: Vec<u8>,
    pub skip_invalid_rows: bool,
    /// The `columns` argument, as given.
    pub mapping: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
