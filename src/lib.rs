//! flokon-api: the GraphQL API that loads a snow-removal contractor's
//! customers from spreadsheets and tells who to alert in a sector.
//!
//! Layers point down only: `domain` ← `import` ← `service` ←
//! `graphql`/`routes` ← `app`. `entity`/`migration` (crates) define the
//! tables; `auth`, `config`, `db` serve every layer.

/// Startup, router and middleware.
pub mod app;
/// Bearer tokens → the organization a request acts for.
pub mod auth;
/// The command line: parsing and every command (serve, import, org...).
pub mod cli;
/// Settings (flags and environment variables), plain values.
pub mod config;
/// Connecting and migrating, on SQLite and PostgreSQL.
pub mod db;
/// Validated values (phone, address, postal code...), valid by construction.
pub mod domain;
/// The API error boundary: one error type, one mapping to codes.
pub mod error;
/// Geocoding providers behind one trait, with rate limit and retries.
pub mod geocode;
/// The GraphQL schema: thin resolvers over the services.
pub mod graphql;
/// The spreadsheet import pipeline, pure: read, recognize, validate, plan.
pub mod import;
/// Sending one alert by SMS or call: the provider trait, Twilio, `log`.
pub mod messaging;
/// HTTP handlers other than the schema's resolvers.
pub mod routes;
/// Sector geometry: GeoJSON validated, point-in-polygon tests.
pub mod sector;
/// Use cases over the database, scoped by organization.
pub mod service;
/// The template and export spreadsheets.
pub mod spreadsheet;
/// Sending webhooks: signatures, and no request to private addresses.
pub mod webhook;
/// Background work: one runner for every worker (geocoding, queued
/// imports, webhook deliveries, retention).
pub mod worker;
