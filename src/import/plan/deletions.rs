//! `MERGE_DELETE_MISSING`'s deletions: what the file does not name goes,
//! except what an invalid row names, which stays whole.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::{Existing, RowResult};
use crate::import::rows::Named;

pub(super) struct Deletions {
    pub(super) clients: Vec<Uuid>,
    /// Points not under a deleted client.
    pub(super) points: Vec<Uuid>,
    /// Occupants not under a deleted point.
    pub(super) occupants: Vec<Uuid>,
    /// Cascades included.
    pub(super) points_deleted: u32,
    pub(super) occupants_deleted: u32,
}

/// `MERGE_DELETE_MISSING`: what the file does not name goes, except what an
/// invalid row names (its client id or its address), which stays whole.
pub(super) fn deletions(existing: &Existing, rows: &[RowResult], named: &[&Named]) -> Deletions {
    let kept_clients: HashSet<Uuid> = rows.iter().filter_map(|r| r.client_id).collect();
    let kept_points: HashSet<Uuid> = rows.iter().filter_map(|r| r.point_id).collect();
    let kept_occupants: HashSet<Uuid> = rows.iter().filter_map(|r| r.occupant_id).collect();

    let named_ids: HashSet<&str> = named
        .iter()
        .filter_map(|n| n.client_id.as_deref())
        .collect();
    let named_addresses: Vec<&str> = named
        .iter()
        .filter_map(|n| n.address_key.as_deref())
        .collect();
    let names_address = |key: &str| {
        named_addresses.iter().any(|n| {
            key == *n
                || key
                    .strip_prefix(n)
                    .is_some_and(|rest| rest.starts_with(' '))
        })
    };
    let protected_points: HashSet<Uuid> = existing
        .points
        .iter()
        .filter(|p| names_address(&p.address_key))
        .map(|p| p.id)
        .collect();
    let mut protected_clients: HashSet<Uuid> = existing
        .clients
        .iter()
        .filter(|c| named_ids.contains(c.external_id.as_str()))
        .map(|c| c.id)
        .collect();
    protected_clients.extend(
        existing
            .points
            .iter()
            .filter(|p| protected_points.contains(&p.id))
            .map(|p| p.client_id),
    );

    let clients: Vec<Uuid> = existing
        .clients
        .iter()
        .filter(|c| !kept_clients.contains(&c.id) && !protected_clients.contains(&c.id))
        .map(|c| c.id)
        .collect();
    let deleted_clients: HashSet<Uuid> = clients.iter().copied().collect();
    let mut deleted_points = HashSet::new();
    let mut points = Vec::new();
    for point in &existing.points {
        if deleted_clients.contains(&point.client_id) {
            deleted_points.insert(point.id);
        } else if !kept_points.contains(&point.id)
            && !protected_points.contains(&point.id)
            && !protected_clients.contains(&point.client_id)
        {
            deleted_points.insert(point.id);
            points.push(point.id);
        }
    }
    let client_of: HashMap<Uuid, Uuid> = existing
        .points
        .iter()
        .map(|p| (p.id, p.client_id))
        .collect();
    let mut occupants_deleted = 0;
    let mut occupants = Vec::new();
    for occupant in &existing.occupants {
        let point = occupant.service_point_id;
        if deleted_points.contains(&point) {
            occupants_deleted += 1;
        } else if !kept_occupants.contains(&occupant.id)
            && !protected_points.contains(&point)
            && !client_of
                .get(&point)
                .is_some_and(|c| protected_clients.contains(c))
        {
            occupants_deleted += 1;
            occupants.push(occupant.id);
        }
    }
    Deletions {
        clients,
        points,
        occupants,
        points_deleted: deleted_points.len() as u32,
        occupants_deleted,
    }
}
