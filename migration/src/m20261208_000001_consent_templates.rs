//! Consent and templates: each occupant's language, what a phone answered
//! to a consent request, the organization's own wording per channel and
//! language, the replies residents send, and messages that belong to no
//! alert (consent requests).

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261207_000001_alert_dispatch::{
    alert_message_table, create_alert_message_indexes, foreign_key,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too (sea-orm-migration's default there
    /// is none): the table rebuild below is all or nothing, and its
    /// statements run on one connection, in order.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::Cascade;
        manager
            .alter_table(
                Table::alter()
                    .table("occupant")
                    .add_column(string_len("language", 2).default("FR"))
                    .take(),
            )
            .await?;
        // SQLite adds one column per statement.
        for column in [
            string_len("consent", 16).default("UNKNOWN").take(),
            timestamp_with_time_zone_null("consent_requested_at"),
            timestamp_with_time_zone_null("consent_answered_at"),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("phone_consent")
                        .add_column(column)
                        .take(),
                )
                .await?;
        }
        allow_messages_without_alert(manager).await?;
        manager
            .create_table(
                Table::create()
                    .table("message_template")
                    .col(uuid("organization_id"))
                    .col(string_len("channel", 8))
                    .col(string_len("language", 2))
                    .col(text("body"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(
                        Index::create()
                            .col("organization_id")
                            .col("channel")
                            .col("language"),
                    )
                    .foreign_key(&mut foreign_key(
                        "message_template",
                        "organization_id",
                        "organization",
                        "id",
                        Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("inbound_message")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(string_len("from_phone", 16))
                    .col(text("body"))
                    .col(string_len_null("keyword", 16))
                    .col(timestamp_with_time_zone("received_at"))
                    .foreign_key(&mut foreign_key(
                        "inbound_message",
                        "organization_id",
                        "organization",
                        "id",
                        Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_inbound_message_org")
                    .table("inbound_message")
                    .col("organization_id")
                    .col("id")
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["inbound_message", "message_template"] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        for column in ["consent", "consent_requested_at", "consent_answered_at"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("phone_consent")
                        .drop_column(column)
                        .take(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("occupant")
                    .drop_column("language")
                    .take(),
            )
            .await?;
        Ok(())
    }
}

/// `alert_message.alert_id` becomes optional: a consent request is sent
/// like an alert's message (same queue, rate and callbacks) but belongs to
/// no alert. PostgreSQL drops the constraint; SQLite, which cannot alter a
/// column, copies the table into one defined so.
async fn allow_messages_without_alert(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
        db.execute_unprepared("ALTER TABLE alert_message ALTER COLUMN alert_id DROP NOT NULL")
            .await?;
        return Ok(());
    }
    db.execute_unprepared("ALTER TABLE alert_message RENAME TO alert_message_before")
        .await?;
    manager
        .create_table(alert_message_table("alert_message", false))
        .await?;
    db.execute_unprepared("INSERT INTO alert_message SELECT * FROM alert_message_before")
        .await?;
    db.execute_unprepared("DROP TABLE alert_message_before")
        .await?;
    create_alert_message_indexes(manager).await
}
