//! Alert dispatch's use cases: the organization's rules ([`settings`]),
//! the outbox written when an alert starts ([`outbox`]), what the worker
//! does to each message and what callbacks change ([`sending`]), what
//! residents' replies change ([`inbound`]), consent requests
//! ([`consent`]), what messages say ([`wording`]), and what the contractor
//! reads ([`reads`]).

pub mod consent;
pub mod inbound;
pub mod outbox;
pub mod reads;
pub mod sending;
pub mod settings;
pub mod wording;

/// PostgreSQL's channel for "messages are due".
pub const CHANNEL: &str = "flokon_alert_messages";
