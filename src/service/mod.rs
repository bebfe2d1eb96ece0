//! Use cases over the database. Every function takes the [`OrgId`] it acts
//! for and filters on it, so another organization's records behave exactly
//! like records that do not exist.
//!
//! [`OrgId`]: crate::auth::OrgId

pub mod batch;
pub mod claims;
pub mod clients;
mod error;
pub mod export;
pub mod geocode_worker;
pub mod geocoding;
pub mod import_reports;
pub mod imports;
pub mod locks;
pub mod occupants;
pub mod organizations;
pub mod positional;
pub mod rate_budget;
pub mod retention;
pub mod sectors;
pub mod service_points;
pub mod webhooks;

use std::collections::HashMap;

use entity::{
    client, import_run, import_snapshot, occupant, sector, sector_membership, service_point,
    webhook_delivery, webhook_endpoint,
};
use sea_orm::sea_query::{
    Asterisk, Expr, ExprTrait, Func, IntoColumnRef, IntoCondition, Order, Query, WindowStatement,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, DeleteMany, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, TryGetable,
};
use uuid::Uuid;

pub use error::{LimitReached, ServiceError, UndoRefusal, log_internal};

use crate::auth::OrgId;
use crate::domain::ValidationError;
use positional::Positional;

/// A table whose rows belong to an organization. The generic reads and
/// deletes below always filter on its organization column.
pub trait TenantTable: EntityTrait {
    const ORGANIZATION: Self::Column;
}

/// A tenant table whose rows have one id.
pub trait TenantEntity: TenantTable {
    const ID: Self::Column;
    /// How its rows decode: the model's own way, or by position
    /// ([`positional`]) for the records read most.
    type Row: FromQueryResult + Into<Self::Model> + Send + Sync;
}

macro_rules! tenant_entity {
    ($($module:ident: $id:ident $(as $row:ident)?),*) => {$(
        impl TenantTable for $module::Entity {
            const ORGANIZATION: $module::Column = $module::Column::OrganizationId;
        }
        impl TenantEntity for $module::Entity {
            const ID: $module::Column = $module::Column::$id;
            type Row = tenant_entity!(@row $module $($row)?);
        }
    )*};
    (@row $module:ident) => { $module::Model };
    (@row $module:ident $row:ident) => { $row<$module::Model> };
}

tenant_entity!(
    client: Id as Positional,
    service_point: Id as Positional,
    occupant: Id as Positional,
    import_run: Id,
    sector: Id,
    import_snapshot: ImportRunId,
    webhook_endpoint: Id,
    webhook_delivery: Id
);

impl TenantTable for sector_membership::Entity {
    const ORGANIZATION: sector_membership::Column = sector_membership::Column::OrganizationId;
}

/// Every row of `E` the organization owns.
pub fn owned<E: TenantTable>(org: OrgId) -> Select<E> {
    E::find().filter(E::ORGANIZATION.eq(org.uuid()))
}

/// All rows `select` finds, decoded the entity's way ([`TenantEntity::Row`]).
pub async fn fetch_all<E: TenantEntity>(
    db: &impl ConnectionTrait,
    select: Select<E>,
) -> Result<Vec<E::Model>, DbErr> {
    let rows = select.into_model::<E::Row>().all(db).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// The organization's rows of `E` under any of these parents (`parent` is
/// the column naming them), in id order.
pub async fn children<E: TenantEntity>(
    db: &impl ConnectionTrait,
    org: OrgId,
    parent: E::Column,
    parent_ids: &[Uuid],
) -> Result<Vec<E::Model>, DbErr> {
    let select = owned::<E>(org)
        .filter(parent.is_in(parent_ids.iter().copied()))
        .order_by_asc(E::ID);
    fetch_all(db, select).await
}

/// Deletes rows of `E` the organization owns, narrowed by the caller;
/// children go by cascade. Never TRUNCATE: other tenants share the tables.
pub fn delete_all_owned<E: TenantTable>(org: OrgId) -> DeleteMany<E> {
    E::delete_many().filter(E::ORGANIZATION.eq(org.uuid()))
}

pub async fn get_owned<E: TenantEntity>(
    db: &impl ConnectionTrait,
    org: OrgId,
    id: Uuid,
) -> Result<Option<E::Model>, ServiceError> {
    Ok(owned::<E>(org).filter(E::ID.eq(id)).one(db).await?)
}

/// The organization's row of `E` with this id, or `NotFound`.
pub async fn require_owned<E: TenantEntity>(
    db: &impl ConnectionTrait,
    org: OrgId,
    id: Uuid,
) -> Result<E::Model, ServiceError> {
    get_owned::<E>(db, org, id)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// [`require_owned`], the row locked until the transaction ends
/// (PostgreSQL's `FOR UPDATE`; SQLite's writer holds the whole database).
pub async fn require_owned_locked<E: TenantEntity>(
    tx: &impl ConnectionTrait,
    org: OrgId,
    id: Uuid,
) -> Result<E::Model, ServiceError> {
    owned::<E>(org)
        .filter(E::ID.eq(id))
        .lock_exclusive()
        .one(tx)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Deletes a record whose cascade removes memberships (a client's points,
/// a point, a sector), under the membership lock.
pub async fn delete_placed<E: TenantEntity>(
    db: &sea_orm::DatabaseConnection,
    org: OrgId,
    id: Uuid,
    mode: locks::Memberships,
) -> Result<(), ServiceError> {
    let tx = locks::begin_memberships(db, org, mode).await?;
    delete_owned::<E>(&tx, org, id).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn get_many_owned<E: TenantEntity>(
    db: &impl ConnectionTrait,
    org: OrgId,
    ids: &[Uuid],
) -> Result<Vec<E::Model>, DbErr> {
    fetch_all(db, owned::<E>(org).filter(E::ID.is_in(ids.iter().copied()))).await
}

/// Deletes one owned row (children cascade); not found if it is not the
/// organization's.
pub async fn delete_owned<E: TenantEntity>(
    db: &impl ConnectionTrait,
    org: OrgId,
    id: Uuid,
) -> Result<(), ServiceError> {
    let result = delete_all_owned::<E>(org)
        .filter(E::ID.eq(id))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(ServiceError::NotFound);
    }
    Ok(())
}

/// Whether a row of `E` other than `except` matches `unique`: the
/// friendly check before a unique index would refuse the write.
async fn taken<E: TenantEntity>(
    db: &impl ConnectionTrait,
    unique: Condition,
    except: Option<Uuid>,
) -> Result<bool, DbErr> {
    let found = E::find()
        .select_only()
        .column(E::ID)
        .filter(unique)
        .into_tuple::<Uuid>()
        .one(db)
        .await?;
    Ok(found.is_some_and(|id| Some(id) != except))
}

/// Keyset pagination: `first` records after the record whose key is
/// `after`. The key is the id unless said otherwise; ids are UUIDv7, so
/// this is creation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageRequest<K = Uuid> {
    pub first: u64,
    pub after: Option<K>,
}

#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next: bool,
}

impl<T> Page<T> {
    pub fn empty() -> Page<T> {
        Page {
            items: Vec::new(),
            has_next: false,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            has_next: self.has_next,
        }
    }

    /// A page cut from a complete, id-ordered list held in memory.
    pub fn from_sorted(all: &[T], request: PageRequest, id: impl Fn(&T) -> Uuid) -> Page<T>
    where
        T: Clone,
    {
        let start = match request.after {
            Some(after) => all.partition_point(|item| id(item) <= after),
            None => 0,
        };
        let rest = &all[start..];
        let take = rest.len().min(request.first as usize);
        Page {
            items: rest[..take].to_vec(),
            has_next: rest.len() > take,
        }
    }
}

/// One page of `select` (the organization's rows of `E` a filter keeps,
/// from the entity's `filtered`), in id order: creation order.
pub async fn list<E: TenantEntity>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    request: PageRequest,
) -> Result<Page<E::Model>, ServiceError> {
    Ok(fetch_page_by(db, select, E::ID, Order::Asc, request).await?)
}

/// How many rows `select` keeps.
pub async fn count<E: EntityTrait>(
    db: &impl ConnectionTrait,
    select: Select<E>,
) -> Result<u64, ServiceError>
where
    E::Model: Sync,
{
    use sea_orm::PaginatorTrait;
    Ok(select.count(db).await?)
}

/// Fetches one page of `select` in `order` of `key`, a column unique
/// within `select`; `request.after` is the key of the previous page's last
/// record.
async fn fetch_page_by<E, C, K>(
    db: &impl sea_orm::ConnectionTrait,
    select: Select<E>,
    key: C,
    order: Order,
    request: PageRequest<K>,
) -> Result<Page<E::Model>, DbErr>
where
    E: TenantEntity,
    C: ColumnTrait,
    K: Into<sea_orm::Value>,
{
    let select = keyset(select, key, order, request.after).limit(request.first + 1);
    let mut items = fetch_all(db, select).await?;
    let has_next = items.len() as u64 > request.first;
    items.truncate(request.first as usize);
    Ok(Page { items, has_next })
}

/// `select` in `order` of `key`, past `after`.
fn keyset<E, C, K>(select: Select<E>, key: C, order: Order, after: Option<K>) -> Select<E>
where
    E: EntityTrait,
    C: ColumnTrait,
    K: Into<sea_orm::Value>,
{
    let past = |after: K| match order {
        Order::Desc => key.lt(after),
        _ => key.gt(after),
    };
    let select = match after {
        Some(after) => select.filter(past(after).into_condition()),
        None => select,
    };
    select.order_by(key, order)
}

/// The same page as [`fetch_page_by`] for each `parent` of `select`'s rows,
/// in one statement: the rows are numbered within their parent
/// (`ROW_NUMBER() OVER (PARTITION BY parent ORDER BY key)`, on SQLite and
/// PostgreSQL alike) and the first `request.first + 1` of each are kept.
/// Parents without rows get no entry.
async fn fetch_pages_by<E, C, K, P>(
    db: &impl sea_orm::ConnectionTrait,
    select: Select<E>,
    parent: impl IntoColumnRef + Clone,
    key: C,
    order: Order,
    request: PageRequest<K>,
) -> Result<HashMap<P, Page<E::Model>>, DbErr>
where
    E: EntityTrait,
    C: ColumnTrait,
    K: Into<sea_orm::Value>,
    P: TryGetable + Eq + std::hash::Hash,
{
    const PARENT: &str = "page_parent";
    const RANK: &str = "page_rank";
    let mut numbered = keyset(select, key, order.clone(), request.after).into_query();
    numbered
        .expr_as(Expr::col(parent.clone()), PARENT)
        .expr_window_as(
            Func::cust("ROW_NUMBER"),
            WindowStatement::partition_by(parent)
                .order_by((key.entity_name(), key), order)
                .take(),
            RANK,
        );
    let query = Query::select()
        .column(Asterisk)
        .from_subquery(numbered, "numbered")
        .and_where(Expr::col(RANK).lte(request.first + 1))
        .order_by(PARENT, Order::Asc)
        .order_by(RANK, Order::Asc)
        .take();
    let mut pages: HashMap<P, Page<E::Model>> = HashMap::new();
    for row in db.query_all(&query).await? {
        let parent: P = row.try_get("", PARENT)?;
        let page = pages.entry(parent).or_insert_with(Page::empty);
        if page.items.len() as u64 == request.first {
            page.has_next = true;
        } else {
            page.items.push(E::Model::from_query_result(&row, "")?);
        }
    }
    Ok(pages)
}

/// Maps a unique-constraint violation lost to a concurrent writer to the
/// same validation error the pre-check would have given.
fn on_unique_violation(error: sea_orm::DbErr, invalid: ValidationError) -> ServiceError {
    match error.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => ServiceError::Invalid(invalid),
        _ => ServiceError::Db(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cut_from_memory_follow_the_cursor() {
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
        let first = Page::from_sorted(
            &ids,
            PageRequest {
                first: 2,
                after: None,
            },
            |id| *id,
        );
        assert_eq!(first.items, ids[..2]);
        assert!(first.has_next);
        let last = Page::from_sorted(
            &ids,
            PageRequest {
                first: 10,
                after: Some(ids[2]),
            },
            |id| *id,
        );
        assert_eq!(last.items, ids[3..]);
        assert!(!last.has_next);
    }
}
