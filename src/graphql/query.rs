//! Record queries: clients, service points and occupants by id, filter and
//! page, and `node`. Lists prefetch what their selection asks for.

use async_graphql::{Context, ID, Object};
use uuid::Uuid;

use super::alert::{AlertMessage, SectorAlert};
use super::connection::{Connection, nodes, page_request, wants_total};
use super::id::{Kind, decode, decode_any};
use super::import::ImportRun;
use super::loader::prefetch;
use super::node::Node;
use super::object::service_point_connection;
use super::object::{Client, GeocodeStatus, Occupant, ServicePoint, loader};
use super::sector::Sector;
use super::webhook::{WebhookDelivery, WebhookEndpoint};
use super::wording::Reply;
use super::{record, record_by_id, tenant};
use crate::error::ApiError;
use crate::service::{self, clients, clients::ClientFilter, service_points::ServicePointFilter};
use entity::{
    alert_message, client, import_run, inbound_message, occupant, sector, sector_alert,
    service_point, webhook_delivery, webhook_endpoint,
};

#[derive(Default)]
pub struct RecordQuery;

#[Object]
impl RecordQuery {
    /// Any object by its global ID; null when it does not exist or belongs to
    /// another organization.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>, ApiError> {
        tenant(ctx)?;
        let (kind, uuid) = decode_any(&id)?;
        match kind {
            Kind::Client => record::<client::Entity, _>(ctx, uuid, |m| Client::new(m).into()).await,
            Kind::ServicePoint => {
                record::<service_point::Entity, _>(ctx, uuid, |m| ServicePoint::new(m).into()).await
            }
            Kind::Occupant => {
                record::<occupant::Entity, _>(ctx, uuid, |m| Occupant::new(m).into()).await
            }
            Kind::ImportRun => {
                record::<import_run::Entity, _>(ctx, uuid, |m| ImportRun(m).into()).await
            }
            Kind::Sector => record::<sector::Entity, _>(ctx, uuid, |m| Sector(m).into()).await,
            Kind::WebhookEndpoint => {
                record::<webhook_endpoint::Entity, _>(ctx, uuid, |m| WebhookEndpoint(m).into())
                    .await
            }
            Kind::WebhookDelivery => {
                record::<webhook_delivery::Entity, _>(ctx, uuid, |m| WebhookDelivery(m).into())
                    .await
            }
            Kind::SectorAlert => {
                record::<sector_alert::Entity, _>(ctx, uuid, |m| SectorAlert(m).into()).await
            }
            Kind::AlertMessage => {
                record::<alert_message::Entity, _>(ctx, uuid, |m| AlertMessage(m).into()).await
            }
            Kind::Reply => {
                record::<inbound_message::Entity, _>(ctx, uuid, |m| Reply(m).into()).await
            }
        }
    }

    async fn client(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Client>, ApiError> {
        record_by_id::<client::Entity, _>(ctx, &id, Kind::Client, Client::new).await
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
    ) -> Result<Connection<Client>, ApiError> {
        let tenant = tenant(ctx)?;
        let page = page_request(ctx, first, after)?;
        let mut filter = ClientFilter {
            search,
            sector_id: None,
        };
        if let Some(sector_id) = sector_id {
            match decode(&sector_id, Kind::Sector)? {
                Some(uuid) => filter.sector_id = Some(uuid),
                None => return Ok(Connection::new(service::Page::empty(), 0)),
            }
        }
        let loader = loader(ctx)?;
        let select = clients::filtered(tenant.org, &filter);
        let select = service::selecting(select, loader.loader().wanted.client);
        let items = service::list(&tenant.db, select, page).await?;
        let ids: Vec<Uuid> = items.items.iter().map(|c| c.id).collect();
        prefetch::for_clients(loader, nodes(&ctx.look_ahead()), &ids).await?;
        let total = match wants_total(ctx) {
            true => service::count(&tenant.db, clients::filtered(tenant.org, &filter)).await?,
            false => 0,
        };
        Ok(Connection::new(items.map(Client::new), total))
    }

    async fn service_point(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<Option<ServicePoint>, ApiError> {
        record_by_id::<service_point::Entity, _>(ctx, &id, Kind::ServicePoint, ServicePoint::new)
            .await
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
    ) -> Result<Connection<ServicePoint>, ApiError> {
        // Refuse before anything else, even an empty answer.
        tenant(ctx)?;
        page_request(ctx, first, after.clone())?;
        let empty = || Connection::new(service::Page::empty(), 0);
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
        record_by_id::<occupant::Entity, _>(ctx, &id, Kind::Occupant, Occupant::new).await
    }
}
