//! The `geocode_cache` table.

use sea_orm::entity::prelude::*;

/// Shared by all organizations on purpose: an address's position is public
/// knowledge, and the cache stores nothing but that.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "geocode_cache")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub provider: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub address_key: String,
    /// OK, APPROXIMATE or NOT_FOUND.
    pub status: crate::values::GeocodeStatus,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub created_at: DateTimeUtc,
    /// Negative results expire so that a fixed map gets asked again.
    pub expires_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
