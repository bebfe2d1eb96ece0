//! Record mutations: create, update and delete clients, service points and
//! occupants. Each reads its input, calls the service, wraps the result.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};

use super::alert::Language;
use super::id::{Kind, encode};
use super::object::{Client, ContactMethod, Occupant, ServicePoint};
use super::{geocoding, writer, writer_of};
use crate::domain::{Address, Coordinates, ValidationError};
use crate::error::ApiError;
use crate::service::{
    self,
    occupants::{OccupantFields, OccupantPatch},
};

#[derive(InputObject)]
pub struct CreateClientInput {
    pub external_id: String,
    pub name: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateClientInput {
    pub external_id: Option<String>,
    /// null clears the name; absent keeps it.
    pub name: MaybeUndefined<String>,
}

#[derive(InputObject)]
pub struct AddressInput {
    pub address_line1: String,
    pub city: Option<String>,
    /// Code or name; inferred from the postal code when absent.
    pub province: Option<String>,
    pub postal_code: Option<String>,
}

impl AddressInput {
    fn validate(&self) -> Result<Address, ValidationError> {
        Address::new(
            &self.address_line1,
            self.city.as_deref(),
            self.province.as_deref(),
            self.postal_code.as_deref(),
        )
    }
}

#[derive(InputObject)]
pub struct CreateServicePointInput {
    pub client_id: ID,
    pub address: AddressInput,
    /// With `longitude`: the point is `MANUAL` and never geocoded.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

#[derive(InputObject)]
pub struct UpdateServicePointInput {
    /// A new address without coordinates sends the point back to geocoding.
    pub address: Option<AddressInput>,
    /// Both set: `MANUAL` coordinates. Both null: the geocoder takes over.
    pub latitude: MaybeUndefined<f64>,
    pub longitude: MaybeUndefined<f64>,
}

#[derive(InputObject)]
pub struct CreateOccupantInput {
    pub service_point_id: ID,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: String,
    pub contact_method: ContactMethod,
    pub notes: Option<String>,
    /// `FR` when not given.
    pub language: Option<Language>,
}

#[derive(InputObject)]
pub struct UpdateOccupantInput {
    pub first_name: MaybeUndefined<String>,
    pub last_name: MaybeUndefined<String>,
    pub phone: Option<String>,
    pub contact_method: Option<ContactMethod>,
    pub notes: MaybeUndefined<String>,
    pub language: Option<Language>,
}

/// `MaybeUndefined` as a patch: absent keeps, null clears, a value sets.
fn patch<T: ?Sized, U: std::ops::Deref<Target = T>>(
    value: &MaybeUndefined<U>,
) -> Option<Option<&T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(&**v)),
    }
}

fn coordinates_patch(
    latitude: &MaybeUndefined<f64>,
    longitude: &MaybeUndefined<f64>,
) -> Result<Option<Option<Coordinates>>, ValidationError> {
    match (latitude, longitude) {
        (MaybeUndefined::Undefined, MaybeUndefined::Undefined) => Ok(None),
        (MaybeUndefined::Null, MaybeUndefined::Null) => Ok(Some(None)),
        (MaybeUndefined::Value(lat), MaybeUndefined::Value(lon)) => {
            Ok(Some(Some(Coordinates::new(*lat, *lon)?)))
        }
        _ => Err(ValidationError::CoordinatesIncomplete),
    }
}

#[derive(Default)]
pub struct RecordMutation;

#[Object]
impl RecordMutation {
    async fn create_client(
        &self,
        ctx: &Context<'_>,
        input: CreateClientInput,
    ) -> Result<Client, ApiError> {
        let t = writer(ctx)?;
        let model =
            service::clients::create(&t.db, t.org, &input.external_id, input.name.as_deref())
                .await?;
        Ok(Client::new(model))
    }

    async fn update_client(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateClientInput,
    ) -> Result<Client, ApiError> {
        let (t, uuid) = writer_of(ctx, &id, Kind::Client)?;
        let model = service::clients::update(
            &t.db,
            t.org,
            uuid,
            input.external_id.as_deref(),
            patch(&input.name),
        )
        .await?;
        Ok(Client::new(model))
    }

    /// Deletes the client with its service points and occupants.
    async fn delete_client(&self, ctx: &Context<'_>, id: ID) -> Result<ID, ApiError> {
        let (t, uuid) = writer_of(ctx, &id, Kind::Client)?;
        service::clients::delete(&t.db, t.org, uuid).await?;
        Ok(encode(Kind::Client, uuid))
    }

    async fn create_service_point(
        &self,
        ctx: &Context<'_>,
        input: CreateServicePointInput,
    ) -> Result<ServicePoint, ApiError> {
        let (t, client_id) = writer_of(ctx, &input.client_id, Kind::Client)?;
        let address = input.address.validate()?;
        let coordinates = Coordinates::from_pair(input.latitude, input.longitude)?;
        let model = service::service_points::create(
            &t.db,
            geocoding(ctx)?,
            t.org,
            client_id,
            &address,
            coordinates,
        )
        .await?;
        Ok(ServicePoint::new(model))
    }

    async fn update_service_point(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateServicePointInput,
    ) -> Result<ServicePoint, ApiError> {
        let (t, uuid) = writer_of(ctx, &id, Kind::ServicePoint)?;
        let address = input
            .address
            .as_ref()
            .map(AddressInput::validate)
            .transpose()?;
        let coordinates = coordinates_patch(&input.latitude, &input.longitude)?;
        let model = service::service_points::update(
            &t.db,
            geocoding(ctx)?,
            t.org,
            uuid,
            address.as_ref(),
            coordinates,
        )
        .await?;
        Ok(ServicePoint::new(model))
    }

    /// Deletes the service point with its occupants.
    async fn delete_service_point(&self, ctx: &Context<'_>, id: ID) -> Result<ID, ApiError> {
        let (t, uuid) = writer_of(ctx, &id, Kind::ServicePoint)?;
        service::service_points::delete(&t.db, t.org, uuid).await?;
        Ok(encode(Kind::ServicePoint, uuid))
    }

    async fn create_occupant(
        &self,
        ctx: &Context<'_>,
        input: CreateOccupantInput,
    ) -> Result<Occupant, ApiError> {
        let (t, point_id) = writer_of(ctx, &input.service_point_id, Kind::ServicePoint)?;
        let fields = OccupantFields {
            first_name: service::occupants::first_name(input.first_name.as_deref())?,
            last_name: service::occupants::last_name(input.last_name.as_deref())?,
            phone: service::occupants::phone(&input.phone)?,
            contact_method: input.contact_method.into(),
            notes: service::occupants::notes(input.notes.as_deref())?,
            language: input.language.map(Into::into).unwrap_or_default(),
        };
        let model = service::occupants::create(&t.db, t.org, point_id, fields).await?;
        Ok(Occupant::new(model))
    }

    async fn update_occupant(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateOccupantInput,
    ) -> Result<Occupant, ApiError> {
        let (t, uuid) = writer_of(ctx, &id, Kind::Occupant)?;
        let changes = OccupantPatch {
            first_name: patch(&input.first_name),
            last_name: patch(&input.last_name),
            phone: input.phone.as_deref(),
            contact_method: input.contact_method.map(Into::into),
            notes: patch(&input.notes),
            language: input.language.map(Into::into),
        };
        let model = service::occupants::update(&t.db, t.org, uuid, changes).await?;
        Ok(Occupant::new(model))
    }

    async fn delete_occupant(&self, ctx: &Context<'_>, id: ID) -> Result<ID, ApiError> {
        let (t, uuid) = writer_of(ctx, &id, Kind::Occupant)?;
        service::occupants::delete(&t.db, t.org, uuid).await?;
        Ok(encode(Kind::Occupant, uuid))
    }
}
