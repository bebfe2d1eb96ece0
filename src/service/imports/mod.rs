//! Running an import: claim the organization, parse off the async workers,
//! locate new addresses, plan against the organization's records, apply in
//! one transaction with batched statements, store the run and its per-row
//! report. Undo lives in `undo`.

mod apply;
mod gate;
mod locate;
mod undo;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use entity::{client, import_row, import_run, occupant, service_point};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::OrgId;
use crate::domain::ImportMode;
use crate::import::Parsed;
use crate::import::error::Issue;
use crate::import::headers::Mapping;
use crate::import::plan::{self, Existing, Plan, PlanInput, RowResult, Summary};
use crate::import::rows::RowOutcome;
use crate::service::ServiceError;
use crate::service::batch::insert_batched;
use crate::service::geocoding;
use crate::service::sectors::{self, Position};

pub use gate::Importer;
pub use undo::undo;

#[derive(Clone, Debug)]
pub struct ImportOptions {
    pub mode: ImportMode,
    pub dry_run: bool,
    pub skip_invalid_rows: bool,
    pub mapping: Vec<Mapping>,
}

pub async fn import(
    db: &DatabaseConnection,
    importer: &Arc<Importer>,
    org: OrgId,
    file_name: &str,
    bytes: Vec<u8>,
    options: ImportOptions,
) -> Result<import_run::Model, ServiceError> {
    let work = run(db, importer, org, file_name, bytes, options);
    importer.exclusively(db, org, work).await
}

async fn run(
    db: &DatabaseConnection,
    importer: &Importer,
    org: OrgId,
    file_name: &str,
    bytes: Vec<u8>,
    options: ImportOptions,
) -> Result<import_run::Model, ServiceError> {
    let mut timer = PhaseTimer::start();
    let mut parsed = importer.parse(bytes, options.mapping.clone()).await;
    timer.lap("parse");
    let run = NewRun {
        id: Uuid::now_v7(),
        org,
        file_name,
        options: &options,
    };
    if !parsed.file_errors.is_empty() {
        return Ok(store_run(db, &run, &parsed, &Plan::default(), None).await?);
    }

    let input = |now| PlanInput {
        organization_id: org.uuid(),
        mode: options.mode,
        present: parsed.present,
        rows: &parsed.rows,
        now,
    };
    // New addresses are located before the transaction opens, from a first
    // plan: the provider never holds the database.
    let geocoding = &importer.geocoding;
    let needs_positions = parsed
        .rows
        .iter()
        .any(|row| matches!(row, RowOutcome::Valid(r) if r.coordinates.is_none()));
    let located = if geocoding.enabled() && needs_positions {
        let existing = load_existing(db, org).await?;
        let preview = plan::plan(input(Utc::now()), &existing);
        let addresses = preview
            .points_to_geocode()
            .map(|p| (p.address_key.clone(), geocoding::query_of(p)))
            .collect();
        geocoding.locate(db, addresses).await?
    } else {
        HashMap::new()
    };
    timer.lap("geocode");

    let tx = db.begin().await?;
    gate::lock_organization(&tx, org).await?;
    let existing = load_existing(&tx, org).await?;
    timer.lap("load");
    let mut plan = plan::plan(input(Utc::now()), &existing);
    if geocoding.enabled() {
        locate::locate_planned(&mut plan, &located, geocoding);
    }
    // The plan holds what the rows said: free them before writing.
    parsed.rows = Vec::new();
    timer.lap("plan");
    let valid_rows = plan.rows.iter().any(|r| r.occupant_id.is_some());
    let commit =
        !options.dry_run && valid_rows && (!plan.has_errors() || options.skip_invalid_rows);
    if !commit {
        tx.rollback().await?;
        return Ok(store_run(db, &run, &parsed, &plan, None).await?);
    }
    let commit_seq = gate::next_commit_seq(&tx, org).await?;
    let stored = store_run(&tx, &run, &parsed, &plan, Some(commit_seq)).await?;
    timer.lap("report");
    if options.mode.destructive() {
        undo::snapshot(&tx, org, stored.id, &existing).await?;
        timer.lap("snapshot");
    }
    drop(existing);
    apply::apply(&tx, org, &plan).await?;
    let moved: Vec<Position> = plan
        .points
        .create
        .iter()
        .chain(&plan.points.update)
        .map(Position::from)
        .collect();
    sectors::place_points(&tx, org, &moved).await?;
    timer.lap("apply");
    tx.commit().await?;
    timer.lap("commit");
    tracing::info!(rows = plan.rows.len(), phases = %timer, "import committed");
    Ok(stored)
}

/// Where an import's time goes, for the log.
struct PhaseTimer {
    last: std::time::Instant,
    phases: Vec<(&'static str, std::time::Duration)>,
}

impl PhaseTimer {
    fn start() -> PhaseTimer {
        PhaseTimer {
            last: std::time::Instant::now(),
            phases: Vec::new(),
        }
    }

    fn lap(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        self.phases.push((name, now - self.last));
        self.last = now;
    }
}

impl std::fmt::Display for PhaseTimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (name, duration)) in self.phases.iter().enumerate() {
            let separator = if i == 0 { "" } else { " " };
            write!(f, "{separator}{name}={}ms", duration.as_millis())?;
        }
        Ok(())
    }
}

pub async fn load_existing(db: &impl ConnectionTrait, org: OrgId) -> Result<Existing, DbErr> {
    Ok(Existing {
        clients: client::Entity::find()
            .filter(client::Column::OrganizationId.eq(org.uuid()))
            .order_by_asc(client::Column::Id)
            .all(db)
            .await?,
        points: service_point::Entity::find()
            .filter(service_point::Column::OrganizationId.eq(org.uuid()))
            .order_by_asc(service_point::Column::Id)
            .all(db)
            .await?,
        occupants: occupant::Entity::find()
            .filter(occupant::Column::OrganizationId.eq(org.uuid()))
            .order_by_asc(occupant::Column::Id)
            .all(db)
            .await?,
    })
}

struct NewRun<'a> {
    id: Uuid,
    org: OrgId,
    file_name: &'a str,
    options: &'a ImportOptions,
}

fn issues_json(issues: &[Issue]) -> serde_json::Value {
    serde_json::to_value(issues).unwrap_or_else(|_| json!([]))
}

async fn store_run(
    db: &impl ConnectionTrait,
    run: &NewRun<'_>,
    parsed: &Parsed,
    plan: &Plan,
    commit_seq: Option<i64>,
) -> Result<import_run::Model, DbErr> {
    let summary: Summary = plan.summary;
    let model = import_run::ActiveModel {
        id: Set(run.id),
        organization_id: Set(run.org.uuid()),
        mode: Set(run.options.mode),
        file_name: Set(run.file_name.chars().take(400).collect()),
        dry_run: Set(run.options.dry_run),
        committed: Set(commit_seq.is_some()),
        undone: Set(false),
        commit_seq: Set(commit_seq),
        created_at: Set(Utc::now()),
        summary: Set(serde_json::to_value(summary).unwrap_or_else(|_| json!({}))),
        file_errors: Set(issues_json(&parsed.file_errors)),
        file_warnings: Set(issues_json(&parsed.file_warnings)),
        columns: Set(serde_json::to_value(&parsed.columns).unwrap_or_else(|_| json!([]))),
    }
    .insert(db)
    .await?;
    let (run_id, org) = (run.id, run.org.uuid());
    let to_row = |row: &RowResult| import_row::ActiveModel {
        import_run_id: Set(run_id),
        row_number: Set(row.number as i32),
        organization_id: Set(org),
        status: Set(row.status),
        errors: Set(issues_json(&row.errors)),
        warnings: Set(issues_json(&row.warnings)),
        client_id: Set(row.client_id),
        service_point_id: Set(row.point_id),
        occupant_id: Set(row.occupant_id),
    };
    insert_batched(db, &plan.rows, to_row, None).await?;
    Ok(model)
}
