//! The `import_snapshot` table.

use sea_orm::entity::prelude::*;

/// The organization's clients, service points and occupants as they were
/// before a destructive import, for `undoImport`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "import_snapshot")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub import_run_id: Uuid,
    pub organization_id: Uuid,
    /// The records as JSON text: written and read whole, never queried.
    pub data: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
