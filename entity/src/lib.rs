//! SeaORM entities: one module a table, nothing else. The API wraps these in
//! its own GraphQL types so the tables never leak into the public contract.

pub mod alert_message;
pub mod alert_settings;
pub mod api_token;
pub mod client;
pub mod geocode_cache;
pub mod geocode_work;
pub mod import_claim;
pub mod import_deletion;
pub mod import_impact;
pub mod import_report;
pub mod import_run;
pub mod import_snapshot;
pub mod import_source;
pub mod import_upload;
pub mod inbound_message;
pub mod message_template;
pub mod occupant;
pub mod organization;
pub mod phone_consent;
pub mod sector;
pub mod sector_alert;
pub mod sector_membership;
pub mod service_point;
pub mod values;
pub mod webhook_delivery;
pub mod webhook_endpoint;
pub mod worker_lease;
