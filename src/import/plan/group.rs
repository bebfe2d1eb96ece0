//! Grouping valid rows into clients → points → occupants, matched against
//! the organization's records by their keys, in one pass over the rows.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{client, occupant, service_point};
use uuid::Uuid;

use super::targets::{
    expected_external_id, new_client, occupant_target, point_target, same_occupant,
};
use super::{Existing, Present, RowResult, Summary};
use crate::domain::{RowStatus, fold, search_key};
use crate::import::error::Issue;
use crate::import::rows::{Named, ParsedRow, RowOutcome};

/// What keys a client in the file: its id, or else its address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum ClientKey {
    Id(String),
    Address(String),
}

/// A record as the file leaves it, beside the one it matched.
pub(super) struct Tracked<'a, T> {
    pub(super) target: T,
    pub(super) existing: Option<&'a T>,
}

/// The organization's records by the keys rows are matched on.
struct Index<'a> {
    by_external: HashMap<&'a str, &'a client::Model>,
    by_address: HashMap<&'a str, &'a client::Model>,
    points: HashMap<(Uuid, &'a str), &'a service_point::Model>,
    occupants: HashMap<(Uuid, &'a str), &'a occupant::Model>,
}

impl<'a> Index<'a> {
    fn new(existing: &'a Existing) -> Index<'a> {
        Index {
            by_external: existing
                .clients
                .iter()
                .map(|c| (c.external_id.as_str(), c))
                .collect(),
            by_address: existing
                .clients
                .iter()
                .filter_map(|c| c.address_key.as_deref().map(|k| (k, c)))
                .collect(),
            points: existing
                .points
                .iter()
                .map(|p| ((p.client_id, p.address_key.as_str()), p))
                .collect(),
            occupants: existing
                .occupants
                .iter()
                .map(|o| ((o.service_point_id, o.phone.as_str()), o))
                .collect(),
        }
    }
}

/// What a resident who changed phone is found by, built at the first row
/// whose phone matches no one (a file that changes no phone never builds
/// it): each point's occupants, and every phone the file gives, as numbers.
struct Rephoning<'a> {
    at_point: HashMap<Uuid, Vec<&'a occupant::Model>>,
    file_phones: HashSet<u64>,
}

/// `418-555-0123` as 4185550123.
fn phone_number(formatted: &str) -> u64 {
    formatted
        .bytes()
        .filter(u8::is_ascii_digit)
        .fold(0, |n, digit| n * 10 + u64::from(digit - b'0'))
}

/// A person's name folded for matching (`Élise Côté` = `elise cote`);
/// `None` without one.
fn name_key(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let folded = |name: Option<&str>| fold(name.unwrap_or("").trim());
    let (first, last) = (folded(first), folded(last));
    (!first.is_empty() || !last.is_empty()).then(|| format!("{first}\u{1f}{last}"))
}

/// The grouping so far; rows go in with [`Grouping::add`].
pub(super) struct Grouping<'a, 'r> {
    organization_id: Uuid,
    present: Present,
    now: DateTime<Utc>,
    index: Index<'a>,
    pub(super) clients: Vec<Tracked<'a, client::Model>>,
    client_by_key: HashMap<ClientKey, usize>,
    client_by_id: HashMap<Uuid, usize>,
    new_external_ids: HashMap<String, usize>,
    pub(super) points: Vec<Tracked<'a, service_point::Model>>,
    point_by_key: HashMap<(Uuid, String), usize>,
    /// With the row number that first named each occupant.
    pub(super) occupants: Vec<(u32, Tracked<'a, occupant::Model>)>,
    occupant_by_key: HashMap<(Uuid, String), usize>,
    /// The file's rows, for [`Rephoning`].
    file: &'r [RowOutcome],
    existing: &'a Existing,
    rephoning: Option<Rephoning<'a>>,
    /// Existing occupants matched by name to a new phone: once each.
    rephoned: HashSet<Uuid>,
    /// What invalid rows name: protected from deletion.
    pub(super) named: Vec<&'r Named>,
    pub(super) rows: Vec<RowResult>,
    pub(super) summary: Summary,
}

impl<'a, 'r> Grouping<'a, 'r> {
    pub(super) fn new(
        matchable: &'a Existing,
        organization_id: Uuid,
        present: Present,
        now: DateTime<Utc>,
        rows: &'r [RowOutcome],
    ) -> Grouping<'a, 'r> {
        // Sized up front: these hold a record per row, the plan's largest
        // part, and a doubling vector holds up to twice what it needs (a
        // re-import tracks about as many records as there are).
        let expected = |existing: usize| existing.min(rows.len());
        Grouping {
            organization_id,
            present,
            now,
            index: Index::new(matchable),
            clients: Vec::with_capacity(expected(matchable.clients.len())),
            client_by_key: HashMap::new(),
            client_by_id: HashMap::new(),
            new_external_ids: HashMap::new(),
            points: Vec::with_capacity(expected(matchable.points.len())),
            point_by_key: HashMap::new(),
            occupants: Vec::with_capacity(rows.len()),
            occupant_by_key: HashMap::new(),
            file: rows,
            existing: matchable,
            rephoning: None,
            rephoned: HashSet::new(),
            named: Vec::new(),
            rows: Vec::with_capacity(rows.len()),
            summary: Summary::default(),
        }
    }

    pub(super) fn add(&mut self, outcome: &'r RowOutcome) {
        self.summary.total_rows += 1;
        match outcome {
            RowOutcome::Example { number } => {
                self.summary.skipped_rows += 1;
                self.rows.push(warning_row(
                    *number,
                    RowStatus::Skipped,
                    Issue::new(
                        "EXAMPLE_ROW",
                        None,
                        "Ligne d'exemple du gabarit ignorée : supprimez-la du fichier.",
                        "The template's example row was skipped: delete it from the file.",
                    ),
                ));
            }
            RowOutcome::Invalid {
                number,
                errors,
                named,
            } => {
                self.summary.error_rows += 1;
                self.named.push(named);
                self.rows.push(error_row(*number, errors.clone()));
            }
            RowOutcome::Valid(row) => {
                let address_key = row.address.key();
                let client_id = self.client(row, &address_key);
                let point_id = self.point(row, client_id, address_key);
                let result = self.occupant(row, client_id, point_id);
                self.rows.push(result);
            }
        }
    }

    /// The row's client: one met earlier in the file, an existing one, or
    /// a new one.
    fn client(&mut self, row: &ParsedRow, address_key: &str) -> Uuid {
        let key = match &row.client_id {
            Some(id) => ClientKey::Id(id.clone()),
            None => ClientKey::Address(address_key.to_owned()),
        };
        if let Some(&slot) = self.client_by_key.get(&key) {
            return self.clients[slot].target.id;
        }
        let existing = match &key {
            ClientKey::Id(id) => self.index.by_external.get(id.as_str()).copied(),
            ClientKey::Address(k) => self
                .index
                .by_address
                .get(k.as_str())
                .or_else(|| self.index.by_external.get(row.address_written.as_str()))
                .copied(),
        };
        // Two keys can name one client: an explicit id written like another
        // row's address, or both matching one record.
        let same = match existing {
            Some(found) => self.client_by_id.get(&found.id).copied(),
            None => self
                .new_external_ids
                .get(&expected_external_id(&key, row))
                .copied(),
        };
        let slot = same.unwrap_or_else(|| {
            let target = match existing {
                Some(found) => {
                    let mut target = found.clone();
                    if self.present.client_name {
                        target.name = row.client_name.clone();
                        target.search_key = search_key(&target.external_id, target.name.as_deref());
                    }
                    target
                }
                None => new_client(self.organization_id, &key, row, self.now),
            };
            let slot = self.clients.len();
            self.client_by_id.insert(target.id, slot);
            if existing.is_none() {
                self.new_external_ids
                    .insert(target.external_id.clone(), slot);
            }
            self.clients.push(Tracked { target, existing });
            slot
        });
        self.client_by_key.insert(key, slot);
        self.clients[slot].target.id
    }

    /// The client's point at the row's address.
    fn point(&mut self, row: &ParsedRow, client_id: Uuid, address_key: String) -> Uuid {
        let existing = self
            .index
            .points
            .get(&(client_id, address_key.as_str()))
            .copied();
        let slot = *self
            .point_by_key
            .entry((client_id, address_key))
            .or_insert_with(|| {
                let target = point_target(
                    self.organization_id,
                    client_id,
                    existing,
                    row,
                    self.present,
                    self.now,
                );
                self.points.push(Tracked { target, existing });
                self.points.len() - 1
            });
        self.points[slot].target.id
    }

    /// The point's occupant with the row's phone, and so the row's result:
    /// a second row for one occupant is skipped when identical and an
    /// error otherwise.
    fn occupant(&mut self, row: &ParsedRow, client_id: Uuid, point_id: Uuid) -> RowResult {
        let phone = row.phone.formatted();
        let (organization_id, present, now) = (self.organization_id, self.present, self.now);
        if let Some(&first) = self.occupant_by_key.get(&(point_id, phone.clone())) {
            let (first_row, earlier) = &self.occupants[first];
            let first_row = *first_row;
            let this = occupant_target(
                organization_id,
                point_id,
                Some(&earlier.target),
                row,
                present,
                now,
            );
            if same_occupant(&this, &earlier.target) {
                self.summary.skipped_rows += 1;
                return warning_row(
                    row.number,
                    RowStatus::Skipped,
                    Issue::new(
                        "DUPLICATE_ROW",
                        None,
                        format!("Ligne identique à la ligne {first_row} : ignorée."),
                        format!("Same as row {first_row}: skipped."),
                    ),
                );
            }
            self.summary.error_rows += 1;
            return error_row(
                row.number,
                vec![Issue::new(
                    "DUPLICATE_OCCUPANT",
                    None,
                    format!(
                        "Même occupant (adresse et téléphone) que la ligne {first_row}, avec d'autres valeurs."
                    ),
                    format!(
                        "Same occupant (address and phone) as row {first_row}, with other values."
                    ),
                )],
            );
        }
        let existing = match self.index.occupants.get(&(point_id, phone.as_str())) {
            Some(found) => Some(*found),
            None => self.rephoned(row, point_id),
        };
        let target = occupant_target(organization_id, point_id, existing, row, present, now);
        let status = match existing {
            None => RowStatus::Created,
            Some(found) if same_occupant(&target, found) => RowStatus::Unchanged,
            Some(_) => RowStatus::Updated,
        };
        let occupant_id = target.id;
        self.occupant_by_key
            .insert((point_id, phone), self.occupants.len());
        self.occupants
            .push((row.number, Tracked { target, existing }));
        RowResult {
            number: row.number,
            status,
            errors: vec![],
            warnings: vec![],
            client_id: Some(client_id),
            point_id: Some(point_id),
            occupant_id: Some(occupant_id),
            changes: vec![],
        }
    }
}

impl<'a> Grouping<'a, '_> {
    /// The point's occupant this row names by a new phone: the only one
    /// there with the row's name, whose own phone no row of the file gives
    /// (else that row is theirs). Stale numbers would otherwise pile up
    /// under `MERGE_KEEP_MISSING`, and keep being alerted.
    fn rephoned(&mut self, row: &ParsedRow, point_id: Uuid) -> Option<&'a occupant::Model> {
        let name = name_key(row.first_name.as_deref(), row.last_name.as_deref())?;
        let (existing, file) = (self.existing, self.file);
        let rephoning = self.rephoning.get_or_insert_with(|| Rephoning {
            at_point: existing.occupants.iter().fold(HashMap::new(), |mut at, o| {
                at.entry(o.service_point_id)
                    .or_insert_with(Vec::new)
                    .push(o);
                at
            }),
            file_phones: file
                .iter()
                .filter_map(|row| match row {
                    RowOutcome::Valid(row) => Some(phone_number(&row.phone.formatted())),
                    _ => None,
                })
                .collect(),
        });
        let mut namesakes = rephoning.at_point.get(&point_id)?.iter().filter(|o| {
            name_key(o.first_name.as_deref(), o.last_name.as_deref()).as_ref() == Some(&name)
        });
        let (Some(only), None) = (namesakes.next().copied(), namesakes.next()) else {
            return None;
        };
        if rephoning.file_phones.contains(&phone_number(&only.phone))
            || !self.rephoned.insert(only.id)
        {
            return None;
        }
        Some(only)
    }
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
        changes: vec![],
    }
}

fn error_row(number: u32, errors: Vec<Issue>) -> RowResult {
    RowResult {
        number,
        status: RowStatus::Error,
        errors,
        warnings: vec![],
        client_id: None,
        point_id: None,
        occupant_id: None,
        changes: vec![],
    }
}
