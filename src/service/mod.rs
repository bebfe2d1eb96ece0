//! Use cases over the database. Every function takes the [`OrgId`] it acts
//! for and reaches the organization's records through the tenant helpers
//! ([`store::tenant`]), so another organization's records behave exactly
//! like records that do not exist. What the use cases stand on (tenant
//! scoping, pages, batches, locks, leases, rate budgets, decoding) is in
//! [`store`].
//!
//! [`OrgId`]: crate::auth::OrgId

pub mod alerts;
pub mod clients;
mod error;
pub mod export;
pub mod geocoding;
pub mod import_reports;
pub mod imports;
pub mod occupants;
pub mod organizations;
pub mod sectors;
pub mod service_points;
pub mod store;
pub mod webhooks;

pub use error::{LimitReached, ServiceError, UndoRefusal, log_internal};
pub use store::page::*;
pub use store::tenant::*;
