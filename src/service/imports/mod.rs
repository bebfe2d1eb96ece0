//! Running an import: claim the organization, parse off the async workers,
//! locate new addresses, plan against the organization's records, apply in
//! one transaction with batched statements, store the run and its per-row
//! report. Undo lives in `undo`.

mod apply;
mod gate;
mod jobs;
mod locate;
mod undo;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use entity::values::{GeocodeStatus, ImportStatus, WebhookEvent};
use entity::{
    client, import_deletion, import_impact, import_report, import_run, import_source, occupant,
    sector, sector_membership, service_point,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set, StreamTrait, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::OrgId;
use crate::domain::ImportMode;
use crate::domain::global_id;
use crate::import::Parsed;
use crate::import::error::Issue;
use crate::import::headers::Mapping;
use crate::import::plan::applied::Applied;
use crate::import::plan::deletions::DeletedRecord;
use crate::import::plan::{self, Existing, Plan, PlanInput, RowResult, Summary};
use crate::import::progress::{Phase, Progress, Snapshot};
use crate::import::report;
use crate::import::rows::RowOutcome;
use crate::service::geocoding;
use crate::service::sectors::{self, Position};
use crate::service::webhooks;
use crate::service::{ServiceError, TenantEntity, owned};

pub use gate::Importer;
use jobs::Created;
pub use jobs::{NewImport, fail, mapping_from_json, run_queued};
pub use undo::undo;

#[derive(Clone, Debug)]
pub struct ImportOptions {
    pub mode: ImportMode,
    pub dry_run: bool,
    pub skip_invalid_rows: bool,
    pub mapping: Vec<Mapping>,
}

/// Imports now and answers with the finished run (or, for a retry of an
/// idempotency key, the first run, finished or not). `progress` follows it
/// as it goes, for a caller that shows it.
pub async fn import(
    db: &DatabaseConnection,
    importer: &Arc<Importer>,
    org: OrgId,
    request: NewImport,
    progress: Arc<Progress>,
) -> Result<import_run::Model, ServiceError> {
    let hash = request.hash();
    let key = request.idempotency_key.clone();
    // A retry while the first run still holds the organization's claim
    // gets that run, not a refusal.
    if let Some(run) = jobs::find_by_key(db, org, key.as_deref(), &hash).await? {
        return Ok(run);
    }
    let work = async {
        let created = jobs::create(
            db,
            org,
            &request,
            &hash,
            ImportStatus::Running,
            importer.lease,
        )
        .await?;
        match created {
            Created::New(run) => jobs::execute(db, importer, org, &run, request, progress).await,
            Created::Existing(run) => Ok(run),
        }
    };
    match importer.exclusively(db, org, work).await {
        // The first request may hold the organization's place and not have
        // written its run yet: a retry looks again for a moment.
        Err(ServiceError::ImportInProgress) if key.is_some() => {
            for _ in 0..RETRY_LOOKS {
                tokio::time::sleep(RETRY_LOOK_EVERY).await;
                if let Some(run) = jobs::find_by_key(db, org, key.as_deref(), &hash).await? {
                    return Ok(run);
                }
            }
            Err(ServiceError::ImportInProgress)
        }
        result => result,
    }
}

/// How long a retry waits for the first request's run to appear: it is
/// written right after the place is taken.
const RETRY_LOOKS: usize = 10;
const RETRY_LOOK_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// Stores the upload and answers with the `QUEUED` run at once; a worker
/// on any instance runs it.
pub async fn enqueue(
    db: &DatabaseConnection,
    importer: &Importer,
    org: OrgId,
    request: NewImport,
) -> Result<import_run::Model, ServiceError> {
    let hash = request.hash();
    match jobs::create(
        db,
        org,
        &request,
        &hash,
        ImportStatus::Queued,
        importer.lease,
    )
    .await?
    {
        Created::New(run) => {
            importer.queued.notify_one();
            Ok(run)
        }
        Created::Existing(run) => Ok(run),
    }
}

async fn run(
    db: &DatabaseConnection,
    importer: &Importer,
    org: OrgId,
    run_id: Uuid,
    request: NewImport,
    progress: &Arc<Progress>,
) -> Result<(), ServiceError> {
    let NewImport { bytes, options, .. } = request;
    // Kept beside the parse: a run with rows in error keeps its file.
    let bytes = Arc::new(bytes);
    let mut timer = PhaseTimer::start();
    let mut parsed = importer
        .parse(bytes.clone(), options.mapping.clone(), progress.clone())
        .await;
    timer.lap("parse");
    let run = Outcome {
        id: run_id,
        org,
        options: &options,
        progress,
        source: &bytes,
    };
    if !parsed.file_errors.is_empty() {
        return finish(db, &run, &parsed, &Plan::default(), None).await;
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
        progress.enter(Phase::Locating);
        let existing = load_existing(db, org).await?;
        let preview = plan::plan(input(Utc::now()), &existing);
        let addresses = preview
            .points_to_geocode()
            .map(|p| (p.address_key.clone(), geocoding::query_of(p)))
            .collect();
        geocoding.locate(db, addresses, progress).await?
    } else {
        HashMap::new()
    };
    timer.lap("geocode");

    progress.enter(Phase::Planning);
    // Written now: from here the transaction may hold the database (SQLite
    // has one writer), and the next tick's write would wait for it.
    jobs::write_progress(db, run_id, &progress.snapshot(), importer.lease).await?;
    let tx = db.begin().await?;
    gate::lock_organization(&tx, org).await?;
    let existing = load_existing(&tx, org).await?;
    // Who each sector alerts now, to compare with after the plan.
    let places = sectors::places(&tx, org).await?;
    let recipients_before = places
        .as_ref()
        .map(|places| plan::impact::before(&existing, &places.stored));
    timer.lap("load");
    // Destructive imports keep the records for undo, packed (a tenth of
    // their size). REPLACE_ALL matches nothing: packed before planning, so
    // the records go first. MERGE_DELETE_MISSING packs them once it is
    // planned to commit, and only if the plan changes something.
    let snapshot = options.mode.destructive() && !options.dry_run;
    let (mut plan, kept, mut packed) = if options.mode == ImportMode::ReplaceAll {
        let packed = match snapshot {
            true => Some(undo::pack(&existing)?),
            false => None,
        };
        timer.lap("snapshot");
        let replaced = existing.counts();
        drop(existing);
        (
            plan::plan_replacing(input(Utc::now()), replaced),
            None,
            packed,
        )
    } else {
        (
            plan::plan(input(Utc::now()), &existing),
            Some(existing),
            None,
        )
    };
    if geocoding.enabled() {
        locate::locate_planned(&mut plan, &located, geocoding);
    }
    // The plan holds what the rows said: free them before the warnings
    // and the impact, which read the records as the plan leaves them.
    parsed.rows = Vec::new();
    // REPLACE_ALL keeps nothing of what there was.
    let replaced = Existing::default();
    let (warnings, impact) = {
        let applied = Applied::of(kept.as_ref().unwrap_or(&replaced), &plan);
        let warnings = plan::warnings::of(&plan, &applied);
        let impact = match (&places, recipients_before) {
            (Some(places), Some(mut before)) => {
                let (after, remaining) = plan::impact::after(
                    &applied,
                    &plan,
                    &places.stored,
                    |point| places.place(point),
                    options.dry_run,
                );
                plan::impact::forget_deleted(&mut before, &remaining);
                plan::impact::compare(&places.sector_ids(), &before, &after)
            }
            _ => Vec::new(),
        };
        (warnings, impact)
    };
    warnings.apply(&mut plan);
    plan.alert_impact = impact;
    warn_during_alerts(&tx, org, &mut plan).await?;
    timer.lap("plan");
    let valid_rows = plan.rows.iter().any(|r| r.occupant_id.is_some());
    let commit =
        !options.dry_run && valid_rows && (!plan.has_errors() || options.skip_invalid_rows);
    if !commit {
        tx.rollback().await?;
        return finish(db, &run, &parsed, &plan, None).await;
    }
    // MERGE_DELETE_MISSING keeps every record as it was, MERGE_KEEP_MISSING
    // only those it touches (REPLACE_ALL packed them above).
    if let Some(existing) = &kept {
        packed = Some(match (plan.changes_nothing(), snapshot) {
            (true, _) => undo::UNCHANGED.to_owned(),
            (false, true) => undo::pack(existing)?,
            (false, false) => undo::pack_touched(existing, &plan)?,
        });
        timer.lap("snapshot");
    }
    drop(kept);
    progress.enter(Phase::Applying);
    let commit_seq = gate::next_commit_seq(&tx, org).await?;
    // The run's final state commits with the changes, or not at all.
    finish(&tx, &run, &parsed, &plan, Some(commit_seq)).await?;
    timer.lap("report");
    // Only the latest committed import can be undone: earlier snapshots
    // (residents' names and phones) serve nothing from now on.
    undo::drop_snapshots(&tx, org).await?;
    if let Some(packed) = packed {
        undo::snapshot(&tx, org, run_id, packed).await?;
    }
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
    if plan.rows.len() >= REFRESH_STATISTICS_ROWS {
        crate::service::store::batch::refresh_statistics(db, &IMPORTED_TABLES).await;
        timer.lap("analyze");
    }
    tracing::info!(rows = plan.rows.len(), phases = %timer, "import committed");
    Ok(())
}

/// Warns on each row that changes the phone of an occupant whose point is
/// in a sector in alert: the alert's messages were written for the old
/// number, the new one gets the next alerts only.
async fn warn_during_alerts(
    db: &impl ConnectionTrait,
    org: OrgId,
    plan: &mut Plan,
) -> Result<(), DbErr> {
    let rephoned = |row: &RowResult| row.changes.iter().any(|c| c.field == "phone");
    let points: Vec<Uuid> = plan
        .rows
        .iter()
        .filter(|row| rephoned(row))
        .filter_map(|row| row.point_id)
        .collect();
    if points.is_empty() {
        return Ok(());
    }
    let in_alert: HashMap<Uuid, String> = owned::<sector::Entity>(org)
        .filter(sector::Column::AlertActive.eq(true))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    if in_alert.is_empty() {
        return Ok(());
    }
    let mut alerted: HashMap<Uuid, Vec<&str>> = HashMap::new();
    for chunk in points.chunks(10_000) {
        let memberships = owned::<sector_membership::Entity>(org)
            .filter(sector_membership::Column::SectorId.is_in(in_alert.keys().copied()))
            .filter(sector_membership::Column::ServicePointId.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        for membership in memberships {
            if let Some(name) = in_alert.get(&membership.sector_id) {
                alerted
                    .entry(membership.service_point_id)
                    .or_default()
                    .push(name);
            }
        }
    }
    for row in plan.rows.iter_mut().filter(|row| rephoned(row)) {
        let Some(names) = row.point_id.and_then(|point| alerted.get(&point)) else {
            continue;
        };
        let names = names.join(", ");
        row.warnings.push(Issue::new(
            "PHONE_CHANGED_DURING_ALERT",
            None,
            format!(
                "Téléphone changé pendant l'alerte en cours du secteur {names} : ses messages partent vers l'ancien numéro, le nouveau recevra les prochaines alertes."
            ),
            format!(
                "Phone changed during the current alert of sector {names}: its messages go to the old number, the new one gets the next alerts."
            ),
        ));
    }
    Ok(())
}

/// From this many rows on, an import refreshes the planner's statistics
/// at once: a first import into empty tables would otherwise leave
/// PostgreSQL planning the next reads (an alert's recipients: 2.6 s a
/// statement for 10,000 occupants) as if the tables were empty, until
/// autovacuum comes by.
const REFRESH_STATISTICS_ROWS: usize = 1_000;
const IMPORTED_TABLES: [&str; 4] = ["client", "service_point", "occupant", "sector_membership"];

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

/// The organization's records, read row by row: collected whole, the
/// driver's rows (several times the records' size on SQLite) would all be
/// held beside the records they become.
pub async fn load_existing<C>(db: &C, org: OrgId) -> Result<Existing, DbErr>
where
    C: ConnectionTrait + StreamTrait,
{
    Ok(Existing {
        clients: all_owned_streamed::<client::Entity, _>(db, org).await?,
        points: all_owned_streamed::<service_point::Entity, _>(db, org).await?,
        occupants: all_owned_streamed::<occupant::Entity, _>(db, org).await?,
    })
}

/// Every row of `E` the organization owns, in id order, row by row, into
/// a vector counted first: collected from the stream it would double up
/// to twice the records' size (tens of MiB at 100,000 occupants).
async fn all_owned_streamed<E, C>(db: &C, org: OrgId) -> Result<Vec<E::Model>, DbErr>
where
    E: TenantEntity,
    E::Model: Send + Sync,
    C: ConnectionTrait + StreamTrait,
{
    use futures_util::TryStreamExt;
    let count = owned::<E>(org).count(db).await?;
    let records = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    owned::<E>(org)
        .order_by_asc(E::ID)
        .into_model::<E::Row>()
        .stream(db)
        .await?
        .try_fold(records, |mut records, row| async move {
            records.push(row.into());
            Ok(records)
        })
        .await
}

/// The run being settled, and how far it went.
struct Outcome<'a> {
    id: Uuid,
    org: OrgId,
    options: &'a ImportOptions,
    progress: &'a Progress,
    /// The file, kept when rows are in error (`errors.xlsx`).
    source: &'a [u8],
}

pub(super) fn issues_json(issues: &[Issue]) -> serde_json::Value {
    serde_json::to_value(issues).unwrap_or_else(|_| json!([]))
}

/// The webhooks of a finished run, in its transaction: `import.finished`,
/// and `geocoding.needs_attention` when it left addresses not found.
async fn announce_finished(
    db: &impl ConnectionTrait,
    run: &Outcome<'_>,
    summary: &Summary,
    committed: bool,
    plan: &Plan,
) -> Result<(), ServiceError> {
    let run_id = global_id::encode(global_id::Kind::ImportRun, run.id);
    let data = json!({
        "importRunId": run_id,
        "mode": run.options.mode,
        "dryRun": run.options.dry_run,
        "committed": committed,
        "summary": summary,
    });
    webhooks::enqueue(db, run.org, WebhookEvent::ImportFinished, data).await?;
    let not_found = plan
        .points
        .create
        .iter()
        .chain(&plan.points.update)
        .filter(|p| p.geocode_status == GeocodeStatus::NotFound)
        .count();
    if committed && not_found > 0 {
        let data = json!({"importRunId": run_id, "notFound": not_found});
        webhooks::enqueue(db, run.org, WebhookEvent::GeocodingNeedsAttention, data).await?;
    }
    Ok(())
}

/// Writes the run's final state (`FINISHED`, `DONE`, its summary) and its
/// per-row report. Refused when the run is no longer running (its lease
/// ran out and it was declared interrupted): the import must not commit.
async fn finish(
    db: &impl ConnectionTrait,
    run: &Outcome<'_>,
    parsed: &Parsed,
    plan: &Plan,
    commit_seq: Option<i64>,
) -> Result<(), ServiceError> {
    let summary: Summary = plan.summary;
    // The final state: `DONE` (and so 100 %) with the counters reached.
    let done = Snapshot {
        phase: Phase::Done,
        ..run.progress.snapshot()
    };
    let json = |value: Result<serde_json::Value, serde_json::Error>| value.unwrap_or(json!({}));
    let settled = jobs::with_progress(import_run::Entity::update_many(), &done)
        .col_expr(
            import_run::Column::Status,
            Expr::value(ImportStatus::Finished),
        )
        .col_expr(import_run::Column::FinishedAt, Expr::value(Utc::now()))
        .col_expr(
            import_run::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            import_run::Column::Committed,
            Expr::value(commit_seq.is_some()),
        )
        .col_expr(import_run::Column::CommitSeq, Expr::value(commit_seq))
        .col_expr(
            import_run::Column::Summary,
            Expr::value(json(serde_json::to_value(summary))),
        )
        .col_expr(
            import_run::Column::FileErrors,
            Expr::value(issues_json(&parsed.file_errors)),
        )
        .col_expr(
            import_run::Column::FileWarnings,
            Expr::value(issues_json(
                &[parsed.file_warnings.as_slice(), plan.warnings.as_slice()].concat(),
            )),
        )
        .col_expr(
            import_run::Column::Columns,
            Expr::value(json(serde_json::to_value(&parsed.columns))),
        )
        .filter(import_run::Column::Id.eq(run.id))
        .filter(import_run::Column::Status.eq(ImportStatus::Running))
        .exec(db)
        .await?;
    if settled.rows_affected == 0 {
        return Err(ServiceError::RunInterrupted);
    }
    run.progress.enter(Phase::Done);
    // A queued run's stored file goes with its final state.
    jobs::drop_uploads(db, &[run.id]).await?;
    announce_finished(db, run, &summary, commit_seq.is_some(), plan).await?;
    write_report(db, run.id, run.org, &plan.rows).await?;
    write_deletions(db, run.id, run.org, &plan.deleted).await?;
    if !plan.alert_impact.is_empty() {
        let impact = import_impact::ActiveModel {
            import_run_id: Set(run.id),
            organization_id: Set(run.org.uuid()),
            data: Set(report::encode(&plan.alert_impact)?),
        };
        import_impact::Entity::insert(impact)
            .exec_without_returning(db)
            .await?;
    }
    if plan.summary.error_rows > 0 {
        keep_source(db, run).await?;
    }
    Ok(())
}

/// Keeps the file of a run with rows in error, to write those rows back.
async fn keep_source(db: &impl ConnectionTrait, run: &Outcome<'_>) -> Result<(), DbErr> {
    let source = import_source::ActiveModel {
        import_run_id: Set(run.id),
        organization_id: Set(run.org.uuid()),
        bytes: Set(run.source.to_vec()),
        mapping: Set(jobs::mapping_json(&run.options.mapping)),
        created_at: Set(Utc::now()),
    };
    // Without `RETURNING`, which would read the file back.
    import_source::Entity::insert(source)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// What the run deletes (or would), in chunks of [`report::ROWS_PER_CHUNK`].
async fn write_deletions(
    db: &impl ConnectionTrait,
    run_id: Uuid,
    org: OrgId,
    deleted: &[DeletedRecord],
) -> Result<(), ServiceError> {
    let chunks = deleted
        .chunks(report::ROWS_PER_CHUNK)
        .enumerate()
        .map(|(i, records)| {
            let first = (i * report::ROWS_PER_CHUNK + 1) as i32;
            Ok(import_deletion::ActiveModel {
                import_run_id: Set(run_id),
                first_index: Set(first),
                last_index: Set(first + records.len() as i32 - 1),
                organization_id: Set(org.uuid()),
                records: Set(report::encode(records)?),
            })
        })
        .collect::<Result<Vec<_>, serde_json::Error>>()?;
    if !chunks.is_empty() {
        import_deletion::Entity::insert_many(chunks)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// The per-row report, in chunks (`import::report`): a 100,000-row
/// import writes 100 of them.
async fn write_report(
    db: &impl ConnectionTrait,
    run_id: Uuid,
    org: OrgId,
    rows: &[RowResult],
) -> Result<(), ServiceError> {
    let chunks = report::chunks(rows)
        .map(|chunk| {
            let chunk = chunk?;
            Ok(import_report::ActiveModel {
                import_run_id: Set(run_id),
                first_row: Set(chunk.first_row),
                last_row: Set(chunk.last_row),
                organization_id: Set(org.uuid()),
                created_rows: Set(chunk.counts.created),
                updated_rows: Set(chunk.counts.updated),
                unchanged_rows: Set(chunk.counts.unchanged),
                skipped_rows: Set(chunk.counts.skipped),
                error_rows: Set(chunk.counts.error),
                rows: Set(chunk.data),
            })
        })
        .collect::<Result<Vec<_>, serde_json::Error>>()?;
    if !chunks.is_empty() {
        // Without `RETURNING`, which would read the chunks back.
        import_report::Entity::insert_many(chunks)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}
