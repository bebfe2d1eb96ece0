//! Use cases over the database. Every function takes the [`OrgId`] it acts
//! for and filters on it, so another organization's records behave exactly
//! like records that do not exist.
//!
//! [`OrgId`]: crate::auth::OrgId

pub mod batch;
pub mod clients;
mod error;
pub mod geocoding;
pub mod imports;
pub mod occupants;
pub mod organizations;
pub mod sectors;
pub mod service_points;

use entity::{
    client, import_run, import_snapshot, occupant, sector, sector_membership, service_point,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, DeleteMany, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, sea_query::IntoCondition,
};
use uuid::Uuid;

pub use error::{ServiceError, UndoRefusal, log_internal};

use crate::auth::OrgId;
use crate::domain::ValidationError;

/// A table whose rows belong to an organization. The generic reads and
/// deletes below always filter on its organization column.
pub trait TenantTable: EntityTrait {
    const ORGANIZATION: Self::Column;
}

/// A tenant table whose rows have one id.
pub trait TenantEntity: TenantTable {
    const ID: Self::Column;
}

macro_rules! tenant_entity {
    ($($module:ident: $id:ident),*) => {$(
        impl TenantTable for $module::Entity {
            const ORGANIZATION: $module::Column = $module::Column::OrganizationId;
        }
        impl TenantEntity for $module::Entity {
            const ID: $module::Column = $module::Column::$id;
        }
    )*};
}

tenant_entity!(
    client: Id,
    service_point: Id,
    occupant: Id,
    import_run: Id,
    sector: Id,
    import_snapshot: ImportRunId
);

impl TenantTable for sector_membership::Entity {
    const ORGANIZATION: sector_membership::Column = sector_membership::Column::OrganizationId;
}

/// Every row of `E` the organization owns.
pub fn owned<E: TenantTable>(org: OrgId) -> Select<E> {
    E::find().filter(E::ORGANIZATION.eq(org.uuid()))
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

pub async fn get_many_owned<E: TenantEntity>(
    db: &impl ConnectionTrait,
    org: OrgId,
    ids: &[Uuid],
) -> Result<Vec<E::Model>, DbErr> {
    owned::<E>(org)
        .filter(E::ID.is_in(ids.iter().copied()))
        .all(db)
        .await
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

/// Keyset pagination: `first` records after the record `after`, by id.
/// Ids are UUIDv7, so this is creation order.
#[derive(Clone, Copy, Debug)]
pub struct PageRequest {
    pub first: u64,
    pub after: Option<Uuid>,
}

#[derive(Debug)]
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

/// Fetches one page of `select`, ordered by `id_column`.
async fn fetch_page<E, C>(
    db: &impl sea_orm::ConnectionTrait,
    select: Select<E>,
    id_column: C,
    request: PageRequest,
) -> Result<Page<E::Model>, ServiceError>
where
    E: EntityTrait,
    C: ColumnTrait,
{
    let mut select = select.order_by_asc(id_column).limit(request.first + 1);
    if let Some(after) = request.after {
        select = select.filter(id_column.gt(after).into_condition());
    }
    let mut items = select.all(db).await?;
    let has_next = items.len() as u64 > request.first;
    items.truncate(request.first as usize);
    Ok(Page { items, has_next })
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
