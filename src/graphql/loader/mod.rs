//! Dataloaders for every nested field, scoped to the request's organization,
//! with a per-request cache.
//!
//! Batching by delay alone is not deterministic: async-graphql resolves list
//! items through `FuturesUnordered`, which yields to the executor mid-list,
//! and a batch whose delay has run out then leaves with only part of the
//! keys. So list resolvers also *prefetch* what their selection asks for
//! with one `load_many` per relation ([`prefetch`]); each item's own
//! `load_one` then hits the cache, and a nested query costs the same number
//! of statements for 10 items or 500.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{client, occupant, phone_consent, sector, sector_alert, service_point};
use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

use crate::auth::OrgId;
use crate::domain::RowStatus;
use crate::import::plan::RowResult;
use crate::service::{self, Page, PageRequest, sectors::Recipients};

pub mod prefetch;
pub mod wanted;

pub use wanted::Wanted;

pub struct Loaders {
    pub db: DatabaseConnection,
    pub org: OrgId,
    /// The columns the request's fields need ([`wanted`]).
    pub wanted: Wanted,
}

/// Keys that are one id: the parent's (`PointsOfClient`: a client's
/// points) or the record's own.
macro_rules! id_keys {
    ($($key:ident),*) => {$(
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $key(pub Uuid);
    )*};
}

id_keys!(
    PointsOfClient,
    OccupantsOfPoint,
    SectorsOfPoint,
    PointCountOfSector,
    RecipientsOfSector,
    AlertsOfSector
);

/// Records by their own id, a batch in one statement.
macro_rules! by_id {
    ($($key:ident: $module:ident),*) => {$(
        id_keys!($key);

        impl Loader<$key> for Loaders {
            type Value = $module::Model;
            type Error = Arc<DbErr>;

            async fn load(
                &self,
                keys: &[$key],
            ) -> Result<HashMap<$key, $module::Model>, Arc<DbErr>> {
                let ids = ids(keys, |k| k.0);
                let columns = self.wanted.of::<$module::Entity>();
                let rows = service::get_many_owned_selecting::<$module::Entity>(
                    &self.db, self.org, &ids, columns,
                )
                .await?;
                Ok(rows.into_iter().map(|row| ($key(row.id), row)).collect())
            }
        }
    )*};
}

by_id!(
    ClientKey: client,
    PointKey: service_point,
    OccupantKey: occupant,
    SectorKey: sector,
    AlertKey: sector_alert
);

/// What a phone (occupants' form, `418-555-0123`) said to the
/// organization: `None` when it never said anything (cached as such, so
/// that a page of silent phones is one statement too).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConsentOfPhone(pub String);

impl Loader<ConsentOfPhone> for Loaders {
    type Value = Option<phone_consent::Model>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[ConsentOfPhone],
    ) -> Result<HashMap<ConsentOfPhone, Option<phone_consent::Model>>, Arc<DbErr>> {
        let phones: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
        let rows = service::alerts::consent::of_phones(&self.db, self.org, &phones).await?;
        let mut found: HashMap<ConsentOfPhone, Option<phone_consent::Model>> =
            keys.iter().map(|key| (key.clone(), None)).collect();
        for row in rows {
            found.insert(ConsentOfPhone(row.phone.clone()), Some(row));
        }
        Ok(found)
    }
}

/// One page of a sector's points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PointsOfSector {
    pub sector: Uuid,
    pub page: PageRequest,
}

/// One page of a run's report, filtered by status (any when empty).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RowsOfRun {
    pub run: Uuid,
    pub statuses: Vec<RowStatus>,
    pub page: PageRequest<i32>,
}

/// How many rows of a run have one of `statuses` (any when empty).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RowCountOfRun {
    pub run: Uuid,
    pub statuses: Vec<RowStatus>,
}

fn ids<K>(keys: &[K], id: impl Fn(&K) -> Uuid) -> Vec<Uuid> {
    keys.iter().map(id).collect()
}

/// A parent's children as the cache holds them: every `load_one` hands out
/// a copy of the cached value, and a nested page asks for each parent's
/// list again, so the list and its records are shared, never deep-copied
/// (copying each record's strings was a tenth of a nested read).
pub type Children<M> = Arc<[Arc<M>]>;

/// [`group`], each list shared ([`Children`]).
fn group_shared<K: std::hash::Hash + Eq + Copy, V>(
    keys: &[K],
    rows: Vec<V>,
    key: impl Fn(&V) -> K,
) -> HashMap<K, Children<V>> {
    group(keys, rows, key)
        .into_iter()
        .map(|(k, rows)| (k, rows.into_iter().map(Arc::new).collect()))
        .collect()
}

/// Groups id-ordered rows by their parent, keeping the order. Every key
/// gets an entry, empty or not, so that an empty list is cached too.
fn group<K: std::hash::Hash + Eq + Copy, V>(
    keys: &[K],
    rows: Vec<V>,
    key: impl Fn(&V) -> K,
) -> HashMap<K, Vec<V>> {
    let mut groups: HashMap<K, Vec<V>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for row in rows {
        groups.entry(key(&row)).or_default().push(row);
    }
    groups
}

impl Loader<PointsOfClient> for Loaders {
    type Value = Children<service_point::Model>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[PointsOfClient],
    ) -> Result<HashMap<PointsOfClient, Children<service_point::Model>>, Arc<DbErr>> {
        let rows = service::children::<service_point::Entity>(
            &self.db,
            self.org,
            service_point::Column::ClientId,
            &ids(keys, |k| k.0),
            self.wanted.service_point,
        )
        .await?;
        Ok(group_shared(keys, rows, |row| {
            PointsOfClient(row.client_id)
        }))
    }
}

impl Loader<OccupantsOfPoint> for Loaders {
    type Value = Children<occupant::Model>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[OccupantsOfPoint],
    ) -> Result<HashMap<OccupantsOfPoint, Children<occupant::Model>>, Arc<DbErr>> {
        let rows = service::children::<occupant::Entity>(
            &self.db,
            self.org,
            occupant::Column::ServicePointId,
            &ids(keys, |k| k.0),
            self.wanted.occupant,
        )
        .await?;
        Ok(group_shared(keys, rows, |row| {
            OccupantsOfPoint(row.service_point_id)
        }))
    }
}

impl Loader<SectorsOfPoint> for Loaders {
    type Value = Vec<sector::Model>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[SectorsOfPoint],
    ) -> Result<HashMap<SectorsOfPoint, Vec<sector::Model>>, Arc<DbErr>> {
        let rows = service::sectors::of_points(&self.db, self.org, &ids(keys, |k| k.0)).await?;
        let mut grouped = group(keys, rows, |(point, _)| SectorsOfPoint(*point));
        Ok(grouped
            .drain()
            .map(|(k, v)| (k, v.into_iter().map(|(_, s)| s).collect()))
            .collect())
    }
}

/// Keys that share their other arguments, by those arguments: one
/// statement serves each group.
fn by_arguments<K, A: std::hash::Hash + Eq>(
    keys: &[K],
    arguments: impl Fn(&K) -> A,
) -> HashMap<A, Vec<&K>> {
    let mut groups: HashMap<A, Vec<&K>> = HashMap::new();
    for key in keys {
        groups.entry(arguments(key)).or_default().push(key);
    }
    groups
}

impl Loader<PointsOfSector> for Loaders {
    type Value = Page<Arc<service_point::Model>>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[PointsOfSector],
    ) -> Result<HashMap<PointsOfSector, Page<Arc<service_point::Model>>>, Arc<DbErr>> {
        let mut loaded = HashMap::new();
        for (page, keys) in by_arguments(keys, |k| k.page) {
            let sectors = ids(&keys, |k| k.sector);
            let pages = service::sectors::points_pages(&self.db, self.org, &sectors, page).await?;
            loaded.extend(
                pages
                    .into_iter()
                    .map(|(sector, items)| (PointsOfSector { sector, page }, items.map(Arc::new))),
            );
        }
        Ok(loaded)
    }
}

impl Loader<PointCountOfSector> for Loaders {
    type Value = u64;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[PointCountOfSector],
    ) -> Result<HashMap<PointCountOfSector, u64>, Arc<DbErr>> {
        let counts =
            service::sectors::count_points(&self.db, self.org, &ids(keys, |k| k.0)).await?;
        Ok(counts
            .into_iter()
            .map(|(sector, n)| (PointCountOfSector(sector), n))
            .collect())
    }
}

/// A sector's recipients, shared as [`Children`] are.
#[derive(Clone, Default)]
pub struct SharedRecipients {
    pub points: Children<service_point::Model>,
    pub occupants: Children<occupant::Model>,
}

impl From<Recipients> for SharedRecipients {
    fn from(recipients: Recipients) -> SharedRecipients {
        SharedRecipients {
            points: recipients.points.into_iter().map(Arc::new).collect(),
            occupants: recipients.occupants.into_iter().map(Arc::new).collect(),
        }
    }
}

impl Loader<RecipientsOfSector> for Loaders {
    type Value = SharedRecipients;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[RecipientsOfSector],
    ) -> Result<HashMap<RecipientsOfSector, SharedRecipients>, Arc<DbErr>> {
        let recipients =
            service::sectors::recipients(&self.db, self.org, &ids(keys, |k| k.0)).await?;
        Ok(recipients
            .into_iter()
            .map(|(sector, r)| (RecipientsOfSector(sector), r.into()))
            .collect())
    }
}

impl Loader<AlertsOfSector> for Loaders {
    type Value = Vec<sector_alert::Model>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[AlertsOfSector],
    ) -> Result<HashMap<AlertsOfSector, Vec<sector_alert::Model>>, Arc<DbErr>> {
        let rows = service::sectors::alerts(&self.db, self.org, &ids(keys, |k| k.0)).await?;
        Ok(group(keys, rows, |row| AlertsOfSector(row.sector_id)))
    }
}

impl Loader<RowsOfRun> for Loaders {
    type Value = Page<RowResult>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[RowsOfRun],
    ) -> Result<HashMap<RowsOfRun, Page<RowResult>>, Arc<DbErr>> {
        let mut loaded = HashMap::new();
        for ((statuses, page), keys) in by_arguments(keys, |k| (k.statuses.clone(), k.page)) {
            let runs = ids(&keys, |k| k.run);
            let pages =
                service::import_reports::rows(&self.db, self.org, &runs, &statuses, page).await?;
            loaded.extend(pages.into_iter().map(|(run, items)| {
                let key = RowsOfRun {
                    run,
                    statuses: statuses.clone(),
                    page,
                };
                (key, items)
            }));
        }
        Ok(loaded)
    }
}

impl Loader<RowCountOfRun> for Loaders {
    type Value = u64;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[RowCountOfRun],
    ) -> Result<HashMap<RowCountOfRun, u64>, Arc<DbErr>> {
        let mut loaded = HashMap::new();
        for (statuses, keys) in by_arguments(keys, |k| k.statuses.clone()) {
            let runs = ids(&keys, |k| k.run);
            let counts =
                service::import_reports::count_rows(&self.db, self.org, &runs, &statuses).await?;
            loaded.extend(counts.into_iter().map(|(run, n)| {
                let key = RowCountOfRun {
                    run,
                    statuses: statuses.clone(),
                };
                (key, n)
            }));
        }
        Ok(loaded)
    }
}

pub type RequestLoader = DataLoader<Loaders, HashMapCache>;
