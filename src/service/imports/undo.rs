//! Undo: destructive imports keep the records as they were (a snapshot),
//! a `MERGE_KEEP_MISSING` only those it touched (what it updated, as it
//! was, and the ids of what it created); restored on demand while no later
//! import has been committed.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Utc;
use entity::{client, import_run, import_snapshot, occupant, service_point};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, Set, TransactionTrait,
};
use sea_orm::{IdenStatic, Iterable};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::gate::{Importer, lock_organization};
use crate::auth::OrgId;
use crate::import::plan::{Existing, Plan};
use crate::service::sectors::Position;
use crate::service::store::batch::insert_models;
use crate::service::store::tenant::{TenantEntity, belongs, delete_all_owned};
use crate::service::{ServiceError, UndoRefusal, delete_owned, require_owned, sectors};

pub(super) async fn snapshot(
    tx: &impl ConnectionTrait,
    org: OrgId,
    run_id: Uuid,
    packed: String,
) -> Result<(), ServiceError> {
    let model = import_snapshot::ActiveModel {
        import_run_id: Set(run_id),
        organization_id: Set(org.uuid()),
        data: Set(packed),
        created_at: Set(Utc::now()),
    };
    // Not `insert`: its RETURNING would read the whole snapshot back.
    import_snapshot::Entity::insert(model)
        .exec_without_returning(tx)
        .await?;
    Ok(())
}

/// How a packed snapshot starts (older ones are plain JSON).
const PACKED: &str = "deflate+base64:";
/// How a packed snapshot of touched records starts.
const TOUCHED: &str = "touched+deflate+base64:";

/// What a `MERGE_KEEP_MISSING` touched: the records it updated, as they
/// were, and the ones it created. Its undo puts back the first, deletes
/// the second, and leaves every other record as it is now.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Touched {
    before: Existing,
    created_clients: Vec<Uuid>,
    created_points: Vec<Uuid>,
    created_occupants: Vec<Uuid>,
}

impl Touched {
    pub(super) fn of(existing: &Existing, plan: &Plan) -> Touched {
        fn ids<T>(records: &[T], id: fn(&T) -> Uuid) -> HashSet<Uuid> {
            records.iter().map(id).collect()
        }
        fn before<T: Clone>(existing: &[T], updated: &HashSet<Uuid>, id: fn(&T) -> Uuid) -> Vec<T> {
            existing
                .iter()
                .filter(|record| updated.contains(&id(record)))
                .cloned()
                .collect()
        }
        let clients = ids(&plan.clients.update, |c| c.id);
        let points = ids(&plan.points.update, |p| p.id);
        let occupants = ids(&plan.occupants.update, |o| o.id);
        Touched {
            before: Existing {
                clients: before(&existing.clients, &clients, |c| c.id),
                points: before(&existing.points, &points, |p| p.id),
                occupants: before(&existing.occupants, &occupants, |o| o.id),
            },
            created_clients: plan.clients.create.iter().map(|c| c.id).collect(),
            created_points: plan.points.create.iter().map(|p| p.id).collect(),
            created_occupants: plan.occupants.create.iter().map(|o| o.id).collect(),
        }
    }
}

/// A `MERGE_KEEP_MISSING`'s snapshot: what it touched, packed.
pub(super) fn pack_touched(existing: &Existing, plan: &Plan) -> Result<String, serde_json::Error> {
    pack_as(&Touched::of(existing, plan), TOUCHED)
}
/// The snapshot of an import that changed nothing: its undo restores
/// nothing either.
pub(super) const UNCHANGED: &str = "unchanged";

/// The records as deflated JSON in base64, written as they serialize: a
/// 100,000-occupant organization is 64 MB of JSON but about 10 MB packed,
/// and the JSON is never whole in memory.
pub(super) fn pack(existing: &Existing) -> Result<String, serde_json::Error> {
    pack_as(existing, PACKED)
}

fn pack_as<T: Serialize>(value: &T, prefix: &str) -> Result<String, serde_json::Error> {
    use std::io::Write;
    let mut encoder = flate2::write::DeflateEncoder::new(
        base64::write::EncoderStringWriter::from_consumer(
            prefix.to_owned(),
            &base64::engine::general_purpose::STANDARD,
        ),
        flate2::Compression::fast(),
    );
    serde_json::to_writer(&mut encoder, value)?;
    let mut base64 = encoder.finish().map_err(serde_json::Error::io)?;
    base64.flush().map_err(serde_json::Error::io)?;
    Ok(base64.into_inner())
}

fn unpack(data: &str) -> Result<Existing, serde_json::Error> {
    let Some(packed) = data.strip_prefix(PACKED) else {
        return serde_json::from_str(data);
    };
    inflate(packed)
}

fn inflate<T: DeserializeOwned>(packed: &str) -> Result<T, serde_json::Error> {
    let mut bytes = packed.as_bytes();
    let decoder =
        base64::read::DecoderReader::new(&mut bytes, &base64::engine::general_purpose::STANDARD);
    let inflated = flate2::read::DeflateDecoder::new(decoder);
    serde_json::from_reader(std::io::BufReader::new(inflated))
}

/// Drops the organization's snapshots: a committing import makes them
/// useless (undo only restores the latest commit).
pub(super) async fn drop_snapshots(tx: &impl ConnectionTrait, org: OrgId) -> Result<(), DbErr> {
    import_snapshot::Entity::delete_many()
        .filter(belongs::<import_snapshot::Entity>(org))
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
        .filter(belongs::<import_run::Entity>(org))
        .filter(import_run::Column::Committed.eq(true))
        // Commit order, never ids: those come from each host's clock.
        .filter(import_run::Column::CommitSeq.gt(run.commit_seq))
        .one(&tx)
        .await?;
    if later.is_some() {
        return Err(ServiceError::Undo(UndoRefusal::LaterImport));
    }
    let snapshot = import_snapshot::Entity::find_by_id(run.id)
        .filter(belongs::<import_snapshot::Entity>(org))
        .one(&tx)
        .await?
        .ok_or(ServiceError::Undo(UndoRefusal::NoSnapshot))?;
    if let Some(touched) = snapshot.data.strip_prefix(TOUCHED) {
        let touched: Touched = inflate(touched)?;
        drop(snapshot);
        put_back(&tx, org, touched).await?;
    } else if snapshot.data != UNCHANGED {
        let existing = unpack(&snapshot.data)?;
        drop(snapshot);
        super::apply::delete_all_records(&tx, org).await?;
        insert_models::<client::Entity>(&tx, &existing.clients, None).await?;
        insert_models::<service_point::Entity>(&tx, &existing.points, None).await?;
        insert_models::<occupant::Entity>(&tx, &existing.occupants, None).await?;
        sectors::place_all_points(&tx, org).await?;
    }
    let mut model: import_run::ActiveModel = run.into();
    model.undone = Set(true);
    let run = model.update(&tx).await?;
    delete_owned::<import_snapshot::Entity>(&tx, org, run.id).await?;
    tx.commit().await?;
    Ok(run)
}

/// Ids a delete statement names: far below either database's limit on
/// bound parameters.
const IDS_PER_DELETE: usize = 10_000;

/// Undoes a `MERGE_KEEP_MISSING`: deletes what it created, puts back what
/// it updated as it was, and places the points put back in their sectors.
async fn put_back(tx: &impl ConnectionTrait, org: OrgId, touched: Touched) -> Result<(), DbErr> {
    async fn delete<E: TenantEntity>(
        tx: &impl ConnectionTrait,
        org: OrgId,
        ids: &[Uuid],
    ) -> Result<(), DbErr> {
        for chunk in ids.chunks(IDS_PER_DELETE) {
            delete_all_owned::<E>(org)
                .filter(E::ID.is_in(chunk.iter().copied()))
                .exec(tx)
                .await?;
        }
        Ok(())
    }
    delete::<occupant::Entity>(tx, org, &touched.created_occupants).await?;
    delete::<service_point::Entity>(tx, org, &touched.created_points).await?;
    delete::<client::Entity>(tx, org, &touched.created_clients).await?;
    let before = touched.before;
    insert_models::<client::Entity>(tx, &before.clients, Some(&every_column::<client::Entity>()))
        .await?;
    let points = every_column::<service_point::Entity>();
    insert_models::<service_point::Entity>(tx, &before.points, Some(&points)).await?;
    let occupants = every_column::<occupant::Entity>();
    insert_models::<occupant::Entity>(tx, &before.occupants, Some(&occupants)).await?;
    let positions: Vec<Position> = before.points.iter().map(Position::from).collect();
    sectors::place_points(tx, org, &positions).await
}

/// On a record's id, every other column takes the inserted value.
fn every_column<E: TenantEntity>() -> OnConflict {
    let columns: Vec<E::Column> = E::Column::iter()
        .filter(|column| column.as_str() != E::ID.as_str())
        .collect();
    OnConflict::column(E::ID).update_columns(columns).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(n: usize) -> Existing {
        let now = Utc::now();
        let org = Uuid::now_v7();
        let clients = (0..n)
            .map(|i| client::Model {
                id: Uuid::now_v7(),
                organization_id: org,
                external_id: format!("C-{i}"),
                address_key: None,
                name: Some(format!("Client n° {i} « Érable »")),
                search_key: format!("c-{i}"),
                created_at: now,
                updated_at: now,
            })
            .collect();
        Existing {
            clients,
            ..Existing::default()
        }
    }

    #[test]
    fn a_packed_snapshot_unpacks_to_the_same_records_and_is_smaller() {
        let existing = records(2_000);
        let json = serde_json::to_string(&existing).unwrap();
        let packed = pack(&existing).unwrap();
        assert!(packed.starts_with(PACKED));
        assert!(
            packed.len() * 4 < json.len(),
            "{} vs {}",
            packed.len(),
            json.len()
        );
        let unpacked = unpack(&packed).unwrap();
        assert_eq!(unpacked.clients, existing.clients);
        // Snapshots written before packing still read.
        assert_eq!(unpack(&json).unwrap().clients, existing.clients);
    }

    #[test]
    fn a_damaged_snapshot_is_an_error_not_a_panic() {
        assert!(unpack(&format!("{PACKED}not base64!")).is_err());
        assert!(unpack(&format!("{PACKED}AAAA")).is_err());
    }
}
