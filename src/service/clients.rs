//! Clients: the contractor's customers, keyed by their id or address, and
//! found by an accent- and case-blind search.

use chrono::Utc;
use entity::{client, service_point};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, QueryFilter, Select, Set,
    sea_query::{Expr, ExprTrait, LikeExpr, Query},
};
use uuid::Uuid;

use super::{ensure_free, on_unique_violation, owned};
use crate::auth::OrgId;
use crate::domain::{
    Field, MAX_IDENTIFIER, MAX_NAME, ValidationError, fold, optional_text, required_text,
    search_key,
};
use crate::service::sectors::points_in;
use crate::service::store::locks::{self, Memberships};
use crate::service::store::tenant::belongs;
use crate::service::{ServiceError, delete_placed, require_owned_locked};
use sea_orm::DatabaseConnection;

#[derive(Clone, Debug, Default)]
pub struct ClientFilter {
    /// Part of the external id or the name, case and accents ignored.
    pub search: Option<String>,
    /// Clients with at least one service point in this sector.
    pub sector_id: Option<Uuid>,
}

/// A change to an optional field: `None` keeps it, `Some(None)` clears it.
pub type Patch<T> = Option<Option<T>>;

/// The organization's clients that `filter` keeps, for `service::list`.
pub fn filtered(org: OrgId, filter: &ClientFilter) -> Select<client::Entity> {
    let mut select = owned::<client::Entity>(org);
    if let Some(search) = filter
        .search
        .as_deref()
        .map(|s| fold(s.trim()))
        .filter(|s| !s.is_empty())
    {
        let escaped = search
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        select = select.filter(
            Expr::col(client::Column::SearchKey)
                .like(LikeExpr::new(format!("%{escaped}%")).escape('\\')),
        );
    }
    if let Some(sector_id) = filter.sector_id {
        select = select.filter(
            client::Column::Id.in_subquery(
                Query::select()
                    .column(service_point::Column::ClientId)
                    .from(service_point::Entity)
                    .and_where(service_point::Column::Id.in_subquery(points_in(sector_id, org)))
                    .take(),
            ),
        );
    }
    select
}

async fn ensure_external_id_free(
    db: &impl ConnectionTrait,
    org: OrgId,
    external_id: &str,
    except: Option<Uuid>,
) -> Result<(), ServiceError> {
    let unique = Condition::all()
        .add(belongs::<client::Entity>(org))
        .add(client::Column::ExternalId.eq(external_id));
    ensure_free::<client::Entity>(db, unique, except, || ValidationError::DuplicateClientId {
        external_id: external_id.to_owned(),
    })
    .await
}

pub async fn create(
    db: &impl ConnectionTrait,
    org: OrgId,
    external_id: &str,
    name: Option<&str>,
) -> Result<client::Model, ServiceError> {
    let external_id = required_text(Field::ClientId, external_id, MAX_IDENTIFIER)?;
    let name = optional_text(Field::ClientName, name, MAX_NAME)?;
    ensure_external_id_free(db, org, &external_id, None).await?;
    let now = Utc::now();
    let model = client::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.uuid()),
        search_key: Set(search_key(&external_id, name.as_deref())),
        external_id: Set(external_id.clone()),
        address_key: Set(None),
        name: Set(name),
        created_at: Set(now),
        updated_at: Set(now),
    };
    model
        .insert(db)
        .await
        .map_err(|e| on_unique_violation(e, ValidationError::DuplicateClientId { external_id }))
}

pub async fn update(
    db: &DatabaseConnection,
    org: OrgId,
    id: Uuid,
    external_id: Option<&str>,
    name: Patch<&str>,
) -> Result<client::Model, ServiceError> {
    let tx = locks::begin_write(db, org).await?;
    let current = require_owned_locked::<client::Entity>(&tx, org, id).await?;
    let external_id = match external_id {
        Some(value) => required_text(Field::ClientId, value, MAX_IDENTIFIER)?,
        None => current.external_id.clone(),
    };
    let name = match name {
        Some(value) => optional_text(Field::ClientName, value, MAX_NAME)?,
        None => current.name.clone(),
    };
    if external_id == current.external_id && name == current.name {
        return Ok(current);
    }
    let renamed = external_id != current.external_id;
    if renamed {
        ensure_external_id_free(&tx, org, &external_id, Some(id)).await?;
    }
    let mut model: client::ActiveModel = current.into();
    if renamed {
        // An identifier given by hand replaces the address as the client's key.
        model.address_key = Set(None);
    }
    model.search_key = Set(search_key(&external_id, name.as_deref()));
    model.external_id = Set(external_id.clone());
    model.name = Set(name);
    model.updated_at = Set(Utc::now());
    let model = model
        .update(&tx)
        .await
        .map_err(|e| on_unique_violation(e, ValidationError::DuplicateClientId { external_id }))?;
    tx.commit().await?;
    Ok(model)
}

/// Deletes the client; its service points, occupants and memberships
/// cascade.
pub async fn delete(db: &DatabaseConnection, org: OrgId, id: Uuid) -> Result<(), ServiceError> {
    delete_placed::<client::Entity>(db, org, id, Memberships::Shared).await
}
