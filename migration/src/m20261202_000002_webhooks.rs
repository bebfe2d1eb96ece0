//! Webhooks: endpoints per organization, and the outbox of deliveries,
//! written in the transaction of the change they announce, sent and
//! retried by any instance's worker under a lease.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn cascade(
    from: &'static str,
    column: &'static str,
    to: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{from}_{column}"))
        .from(from, column)
        .to(to, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("webhook_endpoint")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(string_len("url", 2048))
                    .col(json("events"))
                    .col(string_len_null("description", 400))
                    .col(boolean("enabled"))
                    .col(string_len("secret", 128))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut cascade(
                        "webhook_endpoint",
                        "organization_id",
                        "organization",
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_endpoint_org")
                    .table("webhook_endpoint")
                    .col("organization_id")
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("webhook_delivery")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(uuid("endpoint_id"))
                    .col(string_len("event", 32))
                    .col(text("payload"))
                    .col(string_len("status", 16))
                    .col(integer("attempts").default(0))
                    .col(integer_null("last_status_code"))
                    .col(string_len_null("last_error", 400))
                    .col(timestamp_with_time_zone_null("next_attempt_at"))
                    .col(timestamp_with_time_zone_null("claimed_until"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("delivered_at"))
                    .foreign_key(&mut cascade(
                        "webhook_delivery",
                        "endpoint_id",
                        "webhook_endpoint",
                    ))
                    .take(),
            )
            .await?;
        for (name, columns) in [
            (
                "ix_webhook_delivery_due",
                &["status", "next_attempt_at"][..],
            ),
            ("ix_webhook_delivery_endpoint", &["endpoint_id", "id"][..]),
        ] {
            let mut index = Index::create();
            index.name(name).table("webhook_delivery");
            for column in columns {
                index.col(*column);
            }
            manager.create_index(index.take()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["webhook_delivery", "webhook_endpoint"] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }
}
