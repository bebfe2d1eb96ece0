//! The schema layer: resolvers read the context, call a service, wrap the
//! result. Nothing else lives here.
//!
//! The types read in lists resolve their fields one after another
//! (`#[Object(serial)]`, `#[graphql(serial)]`): `Client`, `ServicePoint`,
//! `Occupant` (`object`), `Sector` (`sector`), `ImportIssue` and
//! `RowReport` (`import`), and every connection, edge and `PageInfo`
//! (`connection`). Their fields are plain reads of a model or loads
//! prefetched for the whole page (`loader::prefetch`); resolving them
//! concurrently would cost a task node, a waker and atomics per field, and
//! a nested read of 100 clients resolves some 20,000 of them. Types read
//! one at a time (an import run, a webhook endpoint) keep the default.

pub mod admission;
pub mod alert;
pub mod compiled;
pub mod connection;
pub mod gate;
pub mod id;
pub mod import;
pub mod known;
pub mod loader;
pub mod mutation;
pub mod node;
pub mod object;
pub mod operation;
pub mod plain;
pub mod query;
pub mod sector;
pub mod webhook;
pub mod wording;

use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Context, MergedObject, MergedSubscription, Schema, ValidationMode};
use sea_orm::DatabaseConnection;

use crate::auth::OrgId;
use crate::config::Limits;
use crate::error::ApiError;
use crate::service::geocoding::Geocoding;
use crate::service::imports::Importer;
use crate::service::{TenantEntity, get_owned};

#[derive(MergedObject, Default)]
pub struct Query(
    query::RecordQuery,
    import::ImportQuery,
    sector::SectorQuery,
    webhook::WebhookQuery,
    alert::AlertQuery,
    wording::WordingQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    mutation::RecordMutation,
    import::ImportMutation,
    sector::SectorMutation,
    webhook::WebhookMutation,
    alert::AlertMutation,
    wording::WordingMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(import::ImportSubscription);

pub type FlokonSchema = Schema<Query, Mutation, Subscription>;

/// The authenticated side of a request: present only with a valid token.
pub struct Tenant {
    pub db: DatabaseConnection,
    pub org: OrgId,
}

impl Tenant {
    /// The per-request data an authenticated operation runs with; its reads
    /// select the columns `wanted`.
    pub fn attach(
        self,
        request: async_graphql::Request,
        wanted: loader::Wanted,
    ) -> async_graphql::Request {
        let loaders = loader::Loaders {
            db: self.db.clone(),
            org: self.org,
            wanted,
        };
        let loaders: loader::RequestLoader =
            DataLoader::with_cache(loaders, tokio::spawn, HashMapCache::default());
        request.data(loaders).data(self)
    }

    /// The same, for every operation of a websocket connection. Its loader
    /// keeps nothing: a subscription reads the same rows again and again.
    pub fn into_data(self) -> async_graphql::Data {
        let loaders: loader::RequestLoader = DataLoader::with_cache(
            loader::Loaders {
                db: self.db.clone(),
                org: self.org,
                wanted: loader::Wanted::ALL,
            },
            tokio::spawn,
            HashMapCache::default(),
        );
        loaders.enable_all_cache(false);
        let mut data = async_graphql::Data::default();
        data.insert(loaders);
        data.insert(self);
        data
    }
}

/// The organization's record of `E` with this id, wrapped for the schema;
/// `None` when it does not exist or is another organization's.
pub async fn record<E: TenantEntity, T>(
    ctx: &Context<'_>,
    uuid: uuid::Uuid,
    wrap: impl FnOnce(E::Model) -> T,
) -> Result<Option<T>, ApiError> {
    let t = tenant(ctx)?;
    Ok(get_owned::<E>(&t.db, t.org, uuid).await?.map(wrap))
}

/// The record a global ID names, when the ID is of `kind`.
pub async fn record_by_id<E: TenantEntity, T>(
    ctx: &Context<'_>,
    id: &async_graphql::ID,
    kind: id::Kind,
    wrap: impl FnOnce(E::Model) -> T,
) -> Result<Option<T>, ApiError> {
    tenant(ctx)?;
    match id::decode(id, kind)? {
        Some(uuid) => record::<E, T>(ctx, uuid, wrap).await,
        None => Ok(None),
    }
}

pub fn tenant<'a>(ctx: &'a Context<'_>) -> Result<&'a Tenant, ApiError> {
    ctx.data_opt::<Tenant>().ok_or(ApiError::Unauthenticated)
}

pub fn importer<'a>(ctx: &'a Context<'_>) -> Result<&'a Arc<Importer>, ApiError> {
    ctx.data::<Arc<Importer>>()
        .map_err(|_| ApiError::internal(connection::MissingData("Importer")))
}

pub fn geocoding<'a>(ctx: &'a Context<'_>) -> Result<&'a Geocoding, ApiError> {
    ctx.data::<Arc<Geocoding>>()
        .map(Arc::as_ref)
        .map_err(|_| ApiError::internal(connection::MissingData("Geocoding")))
}

/// The tenant for a mutation. The request's loader cache is turned off:
/// after a write, nested reads must see the new state.
pub fn writer<'a>(ctx: &'a Context<'_>) -> Result<&'a Tenant, ApiError> {
    if let Some(loader) = ctx.data_opt::<loader::RequestLoader>() {
        loader.enable_all_cache(false);
    }
    tenant(ctx)
}

/// The tenant for a mutation of one record, and the record's id: the id
/// must be of `kind`, and an id of another kind is not found.
pub fn writer_of<'a>(
    ctx: &'a Context<'_>,
    id: &async_graphql::ID,
    kind: id::Kind,
) -> Result<(&'a Tenant, uuid::Uuid), ApiError> {
    let tenant = writer(ctx)?;
    Ok((tenant, id::decode_existing(id, kind)?))
}

/// The schema, and the gate every operation passes before it runs
/// ([`operation`]). No extension: async-graphql calls an extension around
/// every field it resolves once any exists (a fifth of a nested read's
/// instructions, `perf/instructions.sh`), so what an extension would do is
/// done around the schema instead.
#[derive(Clone)]
pub struct Schemas {
    pub schema: FlokonSchema,
    /// The same schema in async-graphql's fast validation mode, for the
    /// operations that passed the full validation before ([`known`]).
    validated_schema: FlokonSchema,
    known: Arc<known::KnownOperations>,
    gate: Arc<operation::Gate>,
    /// Documents parsed before, by query text: a client sends the same few
    /// queries over and over, and parsing is a fifth of a small read's
    /// instructions.
    documents: Arc<quick_cache::sync::Cache<String, ExecutableDocument>>,
}

/// How many parsed documents are kept, and the longest query kept: a few
/// MB at most, whatever clients send.
const CACHED_DOCUMENTS: usize = 256;
const MAX_CACHED_QUERY: usize = 4 * 1024;

impl Schemas {
    /// The request's document, parsed now or taken from the documents
    /// parsed before (and kept in the request, so that execution does not
    /// parse it again); `None` when it does not parse (execution says why).
    pub fn parse<'r>(
        &self,
        request: &'r mut async_graphql::Request,
    ) -> Option<&'r ExecutableDocument> {
        let cacheable = request.query.len() <= MAX_CACHED_QUERY;
        let cached = match cacheable {
            true => self.documents.get(&request.query),
            false => None,
        };
        let known = cached.is_some();
        if let Some(document) = cached {
            request.set_parsed_query(document);
        }
        let query = (cacheable && !known).then(|| request.query.clone());
        let document = request.parsed_query().ok()?;
        if let Some(query) = query {
            self.documents.insert(query, document.clone());
        }
        Some(document)
    }
}

pub fn build_schemas(
    limits: &Limits,
    introspection: bool,
    importer: Arc<Importer>,
    webhooks: webhook::WebhookPolicy,
    alerts: alert::AlertPolicy,
) -> Schemas {
    let subscriptions = admission::Slots::new(limits.max_subscriptions);
    // Depth, cost and aliases are the gate's, measured before validation
    // on the expanded document; directives stay async-graphql's.
    let build = |mode| {
        let builder = Schema::build(
            Query::default(),
            Mutation::default(),
            Subscription::default(),
        )
        .validation_mode(mode)
        .data(importer.geocoding.clone())
        .data(importer.clone())
        .data(webhooks)
        .data(alerts)
        .data(admission::SubscriptionSlots(subscriptions.clone()))
        .limit_directives(16)
        .data(limits.clone());
        match introspection {
            true => builder.finish(),
            false => builder.disable_introspection().finish(),
        }
    };
    let schema = build(ValidationMode::Strict);
    let validated_schema = build(ValidationMode::Fast);
    let gate = operation::Gate::new(&schema.sdl(), limits);
    Schemas {
        schema,
        validated_schema,
        known: Arc::default(),
        gate: Arc::new(gate),
        documents: Arc::new(quick_cache::sync::Cache::new(CACHED_DOCUMENTS)),
    }
}

/// The SDL that `schema.graphql` must equal.
pub fn sdl() -> String {
    default_schemas().schema.sdl()
}

/// The schemas with the default limits and no geocoder.
fn default_schemas() -> Schemas {
    let limits = Limits::default();
    let geocoding = Arc::new(Geocoding {
        geocoder: Arc::new(crate::geocode::NoGeocoder),
        deadline: std::time::Duration::ZERO,
    });
    build_schemas(
        &limits,
        true,
        Arc::new(Importer::new(
            crate::import::ImportLimits::from(&crate::config::ImportConfig::default()),
            geocoding,
            1,
            std::time::Duration::from_secs(60),
        )),
        webhook::WebhookPolicy::default(),
        alert::AlertPolicy::default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_seen_before_is_not_parsed_again_and_a_long_one_is_not_kept() {
        let schemas = default_schemas();
        let query = "{ clients(first: 10) { edges { node { externalId name } } } }";
        let mut first = async_graphql::Request::new(query);
        let parsed = schemas.parse(&mut first).cloned().expect("parses");
        assert_eq!(schemas.documents.len(), 1);

        // Another document kept under the same text: the request gets the
        // kept one, not a new parse.
        let other = async_graphql::parser::parse_query("{ __typename }").unwrap();
        schemas.documents.insert(query.to_owned(), other.clone());
        let mut again = async_graphql::Request::new(query);
        let document = schemas.parse(&mut again).expect("cached");
        assert_eq!(format!("{document:?}"), format!("{other:?}"));
        assert_ne!(format!("{document:?}"), format!("{parsed:?}"));
        assert_eq!(schemas.documents.len(), 1);

        let long = format!(
            "{{ {} __typename }}",
            "__typename ".repeat(MAX_CACHED_QUERY / 11)
        );
        let mut long = async_graphql::Request::new(long);
        assert!(schemas.parse(&mut long).is_some());
        assert_eq!(schemas.documents.len(), 1);

        let mut broken = async_graphql::Request::new("{ clients( }");
        assert!(schemas.parse(&mut broken).is_none());
        assert_eq!(schemas.documents.len(), 1);
    }
}
