//! Seeing an import's consequences: what it deletes (or would, in a dry
//! run), listed in chunks of deflated JSON beside the per-row report with
//! their position range so that a page reads the chunks it needs; and the
//! sectors' recipients each run gains and loses (deflated JSON); and the
//! file of a run with rows in error, kept to write those rows back
//! (`errors.xlsx`) until retention.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Goes with its run.
fn run_fk(table: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_import_run_id"))
        .from(table, "import_run_id")
        .to("import_run", "id")
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("import_deletion")
                    .col(uuid("import_run_id"))
                    .col(integer("first_index"))
                    .col(integer("last_index"))
                    .col(uuid("organization_id"))
                    .col(blob("records"))
                    .primary_key(Index::create().col("import_run_id").col("first_index"))
                    .foreign_key(&mut run_fk("import_deletion"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("import_source")
                    .col(uuid("import_run_id").primary_key())
                    .col(uuid("organization_id"))
                    .col(blob("bytes"))
                    .col(json("mapping"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut run_fk("import_source"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("import_impact")
                    .col(uuid("import_run_id").primary_key())
                    .col(uuid("organization_id"))
                    .col(blob("data"))
                    .foreign_key(&mut run_fk("import_impact"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["import_impact", "import_source", "import_deletion"] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }
}
