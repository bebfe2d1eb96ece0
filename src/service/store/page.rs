//! Keyset pages: one page of a select, or the same page under each of many
//! parents in one statement.

use std::collections::HashMap;

use sea_orm::sea_query::{
    Asterisk, Expr, ExprTrait, Func, IntoColumnRef, IntoCondition, Order, Query, WindowStatement,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select, TryGetable,
};
use uuid::Uuid;

use super::tenant::{Reader, TenantEntity, fetch_all};
use crate::service::ServiceError;

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
    db: &impl Reader,
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
pub(crate) async fn fetch_page_by<E, C, K>(
    db: &impl Reader,
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
pub(crate) fn keyset<E, C, K>(
    select: Select<E>,
    key: C,
    order: Order,
    after: Option<K>,
) -> Select<E>
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
pub(crate) async fn fetch_pages_by<E, C, K, P>(
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
