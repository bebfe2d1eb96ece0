//! Running an import: parse off the async workers, plan against the
//! organization's records, apply in one transaction with batched
//! statements, store the run and its per-row report; and undo.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use entity::{
    client, import_row, import_run, import_snapshot, occupant, organization, service_point,
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, QueryFilter, QueryOrder, Set, Statement, TransactionTrait,
};
use serde_json::json;
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::auth::OrgId;
use crate::domain::GeocodeStatus;
use crate::error::ServiceError;
use crate::import::error::{FileError, Issue};
use crate::import::headers::Mapping;
use crate::import::plan::{self, Existing, Mode, Plan, PlanInput, RowResult, Summary};
use crate::import::read::ReadLimits;
use crate::import::rows::RowOutcome;
use crate::import::{self as pipeline, Parsed};
use crate::service::batch::{delete_batched, insert_batched, to_active};
use crate::service::geocoding::{self, Geocoding, Located};
use crate::service::sectors::{self, Position};

/// Limits of an import (SPEC: "Limits", all configurable).
#[derive(Clone, Debug)]
pub struct ImportLimits {
    pub max_rows: usize,
    pub read: ReadLimits,
}

/// Shared by all requests: who is importing now, and how many parses may
/// run at once (parsing is CPU-bound and runs on blocking threads).
pub struct Importer {
    pub limits: ImportLimits,
    pub geocoding: Arc<Geocoding>,
    busy: Mutex<HashSet<Uuid>>,
    parses: Semaphore,
}

impl Importer {
    pub fn new(
        limits: ImportLimits,
        geocoding: Arc<Geocoding>,
        concurrent_parses: usize,
    ) -> Importer {
        Importer {
            limits,
            geocoding,
            busy: Mutex::new(HashSet::new()),
            parses: Semaphore::new(concurrent_parses.max(1)),
        }
    }

    /// One import per organization at a time.
    fn claim(self: &Arc<Self>, org: OrgId) -> Result<Claim, ServiceError> {
        let mut busy = self
            .busy
            .lock()
            .map_err(|_| ServiceError::ImportInProgress)?;
        if !busy.insert(org.uuid()) {
            return Err(ServiceError::ImportInProgress);
        }
        Ok(Claim {
            importer: self.clone(),
            org: org.uuid(),
        })
    }

    async fn parse(&self, bytes: Vec<u8>, mapping: Vec<Mapping>) -> Parsed {
        let Ok(_permit) = self.parses.acquire().await else {
            return Parsed {
                file_errors: vec![FileError::Unreadable.issue()],
                ..Parsed::default()
            };
        };
        let limits = self.limits.clone();
        let parsed = tokio::task::spawn_blocking(move || {
            pipeline::parse(&bytes, limits.max_rows, &limits.read, &mapping)
        })
        .await;
        // A panic inside a reader is a broken file, not a broken server.
        parsed.unwrap_or_else(|_| Parsed {
            file_errors: vec![FileError::Unreadable.issue()],
            ..Parsed::default()
        })
    }
}

struct Claim {
    importer: Arc<Importer>,
    org: Uuid,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.importer.busy.lock() {
            busy.remove(&self.org);
        }
    }
}

#[derive(Clone, Debug)]
pub struct ImportOptions {
    pub mode: Mode,
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
    let _claim = importer.claim(org)?;
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
        return Ok(store_run(db, &run, &parsed, &Plan::default(), false).await?);
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
    lock_organization(&tx, org).await?;
    let existing = load_existing(&tx, org).await?;
    timer.lap("load");
    let mut plan = plan::plan(input(Utc::now()), &existing);
    if geocoding.enabled() {
        locate_planned(&mut plan, &located, geocoding);
    }
    // The plan holds what the rows said: free them before writing.
    parsed.rows = Vec::new();
    timer.lap("plan");
    let valid_rows = plan.rows.iter().any(|r| r.occupant_id.is_some());
    let commit =
        !options.dry_run && valid_rows && (!plan.has_errors() || options.skip_invalid_rows);
    if !commit {
        tx.rollback().await?;
        return Ok(store_run(db, &run, &parsed, &plan, false).await?);
    }
    let stored = store_run(&tx, &run, &parsed, &plan, true).await?;
    timer.lap("report");
    if options.mode.destructive() {
        snapshot(&tx, org, stored.id, &existing).await?;
        timer.lap("snapshot");
    }
    drop(existing);
    apply(&tx, org, &plan).await?;
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

/// Puts what the geocoder found on the planned points, and tells each row
/// whose address was not found, only roughly found, or not yet located.
fn locate_planned(plan: &mut Plan, located: &HashMap<String, Located>, geocoding: &Geocoding) {
    let mut notes: HashMap<Uuid, Issue> = HashMap::new();
    for point in plan
        .points
        .create
        .iter_mut()
        .chain(plan.points.update.iter_mut())
    {
        if point.latitude.is_some() || point.geocode_status == GeocodeStatus::Manual.as_str() {
            continue;
        }
        if let Some(result) = located.get(&point.address_key) {
            geocoding.apply(point, *result);
        }
        let note = match GeocodeStatus::from_stored(&point.geocode_status) {
            Some(GeocodeStatus::NotFound) => Issue::new(
                "GEOCODE_NOT_FOUND",
                None,
                "Adresse introuvable sur la carte : corrigez-la ou donnez Latitude et Longitude.",
                "Address not found on the map: fix it or give Latitude and Longitude.",
            ),
            Some(GeocodeStatus::Approximate) => Issue::new(
                "GEOCODE_APPROXIMATE",
                None,
                "Adresse localisée approximativement (rue, code postal ou ville) : vérifiez-la.",
                "Address located only roughly (street, postal code or city): check it.",
            ),
            Some(GeocodeStatus::Failed) => Issue::new(
                "GEOCODE_FAILED",
                None,
                "Le service de géolocalisation a refusé cette adresse; elle sera réessayée.",
                "The geocoding service refused this address; it will be tried again.",
            ),
            Some(GeocodeStatus::Pending) => Issue::new(
                "GEOCODE_PENDING",
                None,
                "Adresse pas encore localisée (service lent ou indisponible) : elle le sera en arrière-plan.",
                "Address not located yet (service slow or down): it will be in the background.",
            ),
            _ => continue,
        };
        notes.insert(point.id, note);
    }
    for row in &mut plan.rows {
        if let Some(note) = row.point_id.and_then(|id| notes.get(&id)) {
            row.warnings.push(note.clone());
        }
    }
}

/// Serializes imports of one organization across server instances too:
/// PostgreSQL refuses a second one at once (advisory lock); on SQLite the
/// first statement writes, taking the database's write lock for the whole
/// transaction, as `BEGIN IMMEDIATE` would.
async fn lock_organization(tx: &impl ConnectionTrait, org: OrgId) -> Result<(), ServiceError> {
    let backend = tx.get_database_backend();
    match backend {
        DbBackend::Postgres => {
            let bytes = org.uuid().into_bytes();
            let key = i64::from_be_bytes(bytes[8..16].try_into().unwrap_or_default());
            let statement = Statement::from_sql_and_values(
                backend,
                "SELECT pg_try_advisory_xact_lock($1) AS locked",
                [key.into()],
            );
            let row = tx.query_one_raw(statement).await?;
            let locked: bool = row
                .map(|r| r.try_get("", "locked"))
                .transpose()?
                .unwrap_or(false);
            if !locked {
                return Err(ServiceError::ImportInProgress);
            }
        }
        _ => {
            organization::Entity::update_many()
                .col_expr(
                    organization::Column::Name,
                    sea_orm::sea_query::Expr::col(organization::Column::Name),
                )
                .filter(organization::Column::Id.eq(org.uuid()))
                .exec(tx)
                .await?;
        }
    }
    Ok(())
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

async fn apply(tx: &impl ConnectionTrait, org: OrgId, plan: &Plan) -> Result<(), DbErr> {
    if plan.replace_all {
        // Children go by cascade; never TRUNCATE: other tenants share the tables.
        client::Entity::delete_many()
            .filter(client::Column::OrganizationId.eq(org.uuid()))
            .exec(tx)
            .await?;
    }
    delete_batched::<occupant::Entity, _>(
        tx,
        occupant::Column::Id,
        org,
        occupant::Column::OrganizationId,
        &plan.occupants.delete,
    )
    .await?;
    delete_batched::<service_point::Entity, _>(
        tx,
        service_point::Column::Id,
        org,
        service_point::Column::OrganizationId,
        &plan.points.delete,
    )
    .await?;
    delete_batched::<client::Entity, _>(
        tx,
        client::Column::Id,
        org,
        client::Column::OrganizationId,
        &plan.clients.delete,
    )
    .await?;

    let client_updates = OnConflict::column(client::Column::Id)
        .update_columns([
            client::Column::ExternalId,
            client::Column::AddressKey,
            client::Column::Name,
            client::Column::SearchKey,
            client::Column::UpdatedAt,
        ])
        .to_owned();
    let point_updates = OnConflict::column(service_point::Column::Id)
        .update_columns([
            service_point::Column::AddressLine1,
            service_point::Column::City,
            service_point::Column::Province,
            service_point::Column::PostalCode,
            service_point::Column::Latitude,
            service_point::Column::Longitude,
            service_point::Column::GeocodeStatus,
            service_point::Column::GeocodeProvider,
            service_point::Column::GeocodedAt,
            service_point::Column::UpdatedAt,
        ])
        .to_owned();
    let occupant_updates = OnConflict::column(occupant::Column::Id)
        .update_columns([
            occupant::Column::FirstName,
            occupant::Column::LastName,
            occupant::Column::ContactMethod,
            occupant::Column::Notes,
            occupant::Column::UpdatedAt,
        ])
        .to_owned();

    insert_batched(
        tx,
        &plan.clients.create,
        to_active::<_, client::ActiveModel>,
        None,
    )
    .await?;
    let updates = Some(&client_updates);
    insert_batched(
        tx,
        &plan.clients.update,
        to_active::<_, client::ActiveModel>,
        updates,
    )
    .await?;
    let points = to_active::<_, service_point::ActiveModel>;
    insert_batched(tx, &plan.points.create, points, None).await?;
    insert_batched(tx, &plan.points.update, points, Some(&point_updates)).await?;
    let occupants = to_active::<_, occupant::ActiveModel>;
    insert_batched(tx, &plan.occupants.create, occupants, None).await?;
    insert_batched(
        tx,
        &plan.occupants.update,
        occupants,
        Some(&occupant_updates),
    )
    .await?;
    Ok(())
}

async fn snapshot(
    tx: &impl ConnectionTrait,
    org: OrgId,
    run_id: Uuid,
    existing: &Existing,
) -> Result<(), ServiceError> {
    // Straight to text: a `serde_json::Value` of 100,000 records weighs ten
    // times the records themselves.
    let data = serde_json::to_string(existing)
        .map_err(|e| ServiceError::Db(DbErr::Custom(e.to_string())))?;
    import_snapshot::ActiveModel {
        import_run_id: Set(run_id),
        organization_id: Set(org.uuid()),
        data: Set(data),
        created_at: Set(Utc::now()),
    }
    .insert(tx)
    .await?;
    Ok(())
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
    committed: bool,
) -> Result<import_run::Model, DbErr> {
    let summary: Summary = plan.summary;
    let model = import_run::ActiveModel {
        id: Set(run.id),
        organization_id: Set(run.org.uuid()),
        mode: Set(run.options.mode.as_str().to_owned()),
        file_name: Set(run.file_name.chars().take(400).collect()),
        dry_run: Set(run.options.dry_run),
        committed: Set(committed),
        undone: Set(false),
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
        status: Set(row.status.as_str().to_owned()),
        errors: Set(issues_json(&row.errors)),
        warnings: Set(issues_json(&row.warnings)),
        client_id: Set(row.client_id),
        service_point_id: Set(row.point_id),
        occupant_id: Set(row.occupant_id),
    };
    insert_batched(db, &plan.rows, to_row, None).await?;
    Ok(model)
}

// Read back by `import_reports`; named here too for the undo below and
// for the callers that still reach it through `imports`.
pub use super::import_reports::get_run;

/// Restores the organization's records as they were before a destructive
/// import, while no later import has been committed.
pub async fn undo(
    db: &DatabaseConnection,
    importer: &Arc<Importer>,
    org: OrgId,
    id: Uuid,
) -> Result<import_run::Model, ServiceError> {
    let _claim = importer.claim(org)?;
    let tx = db.begin().await?;
    lock_organization(&tx, org).await?;
    let run = get_run(&tx, org, id).await?.ok_or(ServiceError::NotFound)?;
    if !run.committed || run.undone {
        return Err(ServiceError::Undo(UndoRefusal::NotCommitted));
    }
    let later = import_run::Entity::find()
        .filter(import_run::Column::OrganizationId.eq(org.uuid()))
        .filter(import_run::Column::Committed.eq(true))
        .filter(import_run::Column::Undone.eq(false))
        .filter(import_run::Column::Id.gt(run.id))
        .one(&tx)
        .await?;
    if later.is_some() {
        return Err(ServiceError::Undo(UndoRefusal::LaterImport));
    }
    let snapshot = import_snapshot::Entity::find_by_id(run.id)
        .filter(import_snapshot::Column::OrganizationId.eq(org.uuid()))
        .one(&tx)
        .await?
        .ok_or(ServiceError::Undo(UndoRefusal::NoSnapshot))?;
    let existing: Existing = serde_json::from_str(&snapshot.data)
        .map_err(|e| ServiceError::Db(DbErr::Custom(e.to_string())))?;

    client::Entity::delete_many()
        .filter(client::Column::OrganizationId.eq(org.uuid()))
        .exec(&tx)
        .await?;
    insert_batched(
        &tx,
        &existing.clients,
        to_active::<_, client::ActiveModel>,
        None,
    )
    .await?;
    insert_batched(
        &tx,
        &existing.points,
        to_active::<_, service_point::ActiveModel>,
        None,
    )
    .await?;
    insert_batched(
        &tx,
        &existing.occupants,
        to_active::<_, occupant::ActiveModel>,
        None,
    )
    .await?;
    let mut model: import_run::ActiveModel = run.into();
    model.undone = Set(true);
    let run = model.update(&tx).await?;
    sectors::place_all_points(&tx, org).await?;
    import_snapshot::Entity::delete_by_id(run.id)
        .exec(&tx)
        .await?;
    tx.commit().await?;
    Ok(run)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UndoRefusal {
    /// A dry run, a refused run, or one already undone.
    NotCommitted,
    /// Only destructive imports are snapshotted.
    NoSnapshot,
    LaterImport,
}
