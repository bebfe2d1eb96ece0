//! Tenants and their tokens: the operator's side, driven by the CLI.

use chrono::Utc;
use entity::{api_token, organization};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use uuid::Uuid;

use crate::auth::{OrgId, generate_token, hash_token};
use crate::domain::{Field, MAX_IDENTIFIER, required_text};
use crate::service::ServiceError;
use crate::service::store::tenant::belongs;

/// A token as shown once, at creation.
#[derive(Debug)]
pub struct IssuedToken {
    pub id: Uuid,
    pub token: String,
}

pub async fn count(db: &impl ConnectionTrait) -> Result<u64, ServiceError> {
    Ok(organization::Entity::find().count(db).await?)
}

/// The organization with this id, if there is one: how the operator's
/// command line names a tenant.
pub async fn named(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<OrgId>, ServiceError> {
    let found = organization::Entity::find_by_id(id).one(db).await?;
    Ok(found.as_ref().map(OrgId::owning))
}

/// The organization's name: the company its alerts and answers speak for.
pub async fn name(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<String>, sea_orm::DbErr> {
    let found = organization::Entity::find_by_id(id).one(db).await?;
    Ok(found.map(|o| o.name))
}

/// Creates an organization and its first token.
pub async fn create(
    db: &impl ConnectionTrait,
    name: &str,
) -> Result<(organization::Model, IssuedToken), ServiceError> {
    let name = required_text(Field::ClientName, name, MAX_IDENTIFIER)?;
    let org = organization::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        created_at: Set(Utc::now()),
        import_seq: Set(0),
    }
    .insert(db)
    .await?;
    let token = create_token(db, OrgId::owning(&org), Some("first token")).await?;
    Ok((org, token))
}

pub async fn create_token(
    db: &impl ConnectionTrait,
    org: OrgId,
    label: Option<&str>,
) -> Result<IssuedToken, ServiceError> {
    if organization::Entity::find_by_id(org.uuid())
        .one(db)
        .await?
        .is_none()
    {
        return Err(ServiceError::NotFound);
    }
    let (token, hash) = generate_token();
    let model = api_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.uuid()),
        token_hash: Set(hash),
        label: Set(label.map(str::to_owned)),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(IssuedToken {
        id: model.id,
        token,
    })
}

/// Revokes a token named by its id or by its value.
pub async fn revoke_token(
    db: &impl ConnectionTrait,
    id_or_token: &str,
) -> Result<api_token::Model, ServiceError> {
    let column_match = match Uuid::parse_str(id_or_token) {
        Ok(id) => api_token::Column::Id.eq(id),
        Err(_) => api_token::Column::TokenHash.eq(hash_token(id_or_token)),
    };
    let found = api_token::Entity::find()
        .filter(column_match)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if found.revoked_at.is_some() {
        return Ok(found);
    }
    let mut model: api_token::ActiveModel = found.into();
    model.revoked_at = Set(Some(Utc::now()));
    Ok(model.update(db).await?)
}

pub async fn list_tokens(
    db: &impl ConnectionTrait,
    org: OrgId,
) -> Result<Vec<api_token::Model>, ServiceError> {
    Ok(api_token::Entity::find()
        .filter(belongs::<api_token::Entity>(org))
        .order_by_asc(api_token::Column::Id)
        .all(db)
        .await?)
}
