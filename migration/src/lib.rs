//! Database migrations, one file per change. Run at `serve` start and by
//! `flokon-api migrate`; written with sea-query so the same file serves
//! SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_initial;
mod m20261201_000001_import_claim;
mod m20261201_000002_import_order;
mod m20261201_000003_geocode_work;
mod m20261202_000001_import_jobs;
mod m20261202_000002_webhooks;
mod m20261203_000001_position_index;
mod m20261203_000002_import_report;
mod m20261207_000001_alert_dispatch;
mod m20261208_000001_consent_templates;
mod m20261208_000002_import_previews;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_initial::Migration),
            Box::new(m20261201_000001_import_claim::Migration),
            Box::new(m20261201_000002_import_order::Migration),
            Box::new(m20261201_000003_geocode_work::Migration),
            Box::new(m20261202_000001_import_jobs::Migration),
            Box::new(m20261202_000002_webhooks::Migration),
            Box::new(m20261203_000001_position_index::Migration),
            Box::new(m20261203_000002_import_report::Migration),
            Box::new(m20261207_000001_alert_dispatch::Migration),
            Box::new(m20261208_000001_consent_templates::Migration),
            Box::new(m20261208_000002_import_previews::Migration),
        ]
    }
}
