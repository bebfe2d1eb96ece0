//! What the black-box tests share, by concern. Everything is re-exported
//! here: tests name `crate::helpers::x`.

mod app;
mod geocoder;
mod graphql;
mod imports;
mod programs;
mod records;
mod twilio;

pub use app::*;
pub use geocoder::*;
pub use graphql::*;
pub use imports::*;
pub use programs::*;
pub use records::*;
pub use twilio::*;
