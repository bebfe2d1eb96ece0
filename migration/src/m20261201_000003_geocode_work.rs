//! The geocoding worker's bookkeeping, apart from the points themselves:
//! who has claimed a waiting point and until when (so instances never ask
//! for the same address at once, and a dead instance's claim lapses), how
//! often it failed and when to try again (growing delays); and the
//! deployment's request budget for a rate-limited provider.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("geocode_work")
                    .col(uuid("service_point_id").primary_key())
                    .col(integer("attempts").default(0))
                    .col(timestamp_with_time_zone_null("next_attempt_at"))
                    .col(timestamp_with_time_zone_null("claimed_until"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_geocode_work_service_point_id")
                            .from("geocode_work", "service_point_id")
                            .to("service_point", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("rate_budget")
                    .col(string_len("name", 64).primary_key())
                    .col(timestamp_with_time_zone("next_at"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["rate_budget", "geocode_work"] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }
}
