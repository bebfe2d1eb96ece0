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
    pub status: crate::values::ImportStatus,
    pub phase: crate::values::ImportPhase,
    pub rows_read: i32,
    pub rows_total: Option<i32>,
    pub addresses_to_locate: i32,
    pub addresses_located: i32,
    pub percent: f64,
    pub finished_at: Option<DateTimeUtc>,
    /// While running: until when its executor's lease holds.
    pub claimed_until: Option<DateTimeUtc>,
    /// Scoped to the organization; cleared by the retention pass.
    pub idempotency_key: Option<String>,
    /// SHA-256 of the file and options, to tell a retry from a reuse.
    pub request_hash: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
