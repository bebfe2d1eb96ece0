//! The `message_template` table: an organization's own wording for one
//! channel and language (the default applies where it has none).

use sea_orm::entity::prelude::*;

use crate::values::{ContactMethod, Language};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "message_template")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub channel: ContactMethod,
    #[sea_orm(primary_key, auto_increment = false)]
    pub language: Language,
    /// Minijinja source, checked when saved.
    pub body: String,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
