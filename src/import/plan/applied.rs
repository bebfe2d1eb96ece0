//! The organization's records as a plan leaves them, read before anything
//! is written: the warnings and the alert impact both look at them, from
//! one pass over the records.

use std::collections::{HashMap, HashSet};

use entity::{client, occupant, service_point};
use uuid::Uuid;

use super::{Existing, Plan};

pub struct Applied<'a> {
    /// Every point there will be, in its new state.
    pub points: HashMap<Uuid, &'a service_point::Model>,
    /// Every occupant there will be, in its new state (an update may
    /// change a phone).
    pub occupants: Vec<&'a occupant::Model>,
    /// Every client's external id.
    pub external_ids: HashMap<Uuid, &'a str>,
}

impl<'a> Applied<'a> {
    /// `plan` applied to `existing` (empty for `REPLACE_ALL`), cascades
    /// included.
    pub fn of(existing: &'a Existing, plan: &'a Plan) -> Applied<'a> {
        let deleted_clients: HashSet<Uuid> = plan.clients.delete.iter().copied().collect();
        let deleted_points: HashSet<Uuid> = plan.points.delete.iter().copied().collect();
        let deleted_occupants: HashSet<Uuid> = plan.occupants.delete.iter().copied().collect();
        let updated_points: HashMap<Uuid, &service_point::Model> =
            plan.points.update.iter().map(|p| (p.id, p)).collect();
        let points: HashMap<Uuid, &service_point::Model> = existing
            .points
            .iter()
            .filter(|p| !deleted_points.contains(&p.id) && !deleted_clients.contains(&p.client_id))
            .map(|p| (p.id, updated_points.get(&p.id).copied().unwrap_or(p)))
            .chain(plan.points.create.iter().map(|p| (p.id, p)))
            .collect();
        let updated: HashMap<Uuid, &occupant::Model> =
            plan.occupants.update.iter().map(|o| (o.id, o)).collect();
        let occupants = existing
            .occupants
            .iter()
            .filter(|o| {
                !deleted_occupants.contains(&o.id) && points.contains_key(&o.service_point_id)
            })
            .map(|o| updated.get(&o.id).copied().unwrap_or(o))
            .chain(&plan.occupants.create)
            .collect();
        Applied {
            points,
            occupants,
            external_ids: external_ids(existing.clients.iter().chain(&plan.clients.create)),
        }
    }
}

/// Clients' external ids by client id.
pub fn external_ids<'a>(
    clients: impl Iterator<Item = &'a client::Model>,
) -> HashMap<Uuid, &'a str> {
    clients.map(|c| (c.id, c.external_id.as_str())).collect()
}
