//! Imports in commit order: a per-organization sequence, advanced under the
//! import lock when an import commits, decides what undo may restore. Run
//! ids come from each host's clock and cannot.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("organization")
                    .add_column(big_integer("import_seq").default(0))
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("import_run")
                    .add_column(big_integer_null("commit_seq"))
                    .take(),
            )
            .await?;
        // Runs committed so far, in the order their ids give (one host).
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE import_run SET commit_seq = (SELECT COUNT(*) FROM import_run earlier \
             WHERE earlier.organization_id = import_run.organization_id \
             AND earlier.committed AND earlier.id <= import_run.id) WHERE committed",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE organization SET import_seq = (SELECT COALESCE(MAX(commit_seq), 0) \
             FROM import_run WHERE import_run.organization_id = organization.id)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("import_run")
                    .drop_column("commit_seq")
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("organization")
                    .drop_column("import_seq")
                    .take(),
            )
            .await
    }
}
