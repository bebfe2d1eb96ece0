//! Black-box tests: the real server over HTTP, one fresh database per test.
//! The whole suite runs on SQLite, and on PostgreSQL when
//! `TEST_DATABASE_URL` is set.

mod alerts;
mod architecture;
mod auth;
mod browser;
mod cli;
mod clients;
mod compiled;
mod concurrency;
mod consent;
mod cors;
mod dataloader;
mod errors;
mod faults;
mod fixtures;
mod geocoding;
mod graphiql;
mod guarded;
mod helpers;
mod hostile;
mod imports;
mod instances;
mod jobs;
mod limits;
mod messaging;
mod occupants;
mod ooxml;
mod pagination;
mod previews;
mod replies;
mod reports;
mod schema;
mod sectors;
mod server;
mod service_points;
mod spreadsheets;
mod tenancy;
mod webhooks;
