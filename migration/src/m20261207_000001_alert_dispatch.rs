//! Alert dispatch: the outbox of messages (one per alert and recipient
//! phone, claimed by any instance's worker), each organization's sending
//! rules, what phones said (unsubscribed), and on each alert its one-off
//! text and when its dispatch finished.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

pub(crate) fn foreign_key(
    from: &'static str,
    column: &'static str,
    to: &'static str,
    to_column: &'static str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{from}_{column}"))
        .from(from, column)
        .to(to, to_column)
        .on_delete(on_delete)
        .take()
}

/// The `alert_message` table as first created (`alert_required`), or as
/// consent requests need it: a message that belongs to no alert.
pub(crate) fn alert_message_table(name: &str, alert_required: bool) -> TableCreateStatement {
    use ForeignKeyAction::{Cascade, SetNull};
    Table::create()
        .table(name.to_owned())
        .col(uuid("id").primary_key())
        .col(uuid("organization_id"))
        .col(if alert_required {
            uuid("alert_id")
        } else {
            uuid_null("alert_id")
        })
        .col(uuid_null("occupant_id"))
        .col(string_len_null("to_phone", 16))
        .col(string_len("channel", 8))
        .col(string_len("language", 2))
        .col(text("body"))
        .col(string_len_null("encoding", 8))
        .col(integer_null("segments"))
        .col(string_len("status", 16))
        .col(string_len_null("skip_reason", 32))
        .col(string_len_null("provider_id", 64))
        .col(string_len_null("sender", 32))
        .col(string_len_null("error_code", 32))
        .col(integer("attempts").default(0))
        .col(timestamp_with_time_zone_null("next_attempt_at"))
        .col(timestamp_with_time_zone_null("claimed_until"))
        .col(timestamp_with_time_zone_null("scheduled_for"))
        .col(timestamp_with_time_zone_null("sent_at"))
        .col(timestamp_with_time_zone_null("delivered_at"))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("updated_at"))
        .foreign_key(&mut foreign_key(
            "alert_message",
            "alert_id",
            "sector_alert",
            "id",
            Cascade,
        ))
        .foreign_key(&mut foreign_key(
            "alert_message",
            "occupant_id",
            "occupant",
            "id",
            SetNull,
        ))
        .take()
}

/// The indexes of `alert_message`.
pub(crate) async fn create_alert_message_indexes(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    // One message per phone and alert (NULLs, purged phones, are
    // distinct on both databases); callbacks find theirs by the
    // provider's id; the worker reads what is due, and the calls whose
    // lease lapsed (never scanning the messages the provider took); an
    // alert's pages, counts and whether it still holds one in hand
    // read its own rows only; the contractor searches by phone across
    // alerts.
    for (name, columns, unique) in [
        (
            "ux_alert_message_phone",
            &["alert_id", "to_phone"][..],
            true,
        ),
        ("ux_alert_message_provider", &["provider_id"][..], true),
        (
            "ix_alert_message_due",
            &["status", "next_attempt_at", "id"][..],
            false,
        ),
        (
            "ix_alert_message_lease",
            &["status", "claimed_until"][..],
            false,
        ),
        ("ix_alert_message_alert", &["alert_id", "id"][..], false),
        (
            "ix_alert_message_alert_status",
            &["alert_id", "status", "claimed_until"][..],
            false,
        ),
        (
            "ix_alert_message_to",
            &["organization_id", "to_phone", "created_at"][..],
            false,
        ),
        ("ix_alert_message_occupant", &["occupant_id"][..], false),
    ] {
        let mut index = Index::create();
        index.name(name).table("alert_message");
        for column in columns {
            index.col(*column);
        }
        if unique {
            index.unique();
        }
        manager.create_index(index.take()).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::Cascade;
        manager
            .create_table(alert_message_table("alert_message", true))
            .await?;
        create_alert_message_indexes(manager).await?;
        manager
            .create_table(
                Table::create()
                    .table("alert_settings")
                    .col(uuid("organization_id").primary_key())
                    .col(boolean("enabled"))
                    .col(string_len("send_from", 5))
                    .col(string_len("send_until", 5))
                    .col(string_len("time_zone", 64))
                    .col(boolean("once_per_day"))
                    .col(boolean("require_consent"))
                    .col(integer_null("monthly_segment_limit"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut foreign_key(
                        "alert_settings",
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
                    .table("phone_consent")
                    .col(uuid("organization_id"))
                    .col(string_len("phone", 16))
                    .col(timestamp_with_time_zone_null("opted_out_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(Index::create().col("organization_id").col("phone"))
                    .foreign_key(&mut foreign_key(
                        "phone_consent",
                        "organization_id",
                        "organization",
                        "id",
                        Cascade,
                    ))
                    .take(),
            )
            .await?;
        // SQLite adds one column per statement.
        for column in [
            text_null("message"),
            timestamp_with_time_zone_null("dispatched_at"),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("sector_alert")
                        .add_column(column)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["message", "dispatched_at"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("sector_alert")
                        .drop_column(column)
                        .take(),
                )
                .await?;
        }
        for table in ["phone_consent", "alert_settings", "alert_message"] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }
}
