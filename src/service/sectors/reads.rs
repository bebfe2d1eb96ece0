//! Reading by sector: each sector's points a page at a time, their count,
//! the alert's recipients, and a point's sectors; batched over sectors.

use std::collections::{HashMap, HashSet};

use entity::{occupant, sector, sector_membership, service_point};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::auth::OrgId;
use crate::service::store::tenant::{belongs, owned_ids};
use crate::service::{Page, PageRequest, Reader, fetch_all, fetch_pages_by, get_many_owned, owned};

/// The ids of a sector's points, as a subquery.
pub fn points_in(sector_id: Uuid, org: OrgId) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(sector_membership::Column::ServicePointId)
        .from(sector_membership::Entity)
        .and_where(sector_membership::Column::SectorId.eq(sector_id))
        .and_where(belongs::<sector_membership::Entity>(org))
        .take()
}

/// The points of these sectors, as `(sector, point)` pairs.
fn memberships_of(sector_ids: &[Uuid], org: OrgId) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(sector_membership::Column::ServicePointId)
        .from(sector_membership::Entity)
        .and_where(sector_membership::Column::SectorId.is_in(sector_ids.iter().copied()))
        .and_where(belongs::<sector_membership::Entity>(org))
        .take()
}

/// One page of each sector's points, in id order, in one statement; every
/// sector gets a page, empty or not.
pub async fn points_pages(
    db: &impl ConnectionTrait,
    org: OrgId,
    sector_ids: &[Uuid],
    page: PageRequest,
) -> Result<HashMap<Uuid, Page<service_point::Model>>, DbErr> {
    let points = owned::<service_point::Entity>(org)
        .join_rev(
            JoinType::InnerJoin,
            sector_membership::Entity::belongs_to(service_point::Entity)
                .from(sector_membership::Column::ServicePointId)
                .to(service_point::Column::Id)
                .into(),
        )
        .filter(belongs::<sector_membership::Entity>(org))
        .filter(sector_membership::Column::SectorId.is_in(sector_ids.iter().copied()));
    let mut pages = fetch_pages_by(
        db,
        points,
        (
            sector_membership::Entity,
            sector_membership::Column::SectorId,
        ),
        service_point::Column::Id,
        Order::Asc,
        page,
    )
    .await?;
    for sector in sector_ids {
        pages.entry(*sector).or_insert_with(Page::empty);
    }
    Ok(pages)
}

/// How many points each sector holds.
pub async fn count_points(
    db: &impl ConnectionTrait,
    org: OrgId,
    sector_ids: &[Uuid],
) -> Result<HashMap<Uuid, u64>, DbErr> {
    let counts: Vec<(Uuid, i64)> = sector_membership::Entity::find()
        .select_only()
        .column(sector_membership::Column::SectorId)
        .expr(Expr::col(sector_membership::Column::ServicePointId).count())
        .filter(belongs::<sector_membership::Entity>(org))
        .filter(sector_membership::Column::SectorId.is_in(sector_ids.iter().copied()))
        .filter(
            sector_membership::Column::ServicePointId
                .in_subquery(owned_ids::<service_point::Entity>(org)),
        )
        .group_by(sector_membership::Column::SectorId)
        .into_tuple()
        .all(db)
        .await?;
    let mut counts: HashMap<Uuid, u64> = counts
        .into_iter()
        .map(|(sector, n)| (sector, n as u64))
        .collect();
    for sector in sector_ids {
        counts.entry(*sector).or_insert(0);
    }
    Ok(counts)
}

/// The people to reach when a sector is in alert: the occupants of its
/// points (by point, then id), with those points (by id).
#[derive(Clone, Debug, Default)]
pub struct Recipients {
    pub points: Vec<service_point::Model>,
    pub occupants: Vec<occupant::Model>,
}

/// The recipients of each of these sectors, in three statements whatever
/// their number; every sector gets an entry, empty or not.
pub async fn recipients(
    db: &impl Reader,
    org: OrgId,
    sector_ids: &[Uuid],
) -> Result<HashMap<Uuid, Recipients>, DbErr> {
    let memberships: Vec<(Uuid, Uuid)> = sector_membership::Entity::find()
        .select_only()
        .columns([
            sector_membership::Column::ServicePointId,
            sector_membership::Column::SectorId,
        ])
        .filter(belongs::<sector_membership::Entity>(org))
        .filter(sector_membership::Column::SectorId.is_in(sector_ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    let points = owned::<service_point::Entity>(org)
        .filter(service_point::Column::Id.in_subquery(memberships_of(sector_ids, org)))
        .order_by_asc(service_point::Column::Id);
    let points = fetch_all(db, points).await?;
    let occupants = owned::<occupant::Entity>(org)
        .filter(occupant::Column::ServicePointId.in_subquery(memberships_of(sector_ids, org)))
        .order_by_asc(occupant::Column::ServicePointId)
        .order_by_asc(occupant::Column::Id);
    let occupants = fetch_all(db, occupants).await?;
    let mut sectors_of: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (point, sector) in memberships {
        sectors_of.entry(point).or_default().push(sector);
    }
    let mut recipients: HashMap<Uuid, Recipients> = sector_ids
        .iter()
        .map(|sector| (*sector, Recipients::default()))
        .collect();
    for point in points {
        for sector in sectors_of.get(&point.id).into_iter().flatten() {
            if let Some(r) = recipients.get_mut(sector) {
                r.points.push(point.clone());
            }
        }
    }
    for occupant in occupants {
        for sector in sectors_of
            .get(&occupant.service_point_id)
            .into_iter()
            .flatten()
        {
            if let Some(r) = recipients.get_mut(sector) {
                r.occupants.push(occupant.clone());
            }
        }
    }
    Ok(recipients)
}

/// The sectors of several points, for `servicePoint.sectors`.
pub async fn of_points(
    db: &impl Reader,
    org: OrgId,
    point_ids: &[Uuid],
) -> Result<Vec<(Uuid, sector::Model)>, DbErr> {
    let memberships = sector_membership::Entity::find()
        .filter(belongs::<sector_membership::Entity>(org))
        .filter(sector_membership::Column::ServicePointId.is_in(point_ids.iter().copied()))
        .all(db)
        .await?;
    let sector_ids: HashSet<Uuid> = memberships.iter().map(|m| m.sector_id).collect();
    let sectors =
        get_many_owned::<sector::Entity>(db, org, &sector_ids.into_iter().collect::<Vec<_>>())
            .await?;
    Ok(memberships
        .into_iter()
        .filter_map(|m| {
            sectors
                .iter()
                .find(|s| s.id == m.sector_id)
                .map(|s| (m.service_point_id, s.clone()))
        })
        .collect())
}
