//! The whole first data model: tenants and tokens, clients → service
//! points → occupants, sectors and their memberships and alerts, the shared
//! geocode cache, and import runs with their row reports and undo snapshots.
//!
//! Every tenant table carries `organization_id`, and every key a query filters
//! or joins on has an index. Children cascade from their parents, so deleting
//! a client removes its points and occupants in the database itself.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A cascading foreign key from `table.column` to `target.id`.
fn fk(
    table: &'static str,
    column: &'static str,
    target: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(table, column)
        .to(target, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

fn index(
    table: &'static str,
    name: &str,
    columns: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(format!("ix_{table}_{name}")).table(table);
    for column in columns {
        stmt.col(*column);
    }
    if unique {
        stmt.unique();
    }
    stmt.take()
}

fn tenant_table(name: &'static str) -> TableCreateStatement {
    Table::create()
        .table(name)
        .col(pk_uuid("id"))
        .col(uuid("organization_id"))
        .foreign_key(&mut fk(name, "organization_id", "organization"))
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("organization")
                    .col(pk_uuid("id"))
                    .col(string_len("name", 200))
                    .col(timestamp_with_time_zone("created_at"))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                tenant_table("api_token")
                    .col(string_len_uniq("token_hash", 64))
                    .col(string_len_null("label", 200))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index("api_token", "org", &["organization_id"], false))
            .await?;

        manager
            .create_table(
                tenant_table("client")
                    .col(string_len("external_id", 400))
                    .col(string_len_null("address_key", 400))
                    .col(string_len_null("name", 200))
                    .col(text("search_key"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "client",
                "org_external_id",
                &["organization_id", "external_id"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "client",
                "org_address_key",
                &["organization_id", "address_key"],
                false,
            ))
            .await?;
        manager
            .create_index(index("client", "org_id", &["organization_id", "id"], false))
            .await?;

        manager
            .create_table(
                tenant_table("service_point")
                    .col(uuid("client_id"))
                    .col(string_len("address_line1", 400))
                    .col(string_len_null("city", 200))
                    .col(string_len_null("province", 2))
                    .col(string_len_null("postal_code", 7))
                    .col(string_len("address_key", 1000))
                    .col(double_null("latitude"))
                    .col(double_null("longitude"))
                    .col(string_len("geocode_status", 16))
                    .col(string_len_null("geocode_provider", 32))
                    .col(timestamp_with_time_zone_null("geocoded_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("service_point", "client_id", "client"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "service_point",
                "client_address",
                &["client_id", "address_key"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "service_point",
                "org_id",
                &["organization_id", "id"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "service_point",
                "org_status",
                &["organization_id", "geocode_status"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "service_point",
                "org_address_key",
                &["organization_id", "address_key"],
                false,
            ))
            .await?;
        // The bounding-box prefilter of sector membership.
        manager
            .create_index(index(
                "service_point",
                "org_latitude",
                &["organization_id", "latitude", "longitude"],
                false,
            ))
            .await?;

        manager
            .create_table(
                tenant_table("occupant")
                    .col(uuid("service_point_id"))
                    .col(string_len_null("first_name", 200))
                    .col(string_len_null("last_name", 200))
                    .col(string_len("phone", 12))
                    .col(string_len("contact_method", 8))
                    .col(text_null("notes"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("occupant", "service_point_id", "service_point"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "occupant",
                "point_phone",
                &["service_point_id", "phone"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "occupant",
                "org_id",
                &["organization_id", "id"],
                false,
            ))
            .await?;

        manager
            .create_table(
                tenant_table("sector")
                    .col(string_len("name", 200))
                    .col(json("geometry"))
                    .col(double("min_latitude"))
                    .col(double("min_longitude"))
                    .col(double("max_latitude"))
                    .col(double("max_longitude"))
                    .col(boolean("alert_active").default(false))
                    .col(timestamp_with_time_zone_null("alert_started_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index("sector", "org_id", &["organization_id", "id"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("sector_membership")
                    .col(uuid("sector_id"))
                    .col(uuid("service_point_id"))
                    .col(uuid("organization_id"))
                    .primary_key(Index::create().col("sector_id").col("service_point_id"))
                    .foreign_key(&mut fk("sector_membership", "sector_id", "sector"))
                    .foreign_key(&mut fk(
                        "sector_membership",
                        "service_point_id",
                        "service_point",
                    ))
                    // No key to the organization: the sector and the point
                    // already cascade from it, and each key costs a check
                    // per row on every recomputation.
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "sector_membership",
                "point",
                &["service_point_id"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "sector_membership",
                "org",
                &["organization_id"],
                false,
            ))
            .await?;

        manager
            .create_table(
                tenant_table("sector_alert")
                    .col(uuid("sector_id"))
                    .col(timestamp_with_time_zone("started_at"))
                    .col(timestamp_with_time_zone_null("ended_at"))
                    .col(integer("recipients_count"))
                    .foreign_key(&mut fk("sector_alert", "sector_id", "sector"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "sector_alert",
                "sector_started",
                &["sector_id", "started_at"],
                false,
            ))
            .await?;
        manager
            .create_index(index("sector_alert", "org", &["organization_id"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("geocode_cache")
                    .col(string_len("provider", 32))
                    .col(string_len("address_key", 1000))
                    .col(string_len("status", 16))
                    .col(double_null("latitude"))
                    .col(double_null("longitude"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("expires_at"))
                    .primary_key(Index::create().col("provider").col("address_key"))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                tenant_table("import_run")
                    .col(string_len("mode", 32))
                    .col(string_len("file_name", 400))
                    .col(boolean("dry_run"))
                    .col(boolean("committed"))
                    .col(boolean("undone").default(false))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(json("summary"))
                    .col(json("file_errors"))
                    .col(json("file_warnings"))
                    .col(json("columns"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "import_run",
                "org_created",
                &["organization_id", "created_at"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("import_row")
                    .col(uuid("import_run_id"))
                    .col(integer("row_number"))
                    .col(uuid("organization_id"))
                    .col(string_len("status", 16))
                    .col(json("errors"))
                    .col(json("warnings"))
                    .col(uuid_null("client_id"))
                    .col(uuid_null("service_point_id"))
                    .col(uuid_null("occupant_id"))
                    .primary_key(Index::create().col("import_run_id").col("row_number"))
                    .foreign_key(&mut fk("import_row", "import_run_id", "import_run"))
                    // No key to the organization: the run already cascades from it, and
                    // a check per report row is what a 100,000-row import cannot afford.
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "import_row",
                "run_status",
                &["import_run_id", "status", "row_number"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("import_snapshot")
                    .col(uuid("import_run_id").primary_key())
                    .col(uuid("organization_id"))
                    .col(text("data"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("import_snapshot", "import_run_id", "import_run"))
                    .foreign_key(&mut fk(
                        "import_snapshot",
                        "organization_id",
                        "organization",
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index("import_snapshot", "org", &["organization_id"], false))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "import_snapshot",
            "import_row",
            "import_run",
            "geocode_cache",
            "sector_alert",
            "sector_membership",
            "sector",
            "occupant",
            "service_point",
            "client",
            "api_token",
            "organization",
        ] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }
}
