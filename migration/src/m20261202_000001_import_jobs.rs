//! Imports as jobs: every run has a status and live progress, a lease while
//! it runs (so a run whose instance died is declared failed), an optional
//! idempotency key; queued runs keep their upload until they have run; and
//! a named lease per periodic chore (the retention pass) so one instance of
//! the deployment does it at a time.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column at a time: SQLite adds one per ALTER TABLE.
        let columns = [
            string_len("status", 16).default("FINISHED").take(),
            string_len("phase", 16).default("DONE").take(),
            integer("rows_read").default(0).take(),
            integer_null("rows_total").take(),
            integer("addresses_to_locate").default(0).take(),
            integer("addresses_located").default(0).take(),
            double("percent").default(100.0).take(),
            timestamp_with_time_zone_null("finished_at").take(),
            timestamp_with_time_zone_null("claimed_until").take(),
            string_len_null("idempotency_key", 255).take(),
            string_len_null("request_hash", 64).take(),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table("import_run")
                        .add_column(&mut column)
                        .take(),
                )
                .await?;
        }
        manager
            .get_connection()
            .execute_unprepared("UPDATE import_run SET finished_at = created_at")
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_import_run_org_idempotency_key")
                    .table("import_run")
                    .col("organization_id")
                    .col("idempotency_key")
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_import_run_status_claimed")
                    .table("import_run")
                    .col("status")
                    .col("claimed_until")
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("import_upload")
                    .col(uuid("import_run_id").primary_key())
                    .col(uuid("organization_id"))
                    .col(blob("bytes"))
                    .col(boolean("skip_invalid_rows"))
                    .col(json("mapping"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_import_upload_import_run_id")
                            .from("import_upload", "import_run_id")
                            .to("import_run", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("worker_lease")
                    .col(string_len("name", 64).primary_key())
                    .col(uuid("holder"))
                    .col(timestamp_with_time_zone("claimed_until"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["worker_lease", "import_upload"] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        for index in [
            "ux_import_run_org_idempotency_key",
            "ix_import_run_status_claimed",
        ] {
            manager
                .drop_index(Index::drop().name(index).table("import_run").to_owned())
                .await?;
        }
        for column in [
            "status",
            "phase",
            "rows_read",
            "rows_total",
            "addresses_to_locate",
            "addresses_located",
            "percent",
            "finished_at",
            "claimed_until",
            "idempotency_key",
            "request_hash",
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("import_run")
                        .drop_column(column)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }
}
