//! GraphQL types wrapping the entities: the tables never become the API.
//! Nested fields go through the request's dataloaders.

use std::sync::Arc;

use async_graphql::resolver_utils::enum_value;
use async_graphql::{Context, Enum, ID, Object, ScalarType, Value};
use chrono::{DateTime, Utc};
use entity::values::Consent;
use entity::{client, occupant, phone_consent, service_point};

use super::alert::Language;
use super::connection::{Connection, listed_by_id, nodes, page_request};
use super::id::{Kind, encode};
use super::loader::{
    Children, ClientKey, ConsentOfPhone, OccupantsOfPoint, PointKey, PointsOfClient, RequestLoader,
    SectorsOfPoint, prefetch,
};
use super::operation::charge_rows;
use super::plain::{PlainList, PlainObject};
use crate::domain::{self, GeocodeStatus as Status, Phone, full_address};
use crate::error::ApiError;
use crate::service::{Page, service_points};

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "domain::ContactMethod")]
pub enum ContactMethod {
    Sms,
    Call,
}

/// Where a phone stands with the organization's alerts.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsentStatus {
    /// Never asked.
    Unknown,
    /// Asked by `requestConsent`, no answer yet.
    Pending,
    /// Answered OUI / YES / START.
    Accepted,
    /// Answered NON / NO.
    Declined,
    /// Sent STOP / ARRET (or the carrier reported it unsubscribed).
    OptedOut,
}

impl ConsentStatus {
    pub fn of(consent: Option<&phone_consent::Model>) -> ConsentStatus {
        match consent {
            None => ConsentStatus::Unknown,
            Some(c) if c.opted_out_at.is_some() => ConsentStatus::OptedOut,
            Some(c) => match c.consent {
                Consent::Unknown => ConsentStatus::Unknown,
                Consent::Pending => ConsentStatus::Pending,
                Consent::Accepted => ConsentStatus::Accepted,
                Consent::Declined => ConsentStatus::Declined,
            },
        }
    }
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "Status")]
pub enum GeocodeStatus {
    Pending,
    Ok,
    Approximate,
    NotFound,
    Failed,
    Manual,
}

/// A stored value that does not parse: corrupt data, an internal error.
#[derive(Debug, thiserror::Error)]
#[error("corrupt stored value {value:?} in {column}")]
pub struct CorruptValue {
    pub column: &'static str,
    pub value: String,
}

pub fn loader<'a>(ctx: &'a Context<'_>) -> Result<&'a RequestLoader, ApiError> {
    ctx.data_opt::<RequestLoader>()
        .ok_or(ApiError::Unauthenticated)
}

pub struct Client(pub Arc<client::Model>);

impl Client {
    pub fn new(model: client::Model) -> Client {
        Client(Arc::new(model))
    }
}

listed_by_id! {
    Client: "ClientConnection", "ClientEdge", |client| client.0.id;
    ServicePoint: "ServicePointConnection", "ServicePointEdge", |point| point.model.id;
}

pub type ServicePointConnection = Connection<ServicePoint>;

// `serial`: see the module documentation of `graphql`.
#[Object(serial)]
impl Client {
    pub async fn id(&self) -> ID {
        encode(Kind::Client, self.0.id)
    }

    /// The client's number or name in the contractor's files; for a client
    /// imported without one, its address as first written.
    async fn external_id(&self) -> &str {
        &self.0.external_id
    }

    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    async fn service_points(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<ServicePointConnection, ApiError> {
        let page = page_request(ctx, first, after)?;
        let all = loader(ctx)?.load_one(PointsOfClient(self.0.id)).await?;
        let all = all.unwrap_or_default();
        let total = all.len() as u64;
        let page = Page::from_sorted(&all, page, |p| p.id);
        service_point_page(ctx, page, total, Some(&self.0)).await
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

pub struct ServicePoint {
    pub model: Arc<service_point::Model>,
    client: Option<Arc<client::Model>>,
    /// Its occupants, when its page prefetched them.
    occupants: Option<Children<occupant::Model>>,
}

impl ServicePoint {
    pub fn new(model: service_point::Model) -> ServicePoint {
        ServicePoint::shared(Arc::new(model))
    }

    /// A point whose record a list or the request's cache holds too.
    pub fn shared(model: Arc<service_point::Model>) -> ServicePoint {
        ServicePoint {
            model,
            client: None,
            occupants: None,
        }
    }

    fn with_client(model: Arc<service_point::Model>, client: Arc<client::Model>) -> ServicePoint {
        ServicePoint {
            model,
            client: Some(client),
            occupants: None,
        }
    }

    /// The same point, for an occupant to name: its record and client
    /// shared, without the occupants its page held.
    fn detached(&self) -> ServicePoint {
        ServicePoint {
            model: self.model.clone(),
            client: self.client.clone(),
            occupants: None,
        }
    }
}

#[Object(serial)]
impl ServicePoint {
    pub async fn id(&self) -> ID {
        encode(Kind::ServicePoint, self.model.id)
    }

    async fn client(&self, ctx: &Context<'_>) -> Result<Client, ApiError> {
        if let Some(client) = &self.client {
            return Ok(Client(client.clone()));
        }
        let client = loader(ctx)?
            .load_one(ClientKey(self.model.client_id))
            .await?;
        client.map(Client::new).ok_or(ApiError::NotFound)
    }

    /// Civic number and street.
    async fn address_line1(&self) -> &str {
        &self.model.address_line1
    }

    async fn city(&self) -> Option<&str> {
        self.model.city.as_deref()
    }

    /// Two-letter code (`QC`).
    async fn province(&self) -> Option<&str> {
        self.model.province.as_deref()
    }

    /// `G1P 0A0`.
    async fn postal_code(&self) -> Option<&str> {
        self.model.postal_code.as_deref()
    }

    /// `999 Rue Exemple, Québec, QC, G1P 0A0`.
    async fn full_address(&self) -> String {
        full_address(
            &self.model.address_line1,
            self.model.city.as_deref(),
            self.model.province.as_deref(),
            self.model.postal_code.as_deref(),
        )
    }

    async fn latitude(&self) -> Option<f64> {
        self.model.latitude
    }

    async fn longitude(&self) -> Option<f64> {
        self.model.longitude
    }

    async fn geocode_status(&self) -> GeocodeStatus {
        self.model.geocode_status.into()
    }

    /// The sectors the point lies in (boundary included); none without
    /// coordinates.
    async fn sectors(&self, ctx: &Context<'_>) -> Result<Vec<super::sector::Sector>, ApiError> {
        let sectors = loader(ctx)?
            .load_one(SectorsOfPoint(self.model.id))
            .await?
            .unwrap_or_default();
        charge_rows(ctx, "ServicePoint", "sectors", sectors.len())?;
        Ok(sectors.into_iter().map(super::sector::Sector).collect())
    }

    async fn occupants(&self, ctx: &Context<'_>) -> Result<PlainList<Occupant>, ApiError> {
        let occupants = match &self.occupants {
            Some(occupants) => occupants.clone(),
            None => loader(ctx)?
                .load_one(OccupantsOfPoint(self.model.id))
                .await?
                .unwrap_or_default(),
        };
        charge_rows(ctx, "ServicePoint", "occupants", occupants.len())?;
        let point = Arc::new(self.detached());
        Ok(PlainList(
            occupants
                .iter()
                .map(|model| Occupant::with_point(model.clone(), Some(point.clone())))
                .collect(),
        ))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.model.updated_at
    }
}

pub struct Occupant {
    pub model: Arc<occupant::Model>,
    point: Option<Arc<ServicePoint>>,
}

impl Occupant {
    pub fn new(model: occupant::Model) -> Occupant {
        Occupant {
            model: Arc::new(model),
            point: None,
        }
    }

    pub fn with_point(model: Arc<occupant::Model>, point: Option<Arc<ServicePoint>>) -> Occupant {
        Occupant { model, point }
    }

    async fn consent(&self, ctx: &Context<'_>) -> Result<Option<phone_consent::Model>, ApiError> {
        let key = ConsentOfPhone(self.model.phone.clone());
        Ok(loader(ctx)?.load_one(key).await?.flatten())
    }

    fn phone(&self) -> Result<Phone, ApiError> {
        Phone::parse(&self.model.phone).map_err(|_| {
            ApiError::internal(CorruptValue {
                column: "phone",
                value: self.model.phone.clone(),
            })
        })
    }
}

#[Object(serial)]
impl Occupant {
    pub async fn id(&self) -> ID {
        encode(Kind::Occupant, self.model.id)
    }

    async fn service_point(&self, ctx: &Context<'_>) -> Result<ServicePoint, ApiError> {
        if let Some(point) = &self.point {
            return Ok(point.detached());
        }
        let point = loader(ctx)?
            .load_one(PointKey(self.model.service_point_id))
            .await?;
        point.map(ServicePoint::new).ok_or(ApiError::NotFound)
    }

    async fn first_name(&self) -> Option<&str> {
        self.model.first_name.as_deref()
    }

    async fn last_name(&self) -> Option<&str> {
        self.model.last_name.as_deref()
    }

    /// `418-555-0123`.
    #[graphql(name = "phone")]
    async fn phone_formatted(&self) -> &str {
        &self.model.phone
    }

    /// `+14185550123`.
    async fn phone_e164(&self) -> Result<String, ApiError> {
        Ok(self.phone()?.e164())
    }

    async fn contact_method(&self) -> ContactMethod {
        self.model.contact_method.into()
    }

    /// Internal notes, never sent to the occupant.
    async fn notes(&self) -> Option<&str> {
        self.model.notes.as_deref()
    }

    /// What the occupant is written to and spoken to in.
    async fn language(&self) -> Language {
        self.model.language.into()
    }

    /// What the occupant's phone answered to the organization (it follows
    /// the phone: an import never resets it). `OPTED_OUT` outranks the rest.
    async fn consent_status(&self, ctx: &Context<'_>) -> Result<ConsentStatus, ApiError> {
        let consent = self.consent(ctx).await?;
        Ok(ConsentStatus::of(consent.as_ref()))
    }

    /// When the phone unsubscribed (STOP, ARRET...), if it has.
    async fn opted_out_at(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>, ApiError> {
        Ok(self.consent(ctx).await?.and_then(|c| c.opted_out_at))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.model.updated_at
    }
}

/// The fields an occupant answers from its record alone (in lists
/// without a future per field, and in one statement: `compiled`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OccupantField {
    Id,
    FirstName,
    LastName,
    Phone,
    ContactMethod,
    Notes,
    Language,
    CreatedAt,
    UpdatedAt,
}

/// Lists of occupants are answered without a future per field when they
/// ask only for these (see [`super::plain`]); the test of each field asked
/// alone holds both ways to the same answers.
impl PlainObject for Occupant {
    type Field = OccupantField;

    fn plain_field(name: &str) -> Option<OccupantField> {
        Some(match name {
            "id" => OccupantField::Id,
            "firstName" => OccupantField::FirstName,
            "lastName" => OccupantField::LastName,
            "phone" => OccupantField::Phone,
            "contactMethod" => OccupantField::ContactMethod,
            "notes" => OccupantField::Notes,
            "language" => OccupantField::Language,
            "createdAt" => OccupantField::CreatedAt,
            "updatedAt" => OccupantField::UpdatedAt,
            _ => return None,
        })
    }

    fn plain_value(&self, field: OccupantField) -> Value {
        let text = |text: &Option<String>| text.as_deref().map_or(Value::Null, Value::from);
        let model = &self.model;
        match field {
            OccupantField::Id => ScalarType::to_value(&encode(Kind::Occupant, model.id)),
            OccupantField::FirstName => text(&model.first_name),
            OccupantField::LastName => text(&model.last_name),
            OccupantField::Phone => Value::from(model.phone.as_str()),
            OccupantField::ContactMethod => enum_value(ContactMethod::from(model.contact_method)),
            OccupantField::Notes => text(&model.notes),
            OccupantField::Language => enum_value(Language::from(model.language)),
            OccupantField::CreatedAt => ScalarType::to_value(&model.created_at),
            OccupantField::UpdatedAt => ScalarType::to_value(&model.updated_at),
        }
    }
}

/// The service points that `filter` keeps, a page of them as a
/// connection; the total counted only when asked.
pub async fn service_point_connection(
    ctx: &Context<'_>,
    filter: &crate::service::service_points::ServicePointFilter,
    first: Option<i32>,
    after: Option<String>,
) -> Result<ServicePointConnection, ApiError> {
    let t = super::tenant(ctx)?;
    let page = page_request(ctx, first, after)?;
    let items = crate::service::list(&t.db, service_points::filtered(t.org, filter), page).await?;
    let total = match super::connection::wants_total(ctx) {
        true => crate::service::count(&t.db, service_points::filtered(t.org, filter)).await?,
        false => 0,
    };
    service_point_page(ctx, items, total, None).await
}

/// The one way a page of service points becomes a connection (whichever
/// way it was read: a filter, a client's, a sector's): what the selection
/// asks of each point is prefetched for the whole page, one statement per
/// relation. With `client`, the page is that client's points, which then
/// know it: `servicePoint.client` costs nothing.
pub async fn service_point_page(
    ctx: &Context<'_>,
    page: Page<impl Into<Arc<service_point::Model>>>,
    total: u64,
    client: Option<&Arc<client::Model>>,
) -> Result<ServicePointConnection, ApiError> {
    let page: Page<Arc<service_point::Model>> = page.map(Into::into);
    let ids: Vec<uuid::Uuid> = page.items.iter().map(|p| p.id).collect();
    let clients: Vec<uuid::Uuid> = match client {
        Some(_) => Vec::new(),
        None => page.items.iter().map(|p| p.client_id).collect(),
    };
    let node = nodes(&ctx.look_ahead());
    let mut occupants = prefetch::for_points(loader(ctx)?, node, &ids, &clients).await?;
    let page = page.map(|point| {
        let occupants = occupants
            .as_mut()
            .and_then(|by_point| by_point.remove(&OccupantsOfPoint(point.id)));
        let point = match client {
            Some(client) => ServicePoint::with_client(point, client.clone()),
            None => ServicePoint::shared(point),
        };
        ServicePoint { occupants, ..point }
    });
    Ok(Connection::new(page, total))
}
