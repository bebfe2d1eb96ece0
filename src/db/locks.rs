//! Every PostgreSQL advisory lock key of the application, in one place, so
//! that two uses never share one by accident. PostgreSQL has two key
//! spaces: one bigint, or two integers. (SQLite serves one instance with
//! one writer: the callers take its write lock instead.)

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use crate::auth::OrgId;

/// One-bigint keys: constants that read as text ("flokon" and a number),
/// beside the organizations' import keys ([`imports`]), which are UUID
/// halves and so never look like this.
pub const MIGRATIONS: i64 = 0x666c_6f6b_6f6e_0001;
/// Serializes the claims of each work queue (`claims::WorkQueue`).
pub const GEOCODING_CLAIMS: i64 = 0x666c_6f6b_6f6e_0002;
pub const IMPORT_CLAIMS: i64 = 0x666c_6f6b_6f6e_0003;
pub const WEBHOOK_CLAIMS: i64 = 0x666c_6f6b_6f6e_0004;
pub const MESSAGE_CLAIMS: i64 = 0x666c_6f6b_6f6e_0005;

/// The organization's import key (one import at a time): the last half of
/// its UUID, random in a UUIDv7.
pub fn imports(org: OrgId) -> i64 {
    let bytes = org.uuid().into_bytes();
    i64::from_be_bytes([
        bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15],
    ])
}

/// Two-integer keys: a namespace, then the organization's 32-bit key.
pub fn memberships(org: OrgId) -> (i32, i32) {
    (1, org_key(org))
}

pub fn import_runs(org: OrgId) -> (i32, i32) {
    (2, org_key(org))
}

/// Alerts starting and ending: once per occupant per day and the monthly
/// segment budget are read, then written, under it.
pub fn alerts(org: OrgId) -> (i32, i32) {
    (3, org_key(org))
}

/// An organization as a 32-bit key: UUIDv7's last bytes are random, so
/// two organizations rarely share one, and sharing only serializes more.
fn org_key(org: OrgId) -> i32 {
    let bytes = org.uuid().into_bytes();
    i32::from_be_bytes([bytes[12], bytes[13], bytes[14], bytes[15]])
}

/// PostgreSQL: waits for the advisory lock `key`, held until the
/// transaction ends.
pub async fn advisory_xact_lock(tx: &impl ConnectionTrait, key: i64) -> Result<(), DbErr> {
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock($1)",
        [key.into()],
    ))
    .await?;
    Ok(())
}
