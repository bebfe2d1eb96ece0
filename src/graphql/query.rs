//! Record queries: clients, service points and occupants by id, filter and
//! page, and `node`. Lists prefetch what their selection asks for.

use async_graphql::{Context, ID, Object};
use uuid::Uuid;

use super::connection::{ClientConnection, ServicePointConnection, page_request, wants_total};
use super::id::{Kind, decode, decode_any};
use super::loader::prefetch;
use super::object::service_point_connection;
use super::object::{Client, GeocodeStatus, Node, Occupant, ServicePoint, loader};
use super::tenant;
use crate::error::ApiError;
use crate::service::{self, clients::ClientFilter, service_points::ServicePointFilter};

#[derive(Default)]
pub struct RecordQuery;

#[Object]
impl RecordQuery {
    /// Any object by its global ID; null when it does not exist or belongs to
    /// another organization.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>, ApiError> {
        let tenant = tenant(ctx)?;
        let (kind, uuid) = decode_any(&id)?;
        let (db, org) = (&tenant.db, tenant.org);
        Ok(match kind {
            Kind::Client => service::clients::get(db, org, uuid)
                .await?
                .map(|m| Node::Client(Client::new(m))),
            Kind::ServicePoint => service::service_points::get(db, org, uuid)
                .await?
                .map(|m| Node::ServicePoint(ServicePoint::new(m))),
            Kind::Occupant => service::occupants::get(db, org, uuid)
                .await?
                .map(|m| Node::Occupant(Occupant::new(m))),
            Kind::ImportRun => service::import_reports::get_run(db, org, uuid)
                .await?
                .map(|m| Node::ImportRun(super::import::ImportRun(m))),
            Kind::Sector => service::sectors::get(db, org, uuid)
                .await?
                .map(|m| Node::Sector(super::sector::Sector(m))),
        })
    }

    async fn client(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Client>, ApiError> {
        let tenant = tenant(ctx)?;
        let Some(uuid) = decode(&id, Kind::Client)? else {
            return Ok(None);
        };
        Ok(service::clients::get(&tenant.db, tenant.org, uuid)
            .await?
            .map(Client::new))
    }

    /// The organization's clients in creation order; `search` matches part of
    /// the external id or the name, case and accents ignored.
    async fn clients(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        search: Option<String>,
        sector_id: Option<ID>,
    ) -> Result<ClientConnection, ApiError> {
        let tenant = tenant(ctx)?;
        let page = page_request(ctx, first, after)?;
        let mut filter = ClientFilter {
            search,
            sector_id: None,
        };
        if let Some(sector_id) = sector_id {
            match decode(&sector_id, Kind::Sector)? {
                Some(uuid) => filter.sector_id = Some(uuid),
                None => return Ok(ClientConnection::new(service::Page::empty(), 0)),
            }
        }
        let items = service::clients::list(&tenant.db, tenant.org, &filter, page).await?;
        let ids: Vec<Uuid> = items.items.iter().map(|c| c.id).collect();
        prefetch::for_clients(
            loader(ctx)?,
            ctx.look_ahead().field("edges").field("node"),
            &ids,
        )
        .await?;
        let total = match wants_total(ctx) {
            true => service::clients::count(&tenant.db, tenant.org, &filter).await?,
            false => 0,
        };
        Ok(ClientConnection::new(items.map(Client::new), total))
    }

    async fn service_point(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<Option<ServicePoint>, ApiError> {
        let tenant = tenant(ctx)?;
        let Some(uuid) = decode(&id, Kind::ServicePoint)? else {
            return Ok(None);
        };
        Ok(service::service_points::get(&tenant.db, tenant.org, uuid)
            .await?
            .map(ServicePoint::new))
    }

    /// Service points in creation order, filtered by sector, client or
    /// geocode status (`NOT_FOUND` lists the addresses to fix).
    async fn service_points(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        sector_id: Option<ID>,
        client_id: Option<ID>,
        geocode_status: Option<GeocodeStatus>,
    ) -> Result<ServicePointConnection, ApiError> {
        // Refuse before anything else, even an empty answer.
        tenant(ctx)?;
        page_request(ctx, first, after.clone())?;
        let empty = || ServicePointConnection::new(service::Page::empty(), 0);
        let mut filter = ServicePointFilter {
            geocode_status: geocode_status.map(Into::into),
            ..Default::default()
        };
        if let Some(id) = sector_id {
            match decode(&id, Kind::Sector)? {
                Some(uuid) => filter.sector_id = Some(uuid),
                None => return Ok(empty()),
            }
        }
        if let Some(id) = client_id {
            match decode(&id, Kind::Client)? {
                Some(uuid) => filter.client_id = Some(uuid),
                None => return Ok(empty()),
            }
        }
        service_point_connection(ctx, &filter, first, after).await
    }

    async fn occupant(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Occupant>, ApiError> {
        let tenant = tenant(ctx)?;
        let Some(uuid) = decode(&id, Kind::Occupant)? else {
            return Ok(None);
        };
        Ok(service::occupants::get(&tenant.db, tenant.org, uuid)
            .await?
            .map(Occupant::new))
    }
}
