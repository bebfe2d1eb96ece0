//! The `import_source` table.

use sea_orm::entity::prelude::*;

/// The file of a run that had rows in error, with the column mapping it
/// was read with: `GET /imports/{id}/errors.xlsx` writes those rows back
/// from it, in the file's own columns. Purged after the retention period.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "import_source")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub import_run_id: Uuid,
    pub organization_id: Uuid,
    pub bytes: Vec<u8>,
    pub mapping: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
