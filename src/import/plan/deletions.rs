//! `MERGE_DELETE_MISSING`'s deletions: what the file does not name goes,
//! except what an invalid row names, which stays whole.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Existing, RowResult};
use crate::domain::full_address;
use crate::import::rows::Named;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeletedKind {
    Client,
    ServicePoint,
    Occupant,
}

impl DeletedKind {
    /// As the API and the command line name it.
    pub fn name(self) -> &'static str {
        match self {
            DeletedKind::Client => "CLIENT",
            DeletedKind::ServicePoint => "SERVICE_POINT",
            DeletedKind::Occupant => "OCCUPANT",
        }
    }
}

/// One record a run deletes, with what identifies it to a person. Its
/// serialized form is the stored list's (short names, absent values left
/// out).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedRecord {
    #[serde(rename = "k")]
    pub kind: DeletedKind,
    #[serde(rename = "c")]
    pub client_external_id: String,
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub full_address: Option<String>,
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

pub(super) struct Deletions {
    pub(super) clients: Vec<Uuid>,
    /// Points not under a deleted client.
    pub(super) points: Vec<Uuid>,
    /// Occupants not under a deleted point.
    pub(super) occupants: Vec<Uuid>,
    /// Cascades included: every client, then every point, then every
    /// occupant that goes.
    pub(super) records: Vec<DeletedRecord>,
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
    let places = Places::of(existing);
    let mut records = described(existing, &places, &deleted_clients, &deleted_points);
    let mut gone = |occupant: &entity::occupant::Model| {
        occupants_deleted += 1;
        records.push(DeletedRecord {
            kind: DeletedKind::Occupant,
            first_name: occupant.first_name.clone(),
            last_name: occupant.last_name.clone(),
            phone: Some(occupant.phone.clone()),
            ..places.of_point(occupant.service_point_id)
        });
    };
    for occupant in &existing.occupants {
        let point = occupant.service_point_id;
        if deleted_points.contains(&point) {
            gone(occupant);
        } else if !kept_occupants.contains(&occupant.id)
            && !protected_points.contains(&point)
            && !client_of
                .get(&point)
                .is_some_and(|c| protected_clients.contains(c))
        {
            gone(occupant);
            occupants.push(occupant.id);
        }
    }
    Deletions {
        clients,
        points,
        occupants,
        records,
        points_deleted: deleted_points.len() as u32,
        occupants_deleted,
    }
}

/// The deleted clients, then the deleted points, described.
fn described(
    existing: &Existing,
    places: &Places<'_>,
    clients: &HashSet<Uuid>,
    points: &HashSet<Uuid>,
) -> Vec<DeletedRecord> {
    let clients = existing
        .clients
        .iter()
        .filter(|c| clients.contains(&c.id))
        .map(|c| DeletedRecord {
            kind: DeletedKind::Client,
            client_external_id: c.external_id.clone(),
            full_address: None,
            first_name: None,
            last_name: None,
            phone: None,
        });
    let points = existing
        .points
        .iter()
        .filter(|p| points.contains(&p.id))
        .map(|p| DeletedRecord {
            kind: DeletedKind::ServicePoint,
            ..places.of_point(p.id)
        });
    clients.chain(points).collect()
}

/// The organization's points and clients by id.
struct Places<'a> {
    points: HashMap<Uuid, &'a entity::service_point::Model>,
    clients: HashMap<Uuid, &'a entity::client::Model>,
}

impl<'a> Places<'a> {
    fn of(existing: &'a Existing) -> Places<'a> {
        Places {
            points: existing.points.iter().map(|p| (p.id, p)).collect(),
            clients: existing.clients.iter().map(|c| (c.id, c)).collect(),
        }
    }

    /// A point's client and address, as a record of it names them.
    fn of_point(&self, point_id: Uuid) -> DeletedRecord {
        let point = self.points.get(&point_id);
        let client = point.and_then(|p| self.clients.get(&p.client_id));
        DeletedRecord {
            kind: DeletedKind::ServicePoint,
            client_external_id: client.map(|c| c.external_id.clone()).unwrap_or_default(),
            full_address: point.map(|p| {
                full_address(
                    &p.address_line1,
                    p.city.as_deref(),
                    p.province.as_deref(),
                    p.postal_code.as_deref(),
                )
            }),
            first_name: None,
            last_name: None,
            phone: None,
        }
    }
}
