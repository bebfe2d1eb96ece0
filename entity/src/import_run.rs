//! The `import_run` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "import_run")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub mode: crate::values::ImportMode,
    pub file_name: String,
    pub dry_run: bool,
    pub committed: bool,
    pub undone: bool,
    /// Commit order within the organization; `None` when not committed.
    pub commit_seq: Option<i64>,
    pub created_at: DateTimeUtc,
    pub summary: Json,
    pub file_errors: Json,
    pub file_warnings: Json,
    pub columns: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
