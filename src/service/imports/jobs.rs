//! Imports as jobs. Every run is a row from its start: `RUNNING` with a
//! lease its executor renews (with the progress, at most twice a second),
//! or `QUEUED` with its upload stored, for any instance's worker to claim.
//! A run whose lease ran out (its instance died) is declared `FAILED`;
//! since its import commits in one transaction together with its final
//! state, such a run never committed anything.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::values::{ImportPhase, ImportStatus, WebhookEvent};
use entity::{import_run, import_upload};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbErr, EntityTrait, QueryFilter, Set, TransactionTrait, UpdateMany,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{ImportOptions, Importer, issues_json};
use crate::auth::OrgId;
use crate::domain::global_id;
use crate::import::error::FileError;
use crate::import::headers::{self, Mapping};
use crate::import::plan::Summary;
use crate::import::progress::{Progress, Snapshot};
use crate::service::store::claims::{self};
use crate::service::store::locks;
use crate::service::store::tenant::belongs;
use crate::service::{ServiceError, log_internal, webhooks};

/// An import as asked for.
pub struct NewImport {
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub options: ImportOptions,
    pub idempotency_key: Option<String>,
}

impl NewImport {
    /// What tells a retry from a reuse of its key: the file's bytes and
    /// every option (not the file's name).
    pub(super) fn hash(&self) -> String {
        let options = json!({
            "mode": self.options.mode,
            "dryRun": self.options.dry_run,
            "skipInvalidRows": self.options.skip_invalid_rows,
            "columns": mapping_json(&self.options.mapping),
        });
        let mut hasher = Sha256::new();
        hasher.update(&self.bytes);
        hasher.update(options.to_string().as_bytes());
        format!("{:x}", hasher.finalize())
    }
}

/// A column mapping as stored with a queued run's or a kept file.
pub fn mapping_json(mapping: &[Mapping]) -> serde_json::Value {
    mapping
        .iter()
        .map(|m| json!({"header": m.header, "field": m.field.map(headers::field_name)}))
        .collect()
}

/// What [`mapping_json`] stored.
pub fn mapping_from_json(value: &serde_json::Value) -> Vec<Mapping> {
    let Some(items) = value.as_array() else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| Mapping {
            header: item["header"].as_str().unwrap_or_default().to_owned(),
            field: item["field"].as_str().and_then(headers::field_named),
        })
        .collect()
}

/// A run created, or the one its idempotency key already names.
pub(super) enum Created {
    New(import_run::Model),
    Existing(import_run::Model),
}

/// The run an idempotency key names, when the request is the same one;
/// a reuse of the key for another request is refused.
pub(super) async fn find_by_key(
    db: &impl ConnectionTrait,
    org: OrgId,
    key: Option<&str>,
    hash: &str,
) -> Result<Option<import_run::Model>, ServiceError> {
    let Some(key) = key else {
        return Ok(None);
    };
    let found = import_run::Entity::find()
        .filter(belongs::<import_run::Entity>(org))
        .filter(import_run::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?;
    match found {
        Some(run) if run.request_hash.as_deref() == Some(hash) => Ok(Some(run)),
        Some(_) => Err(ServiceError::IdempotencyKeyReused),
        None => Ok(None),
    }
}

/// Creates the run (`RUNNING` to execute now, or `QUEUED` with its upload
/// stored), unless its idempotency key names an earlier one; refused while
/// another import of the organization is queued or running.
pub(super) async fn create(
    db: &DatabaseConnection,
    org: OrgId,
    request: &NewImport,
    hash: &str,
    status: ImportStatus,
    lease: Duration,
) -> Result<Created, ServiceError> {
    let tx = locks::begin_import_runs(db, org).await?;
    if let Some(run) = find_by_key(&tx, org, request.idempotency_key.as_deref(), hash).await? {
        tx.rollback().await?;
        return Ok(Created::Existing(run));
    }
    if active_run(&tx, org).await? {
        tx.rollback().await?;
        return Err(ServiceError::ImportInProgress);
    }
    let now = Utc::now();
    let running = status == ImportStatus::Running;
    let run = import_run::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.uuid()),
        mode: Set(request.options.mode),
        file_name: Set(request.file_name.chars().take(400).collect()),
        dry_run: Set(request.options.dry_run),
        committed: Set(false),
        undone: Set(false),
        commit_seq: Set(None),
        created_at: Set(now),
        summary: Set(serde_json::to_value(Summary::default())?),
        file_errors: Set(json!([])),
        file_warnings: Set(json!([])),
        columns: Set(json!([])),
        status: Set(status),
        phase: Set(ImportPhase::Queued),
        rows_read: Set(0),
        rows_total: Set(None),
        addresses_to_locate: Set(0),
        addresses_located: Set(0),
        percent: Set(0.0),
        finished_at: Set(None),
        claimed_until: Set(running.then(|| claims::after(now, lease))),
        idempotency_key: Set(request.idempotency_key.clone()),
        request_hash: Set(Some(hash.to_owned())),
    }
    .insert(&tx)
    .await?;
    if !running {
        import_upload::ActiveModel {
            import_run_id: Set(run.id),
            organization_id: Set(org.uuid()),
            bytes: Set(request.bytes.clone()),
            skip_invalid_rows: Set(request.options.skip_invalid_rows),
            mapping: Set(mapping_json(&request.options.mapping)),
            created_at: Set(now),
        }
        .insert(&tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Created::New(run))
}

/// Whether the organization has an import queued, or running under a
/// live lease.
async fn active_run(tx: &DatabaseTransaction, org: OrgId) -> Result<bool, DbErr> {
    let now = Utc::now();
    let found = import_run::Entity::find()
        .filter(belongs::<import_run::Entity>(org))
        .filter(
            Condition::any()
                .add(import_run::Column::Status.eq(ImportStatus::Queued))
                .add(
                    Condition::all()
                        .add(import_run::Column::Status.eq(ImportStatus::Running))
                        .add(import_run::Column::ClaimedUntil.gte(now)),
                ),
        )
        .one(tx)
        .await?;
    Ok(found.is_some())
}

/// Runs a created run's import, its progress and lease kept current in the
/// background, and settles it: `FINISHED` (written by the import itself)
/// or, on an error, `FAILED`.
pub(super) async fn execute(
    db: &DatabaseConnection,
    importer: &Arc<Importer>,
    org: OrgId,
    run: &import_run::Model,
    request: NewImport,
    progress: Arc<Progress>,
) -> Result<import_run::Model, ServiceError> {
    // Stopped when the import ends, or is dropped (its client went away:
    // the run's lease then runs out and it is declared interrupted).
    let _reporter = AbortOnDrop(tokio::spawn(report(
        db.clone(),
        run.id,
        progress.clone(),
        importer.lease,
    )));
    let outcome = super::run(db, importer, org, run.id, request, &progress).await;
    if let Err(error) = outcome {
        if let Err(marking) = fail(db, this(run.id)).await {
            log_internal(&marking);
        }
        return Err(error);
    }
    import_run::Entity::find_by_id(run.id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Writes the run's progress when it changed, and renews its lease, every
/// half second: cheap enough to go unnoticed, often enough for a progress
/// bar. Stops when aborted; writes nothing once the run is settled.
async fn report(db: DatabaseConnection, run: Uuid, progress: Arc<Progress>, lease: Duration) {
    let tick = Duration::from_millis(500).min(lease / 3);
    let mut written: Option<Snapshot> = None;
    let mut renewed = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(tick).await;
        let now = progress.snapshot();
        if written == Some(now) && renewed.elapsed() < lease / 3 {
            continue;
        }
        let update = write_progress(&db, run, &now, lease).await;
        match update {
            Ok(_) => {
                written = Some(now);
                renewed = tokio::time::Instant::now();
            }
            // SQLite: the import's own transaction holds the write lock;
            // the next tick tries again.
            Err(error) => tracing::debug!(%error, "import progress not written"),
        }
    }
}

/// Writes how far the run is, renewing its lease; nothing once it is
/// settled.
pub(super) async fn write_progress(
    db: &impl ConnectionTrait,
    run: Uuid,
    now: &Snapshot,
    lease: Duration,
) -> Result<(), DbErr> {
    with_progress(import_run::Entity::update_many(), now)
        .col_expr(
            import_run::Column::ClaimedUntil,
            Expr::value(claims::after(Utc::now(), lease)),
        )
        .filter(import_run::Column::Id.eq(run))
        .filter(import_run::Column::Status.eq(ImportStatus::Running))
        .exec(db)
        .await?;
    Ok(())
}

/// `update` setting the run's progress columns to `now`.
pub(super) fn with_progress(
    update: UpdateMany<import_run::Entity>,
    now: &Snapshot,
) -> UpdateMany<import_run::Entity> {
    let clamp = |count: u64| i32::try_from(count).unwrap_or(i32::MAX);
    update
        .col_expr(import_run::Column::Phase, Expr::value(now.phase))
        .col_expr(
            import_run::Column::RowsRead,
            Expr::value(clamp(now.rows_read)),
        )
        .col_expr(
            import_run::Column::RowsTotal,
            Expr::value(now.rows_total.map(clamp)),
        )
        .col_expr(
            import_run::Column::AddressesToLocate,
            Expr::value(clamp(now.to_locate)),
        )
        .col_expr(
            import_run::Column::AddressesLocated,
            Expr::value(clamp(now.located)),
        )
        .col_expr(import_run::Column::Percent, Expr::value(now.percent()))
}

/// Declares the runs `which` picks `FAILED` (`INTERRUPTED`, nothing
/// committed) unless they are already settled, announces it
/// (`import.failed`) and drops their uploads, in one transaction: how
/// many.
pub async fn fail(db: &DatabaseConnection, which: Condition) -> Result<usize, DbErr> {
    let errors = issues_json(&[FileError::Interrupted.issue()]);
    let tx = db.begin().await?;
    // One statement settles and says which: a run that finished meanwhile
    // is neither failed nor announced.
    let failed = import_run::Entity::update_many()
        .col_expr(
            import_run::Column::Status,
            Expr::value(ImportStatus::Failed),
        )
        .col_expr(import_run::Column::FileErrors, Expr::value(errors))
        .col_expr(import_run::Column::FinishedAt, Expr::value(Utc::now()))
        .col_expr(
            import_run::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(import_run::Column::Status.is_in([ImportStatus::Running, ImportStatus::Queued]))
        .filter(which)
        .exec_with_returning(&tx)
        .await?;
    for run in &failed {
        let data = json!({
            "importRunId": global_id::encode(global_id::Kind::ImportRun, run.id),
            "mode": run.mode,
            "dryRun": run.dry_run,
            "errors": [FileError::Interrupted.issue().code],
        });
        let org = OrgId::owning(run);
        webhooks::enqueue(&tx, org, WebhookEvent::ImportFailed, data).await?;
    }
    let ids: Vec<Uuid> = failed.iter().map(|run| run.id).collect();
    drop_uploads(&tx, &ids).await?;
    tx.commit().await?;
    Ok(failed.len())
}

/// One run, by id.
fn this(run: Uuid) -> Condition {
    Condition::all().add(import_run::Column::Id.eq(run))
}

pub(super) async fn drop_uploads(db: &impl ConnectionTrait, runs: &[Uuid]) -> Result<(), DbErr> {
    import_upload::Entity::delete_many()
        .filter(import_upload::Column::ImportRunId.is_in(runs.to_vec()))
        .exec(db)
        .await?;
    Ok(())
}

/// How long a queued run waits when its organization is importing.
const BUSY_RETRY: Duration = Duration::from_secs(2);

pub async fn run_queued(
    db: &DatabaseConnection,
    importer: &Arc<Importer>,
    run: import_run::Model,
) -> Result<(), ServiceError> {
    let org = OrgId::owning(&run);
    let Some(upload) = import_upload::Entity::find_by_id(run.id).one(db).await? else {
        fail(db, this(run.id)).await?;
        return Ok(());
    };
    let request = NewImport {
        file_name: run.file_name.clone(),
        options: ImportOptions {
            mode: run.mode,
            dry_run: run.dry_run,
            skip_invalid_rows: upload.skip_invalid_rows,
            mapping: mapping_from_json(&upload.mapping),
        },
        bytes: upload.bytes,
        idempotency_key: None,
    };
    let work = execute(db, importer, org, &run, request, Arc::default());
    match importer.exclusively(db, org, work).await {
        // Another import of the organization got there first (a race with
        // a waiting one): this run waits its turn.
        Err(ServiceError::ImportInProgress) => {
            import_run::Entity::update_many()
                .col_expr(
                    import_run::Column::Status,
                    Expr::value(ImportStatus::Queued),
                )
                .col_expr(
                    import_run::Column::ClaimedUntil,
                    Expr::value(claims::after(Utc::now(), BUSY_RETRY)),
                )
                .filter(import_run::Column::Id.eq(run.id))
                .filter(import_run::Column::Status.eq(ImportStatus::Running))
                .exec(db)
                .await?;
            Ok(())
        }
        // Its upload went with its final state (`finish` or `fail`).
        outcome => outcome.map(|_| ()),
    }
}
