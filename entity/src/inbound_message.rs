//! The `inbound_message` table: what residents texted back, kept for the
//! organization they answer (the one that last wrote to them), whether it
//! was a keyword or not.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inbound_message")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// As occupants hold it (`418-555-0123`).
    pub from_phone: String,
    pub body: String,
    /// What the reply did (`OPT_OUT`, `OPT_IN`, `ACCEPTED`, `DECLINED`,
    /// `HELP`); null for text that is none of them, never acted on.
    pub keyword: Option<String>,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
