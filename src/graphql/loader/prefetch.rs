//! Prefetches, with one statement per relation, what a list's items will
//! ask for (see the parent module for why).

use async_graphql::{Context, InputType, Lookahead, SelectionField};

use super::*;
use crate::error::ApiError;
use crate::graphql::connection::{nodes, page_request};

/// A field whose loads are prefetched, and the type it is on: a test
/// checks each against the schema, so that renaming a field cannot quietly
/// turn its prefetch off.
#[derive(Clone, Copy, Debug)]
pub struct Prefetched {
    pub on: &'static str,
    pub name: &'static str,
}

impl Prefetched {
    /// The field's selection within `selection`.
    pub fn in_<'a>(self, selection: &Lookahead<'a>) -> Lookahead<'a> {
        selection.field(self.name)
    }
}

const fn field(on: &'static str, name: &'static str) -> Prefetched {
    Prefetched { on, name }
}

pub const SECTOR_POINTS: Prefetched = field("Sector", "servicePoints");
pub const SECTOR_RECIPIENTS: Prefetched = field("Sector", "alertRecipients");
pub const SECTOR_ALERTS: Prefetched = field("Sector", "alerts");
pub const RECIPIENT_POINT: Prefetched = field("Occupant", "servicePoint");
pub const RUN_ROWS: Prefetched = field("ImportRun", "rows");
pub const ROW_CLIENT: Prefetched = field("RowReport", "client");
pub const ROW_POINT: Prefetched = field("RowReport", "servicePoint");
pub const ROW_OCCUPANT: Prefetched = field("RowReport", "occupant");
pub const CLIENT_POINTS: Prefetched = field("Client", "servicePoints");
pub const POINT_OCCUPANTS: Prefetched = field("ServicePoint", "occupants");
pub const POINT_SECTORS: Prefetched = field("ServicePoint", "sectors");
pub const POINT_CLIENT: Prefetched = field("ServicePoint", "client");
pub const OCCUPANT_CONSENT: Prefetched = field("Occupant", "consentStatus");
pub const OCCUPANT_OPTED_OUT: Prefetched = field("Occupant", "optedOutAt");
pub const TOTAL_COUNT: Prefetched = field("ServicePointConnection", "totalCount");

/// An argument of a selected field as its resolver will read it; `None`
/// when it does not parse, which the resolver then reports.
pub fn argument<T: InputType>(field: &SelectionField<'_>, name: &str) -> Option<T> {
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
    for field in SECTOR_POINTS.in_(&node).selection_fields() {
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
        if TOTAL_COUNT.in_(&field).exists() {
            loader
                .load_many(sectors.iter().map(|id| PointCountOfSector(*id)))
                .await?;
        }
        let points: Vec<&service_point::Model> = pages
            .values()
            .flat_map(|page| &page.items)
            .map(Arc::as_ref)
            .collect();
        for_points(
            loader,
            nodes(&field),
            &ids(&points, |p| p.id),
            &ids(&points, |p| p.client_id),
        )
        .await?;
    }
    let recipients = SECTOR_RECIPIENTS.in_(&node);
    if recipients.exists() {
        let loaded = loader
            .load_many(sectors.iter().map(|id| RecipientsOfSector(*id)))
            .await?;
        let occupants = loaded.values().flat_map(|r| r.occupants.iter());
        for_occupants(loader, &recipients, occupants.map(Arc::as_ref)).await?;
        let points: Vec<&service_point::Model> = loaded
            .values()
            .flat_map(|r| r.points.iter())
            .map(Arc::as_ref)
            .collect();
        for_points(
            loader,
            RECIPIENT_POINT.in_(&recipients),
            &ids(&points, |p| p.id),
            &ids(&points, |p| p.client_id),
        )
        .await?;
    }
    if SECTOR_ALERTS.in_(&node).exists() {
        loader
            .load_many(sectors.iter().map(|id| AlertsOfSector(*id)))
            .await?;
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
    if ROW_CLIENT.in_(&node).exists() {
        loader
            .load_many(rows.iter().filter_map(|r| r.client_id).map(ClientKey))
            .await?;
    }
    let point = ROW_POINT.in_(&node);
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
    if ROW_OCCUPANT.in_(&node).exists() {
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
    let points = CLIENT_POINTS.in_(&node);
    if !points.exists() {
        return Ok(());
    }
    let loaded = loader
        .load_many(clients.iter().map(|id| PointsOfClient(*id)))
        .await?;
    let point_ids: Vec<Uuid> = loaded
        .values()
        .flat_map(|points| points.iter())
        .map(|p| p.id)
        .collect();
    for_points(loader, nodes(&points), &point_ids, &[]).await?;
    Ok(())
}

/// For occupants whose selection is `node`: what their phones said.
pub async fn for_occupants<'a>(
    loader: &RequestLoader,
    node: &Lookahead<'_>,
    occupants: impl Iterator<Item = &'a occupant::Model>,
) -> Result<(), ApiError> {
    if OCCUPANT_CONSENT.in_(node).exists() || OCCUPANT_OPTED_OUT.in_(node).exists() {
        let phones: std::collections::BTreeSet<&str> =
            occupants.map(|o| o.phone.as_str()).collect();
        loader
            .load_many(phones.into_iter().map(|p| ConsentOfPhone(p.to_owned())))
            .await?;
    }
    Ok(())
}

/// Each point's occupants, as prefetched.
pub type OccupantsByPoint = HashMap<OccupantsOfPoint, Children<occupant::Model>>;

/// For a list of service points whose item selection is `node`; their
/// occupants when it asks for them, for the points to hold (each point's
/// `occupants` then needs no trip through the loader's cache).
pub async fn for_points(
    loader: &RequestLoader,
    node: Lookahead<'_>,
    points: &[Uuid],
    clients: &[Uuid],
) -> Result<Option<OccupantsByPoint>, ApiError> {
    let occupants = POINT_OCCUPANTS.in_(&node);
    let mut by_point = None;
    if occupants.exists() {
        let loaded = loader
            .load_many(points.iter().map(|id| OccupantsOfPoint(*id)))
            .await?;
        let all = loaded
            .values()
            .flat_map(|point| point.iter())
            .map(Arc::as_ref);
        for_occupants(loader, &occupants, all).await?;
        by_point = Some(loaded);
    }
    if POINT_SECTORS.in_(&node).exists() {
        loader
            .load_many(points.iter().map(|id| SectorsOfPoint(*id)))
            .await?;
    }
    if POINT_CLIENT.in_(&node).exists() && !clients.is_empty() {
        loader
            .load_many(clients.iter().map(|id| ClientKey(*id)))
            .await?;
    }
    Ok(by_point)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prefetched_field_is_in_the_schema() {
        let sdl = crate::graphql::sdl();
        let all = [
            SECTOR_POINTS,
            SECTOR_RECIPIENTS,
            SECTOR_ALERTS,
            RECIPIENT_POINT,
            RUN_ROWS,
            ROW_CLIENT,
            ROW_POINT,
            ROW_OCCUPANT,
            CLIENT_POINTS,
            POINT_OCCUPANTS,
            POINT_SECTORS,
            POINT_CLIENT,
            OCCUPANT_CONSENT,
            OCCUPANT_OPTED_OUT,
            TOTAL_COUNT,
        ];
        for field in all {
            let start = sdl
                .find(&format!("type {} ", field.on))
                .unwrap_or_else(|| panic!("no type {}", field.on));
            let body = &sdl[start..start + sdl[start..].find("\n}").unwrap()];
            let declared = body.lines().any(|line| {
                let line = line.trim_start();
                line.starts_with(field.name) && line[field.name.len()..].starts_with(['(', ':'])
            });
            assert!(declared, "{}.{} is not in the schema", field.on, field.name);
        }
    }
}
