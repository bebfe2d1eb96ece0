//! Grouping and planning, pure: (parsed rows, the organization's records,
//! mode) → a [`Plan`] of creates, updates and deletes and each row's status,
//! computed in memory without a database round trip per row.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{client, occupant, service_point};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::Issue;
use super::rows::{Named, ParsedRow, RowOutcome};
use crate::domain::{GeocodeStatus, ImportMode, MAX_IDENTIFIER, RowStatus, search_key};

/// Which optional columns the file has: a present column is authoritative
/// (an empty cell clears), an absent one leaves the field untouched.
#[derive(Clone, Copy, Debug, Default)]
pub struct Present {
    pub first_name: bool,
    pub last_name: bool,
    pub notes: bool,
    pub client_name: bool,
    pub coordinates: bool,
}

/// The organization's records as they are.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Existing {
    pub clients: Vec<client::Model>,
    pub points: Vec<service_point::Model>,
    pub occupants: Vec<occupant::Model>,
}

#[derive(Clone, Debug)]
pub struct Changes<T> {
    pub create: Vec<T>,
    /// Full new state of records whose own fields change.
    pub update: Vec<T>,
    /// Ids to delete; children of deleted parents go by cascade.
    pub delete: Vec<Uuid>,
}

impl<T> Default for Changes<T> {
    fn default() -> Self {
        Changes {
            create: Vec::new(),
            update: Vec::new(),
            delete: Vec::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub created: u32,
    pub updated: u32,
    pub unchanged: u32,
    pub deleted: u32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub total_rows: u32,
    pub error_rows: u32,
    pub skipped_rows: u32,
    pub clients: Counts,
    pub service_points: Counts,
    pub occupants: Counts,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RowResult {
    pub number: u32,
    pub status: RowStatus,
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
    pub client_id: Option<Uuid>,
    pub point_id: Option<Uuid>,
    pub occupant_id: Option<Uuid>,
}

#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// `REPLACE_ALL`: everything of the organization goes first.
    pub replace_all: bool,
    pub clients: Changes<client::Model>,
    pub points: Changes<service_point::Model>,
    pub occupants: Changes<occupant::Model>,
    pub rows: Vec<RowResult>,
    pub summary: Summary,
}

impl Plan {
    pub fn has_errors(&self) -> bool {
        self.summary.error_rows > 0
    }

    /// New points without coordinates: what the geocoder has to locate.
    pub fn points_to_geocode(&self) -> impl Iterator<Item = &service_point::Model> {
        self.points
            .create
            .iter()
            .chain(&self.points.update)
            .filter(|p| p.latitude.is_none())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ClientKey {
    Id(String),
    Address(String),
}

struct Tracked<'a, T> {
    target: T,
    existing: Option<&'a T>,
}

pub struct PlanInput<'a> {
    pub organization_id: Uuid,
    pub mode: ImportMode,
    pub present: Present,
    pub rows: &'a [RowOutcome],
    pub now: DateTime<Utc>,
}

fn warning_row(number: u32, status: RowStatus, issue: Issue) -> RowResult {
    RowResult {
        number,
        status,
        errors: vec![],
        warnings: vec![issue],
        client_id: None,
        point_id: None,
        occupant_id: None,
    }
}

pub fn plan(input: PlanInput<'_>, existing: &Existing) -> Plan {
    let PlanInput {
        organization_id,
        mode,
        present,
        rows,
        now,
    } = input;
    let empty = Existing::default();
    // Repartir à neuf: nothing is matched, everything is replaced.
    let matchable = if mode == ImportMode::ReplaceAll {
        &empty
    } else {
        existing
    };

    let by_external: HashMap<&str, &client::Model> = matchable
        .clients
        .iter()
        .map(|c| (c.external_id.as_str(), c))
        .collect();
    let by_address: HashMap<&str, &client::Model> = matchable
        .clients
        .iter()
        .filter_map(|c| c.address_key.as_deref().map(|k| (k, c)))
        .collect();
    let points_by_key: HashMap<(Uuid, &str), &service_point::Model> = matchable
        .points
        .iter()
        .map(|p| ((p.client_id, p.address_key.as_str()), p))
        .collect();
    let occupants_by_key: HashMap<(Uuid, &str), &occupant::Model> = matchable
        .occupants
        .iter()
        .map(|o| ((o.service_point_id, o.phone.as_str()), o))
        .collect();

    let mut clients: Vec<Tracked<client::Model>> = Vec::new();
    let mut client_index: HashMap<ClientKey, usize> = HashMap::new();
    let mut client_slots: HashMap<Uuid, usize> = HashMap::new();
    let mut new_external_ids: HashMap<String, usize> = HashMap::new();
    let mut points: Vec<Tracked<service_point::Model>> = Vec::new();
    let mut point_index: HashMap<(Uuid, String), usize> = HashMap::new();
    let mut occupants: Vec<(u32, Tracked<occupant::Model>)> = Vec::new();
    let mut occupant_index: HashMap<(Uuid, String), usize> = HashMap::new();
    let mut named: Vec<&Named> = Vec::new();
    let mut results = Vec::with_capacity(rows.len());
    let mut summary = Summary::default();

    for outcome in rows {
        summary.total_rows += 1;
        let row = match outcome {
            RowOutcome::Example { number } => {
                summary.skipped_rows += 1;
                results.push(warning_row(
                    *number,
                    RowStatus::Skipped,
                    Issue::new(
                        "EXAMPLE_ROW",
                        None,
                        "Ligne d'exemple du gabarit ignorée : supprimez-la du fichier.",
                        "The template's example row was skipped: delete it from the file.",
                    ),
                ));
                continue;
            }
            RowOutcome::Invalid {
                number,
                errors,
                named: row_named,
            } => {
                summary.error_rows += 1;
                named.push(row_named);
                results.push(RowResult {
                    number: *number,
                    status: RowStatus::Error,
                    errors: errors.clone(),
                    warnings: vec![],
                    client_id: None,
                    point_id: None,
                    occupant_id: None,
                });
                continue;
            }
            RowOutcome::Valid(row) => row,
        };

        // The client.
        let address_key = row.address.key();
        let key = match &row.client_id {
            Some(id) => ClientKey::Id(id.clone()),
            None => ClientKey::Address(address_key.clone()),
        };
        let client_slot = match client_index.get(&key) {
            Some(slot) => *slot,
            None => {
                let existing = match &key {
                    ClientKey::Id(id) => by_external.get(id.as_str()).copied(),
                    ClientKey::Address(k) => by_address
                        .get(k.as_str())
                        .or_else(|| by_external.get(row.address_written.as_str()))
                        .copied(),
                };
                // Two keys can name one client: an explicit id written like
                // another row's address, or both matching one record.
                let same = match existing {
                    Some(found) => client_slots.get(&found.id).copied(),
                    None => new_external_ids
                        .get(&expected_external_id(&key, row))
                        .copied(),
                };
                let slot = same.unwrap_or_else(|| {
                    let target = match existing {
                        Some(found) => {
                            let mut target = found.clone();
                            if present.client_name {
                                target.name = row.client_name.clone();
                                target.search_key =
                                    search_key(&target.external_id, target.name.as_deref());
                            }
                            target
                        }
                        None => new_client(organization_id, &key, row, now),
                    };
                    client_slots.insert(target.id, clients.len());
                    if existing.is_none() {
                        new_external_ids.insert(target.external_id.clone(), clients.len());
                    }
                    clients.push(Tracked { target, existing });
                    clients.len() - 1
                });
                client_index.insert(key.clone(), slot);
                slot
            }
        };
        let client_id = clients[client_slot].target.id;

        // The service point.
        let point_slot = *point_index
            .entry((client_id, address_key.clone()))
            .or_insert_with(|| {
                let existing = points_by_key
                    .get(&(client_id, address_key.as_str()))
                    .copied();
                let target = point_target(organization_id, client_id, existing, row, present, now);
                points.push(Tracked { target, existing });
                points.len() - 1
            });
        let point_id = points[point_slot].target.id;

        // The occupant.
        let phone = row.phone.formatted();
        let occupant_key = (point_id, phone.clone());
        if let Some(&first) = occupant_index.get(&occupant_key) {
            let (first_row, earlier) = &occupants[first];
            let this = occupant_target(
                organization_id,
                point_id,
                Some(&earlier.target),
                row,
                present,
                now,
            );
            let result = if same_occupant(&this, &earlier.target) {
                summary.skipped_rows += 1;
                warning_row(
                    row.number,
                    RowStatus::Skipped,
                    Issue::new(
                        "DUPLICATE_ROW",
                        None,
                        format!("Ligne identique à la ligne {first_row} : ignorée."),
                        format!("Same as row {first_row}: skipped."),
                    ),
                )
            } else {
                summary.error_rows += 1;
                RowResult {
                    number: row.number,
                    status: RowStatus::Error,
                    errors: vec![Issue::new(
                        "DUPLICATE_OCCUPANT",
                        None,
                        format!(
                            "Même occupant (adresse et téléphone) que la ligne {first_row}, avec d'autres valeurs."
                        ),
                        format!(
                            "Same occupant (address and phone) as row {first_row}, with other values."
                        ),
                    )],
                    warnings: vec![],
                    client_id: None,
                    point_id: None,
                    occupant_id: None,
                }
            };
            results.push(result);
            continue;
        }
        let existing = occupants_by_key.get(&(point_id, phone.as_str())).copied();
        let target = occupant_target(organization_id, point_id, existing, row, present, now);
        let status = match existing {
            None => RowStatus::Created,
            Some(found) if same_occupant(&target, found) => RowStatus::Unchanged,
            Some(_) => RowStatus::Updated,
        };
        let occupant_id = target.id;
        occupant_index.insert(occupant_key, occupants.len());
        occupants.push((row.number, Tracked { target, existing }));
        results.push(RowResult {
            number: row.number,
            status,
            errors: vec![],
            warnings: vec![],
            client_id: Some(client_id),
            point_id: Some(point_id),
            occupant_id: Some(occupant_id),
        });
    }

    let mut plan = Plan {
        replace_all: mode == ImportMode::ReplaceAll,
        rows: results,
        ..Plan::default()
    };
    summary.clients = split(clients, &mut plan.clients, same_client, now, |m, t| {
        m.updated_at = t
    });
    summary.service_points = split(points, &mut plan.points, same_point, now, |m, t| {
        m.updated_at = t
    });
    summary.occupants = split(
        occupants.into_iter().map(|(_, t)| t).collect(),
        &mut plan.occupants,
        same_occupant,
        now,
        |m, t| m.updated_at = t,
    );

    match mode {
        ImportMode::ReplaceAll => {
            summary.clients.deleted = existing.clients.len() as u32;
            summary.service_points.deleted = existing.points.len() as u32;
            summary.occupants.deleted = existing.occupants.len() as u32;
        }
        ImportMode::MergeDeleteMissing => {
            let deletions = deletions(existing, &plan.rows, &named);
            summary.clients.deleted = deletions.clients.len() as u32;
            summary.service_points.deleted = deletions.points_deleted;
            summary.occupants.deleted = deletions.occupants_deleted;
            plan.clients.delete = deletions.clients;
            plan.points.delete = deletions.points;
            plan.occupants.delete = deletions.occupants;
        }
        ImportMode::MergeKeepMissing => {}
    }
    plan.summary = summary;
    plan
}

struct Deletions {
    clients: Vec<Uuid>,
    /// Points not under a deleted client.
    points: Vec<Uuid>,
    /// Occupants not under a deleted point.
    occupants: Vec<Uuid>,
    /// Cascades included.
    points_deleted: u32,
    occupants_deleted: u32,
}

/// `MERGE_DELETE_MISSING`: what the file does not name goes, except what an
/// invalid row names (its client id or its address), which stays whole.
fn deletions(existing: &Existing, rows: &[RowResult], named: &[&Named]) -> Deletions {
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

/// Sorts tracked records into creates, updates and unchanged, and counts.
fn split<T: Clone>(
    tracked: Vec<Tracked<T>>,
    changes: &mut Changes<T>,
    same: fn(&T, &T) -> bool,
    now: DateTime<Utc>,
    touch: fn(&mut T, DateTime<Utc>),
) -> Counts {
    let mut counts = Counts::default();
    for Tracked {
        mut target,
        existing,
    } in tracked
    {
        match existing {
            None => {
                counts.created += 1;
                changes.create.push(target);
            }
            Some(found) if same(&target, found) => counts.unchanged += 1,
            Some(_) => {
                counts.updated += 1;
                touch(&mut target, now);
                changes.update.push(target);
            }
        }
    }
    counts
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The external id a new client with this key gets.
fn expected_external_id(key: &ClientKey, row: &ParsedRow) -> String {
    match key {
        ClientKey::Id(id) => id.clone(),
        ClientKey::Address(_) => truncate(&row.address_written, MAX_IDENTIFIER),
    }
}

fn new_client(
    organization_id: Uuid,
    key: &ClientKey,
    row: &ParsedRow,
    now: DateTime<Utc>,
) -> client::Model {
    let (external_id, address_key) = match key {
        ClientKey::Id(id) => (id.clone(), None),
        // Keyed by its address: shows the address as first written.
        ClientKey::Address(k) => (
            truncate(&row.address_written, MAX_IDENTIFIER),
            Some(k.clone()),
        ),
    };
    client::Model {
        id: Uuid::now_v7(),
        organization_id,
        search_key: search_key(&external_id, row.client_name.as_deref()),
        external_id,
        address_key,
        name: row.client_name.clone(),
        created_at: now,
        updated_at: now,
    }
}

fn point_target(
    organization_id: Uuid,
    client_id: Uuid,
    existing: Option<&service_point::Model>,
    row: &ParsedRow,
    present: Present,
    now: DateTime<Utc>,
) -> service_point::Model {
    let address = &row.address;
    let mut target = existing.cloned().unwrap_or_else(|| service_point::Model {
        id: Uuid::now_v7(),
        organization_id,
        client_id,
        address_line1: String::new(),
        city: None,
        province: None,
        postal_code: None,
        address_key: address.key(),
        latitude: None,
        longitude: None,
        geocode_status: GeocodeStatus::Pending,
        geocode_provider: None,
        geocoded_at: None,
        created_at: now,
        updated_at: now,
    });
    // The written form follows the file; the key (and so the position) stays.
    target.address_line1 = address.line1.clone();
    target.city = address.city.clone();
    target.province = address.province.map(|p| p.code().to_owned());
    target.postal_code = address.postal_code.as_ref().map(|p| p.as_str().to_owned());
    if present.coordinates {
        match row.coordinates {
            Some(c) => {
                target.latitude = Some(c.latitude);
                target.longitude = Some(c.longitude);
                target.geocode_status = GeocodeStatus::Manual;
                target.geocode_provider = None;
            }
            // Empty cells clear hand-given coordinates only: a geocoded
            // position was never the file's to give.
            None if target.geocode_status == GeocodeStatus::Manual => {
                target.latitude = None;
                target.longitude = None;
                target.geocode_status = GeocodeStatus::Pending;
            }
            None => {}
        }
    }
    target
}

fn occupant_target(
    organization_id: Uuid,
    point_id: Uuid,
    existing: Option<&occupant::Model>,
    row: &ParsedRow,
    present: Present,
    now: DateTime<Utc>,
) -> occupant::Model {
    let mut target = existing.cloned().unwrap_or_else(|| occupant::Model {
        id: Uuid::now_v7(),
        organization_id,
        service_point_id: point_id,
        first_name: None,
        last_name: None,
        phone: row.phone.formatted(),
        contact_method: row.contact_method,
        notes: None,
        created_at: now,
        updated_at: now,
    });
    target.contact_method = row.contact_method;
    if present.first_name || existing.is_none() {
        target.first_name = row.first_name.clone();
    }
    if present.last_name || existing.is_none() {
        target.last_name = row.last_name.clone();
    }
    if present.notes || existing.is_none() {
        target.notes = row.notes.clone();
    }
    target
}

fn same_client(a: &client::Model, b: &client::Model) -> bool {
    a.external_id == b.external_id && a.name == b.name
}

fn same_point(a: &service_point::Model, b: &service_point::Model) -> bool {
    a.address_line1 == b.address_line1
        && a.city == b.city
        && a.province == b.province
        && a.postal_code == b.postal_code
        && a.latitude == b.latitude
        && a.longitude == b.longitude
        && a.geocode_status == b.geocode_status
}

fn same_occupant(a: &occupant::Model, b: &occupant::Model) -> bool {
    a.first_name == b.first_name
        && a.last_name == b.last_name
        && a.phone == b.phone
        && a.contact_method == b.contact_method
        && a.notes == b.notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Address, ContactMethod, Phone};

    fn row(
        number: u32,
        client: Option<&str>,
        address: &str,
        phone: &str,
        first_name: &str,
    ) -> RowOutcome {
        RowOutcome::Valid(ParsedRow {
            number,
            first_name: Some(first_name.to_owned()),
            last_name: None,
            phone: Phone::parse(phone).unwrap(),
            contact_method: ContactMethod::Sms,
            address: Address::parse_one_line(address).unwrap(),
            address_written: address.to_owned(),
            notes: None,
            client_id: client.map(str::to_owned),
            client_name: None,
            coordinates: None,
        })
    }

    fn run(mode: ImportMode, rows: &[RowOutcome], existing: &Existing) -> Plan {
        let present = Present {
            first_name: true,
            ..Present::default()
        };
        plan(
            PlanInput {
                organization_id: Uuid::nil(),
                mode,
                present,
                rows,
                now: Utc::now(),
            },
            existing,
        )
    }

    /// The plan's creates as the organization's records, to merge against.
    fn as_existing(plan: &Plan) -> Existing {
        Existing {
            clients: plan.clients.create.clone(),
            points: plan.points.create.clone(),
            occupants: plan.occupants.create.clone(),
        }
    }

    fn statuses(plan: &Plan) -> Vec<RowStatus> {
        plan.rows.iter().map(|r| r.status).collect()
    }

    #[test]
    fn rows_at_one_address_share_a_point_and_an_address_keys_a_client() {
        let rows = [
            row(
                2,
                Some("C-1"),
                "10 rue des Érables, Lévis",
                "418-555-0001",
                "A",
            ),
            row(
                3,
                Some("C-1"),
                "10, Rue des Erables, LEVIS",
                "418-555-0002",
                "B",
            ),
            row(4, None, "5 av. du Parc, Québec", "418-555-0003", "C"),
            row(5, None, "5 Avenue du Parc, Quebec", "418-555-0004", "D"),
        ];
        let plan = run(ImportMode::MergeKeepMissing, &rows, &Existing::default());
        assert_eq!(
            plan.summary.clients,
            Counts {
                created: 2,
                ..Counts::default()
            }
        );
        assert_eq!(
            plan.summary.service_points,
            Counts {
                created: 2,
                ..Counts::default()
            }
        );
        assert_eq!(
            plan.summary.occupants,
            Counts {
                created: 4,
                ..Counts::default()
            }
        );
        let by_address = plan
            .clients
            .create
            .iter()
            .find(|c| c.address_key.is_some())
            .unwrap();
        assert_eq!(by_address.external_id, "5 av. du Parc, Québec");
    }

    #[test]
    fn an_explicit_id_written_like_an_address_is_that_address_client() {
        let rows = [
            row(
                2,
                Some("1 rue A, Québec"),
                "2 rue B, Québec",
                "418-555-0001",
                "A",
            ),
            row(3, None, "1 rue A, Québec", "418-555-0002", "B"),
        ];
        let plan = run(ImportMode::MergeKeepMissing, &rows, &Existing::default());
        assert_eq!(
            plan.summary.clients,
            Counts {
                created: 1,
                ..Counts::default()
            }
        );
        assert_eq!(plan.rows[0].client_id, plan.rows[1].client_id);
        let existing = as_existing(&plan);
        let plan = run(ImportMode::MergeKeepMissing, &rows, &existing);
        assert_eq!(
            plan.summary.clients,
            Counts {
                unchanged: 1,
                ..Counts::default()
            }
        );
    }

    #[test]
    fn a_repeated_occupant_is_skipped_when_identical_and_an_error_otherwise() {
        let rows = [
            row(2, Some("C-1"), "1 rue A, Québec", "418-555-0001", "A"),
            row(3, Some("C-1"), "1 rue A, Québec", "418 555 0001", "A"),
            row(4, Some("C-1"), "1 rue A, Québec", "418-555-0001", "Z"),
        ];
        let plan = run(ImportMode::MergeKeepMissing, &rows, &Existing::default());
        assert_eq!(
            statuses(&plan),
            [RowStatus::Created, RowStatus::Skipped, RowStatus::Error]
        );
        assert!(plan.rows[2].errors[0].fr.contains("ligne 2"));
        assert_eq!((plan.summary.skipped_rows, plan.summary.error_rows), (1, 1));
    }

    #[test]
    fn merging_matches_by_keys_and_counts_changes() {
        let first = [
            row(2, Some("C-1"), "1 rue A, Québec", "418-555-0001", "A"),
            row(3, Some("C-1"), "1 rue A, Québec", "418-555-0002", "B"),
            row(4, Some("C-2"), "2 rue B, Québec", "418-555-0003", "C"),
        ];
        let existing = as_existing(&run(
            ImportMode::MergeKeepMissing,
            &first,
            &Existing::default(),
        ));
        let second = [
            row(2, Some("C-1"), "1 Rue A, Quebec", "418-555-0001", "A"),
            row(3, Some("C-1"), "1 rue A, Québec", "418-555-0002", "Bea"),
            row(4, Some("C-3"), "3 rue C, Québec", "418-555-0004", "D"),
        ];
        let plan = run(ImportMode::MergeKeepMissing, &second, &existing);
        assert_eq!(
            statuses(&plan),
            [RowStatus::Unchanged, RowStatus::Updated, RowStatus::Created]
        );
        assert_eq!(
            plan.summary.clients,
            Counts {
                created: 1,
                unchanged: 1,
                ..Counts::default()
            }
        );
        // The written form changed ("1 Rue A, Quebec"): the point is updated, its key kept.
        assert_eq!(
            plan.summary.service_points,
            Counts {
                created: 1,
                updated: 1,
                ..Counts::default()
            }
        );
        assert_eq!(
            plan.summary.occupants,
            Counts {
                created: 1,
                updated: 1,
                unchanged: 1,
                deleted: 0
            }
        );

        let plan = run(ImportMode::MergeDeleteMissing, &second, &existing);
        assert_eq!(plan.summary.clients.deleted, 1);
        assert_eq!(plan.summary.service_points.deleted, 1);
        assert_eq!(plan.summary.occupants.deleted, 1);
        assert_eq!(plan.clients.delete.len(), 1);
        assert!(plan.points.delete.is_empty() && plan.occupants.delete.is_empty());

        let plan = run(ImportMode::ReplaceAll, &second, &existing);
        assert!(plan.replace_all);
        assert_eq!(
            plan.summary.clients,
            Counts {
                created: 2,
                deleted: 2,
                ..Counts::default()
            }
        );
        assert_eq!(
            plan.summary.occupants,
            Counts {
                created: 3,
                deleted: 3,
                ..Counts::default()
            }
        );
    }

    #[test]
    fn an_invalid_row_protects_what_it_names_from_deletion() {
        let first = [
            row(2, Some("C-1"), "1 rue A, Québec", "418-555-0001", "A"),
            row(3, Some("C-2"), "2 rue B, Québec", "418-555-0002", "B"),
            row(4, Some("C-3"), "3 rue C, Québec", "418-555-0003", "C"),
        ];
        let existing = as_existing(&run(
            ImportMode::MergeKeepMissing,
            &first,
            &Existing::default(),
        ));
        let invalid = |client: Option<&str>, key: Option<&str>| RowOutcome::Invalid {
            number: 3,
            errors: vec![],
            named: Named {
                client_id: client.map(str::to_owned),
                address_key: key.map(str::to_owned),
            },
        };
        let rows = [
            row(2, Some("C-1"), "1 rue A, Québec", "418-555-0001", "A"),
            invalid(Some("C-2"), None),
            invalid(None, Some("3 rue c")),
        ];
        let plan = run(ImportMode::MergeDeleteMissing, &rows, &existing);
        assert_eq!(plan.summary.error_rows, 2);
        assert_eq!(plan.summary.clients.deleted, 0);
        assert_eq!(plan.summary.occupants.deleted, 0);
    }
}
