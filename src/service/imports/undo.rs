//! Undo: destructive imports keep the records as they were (a snapshot),
//! restored on demand while no later import has been committed.

use std::sync::Arc;

use chrono::Utc;
use entity::{client, import_run, import_snapshot, occupant, service_point};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, Set, TransactionTrait,
};
use uuid::Uuid;

use super::gate::{Importer, lock_organization};
use crate::auth::OrgId;
use crate::import::plan::Existing;
use crate::service::batch::insert_models;
use crate::service::{
    ServiceError, UndoRefusal, delete_all_owned, delete_owned, require_owned, sectors,
};

pub(super) async fn snapshot(
    tx: &impl ConnectionTrait,
    org: OrgId,
    run_id: Uuid,
    existing: &Existing,
) -> Result<(), ServiceError> {
    // Straight to text: a `serde_json::Value` of 100,000 records weighs ten
    // times the records themselves.
    let data = serde_json::to_string(existing)?;
    import_snapshot::ActiveModel {
        import_run_id: Set(run_id),
        organization_id: Set(org.uuid()),
        data: Set(data),
        created_at: Set(Utc::now()),
    }
    .insert(tx)
    .await?;
    Ok(())
}

/// Drops the organization's snapshots: a committing import makes them
/// useless (undo only restores the latest commit).
pub(super) async fn drop_snapshots(tx: &impl ConnectionTrait, org: OrgId) -> Result<(), DbErr> {
    import_snapshot::Entity::delete_many()
        .filter(import_snapshot::Column::OrganizationId.eq(org.uuid()))
        .exec(tx)
        .await?;
    Ok(())
}

/// Restores the organization's records as they were before a destructive
/// import, while no later import has been committed.
pub async fn undo(
    db: &DatabaseConnection,
    importer: &Arc<Importer>,
    org: OrgId,
    id: Uuid,
) -> Result<import_run::Model, ServiceError> {
    importer.exclusively(db, org, restore(db, org, id)).await
}

async fn restore(
    db: &DatabaseConnection,
    org: OrgId,
    id: Uuid,
) -> Result<import_run::Model, ServiceError> {
    let tx = db.begin().await?;
    lock_organization(&tx, org).await?;
    let run = require_owned::<import_run::Entity>(&tx, org, id).await?;
    if !run.committed || run.undone {
        return Err(ServiceError::Undo(UndoRefusal::NotCommitted));
    }
    // Any later commit, even one since undone: its import dropped this
    // run's snapshot.
    let later = import_run::Entity::find()
        .filter(import_run::Column::OrganizationId.eq(org.uuid()))
        .filter(import_run::Column::Committed.eq(true))
        // Commit order, never ids: those come from each host's clock.
        .filter(import_run::Column::CommitSeq.gt(run.commit_seq))
        .one(&tx)
        .await?;
    if later.is_some() {
        return Err(ServiceError::Undo(UndoRefusal::LaterImport));
    }
    let snapshot = import_snapshot::Entity::find_by_id(run.id)
        .filter(import_snapshot::Column::OrganizationId.eq(org.uuid()))
        .one(&tx)
        .await?
        .ok_or(ServiceError::Undo(UndoRefusal::NoSnapshot))?;
    let existing: Existing = serde_json::from_str(&snapshot.data)?;

    delete_all_owned::<client::Entity>(org).exec(&tx).await?;
    insert_models::<client::Entity>(&tx, &existing.clients, None).await?;
    insert_models::<service_point::Entity>(&tx, &existing.points, None).await?;
    insert_models::<occupant::Entity>(&tx, &existing.occupants, None).await?;
    let mut model: import_run::ActiveModel = run.into();
    model.undone = Set(true);
    let run = model.update(&tx).await?;
    sectors::place_all_points(&tx, org).await?;
    delete_owned::<import_snapshot::Entity>(&tx, org, run.id).await?;
    tx.commit().await?;
    Ok(run)
}
