//! Warnings about what the records will be once the plan is applied, for
//! the contractor to look at before committing: a phone shared by
//! occupants of different clients (one SMS reaches both, and a STOP from
//! it stops both), and service points left with nobody to alert.

use std::collections::{BTreeSet, HashMap, HashSet};

use uuid::Uuid;

use super::Plan;
use super::applied::Applied;
use crate::domain::{RowStatus, full_address};
use crate::import::error::Issue;

/// How many of the points left with nobody a warning names.
const NAMED_POINTS: usize = 5;

/// What the plan's outcome warns of: issues for rows (by their index in
/// `plan.rows`) and for the file.
#[derive(Debug, Default)]
pub struct Warnings {
    pub rows: Vec<(usize, Issue)>,
    pub file: Vec<Issue>,
}

impl Warnings {
    pub fn apply(self, plan: &mut Plan) {
        for (index, issue) in self.rows {
            plan.rows[index].warnings.push(issue);
        }
        plan.warnings.extend(self.file);
    }
}

/// The warnings of `plan`, from the records as it leaves them.
pub fn of(plan: &Plan, applied: &Applied<'_>) -> Warnings {
    let Applied {
        points,
        occupants,
        external_ids,
    } = applied;
    let mut warnings = Warnings::default();
    // Each phone's first client, and whether another has it too; then,
    // for those shared phones only (few), their occupants and clients:
    // nothing kept per phone or per occupant of the whole organization.
    let mut first_client: HashMap<&str, (Uuid, bool)> = HashMap::new();
    let mut peopled: HashSet<Uuid> = HashSet::new();
    for occupant in occupants {
        peopled.insert(occupant.service_point_id);
        if let Some(point) = points.get(&occupant.service_point_id) {
            let seen = first_client
                .entry(occupant.phone.as_str())
                .or_insert((point.client_id, false));
            seen.1 |= seen.0 != point.client_id;
        }
    }
    let mut clients_of_phone: HashMap<&str, BTreeSet<Uuid>> = HashMap::new();
    let mut phone_of: HashMap<Uuid, &str> = HashMap::new();
    for occupant in occupants {
        let shared = first_client
            .get(occupant.phone.as_str())
            .is_some_and(|(_, shared)| *shared);
        if let (true, Some(point)) = (shared, points.get(&occupant.service_point_id)) {
            phone_of.insert(occupant.id, occupant.phone.as_str());
            clients_of_phone
                .entry(occupant.phone.as_str())
                .or_default()
                .insert(point.client_id);
        }
    }
    drop(first_client);

    for (index, row) in plan.rows.iter().enumerate() {
        if matches!(row.status, RowStatus::Error | RowStatus::Skipped) {
            continue;
        }
        let (Some(occupant), Some(client)) = (row.occupant_id, row.client_id) else {
            continue;
        };
        let Some(phone) = phone_of.get(&occupant) else {
            continue;
        };
        let others: Vec<&str> = clients_of_phone
            .get(phone)
            .into_iter()
            .flatten()
            .filter(|other| **other != client)
            .filter_map(|other| external_ids.get(other).copied())
            .collect();
        if !others.is_empty() {
            let others = others.join(", ");
            warnings.rows.push((index, Issue::new(
                "PHONE_SHARED_BY_CLIENTS",
                None,
                format!(
                    "Le {phone} est aussi celui d'un occupant du client {others} : un seul message lui parvient, et un ARRET le désabonne pour les deux."
                ),
                format!(
                    "{phone} is also the phone of an occupant of client {others}: it gets one message, and a STOP unsubscribes it for both."
                ),
            )));
        }
    }

    let mut empty: Vec<&entity::service_point::Model> = points
        .values()
        .filter(|p| !peopled.contains(&p.id))
        .copied()
        .collect();
    if !empty.is_empty() {
        empty.sort_by_key(|p| p.id);
        let named: Vec<String> = empty
            .iter()
            .take(NAMED_POINTS)
            .map(|p| {
                let client = external_ids.get(&p.client_id).copied().unwrap_or("");
                let address = full_address(
                    &p.address_line1,
                    p.city.as_deref(),
                    p.province.as_deref(),
                    p.postal_code.as_deref(),
                );
                format!("{address} ({client})")
            })
            .collect();
        let (count, named) = (empty.len(), named.join("; "));
        warnings.file.push(Issue::new(
            "POINT_WITHOUT_OCCUPANT",
            None,
            format!(
                "{count} point(s) de service sans occupant à alerter après cet import : {named}."
            ),
            format!("{count} service point(s) with nobody to alert after this import: {named}."),
        ));
    }
    warnings
}
