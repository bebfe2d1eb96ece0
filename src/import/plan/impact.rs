//! Who gains or loses alerts with an import: for each sector, the phones
//! it alerts before the run and after it (a phone, not an occupant, is
//! what gets a message: two occupants sharing one are one recipient), and
//! who they are. Pure: records, positions and sectors in, counts and lists
//! out.

use std::collections::{BTreeMap, HashMap, HashSet};

use entity::{occupant, service_point};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::applied::{Applied, external_ids};
use super::{Existing, Plan};
use crate::domain::full_address;

/// Occupants each list keeps (its count stays exact).
pub const MAX_LISTED: usize = 1_000;

/// An occupant who gains or loses a sector's alerts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affected {
    /// `None` for one a dry run would create, or one the run deletes.
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub occupant_id: Option<Uuid>,
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(rename = "p")]
    pub phone: String,
    #[serde(rename = "a")]
    pub full_address: String,
    #[serde(rename = "c", default)]
    pub client_external_id: String,
}

/// One sector's recipients before and after, and who changes side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectorImpact {
    #[serde(rename = "s")]
    pub sector_id: Uuid,
    #[serde(rename = "b")]
    pub before: u32,
    #[serde(rename = "a")]
    pub after: u32,
    #[serde(rename = "gc")]
    pub gained_count: u32,
    #[serde(rename = "lc")]
    pub lost_count: u32,
    #[serde(rename = "g", default, skip_serializing_if = "Vec::is_empty")]
    pub gained: Vec<Affected>,
    #[serde(rename = "l", default, skip_serializing_if = "Vec::is_empty")]
    pub lost: Vec<Affected>,
}

/// Each sector's recipients: phone → the first occupant with it.
pub type Recipients = HashMap<Uuid, BTreeMap<String, Affected>>;

/// The recipients of `occupants`, whose points' sectors `sectors_of` gives.
/// `known`: whether an occupant's id names a record (not one a dry run
/// would create).
pub fn recipients<'a>(
    occupants: impl Iterator<Item = &'a occupant::Model>,
    points: &HashMap<Uuid, &service_point::Model>,
    external_ids: &HashMap<Uuid, &str>,
    sectors_of: &HashMap<Uuid, Vec<Uuid>>,
    known: impl Fn(&occupant::Model) -> bool,
) -> Recipients {
    let mut found: Recipients = HashMap::new();
    for occupant in occupants {
        let (Some(sectors), Some(point)) = (
            sectors_of.get(&occupant.service_point_id),
            points.get(&occupant.service_point_id),
        ) else {
            continue;
        };
        for sector in sectors {
            found
                .entry(*sector)
                .or_default()
                .entry(occupant.phone.clone())
                .or_insert_with(|| Affected {
                    occupant_id: known(occupant).then_some(occupant.id),
                    first_name: occupant.first_name.clone(),
                    last_name: occupant.last_name.clone(),
                    phone: occupant.phone.clone(),
                    full_address: full_address(
                        &point.address_line1,
                        point.city.as_deref(),
                        point.province.as_deref(),
                        point.postal_code.as_deref(),
                    ),
                    client_external_id: external_ids
                        .get(&point.client_id)
                        .map(|id| (*id).to_owned())
                        .unwrap_or_default(),
                });
        }
    }
    found
}

/// Compares each of `sectors`, in their order. Someone the run deletes is
/// listed without an id.
pub fn compare(sectors: &[Uuid], before: &Recipients, after: &Recipients) -> Vec<SectorImpact> {
    let none = BTreeMap::new();
    sectors
        .iter()
        .map(|sector| {
            let before = before.get(sector).unwrap_or(&none);
            let after = after.get(sector).unwrap_or(&none);
            let only = |one: &BTreeMap<String, Affected>, other: &BTreeMap<String, Affected>| {
                let all: Vec<&Affected> = one
                    .iter()
                    .filter(|(phone, _)| !other.contains_key(*phone))
                    .map(|(_, who)| who)
                    .collect();
                let listed: Vec<Affected> =
                    all.iter().take(MAX_LISTED).map(|a| (*a).clone()).collect();
                (all.len() as u32, listed)
            };
            let (gained_count, gained) = only(after, before);
            let (lost_count, lost) = only(before, after);
            SectorImpact {
                sector_id: *sector,
                before: before.len() as u32,
                after: after.len() as u32,
                gained_count,
                lost_count,
                gained,
                lost,
            }
        })
        .collect()
}

/// The recipients once `plan` is applied, and the ids of the occupants
/// there will be: the points' sectors are the stored ones, except for the
/// points the plan creates or changes, placed by `place` (no sector when
/// not located). `dry_run`: the occupants it creates get no id.
pub fn after(
    applied: &Applied<'_>,
    plan: &Plan,
    stored: &HashMap<Uuid, Vec<Uuid>>,
    place: impl Fn(&service_point::Model) -> Vec<Uuid>,
    dry_run: bool,
) -> (Recipients, HashSet<Uuid>) {
    let written: HashSet<Uuid> = plan
        .points
        .create
        .iter()
        .chain(&plan.points.update)
        .map(|p| p.id)
        .collect();
    let sectors_of: HashMap<Uuid, Vec<Uuid>> = applied
        .points
        .iter()
        .filter_map(|(id, point)| match written.contains(id) {
            true => Some((*id, place(point))),
            false => Some((*id, stored.get(id)?.clone())),
        })
        .collect();
    let created: HashSet<Uuid> = plan.occupants.create.iter().map(|o| o.id).collect();
    let ids = applied.occupants.iter().map(|o| o.id).collect();
    let recipients = recipients(
        applied.occupants.iter().copied(),
        &applied.points,
        &applied.external_ids,
        &sectors_of,
        |o| !(dry_run && created.contains(&o.id)),
    );
    (recipients, ids)
}

/// The recipients before the run.
pub fn before(existing: &Existing, stored: &HashMap<Uuid, Vec<Uuid>>) -> Recipients {
    let points: HashMap<Uuid, &service_point::Model> =
        existing.points.iter().map(|p| (p.id, p)).collect();
    let external_ids = external_ids(existing.clients.iter());
    recipients(
        existing.occupants.iter(),
        &points,
        &external_ids,
        stored,
        |_| true,
    )
}

/// Takes away the ids of occupants that will not exist after the run.
pub fn forget_deleted(recipients: &mut Recipients, remaining: &HashSet<Uuid>) {
    for who in recipients
        .values_mut()
        .flat_map(|by_phone| by_phone.values_mut())
    {
        if who.occupant_id.is_some_and(|id| !remaining.contains(&id)) {
            who.occupant_id = None;
        }
    }
}
