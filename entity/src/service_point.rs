//! The `service_point` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "service_point")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub client_id: Uuid,
    pub address_line1: String,
    pub city: Option<String>,
    pub province: Option<String>,
    pub postal_code: Option<String>,
    /// Normalized address: unique per client, and the geocode cache key.
    pub address_key: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub geocode_status: crate::values::GeocodeStatus,
    pub geocode_provider: Option<String>,
    pub geocoded_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
