//! Validated domain values shared by the manual API and the importer: a value
//! of these types is valid by construction, and every failure is a
//! [`ValidationError`] with a stable code and a French and English message.

mod address;
mod clock;
mod contact;
mod duration;
mod error;
pub mod global_id;
mod lang;
mod phone;
mod postal;
mod text;

pub use address::{Address, Coordinates, full_address};
pub use clock::Clock;
pub use contact::{ContactMethod, Language, parse_contact_method, parse_language};
pub use duration::parse_duration;
pub use entity::values::{GeocodeStatus, ImportMode, RowStatus};
pub use error::{Field, ValidationError};
pub use lang::Lang;
pub use phone::{Phone, PhoneError};
pub use postal::{PostalCode, Province};
pub use text::{clean, fold, optional_text, required_text, search_key};

/// Length limits of text fields, in characters: names, notes, identifiers
/// (client numbers, organization names).
pub const MAX_NAME: usize = 100;
pub const MAX_NOTES: usize = 2_000;
pub const MAX_IDENTIFIER: usize = 200;
