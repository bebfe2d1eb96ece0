//! The import part of the schema: `importSpreadsheet`, `undoImport`,
//! `importRun(s)` and the report types.

use std::io::Read;

use async_graphql::futures_util::{Stream, StreamExt};
use async_graphql::{
    Context, Enum, ID, InputObject, Lookahead, Object, SimpleObject, Subscription, Upload,
};
use chrono::{DateTime, Utc};
use entity::import_run;
use uuid::Uuid;

use super::admission::SubscriptionSlots;
use super::connection::{
    Connection, ConnectionNode, listed_by_id, nodes, page_request, row_cursor, row_page_request,
    wants_total,
};
use super::id::{Kind, decode_existing, encode};
use super::loader::{
    ClientKey, OccupantKey, PointKey, RequestLoader, RowCountOfRun, RowsOfRun, SectorKey, prefetch,
};
use super::object::{Client, CorruptValue, Occupant, ServicePoint, loader};
use super::sector::Sector;
use super::{importer, record_by_id, tenant, writer, writer_of};
use crate::domain::Field;
use crate::error::{ApiError, current_lang};
use crate::import::error::Issue;
use crate::import::headers::{self, Mapping};
use crate::import::plan::{self, RowResult, Summary};
use crate::service::imports::{self as service, ImportOptions, NewImport};
use crate::service::{Page, import_reports};

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::ImportMode")]
pub enum ImportMode {
    /// "Repartir à neuf": delete everything, then import the file.
    ReplaceAll,
    /// "Fusionner et supprimer le reste": merge, then delete what the file lacks.
    MergeDeleteMissing,
    /// "Fusionner et conserver le reste": merge, delete nothing.
    MergeKeepMissing,
}

/// Where a run stands as a job.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::values::ImportStatus")]
pub enum ImportStatus {
    /// Stored, waiting for a worker.
    Queued,
    Running,
    /// Ran to its end: committed or not (see `committed`).
    Finished,
    /// Interrupted or crashed: nothing committed.
    Failed,
}

/// What a run is doing, in order.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::values::ImportPhase")]
pub enum ImportPhase {
    Queued,
    Reading,
    Locating,
    Planning,
    Applying,
    Done,
}

/// How far a run has gone; written as it goes, at most twice a second.
#[derive(SimpleObject)]
pub struct ImportProgress {
    pub phase: ImportPhase,
    /// Data rows read and checked so far.
    pub rows_read: i32,
    /// null until the reader knows it.
    pub rows_total: Option<i32>,
    pub addresses_to_locate: i32,
    pub addresses_located: i32,
    /// 0 to 100; never goes back.
    pub percent: f64,
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::RowStatus")]
pub enum RowStatus {
    Created,
    Updated,
    Unchanged,
    Skipped,
    Error,
}

/// What a spreadsheet column is read as.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportField {
    FirstName,
    LastName,
    Phone,
    ContactMethod,
    Address,
    #[graphql(name = "ADDRESS_LINE1")]
    AddressLine1,
    City,
    Province,
    PostalCode,
    Notes,
    ClientId,
    ClientName,
    Latitude,
    Longitude,
    Language,
}

impl ImportField {
    fn field(self) -> Field {
        match self {
            ImportField::FirstName => Field::FirstName,
            ImportField::LastName => Field::LastName,
            ImportField::Phone => Field::Phone,
            ImportField::ContactMethod => Field::ContactMethod,
            ImportField::Address => Field::Address,
            ImportField::AddressLine1 => Field::AddressLine1,
            ImportField::City => Field::City,
            ImportField::Province => Field::Province,
            ImportField::PostalCode => Field::PostalCode,
            ImportField::Notes => Field::Notes,
            ImportField::ClientId => Field::ClientId,
            ImportField::ClientName => Field::ClientName,
            ImportField::Latitude => Field::Latitude,
            ImportField::Longitude => Field::Longitude,
            ImportField::Language => Field::Language,
        }
    }

    fn from_stored(name: &str) -> Option<ImportField> {
        <ImportField as async_graphql::EnumType>::items()
            .iter()
            .map(|item| item.value)
            .find(|field| headers::field_name(field.field()) == name)
    }
}

/// A header as written → the field to read it as; `field: null` ignores it.
#[derive(InputObject)]
pub struct ColumnMappingInput {
    pub header: String,
    pub field: Option<ImportField>,
}

/// A problem found in the file or a row.
pub struct ImportIssue(Issue);

#[Object(serial)]
impl ImportIssue {
    /// The header as written in the file, when one column is at fault.
    async fn column(&self) -> Option<&str> {
        self.0.column.as_deref()
    }

    /// Stable, e.g. `PHONE_INVALID`, `CONTACT_METHOD_INVALID`, `REQUIRED`.
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// French by default, English with `Accept-Language: en`.
    async fn message(&self) -> &str {
        self.0.message(current_lang())
    }
}

#[derive(SimpleObject)]
pub struct DetectedColumn {
    /// As written in the file.
    pub header: String,
    /// 0-based column index.
    pub index: i32,
    /// null: ignored.
    pub field: Option<ImportField>,
}

#[derive(SimpleObject)]
pub struct ChangeCounts {
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
    pub deleted: i32,
}

impl From<plan::Counts> for ChangeCounts {
    fn from(counts: plan::Counts) -> ChangeCounts {
        ChangeCounts {
            created: counts.created as i32,
            updated: counts.updated as i32,
            unchanged: counts.unchanged as i32,
            deleted: counts.deleted as i32,
        }
    }
}

#[derive(SimpleObject)]
pub struct ImportSummary {
    /// Non-empty data rows (a skipped example row included).
    pub total_rows: i32,
    pub error_rows: i32,
    pub skipped_rows: i32,
    pub clients: ChangeCounts,
    pub service_points: ChangeCounts,
    pub occupants: ChangeCounts,
}

fn issues(value: &serde_json::Value, column: &'static str) -> Result<Vec<ImportIssue>, ApiError> {
    serde_json::from_value::<Vec<Issue>>(value.clone())
        .map(|issues| issues.into_iter().map(ImportIssue).collect())
        .map_err(|_| {
            ApiError::internal(CorruptValue {
                column,
                value: value.to_string(),
            })
        })
}

/// The row statuses a `status` argument filters on (any when empty).
pub fn row_statuses(status: Option<Vec<RowStatus>>) -> Vec<crate::domain::RowStatus> {
    status
        .unwrap_or_default()
        .into_iter()
        .map(Into::into)
        .collect()
}

pub struct ImportRun(pub import_run::Model);

impl ImportRun {
    fn stored_summary(&self) -> Result<Summary, ApiError> {
        serde_json::from_value(self.0.summary.clone()).map_err(|_| {
            ApiError::internal(CorruptValue {
                column: "summary",
                value: self.0.summary.to_string(),
            })
        })
    }
}

listed_by_id! {
    ImportRun: "ImportRunConnection", "ImportRunEdge", |run| run.0.id;
}

/// Who gains or loses a sector's alerts with a run.
pub struct SectorImpact(plan::impact::SectorImpact, Sector);

#[Object]
impl SectorImpact {
    async fn sector(&self) -> Sector {
        Sector(self.1.0.clone())
    }

    /// Phones the sector alerts before the run (one message each).
    async fn recipients_before(&self) -> i32 {
        self.0.before as i32
    }

    async fn recipients_after(&self) -> i32 {
        self.0.after as i32
    }

    async fn gained_count(&self) -> i32 {
        self.0.gained_count as i32
    }

    async fn lost_count(&self) -> i32 {
        self.0.lost_count as i32
    }

    /// Occupants the sector alerts after the run and not before (at most
    /// 1,000 kept; `gainedCount` counts them all).
    async fn gained(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> Result<Vec<AffectedOccupant>, ApiError> {
        affected(ctx, &self.0.gained, first)
    }

    /// The reverse: deleted, moved away, or their point not located.
    async fn lost(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> Result<Vec<AffectedOccupant>, ApiError> {
        affected(ctx, &self.0.lost, first)
    }
}

fn affected(
    ctx: &Context<'_>,
    who: &[plan::impact::Affected],
    first: Option<i32>,
) -> Result<Vec<AffectedOccupant>, ApiError> {
    let first = page_request(ctx, first, None)?.first as usize;
    Ok(who
        .iter()
        .take(first)
        .map(|a| AffectedOccupant {
            occupant_id: a.occupant_id.map(|id| encode(Kind::Occupant, id)),
            first_name: a.first_name.clone(),
            last_name: a.last_name.clone(),
            phone: a.phone.clone(),
            full_address: a.full_address.clone(),
            client_external_id: a.client_external_id.clone(),
        })
        .collect())
}

/// An occupant who gains or loses a sector's alerts.
#[derive(SimpleObject)]
pub struct AffectedOccupant {
    /// null for an occupant a dry run would create, or one that is deleted.
    pub occupant_id: Option<ID>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: String,
    pub full_address: String,
    pub client_external_id: String,
}

/// A record a run deletes (or would), as it was.
pub struct DeletedRecord(i32, plan::deletions::DeletedRecord);

impl ConnectionNode for DeletedRecord {
    const CONNECTION: &'static str = "DeletedRecordConnection";
    const EDGE: &'static str = "DeletedRecordEdge";

    fn cursor(&self) -> String {
        row_cursor(self.0 as u32)
    }
}

#[Object]
impl DeletedRecord {
    /// `CLIENT`, `SERVICE_POINT` or `OCCUPANT`.
    async fn kind(&self) -> &'static str {
        self.1.kind.name()
    }

    async fn client_external_id(&self) -> &str {
        &self.1.client_external_id
    }

    async fn full_address(&self) -> Option<&str> {
        self.1.full_address.as_deref()
    }

    async fn first_name(&self) -> Option<&str> {
        self.1.first_name.as_deref()
    }

    async fn last_name(&self) -> Option<&str> {
        self.1.last_name.as_deref()
    }

    async fn phone(&self) -> Option<&str> {
        self.1.phone.as_deref()
    }
}

impl ConnectionNode for RowReport {
    const CONNECTION: &'static str = "RowReportConnection";
    const EDGE: &'static str = "RowReportEdge";

    fn cursor(&self) -> String {
        row_cursor(self.0.number)
    }
}

#[Object]
impl ImportRun {
    pub async fn id(&self) -> ID {
        encode(Kind::ImportRun, self.0.id)
    }

    async fn mode(&self) -> ImportMode {
        self.0.mode.into()
    }

    async fn file_name(&self) -> &str {
        &self.0.file_name
    }

    async fn dry_run(&self) -> bool {
        self.0.dry_run
    }

    /// Whether the changes were applied.
    async fn committed(&self) -> bool {
        self.0.committed
    }

    async fn undone(&self) -> bool {
        self.0.undone
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn status(&self) -> ImportStatus {
        self.0.status.into()
    }

    async fn progress(&self) -> ImportProgress {
        let run = &self.0;
        ImportProgress {
            phase: run.phase.into(),
            rows_read: run.rows_read,
            rows_total: run.rows_total,
            addresses_to_locate: run.addresses_to_locate,
            addresses_located: run.addresses_located,
            percent: run.percent,
        }
    }

    /// When the run finished or failed; null while queued or running.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }

    /// As sent with `importSpreadsheet`; null once purged (kept
    /// `IMPORT_RETENTION_DAYS`, at least a day).
    async fn idempotency_key(&self) -> Option<&str> {
        self.0.idempotency_key.as_deref()
    }

    /// File-level: unreadable file, missing required column, limit exceeded.
    async fn file_errors(&self) -> Result<Vec<ImportIssue>, ApiError> {
        issues(&self.0.file_errors, "file_errors")
    }

    /// File-level: ignored columns, duplicate columns.
    async fn file_warnings(&self) -> Result<Vec<ImportIssue>, ApiError> {
        issues(&self.0.file_warnings, "file_warnings")
    }

    /// How each header was understood.
    async fn columns(&self) -> Result<Vec<DetectedColumn>, ApiError> {
        let columns: Vec<headers::DetectedColumn> = serde_json::from_value(self.0.columns.clone())
            .map_err(|_| {
                ApiError::internal(CorruptValue {
                    column: "columns",
                    value: self.0.columns.to_string(),
                })
            })?;
        Ok(columns
            .into_iter()
            .map(|c| DetectedColumn {
                header: c.header,
                index: c.index as i32,
                field: c.field.as_deref().and_then(ImportField::from_stored),
            })
            .collect())
    }

    async fn summary(&self) -> Result<ImportSummary, ApiError> {
        let summary = self.stored_summary()?;
        Ok(ImportSummary {
            total_rows: summary.total_rows as i32,
            error_rows: summary.error_rows as i32,
            skipped_rows: summary.skipped_rows as i32,
            clients: summary.clients.into(),
            service_points: summary.service_points.into(),
            occupants: summary.occupants.into(),
        })
    }

    /// For each sector, who gains or loses its alerts with the run (dry run
    /// or not): recipients before and after, and the occupants on each
    /// side. New addresses count where the run locates them; a point not
    /// located counts as lost to the sectors it was in.
    async fn alert_impact(&self, ctx: &Context<'_>) -> Result<Vec<SectorImpact>, ApiError> {
        let t = tenant(ctx)?;
        let impacts = import_reports::alert_impact(&t.db, t.org, self.0.id).await?;
        let loaded = loader(ctx)?
            .load_many(impacts.iter().map(|i| SectorKey(i.sector_id)))
            .await?;
        // A sector deleted since has nothing left to show.
        Ok(impacts
            .into_iter()
            .filter_map(|impact| {
                let sector = loaded.get(&SectorKey(impact.sector_id))?.clone();
                Some(SectorImpact(impact, Sector(sector)))
            })
            .collect())
    }

    /// `/imports/{id}/errors.xlsx` when rows are in error: those rows as the
    /// file had them, with what to fix, to correct and import again.
    async fn errors_file_url(&self) -> Result<Option<String>, ApiError> {
        let summary = self.stored_summary()?;
        Ok((summary.error_rows > 0).then(|| {
            format!(
                "/imports/{}/errors.xlsx",
                crate::domain::global_id::encode(Kind::ImportRun, self.0.id)
            )
        }))
    }

    /// What `MERGE_DELETE_MISSING` deletes (or would, in a dry run), each
    /// client, service point and occupant, cascades included: clients
    /// first, then points, then occupants. (`REPLACE_ALL` deletes
    /// everything: see `summary`.)
    async fn deletions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<DeletedRecord>, ApiError> {
        let t = tenant(ctx)?;
        let page = row_page_request(ctx, first, after)?;
        let records = import_reports::deletions(&t.db, t.org, self.0.id, page).await?;
        let total = match wants_total(ctx) {
            true => import_reports::count_deletions(&t.db, t.org, self.0.id).await?,
            false => 0,
        };
        Ok(Connection::new(
            records.map(|(index, record)| DeletedRecord(index, record)),
            total,
        ))
    }

    /// The per-row report in row order, filtered by status.
    async fn rows(
        &self,
        ctx: &Context<'_>,
        status: Option<Vec<RowStatus>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<RowReport>, ApiError> {
        let page = row_page_request(ctx, first, after)?;
        let statuses = row_statuses(status);
        let loader = loader(ctx)?;
        let rows = loader
            .load_one(RowsOfRun {
                run: self.0.id,
                statuses: statuses.clone(),
                page,
            })
            .await?
            .unwrap_or_else(Page::empty);
        let total = match wants_total(ctx) {
            true => loader
                .load_one(RowCountOfRun {
                    run: self.0.id,
                    statuses,
                })
                .await?
                .unwrap_or(0),
            false => 0,
        };
        let node = nodes(&ctx.look_ahead());
        prefetch::for_rows(loader, node, &rows.items.iter().collect::<Vec<_>>()).await?;
        Ok(Connection::new(rows.map(RowReport), total))
    }
}

pub struct RowReport(pub RowResult);

#[Object(serial)]
impl RowReport {
    /// The row number the spreadsheet program shows.
    async fn row_number(&self) -> i32 {
        self.0.number as i32
    }

    async fn status(&self) -> RowStatus {
        self.0.status.into()
    }

    async fn errors(&self) -> Vec<ImportIssue> {
        self.0.errors.iter().cloned().map(ImportIssue).collect()
    }

    async fn warnings(&self) -> Vec<ImportIssue> {
        self.0.warnings.iter().cloned().map(ImportIssue).collect()
    }

    /// null when not committed or since deleted.
    async fn client(&self, ctx: &Context<'_>) -> Result<Option<Client>, ApiError> {
        let Some(id) = self.0.client_id else {
            return Ok(None);
        };
        Ok(loader(ctx)?.load_one(ClientKey(id)).await?.map(Client::new))
    }

    async fn service_point(&self, ctx: &Context<'_>) -> Result<Option<ServicePoint>, ApiError> {
        let Some(id) = self.0.point_id else {
            return Ok(None);
        };
        Ok(loader(ctx)?
            .load_one(PointKey(id))
            .await?
            .map(ServicePoint::new))
    }

    async fn occupant(&self, ctx: &Context<'_>) -> Result<Option<Occupant>, ApiError> {
        let Some(id) = self.0.occupant_id else {
            return Ok(None);
        };
        Ok(loader(ctx)?
            .load_one(OccupantKey(id))
            .await?
            .map(Occupant::new))
    }

    /// For an `UPDATED` row: each field of its occupant, point or client
    /// that differs, before and after (dry run or not).
    async fn changes(&self) -> Vec<FieldChange> {
        self.0
            .changes
            .iter()
            .map(|change| FieldChange {
                field: change.field.clone(),
                before: change.before.clone(),
                after: change.after.clone(),
            })
            .collect()
    }
}

/// One field a row changes.
#[derive(SimpleObject)]
pub struct FieldChange {
    /// `phone`, `contactMethod`, `firstName`, `lastName`, `notes`,
    /// `language`, `addressLine1`, `city`, `province`, `postalCode`,
    /// `latitude`, `longitude`, `clientName`.
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// An uploaded file's name and bytes, read off the async workers.
pub async fn read_upload(ctx: &Context<'_>, file: Upload) -> Result<(String, Vec<u8>), ApiError> {
    let upload = file.value(ctx).map_err(ApiError::internal)?;
    let name = upload.filename.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        let mut bytes = Vec::new();
        upload.into_read().read_to_end(&mut bytes).map(|_| bytes)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    Ok((name, bytes))
}

/// An idempotency key as stored: 1 to 255 visible characters.
fn checked_key(key: String) -> Result<String, ApiError> {
    let key = key.trim().to_owned();
    if key.is_empty() || key.chars().count() > 255 || key.chars().any(char::is_control) {
        return Err(ApiError::Refused {
            reason: "IDEMPOTENCY_KEY_INVALID",
            message: crate::error::Message::new(
                "Clé d'idempotence invalide : de 1 à 255 caractères visibles.",
                "Invalid idempotency key: 1 to 255 visible characters.",
            ),
        });
    }
    Ok(key)
}

#[derive(Default)]
pub struct ImportQuery;

#[Object]
impl ImportQuery {
    async fn import_run(&self, ctx: &Context<'_>, id: ID) -> Result<Option<ImportRun>, ApiError> {
        record_by_id::<import_run::Entity, _>(ctx, &id, Kind::ImportRun, ImportRun).await
    }

    /// The organization's imports, most recent first.
    async fn import_runs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<ImportRun>, ApiError> {
        let t = tenant(ctx)?;
        let page = page_request(ctx, first, after)?;
        let runs = import_reports::list_runs(&t.db, t.org, page).await?;
        let ids: Vec<uuid::Uuid> = runs.items.iter().map(|run| run.id).collect();
        let node = nodes(&ctx.look_ahead());
        prefetch_runs(ctx, loader(ctx)?, node, &ids).await?;
        let total = match wants_total(ctx) {
            true => import_reports::count_runs(&t.db, t.org).await?,
            false => 0,
        };
        Ok(Connection::new(runs.map(ImportRun), total))
    }
}

fn subscription_slots<'a>(ctx: &'a Context<'_>) -> Result<&'a SubscriptionSlots, ApiError> {
    ctx.data::<SubscriptionSlots>()
        .map_err(|_| ApiError::internal(super::connection::MissingData("SubscriptionSlots")))
}

#[derive(Default)]
pub struct ImportSubscription;

#[Subscription]
impl ImportSubscription {
    /// Live progress of one import: the run now, then each time it changes
    /// (at most about twice a second), ending with its final state.
    /// Another organization's id: `NOT_FOUND`.
    async fn import_progress(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<impl Stream<Item = async_graphql::Result<ImportRun>> + use<>, ApiError> {
        let t = tenant(ctx)?;
        let uuid = decode_existing(&id, Kind::ImportRun)?;
        let slot = subscription_slots(ctx)?.take(t.org, |max| {
            crate::error::Message::new(
                format!("Trop d'abonnements ouverts pour cette organisation : {max} au plus."),
                format!("Too many open subscriptions for this organization: {max} at most."),
            )
        })?;
        let runs = import_reports::follow(t.db.clone(), t.org, uuid).await?;
        Ok(runs.map(move |run| {
            // Held as long as the stream lives.
            let _slot = &slot;
            run.map(ImportRun)
                .map_err(|error| ApiError::from(error).into())
        }))
    }
}

#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Imports a spreadsheet (.xlsx, .xls, .ods or .csv; one row per
    /// occupant). The run is returned and kept, committed or not. With
    /// `wait: false` the file is stored and the run returned at once
    /// (`QUEUED`): follow it with `importRun` or the `importProgress`
    /// subscription. The same `idempotencyKey` with the same file and
    /// options returns the first run instead of importing again.
    #[allow(clippy::too_many_arguments)]
    async fn import_spreadsheet(
        &self,
        ctx: &Context<'_>,
        file: Upload,
        mode: ImportMode,
        #[graphql(default_with = "Some(false)")] dry_run: Option<bool>,
        #[graphql(default_with = "Some(false)")] skip_invalid_rows: Option<bool>,
        columns: Option<Vec<ColumnMappingInput>>,
        idempotency_key: Option<String>,
        #[graphql(default_with = "Some(true)")] wait: Option<bool>,
    ) -> Result<ImportRun, ApiError> {
        let t = writer(ctx)?;
        let importer = importer(ctx)?;
        let idempotency_key = idempotency_key.map(checked_key).transpose()?;
        let (file_name, bytes) = read_upload(ctx, file).await?;
        let mapping = columns
            .unwrap_or_default()
            .into_iter()
            .map(|c| Mapping {
                header: c.header,
                field: c.field.map(ImportField::field),
            })
            .collect();
        let options = ImportOptions {
            mode: mode.into(),
            dry_run: dry_run.unwrap_or(false),
            skip_invalid_rows: skip_invalid_rows.unwrap_or(false),
            mapping,
        };
        let request = NewImport {
            file_name,
            bytes,
            options,
            idempotency_key,
        };
        let run = match wait.unwrap_or(true) {
            true => service::import(&t.db, importer, t.org, request, Default::default()).await?,
            false => service::enqueue(&t.db, importer, t.org, request).await?,
        };
        Ok(ImportRun(run))
    }

    /// Restores the records as they were before a `REPLACE_ALL` or
    /// `MERGE_DELETE_MISSING` import, while no later import was committed.
    async fn undo_import(&self, ctx: &Context<'_>, id: ID) -> Result<ImportRun, ApiError> {
        let (t, uuid) = writer_of(ctx, &id, Kind::ImportRun)?;
        Ok(ImportRun(
            service::undo(&t.db, importer(ctx)?, t.org, uuid).await?,
        ))
    }
}

/// Prefetches, for a list of import runs whose item selection is `node`,
/// each `rows` selection.
async fn prefetch_runs(
    ctx: &Context<'_>,
    loader: &RequestLoader,
    node: Lookahead<'_>,
    runs: &[Uuid],
) -> Result<(), ApiError> {
    for field in prefetch::RUN_ROWS.in_(&node).selection_fields() {
        let (Some(status), Some(first), Some(after)) = (
            prefetch::argument::<Option<Vec<RowStatus>>>(&field, "status"),
            prefetch::argument(&field, "first"),
            prefetch::argument(&field, "after"),
        ) else {
            continue;
        };
        let Ok(page) = row_page_request(ctx, first, after) else {
            continue;
        };
        let statuses = row_statuses(status);
        let pages = loader
            .load_many(runs.iter().map(|run| RowsOfRun {
                run: *run,
                statuses: statuses.clone(),
                page,
            }))
            .await?;
        let field = Lookahead::from(field);
        if prefetch::TOTAL_COUNT.in_(&field).exists() {
            loader
                .load_many(runs.iter().map(|run| RowCountOfRun {
                    run: *run,
                    statuses: statuses.clone(),
                }))
                .await?;
        }
        let rows: Vec<&RowResult> = pages.values().flat_map(|page| &page.items).collect();
        prefetch::for_rows(loader, nodes(&field), &rows).await?;
    }
    Ok(())
}
