//! Prefetches, with one statement per relation, what a list's items will
//! ask for (see the parent module for why).

use async_graphql::{Context, InputType, Lookahead, SelectionField};

use super::*;
use crate::error::ApiError;
use crate::graphql::connection::{page_request, row_page_request};
use crate::graphql::import::{self, row_statuses};

/// An argument of a selected field as its resolver will read it; `None`
/// when it does not parse, which the resolver then reports.
fn argument<T: InputType>(field: &SelectionField<'_>, name: &str) -> Option<T> {
    let value = field
        .arguments()
        .ok()?
        .into_iter()
        .find(|(argument, _)| argument.as_str() == name)
        .map(|(_, value)| value);
    T::parse(value).ok()
}

/// For a list of sectors whose item selection is `node`: each
/// `servicePoints` selection (aliases may ask for several pages), the
/// alert recipients and the alert history.
pub async fn for_sectors(
    ctx: &Context<'_>,
    loader: &RequestLoader,
    node: Lookahead<'_>,
    sectors: &[Uuid],
) -> Result<(), ApiError> {
    for field in node.field("servicePoints").selection_fields() {
        let (Some(first), Some(after)) = (argument(&field, "first"), argument(&field, "after"))
        else {
            continue;
        };
        let Ok(page) = page_request(ctx, first, after) else {
            continue;
        };
        let pages = loader
            .load_many(
                sectors
                    .iter()
                    .map(|id| PointsOfSector { sector: *id, page }),
            )
            .await?;
        let field = Lookahead::from(field);
        if field.field("totalCount").exists() {
            loader
                .load_many(sectors.iter().map(|id| PointCountOfSector(*id)))
                .await?;
        }
        let points: Vec<&service_point::Model> =
            pages.values().flat_map(|page| &page.items).collect();
        for_points(
            loader,
            field.field("edges").field("node"),
            &ids(&points, |p| p.id),
            &ids(&points, |p| p.client_id),
        )
        .await?;
    }
    let recipients = node.field("alertRecipients");
    if recipients.exists() {
        let loaded = loader
            .load_many(sectors.iter().map(|id| RecipientsOfSector(*id)))
            .await?;
        let points: Vec<&service_point::Model> = loaded.values().flat_map(|r| &r.points).collect();
        for_points(
            loader,
            recipients.field("servicePoint"),
            &ids(&points, |p| p.id),
            &ids(&points, |p| p.client_id),
        )
        .await?;
    }
    if node.field("alerts").exists() {
        loader
            .load_many(sectors.iter().map(|id| AlertsOfSector(*id)))
            .await?;
    }
    Ok(())
}

/// For a list of import runs whose item selection is `node`: each
/// `rows` selection.
pub async fn for_runs(
    ctx: &Context<'_>,
    loader: &RequestLoader,
    node: Lookahead<'_>,
    runs: &[Uuid],
) -> Result<(), ApiError> {
    for field in node.field("rows").selection_fields() {
        let (Some(status), Some(first), Some(after)) = (
            argument::<Option<Vec<import::RowStatus>>>(&field, "status"),
            argument(&field, "first"),
            argument(&field, "after"),
        ) else {
            continue;
        };
        let Ok(page) = row_page_request(ctx, first, after) else {
            continue;
        };
        let statuses = row_statuses(status);
        let pages = loader
            .load_many(runs.iter().map(|run| RowsOfRun {
                run: *run,
                statuses: statuses.clone(),
                page,
            }))
            .await?;
        let field = Lookahead::from(field);
        if field.field("totalCount").exists() {
            loader
                .load_many(runs.iter().map(|run| RowCountOfRun {
                    run: *run,
                    statuses: statuses.clone(),
                }))
                .await?;
        }
        let rows: Vec<&RowResult> = pages.values().flat_map(|page| &page.items).collect();
        for_rows(loader, field.field("edges").field("node"), &rows).await?;
    }
    Ok(())
}

/// For a page of report rows whose item selection is `node`: the
/// records they name.
pub async fn for_rows(
    loader: &RequestLoader,
    node: Lookahead<'_>,
    rows: &[&RowResult],
) -> Result<(), ApiError> {
    if node.field("client").exists() {
        loader
            .load_many(rows.iter().filter_map(|r| r.client_id).map(ClientKey))
            .await?;
    }
    let point = node.field("servicePoint");
    if point.exists() {
        let points = loader
            .load_many(rows.iter().filter_map(|r| r.point_id).map(PointKey))
            .await?;
        let points: Vec<&service_point::Model> = points.values().collect();
        for_points(
            loader,
            point,
            &ids(&points, |p| p.id),
            &ids(&points, |p| p.client_id),
        )
        .await?;
    }
    if node.field("occupant").exists() {
        loader
            .load_many(rows.iter().filter_map(|r| r.occupant_id).map(OccupantKey))
            .await?;
    }
    Ok(())
}

/// For a list of clients whose item selection is `node`.
pub async fn for_clients(
    loader: &RequestLoader,
    node: Lookahead<'_>,
    clients: &[Uuid],
) -> Result<(), ApiError> {
    let points = node.field("servicePoints");
    if !points.exists() {
        return Ok(());
    }
    let loaded = loader
        .load_many(clients.iter().map(|id| PointsOfClient(*id)))
        .await?;
    let point_ids: Vec<Uuid> = loaded.values().flatten().map(|p| p.id).collect();
    for_points(loader, points.field("edges").field("node"), &point_ids, &[]).await
}

/// For a list of service points whose item selection is `node`.
pub async fn for_points(
    loader: &RequestLoader,
    node: Lookahead<'_>,
    points: &[Uuid],
    clients: &[Uuid],
) -> Result<(), ApiError> {
    if node.field("occupants").exists() {
        loader
            .load_many(points.iter().map(|id| OccupantsOfPoint(*id)))
            .await?;
    }
    if node.field("sectors").exists() {
        loader
            .load_many(points.iter().map(|id| SectorsOfPoint(*id)))
            .await?;
    }
    if node.field("client").exists() && !clients.is_empty() {
        loader
            .load_many(clients.iter().map(|id| ClientKey(*id)))
            .await?;
    }
    Ok(())
}
