//! The points' positions read from their index alone. Placing every point
//! in sectors (after an undo) reads all of an organization's ids and
//! coordinates, and the sector prefilter those in a bounding box: with the
//! id in the index, neither visits the table. On SQLite, whose page cache
//! is small, the visits were most of a full recomputation (one random table
//! lookup per point: 100,000 points, about a second).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD: &str = "ix_service_point_org_latitude";
const NEW: &str = "ix_service_point_org_position";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NEW)
                    .table("service_point")
                    .col("organization_id")
                    .col("latitude")
                    .col("longitude")
                    .col("id")
                    .take(),
            )
            .await?;
        manager
            .drop_index(Index::drop().name(OLD).table("service_point").to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(OLD)
                    .table("service_point")
                    .col("organization_id")
                    .col("latitude")
                    .col("longitude")
                    .take(),
            )
            .await?;
        manager
            .drop_index(Index::drop().name(NEW).table("service_point").to_owned())
            .await
    }
}
