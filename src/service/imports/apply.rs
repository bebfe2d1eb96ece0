//! Writing a plan: deletions, then creates and updates, each kind in batched
//! statements, inside the import's transaction.

use entity::{client, occupant, sector_membership, service_point};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DbErr};

use crate::auth::OrgId;
use crate::import::plan::Plan;
use crate::service::delete_all_owned;
use crate::service::store::batch::{delete_ids, insert_models};

/// Deletes every client, service point and occupant of the organization,
/// children first: each table in one set-based statement, where deleting
/// the clients alone would cascade row by row (a trigger per deleted row
/// on PostgreSQL).
pub(super) async fn delete_all_records(tx: &impl ConnectionTrait, org: OrgId) -> Result<(), DbErr> {
    delete_all_owned::<sector_membership::Entity>(org)
        .exec(tx)
        .await?;
    delete_all_owned::<occupant::Entity>(org).exec(tx).await?;
    delete_all_owned::<service_point::Entity>(org)
        .exec(tx)
        .await?;
    delete_all_owned::<client::Entity>(org).exec(tx).await?;
    Ok(())
}

pub(super) async fn apply(tx: &impl ConnectionTrait, org: OrgId, plan: &Plan) -> Result<(), DbErr> {
    if plan.replace_all {
        delete_all_records(tx, org).await?;
    }
    delete_ids::<occupant::Entity>(tx, org, &plan.occupants.delete).await?;
    delete_ids::<service_point::Entity>(tx, org, &plan.points.delete).await?;
    delete_ids::<client::Entity>(tx, org, &plan.clients.delete).await?;

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
            occupant::Column::Phone,
            occupant::Column::ContactMethod,
            occupant::Column::Notes,
            occupant::Column::Language,
            occupant::Column::UpdatedAt,
        ])
        .to_owned();

    insert_models::<client::Entity>(tx, &plan.clients.create, None).await?;
    insert_models::<client::Entity>(tx, &plan.clients.update, Some(&client_updates)).await?;
    insert_models::<service_point::Entity>(tx, &plan.points.create, None).await?;
    insert_models::<service_point::Entity>(tx, &plan.points.update, Some(&point_updates)).await?;
    insert_models::<occupant::Entity>(tx, &plan.occupants.create, None).await?;
    insert_models::<occupant::Entity>(tx, &plan.occupants.update, Some(&occupant_updates)).await?;
    Ok(())
}
