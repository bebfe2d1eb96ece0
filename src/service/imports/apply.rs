//! Writing a plan: deletions, then creates and updates, each kind in batched
//! statements, inside the import's transaction.

use entity::{client, occupant, service_point};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DbErr};

use crate::auth::OrgId;
use crate::import::plan::Plan;
use crate::service::batch::{delete_batched, insert_batched, to_active};
use crate::service::delete_all_owned;

pub(super) async fn apply(tx: &impl ConnectionTrait, org: OrgId, plan: &Plan) -> Result<(), DbErr> {
    if plan.replace_all {
        delete_all_owned::<client::Entity>(org).exec(tx).await?;
    }
    delete_batched::<occupant::Entity>(tx, org, occupant::Column::Id, &plan.occupants.delete)
        .await?;
    delete_batched::<service_point::Entity>(
        tx,
        org,
        service_point::Column::Id,
        &plan.points.delete,
    )
    .await?;
    delete_batched::<client::Entity>(tx, org, client::Column::Id, &plan.clients.delete).await?;

    let client_updates = OnConflict::column(client::Column::Id)
        .update_columns([
            client::Column::ExternalId,
            client::Column::AddressKey,
            client::Column::Name,
            client::Column::SearchKey,
            client::Column::UpdatedAt,
        ])
        .to_owned();
    let point_updates = OnConflict::column(service_point::Column::Id)
        .update_columns([
            service_point::Column::AddressLine1,
            service_point::Column::City,
            service_point::Column::Province,
            service_point::Column::PostalCode,
            service_point::Column::Latitude,
            service_point::Column::Longitude,
            service_point::Column::GeocodeStatus,
            service_point::Column::GeocodeProvider,
            service_point::Column::GeocodedAt,
            service_point::Column::UpdatedAt,
        ])
        .to_owned();
    let occupant_updates = OnConflict::column(occupant::Column::Id)
        .update_columns([
            occupant::Column::FirstName,
            occupant::Column::LastName,
            occupant::Column::ContactMethod,
            occupant::Column::Notes,
            occupant::Column::UpdatedAt,
        ])
        .to_owned();

    insert_batched(
        tx,
        &plan.clients.create,
        to_active::<_, client::ActiveModel>,
        None,
    )
    .await?;
    let updates = Some(&client_updates);
    insert_batched(
        tx,
        &plan.clients.update,
        to_active::<_, client::ActiveModel>,
        updates,
    )
    .await?;
    let points = to_active::<_, service_point::ActiveModel>;
    insert_batched(tx, &plan.points.create, points, None).await?;
    insert_batched(tx, &plan.points.update, points, Some(&point_updates)).await?;
    let occupants = to_active::<_, occupant::ActiveModel>;
    insert_batched(tx, &plan.occupants.create, occupants, None).await?;
    insert_batched(
        tx,
        &plan.occupants.update,
        occupants,
        Some(&occupant_updates),
    )
    .await?;
    Ok(())
}
