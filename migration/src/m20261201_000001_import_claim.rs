//! One import per organization at a time, on every instance: a claim row
//! with a lease, taken before the file is parsed and renewed while the
//! import runs, so a dead instance's claim lapses by itself.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("import_claim")
                    .col(uuid("organization_id").primary_key())
                    .col(uuid("holder"))
                    .col(timestamp_with_time_zone("claimed_until"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_import_claim_organization_id")
                            .from("import_claim", "organization_id")
                            .to("organization", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("import_claim").take())
            .await
    }
}
