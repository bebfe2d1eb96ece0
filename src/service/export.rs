//! The organization's export (`GET /export.xlsx`), in bounded memory: the
//! occupants are read in pages (with their points and clients) inside one
//! read-only transaction, so the file is one consistent state even while an
//! import commits, and a blocking task writes each page as it comes.

use std::collections::BTreeSet;

use entity::{client, occupant, service_point};
use sea_orm::{
    AccessMode, ColumnTrait, DatabaseConnection, IsolationLevel, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use crate::auth::OrgId;
use crate::import::plan::Existing;
use crate::service::{ServiceError, fetch_all, get_many_owned, owned};
use crate::spreadsheet::ExportWriter;

/// Occupants per page: a few MB of records, and far below SQLite's and
/// PostgreSQL's limits on bound parameters for the `IN` lists.
const PAGE: u64 = 5_000;

/// The xlsx bytes of the organization's export.
pub async fn export(db: &DatabaseConnection, org: OrgId) -> Result<Vec<u8>, ServiceError> {
    // Two pages in flight at most: reading runs ahead of writing by one.
    let (pages, mut received) = tokio::sync::mpsc::channel::<Existing>(1);
    let writer = tokio::task::spawn_blocking(move || {
        let mut writer = ExportWriter::new()?;
        while let Some(page) = received.blocking_recv() {
            writer.write(&page)?;
        }
        writer.finish()
    });

    // On SQLite a read transaction is a snapshot already (WAL), and the
    // driver takes neither setting.
    let txn = if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        db.begin_with_config(
            Some(IsolationLevel::RepeatableRead),
            Some(AccessMode::ReadOnly),
        )
        .await?
    } else {
        db.begin().await?
    };
    let mut after: Option<Uuid> = None;
    loop {
        let mut occupants = owned::<occupant::Entity>(org)
            .order_by_asc(occupant::Column::Id)
            .limit(PAGE);
        if let Some(after) = after {
            occupants = occupants.filter(occupant::Column::Id.gt(after));
        }
        let occupants = fetch_all(&txn, occupants).await?;
        let Some(last) = occupants.last() else { break };
        after = Some(last.id);
        let point_ids = distinct(occupants.iter().map(|o| o.service_point_id));
        let points = get_many_owned::<service_point::Entity>(&txn, org, &point_ids).await?;
        let client_ids = distinct(points.iter().map(|p| p.client_id));
        let clients = get_many_owned::<client::Entity>(&txn, org, &client_ids).await?;
        let full = occupants.len() as u64 == PAGE;
        let page = Existing {
            clients,
            points,
            occupants,
        };
        // The writer stopped on an error: it is reported below.
        if pages.send(page).await.is_err() || !full {
            break;
        }
    }
    drop(pages);
    txn.commit().await?;
    writer
        .await
        .map_err(|e| ServiceError::Spreadsheet(Box::new(e)))?
        .map_err(|e| ServiceError::Spreadsheet(Box::new(e)))
}

fn distinct(ids: impl Iterator<Item = Uuid>) -> Vec<Uuid> {
    ids.collect::<BTreeSet<_>>().into_iter().collect()
}
