//! Planning, pure: (parsed rows, the organization's records, mode) → a
//! [`Plan`] of creates, updates and deletes and each row's status, computed
//! in memory without a database round trip per row.
//!
//! The steps: group the rows into clients → points → occupants matched
//! against the records (`group`), with each record's new state
//! (`targets`); sort them into creates, updates and unchanged; then what
//! the mode deletes (`deletions`).

pub mod applied;
pub mod changes;
pub mod deletions;
mod group;
pub mod impact;
mod targets;
#[cfg(test)]
mod tests;
pub mod warnings;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{client, occupant, service_point};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::Issue;
use super::rows::RowOutcome;
use crate::domain::{ImportMode, RowStatus};
use changes::FieldChange;
use deletions::DeletedRecord;
use group::{Grouping, Tracked};
use targets::{same_client, same_occupant, same_point};

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

/// One row of the report. Its serialized form is the stored report's
/// (`import::report`): short names, empty lists and absent ids left out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RowResult {
    #[serde(rename = "n")]
    pub number: u32,
    #[serde(rename = "s")]
    pub status: RowStatus,
    #[serde(rename = "e", default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Issue>,
    #[serde(rename = "w", default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Issue>,
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Uuid>,
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub point_id: Option<Uuid>,
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub occupant_id: Option<Uuid>,
    /// What an `UPDATED` row changes: its occupant's, its point's and its
    /// client's fields.
    #[serde(rename = "ch", default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
}

#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// `REPLACE_ALL`: everything of the organization goes first.
    pub replace_all: bool,
    pub clients: Changes<client::Model>,
    pub points: Changes<service_point::Model>,
    pub occupants: Changes<occupant::Model>,
    pub rows: Vec<RowResult>,
    /// What `MERGE_DELETE_MISSING` deletes, cascades included, described.
    pub deleted: Vec<DeletedRecord>,
    /// About the records as the plan leaves them (points with nobody to
    /// alert), beside the file's own warnings.
    pub warnings: Vec<Issue>,
    /// Who gains or loses each sector's alerts (set by the service, which
    /// knows the sectors).
    pub alert_impact: Vec<impact::SectorImpact>,
    pub summary: Summary,
}

impl Plan {
    pub fn has_errors(&self) -> bool {
        self.summary.error_rows > 0
    }

    /// Whether applying it would leave every record as it is.
    pub fn changes_nothing(&self) -> bool {
        fn none<T>(changes: &Changes<T>) -> bool {
            changes.create.is_empty() && changes.update.is_empty() && changes.delete.is_empty()
        }
        !self.replace_all && none(&self.clients) && none(&self.points) && none(&self.occupants)
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

pub struct PlanInput<'a> {
    pub organization_id: Uuid,
    pub mode: ImportMode,
    pub present: Present,
    pub rows: &'a [RowOutcome],
    pub now: DateTime<Utc>,
}

/// How many records an organization has, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordCounts {
    pub clients: u32,
    pub points: u32,
    pub occupants: u32,
}

impl Existing {
    pub fn counts(&self) -> RecordCounts {
        RecordCounts {
            clients: self.clients.len() as u32,
            points: self.points.len() as u32,
            occupants: self.occupants.len() as u32,
        }
    }
}

pub fn plan(input: PlanInput<'_>, existing: &Existing) -> Plan {
    match input.mode {
        ImportMode::ReplaceAll => plan_replacing(input, existing.counts()),
        _ => plan_against(input, existing),
    }
}

/// `REPLACE_ALL`'s plan: it matches nothing (repartir à neuf), so it needs
/// only how many records it replaces, not the records themselves.
pub fn plan_replacing(input: PlanInput<'_>, replaced: RecordCounts) -> Plan {
    let mut plan = plan_against(input, &Existing::default());
    plan.replace_all = true;
    plan.summary.clients.deleted = replaced.clients;
    plan.summary.service_points.deleted = replaced.points;
    plan.summary.occupants.deleted = replaced.occupants;
    plan
}

/// The rows matched against `existing`, and what the mode deletes of it.
fn plan_against(input: PlanInput<'_>, existing: &Existing) -> Plan {
    let PlanInput {
        organization_id,
        mode,
        present,
        rows,
        now,
    } = input;
    let mut grouping = Grouping::new(existing, organization_id, present, now, rows);
    for outcome in rows {
        grouping.add(outcome);
    }
    let Grouping {
        clients,
        points,
        occupants,
        named,
        rows,
        mut summary,
        ..
    } = grouping;

    let mut rows = rows;
    attach_changes(&mut rows, &clients, &points, &occupants);
    let mut plan = Plan {
        rows,
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

    if mode == ImportMode::MergeDeleteMissing {
        let deletions = deletions::deletions(existing, &plan.rows, &named);
        summary.clients.deleted = deletions.clients.len() as u32;
        summary.service_points.deleted = deletions.points_deleted;
        summary.occupants.deleted = deletions.occupants_deleted;
        plan.clients.delete = deletions.clients;
        plan.points.delete = deletions.points;
        plan.occupants.delete = deletions.occupants;
        plan.deleted = deletions.records;
    }
    plan.summary = summary;
    plan
}

/// Each row's changes, as the whole file leaves its records: its
/// occupant's, its point's and its client's. A row whose point or client
/// changes is `UPDATED` even when its occupant does not.
fn attach_changes(
    rows: &mut [RowResult],
    clients: &[Tracked<client::Model>],
    points: &[Tracked<service_point::Model>],
    occupants: &[(u32, Tracked<occupant::Model>)],
) {
    type Diff<T> = fn(&T, &T, &mut Vec<FieldChange>);
    fn by_id<'a, T: 'a>(
        tracked: impl Iterator<Item = &'a Tracked<'a, T>>,
        id: fn(&T) -> Uuid,
        diff: Diff<T>,
    ) -> HashMap<Uuid, Vec<FieldChange>> {
        tracked
            .filter_map(|t| {
                let mut found = Vec::new();
                diff(t.existing?, &t.target, &mut found);
                (!found.is_empty()).then(|| (id(&t.target), found))
            })
            .collect()
    }
    let occupants = by_id(
        occupants.iter().map(|(_, t)| t),
        |o| o.id,
        changes::occupant,
    );
    let points = by_id(points.iter(), |p| p.id, changes::point);
    let clients = by_id(clients.iter(), |c| c.id, changes::client);
    if occupants.is_empty() && points.is_empty() && clients.is_empty() {
        return;
    }
    let settled = |status| matches!(status, RowStatus::Updated | RowStatus::Unchanged);
    for row in rows.iter_mut().filter(|row| settled(row.status)) {
        let found: Vec<FieldChange> = [
            (row.occupant_id, &occupants),
            (row.point_id, &points),
            (row.client_id, &clients),
        ]
        .into_iter()
        .filter_map(|(id, changed)| changed.get(&id?))
        .flatten()
        .cloned()
        .collect();
        if !found.is_empty() {
            row.status = RowStatus::Updated;
            row.changes = found;
        }
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
