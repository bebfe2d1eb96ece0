//! The `geocode_work` table: the worker's claim on a waiting point, and its
//! retry schedule.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "geocode_work")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub service_point_id: Uuid,
    /// Lookups that settled nothing (failed or deferred) in a row.
    pub attempts: i32,
    pub next_attempt_at: Option<DateTimeUtc>,
    pub claimed_until: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
