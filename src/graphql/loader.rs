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
use entity::{client, occupant, sector, service_point};
use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

use crate::auth::OrgId;
use crate::service;

pub struct Loaders {
    pub db: DatabaseConnection,
    pub org: OrgId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientKey(pub Uuid);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PointKey(pub Uuid);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OccupantKey(pub Uuid);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PointsOfClient(pub Uuid);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OccupantsOfPoint(pub Uuid);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SectorsOfPoint(pub Uuid);

fn ids<K>(keys: &[K], id: impl Fn(&K) -> Uuid) -> Vec<Uuid> {
    keys.iter().map(id).collect()
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

impl Loader<ClientKey> for Loaders {
    type Value = client::Model;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[ClientKey],
    ) -> Result<HashMap<ClientKey, client::Model>, Arc<DbErr>> {
        let rows = service::clients::by_ids(&self.db, self.org, &ids(keys, |k| k.0)).await?;
        Ok(rows
            .into_iter()
            .map(|row| (ClientKey(row.id), row))
            .collect())
    }
}

impl Loader<PointKey> for Loaders {
    type Value = service_point::Model;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[PointKey],
    ) -> Result<HashMap<PointKey, service_point::Model>, Arc<DbErr>> {
        let rows = service::service_points::by_ids(&self.db, self.org, &ids(keys, |k| k.0)).await?;
        Ok(rows
            .into_iter()
            .map(|row| (PointKey(row.id), row))
            .collect())
    }
}

impl Loader<OccupantKey> for Loaders {
    type Value = occupant::Model;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[OccupantKey],
    ) -> Result<HashMap<OccupantKey, occupant::Model>, Arc<DbErr>> {
        let rows = service::occupants::by_ids(&self.db, self.org, &ids(keys, |k| k.0)).await?;
        Ok(rows
            .into_iter()
            .map(|row| (OccupantKey(row.id), row))
            .collect())
    }
}

impl Loader<PointsOfClient> for Loaders {
    type Value = Vec<service_point::Model>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[PointsOfClient],
    ) -> Result<HashMap<PointsOfClient, Vec<service_point::Model>>, Arc<DbErr>> {
        let rows =
            service::service_points::of_clients(&self.db, self.org, &ids(keys, |k| k.0)).await?;
        Ok(group(keys, rows, |row| PointsOfClient(row.client_id)))
    }
}

impl Loader<OccupantsOfPoint> for Loaders {
    type Value = Vec<occupant::Model>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[OccupantsOfPoint],
    ) -> Result<HashMap<OccupantsOfPoint, Vec<occupant::Model>>, Arc<DbErr>> {
        let rows =
            service::occupants::of_service_points(&self.db, self.org, &ids(keys, |k| k.0)).await?;
        Ok(group(keys, rows, |row| {
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

pub type RequestLoader = DataLoader<Loaders, HashMapCache>;

/// Prefetches, with one statement per relation, what a list's items will
/// ask for.
pub mod prefetch {
    use async_graphql::Lookahead;

    use super::*;
    use crate::error::ApiError;

    /// For a list of clients whose item selection is `node`.
    pub async fn for_clients(
        loader: &RequestLoader,
        node: Lookahead<'_>,
        clients: &[Uuid],
    ) -> Result<(), ApiError> {
        let points = node.field("servicePoints");
        if !points.exists() {
            return Ok(());
        }
        let loaded = loader
            .load_many(clients.iter().map(|id| PointsOfClient(*id)))
            .await
            .map_err(ApiError::internal)?;
        let point_ids: Vec<Uuid> = loaded.values().flatten().map(|p| p.id).collect();
        for_points(loader, points.field("edges").field("node"), &point_ids, &[]).await
    }

    /// For a list of service points whose item selection is `node`.
    pub async fn for_points(
        loader: &RequestLoader,
        node: Lookahead<'_>,
        points: &[Uuid],
        clients: &[Uuid],
    ) -> Result<(), ApiError> {
        if node.field("occupants").exists() {
            loader
                .load_many(points.iter().map(|id| OccupantsOfPoint(*id)))
                .await
                .map_err(ApiError::internal)?;
        }
        if node.field("sectors").exists() {
            loader
                .load_many(points.iter().map(|id| SectorsOfPoint(*id)))
                .await
                .map_err(ApiError::internal)?;
        }
        if node.field("client").exists() && !clients.is_empty() {
            loader
                .load_many(clients.iter().map(|id| ClientKey(*id)))
                .await
                .map_err(ApiError::internal)?;
        }
        Ok(())
    }
}
