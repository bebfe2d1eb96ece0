//! `flokon-api import FILE --org ID --mode MODE`: the server's import
//! pipeline for scripts and operators, with a progress bar on a terminal
//! (plain lines otherwise), then the summary and the first error rows.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use entity::import_run;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sea_orm::DatabaseConnection;

use super::{Database, Failure, named};
use crate::auth::OrgId;
use crate::config::{GeocoderConfig, ImportConfig};
use crate::domain::{ImportMode, Lang, RowStatus};
use crate::import::error::Issue;
use crate::import::plan::Summary;
use crate::import::progress::{Phase, Progress, Snapshot};
use crate::service::imports::{self, ImportOptions, Importer, NewImport};
use crate::service::{Page, PageRequest, ServiceError, import_reports};

#[derive(Clone, Debug, clap::Args)]
pub struct ImportArgs {
    /// The spreadsheet: .xlsx, .xls, .ods or .csv.
    pub file: PathBuf,
    /// The organization's id (as printed by `org create`).
    #[arg(long)]
    pub org: uuid::Uuid,
    #[arg(long, value_enum, ignore_case = true)]
    pub mode: ModeArg,
    /// Check and report without changing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Import the valid rows even when others have errors.
    #[arg(long)]
    pub skip_invalid_rows: bool,
    #[command(flatten)]
    pub database: Database,
    #[command(flatten)]
    pub imports: ImportConfig,
    #[command(flatten)]
    pub geocoding: GeocoderConfig,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ModeArg {
    #[value(name = "REPLACE_ALL")]
    ReplaceAll,
    #[value(name = "MERGE_DELETE_MISSING")]
    MergeDeleteMissing,
    #[value(name = "MERGE_KEEP_MISSING")]
    MergeKeepMissing,
}

impl From<ModeArg> for ImportMode {
    fn from(mode: ModeArg) -> ImportMode {
        match mode {
            ModeArg::ReplaceAll => ImportMode::ReplaceAll,
            ModeArg::MergeDeleteMissing => ImportMode::MergeDeleteMissing,
            ModeArg::MergeKeepMissing => ImportMode::MergeKeepMissing,
        }
    }
}

/// Error rows printed at the end; the rest are counted.
const ERROR_ROWS_SHOWN: u64 = 20;

/// Runs the import; `Ok(true)` when it committed, or was a dry run
/// without errors.
pub async fn import(db: &DatabaseConnection, args: ImportArgs) -> Result<bool, Failure> {
    let org = named(db, args.org).await?;
    let bytes = std::fs::read(&args.file)
        .map_err(|error| format!("cannot read {}: {error}", args.file.display()))?;
    let file_name = args
        .file
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let importer = Importer::configured(db, &args.imports, &args.geocoding)?;
    let request = NewImport {
        file_name,
        bytes,
        options: ImportOptions {
            mode: args.mode.into(),
            dry_run: args.dry_run,
            skip_invalid_rows: args.skip_invalid_rows,
            mapping: Vec::new(),
        },
        idempotency_key: None,
    };
    let progress = Arc::new(Progress::default());
    let shown = tokio::spawn(show(progress.clone()));
    let outcome = imports::import(db, &importer, org, request, progress.clone()).await;
    shown.abort();
    let _ = shown.await;
    let run = outcome.map_err(describe)?;
    finish_display(&progress.snapshot());
    report(db, org, &run).await
}

fn describe(error: ServiceError) -> Failure {
    match error {
        ServiceError::ImportInProgress => {
            "an import is already in progress for this organization: try again when it is done"
                .into()
        }
        other => other.into(),
    }
}

fn lang() -> Lang {
    let lang = std::env::var("LANG").unwrap_or_default();
    if lang.starts_with("en") {
        Lang::En
    } else {
        Lang::Fr
    }
}

fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Queued => "queued",
        Phase::Reading => "reading",
        Phase::Locating => "locating",
        Phase::Planning => "planning",
        Phase::Applying => "applying",
        Phase::Done => "done",
    }
}

fn describe_progress(now: &Snapshot) -> String {
    let rows = match now.rows_total {
        Some(total) => format!("{}/{total} rows", now.rows_read),
        None => format!("{} rows", now.rows_read),
    };
    let mut line = format!("{} {rows}", phase_name(now.phase));
    if now.to_locate > 0 {
        line.push_str(&format!(
            ", {}/{} addresses located",
            now.located, now.to_locate
        ));
    }
    line
}

/// A bar on a terminal; elsewhere (a log, a pipe) a line per change of
/// phase.
async fn show(progress: Arc<Progress>) {
    let terminal = std::io::stderr().is_terminal();
    let bar = ProgressBar::with_draw_target(Some(100), ProgressDrawTarget::stderr());
    if terminal {
        let style = ProgressStyle::with_template("{bar:40} {percent:>3}% {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let mut last_phase = None;
    loop {
        let now = progress.snapshot();
        if terminal {
            bar.set_position(now.percent() as u64);
            bar.set_message(describe_progress(&now));
        } else if last_phase != Some(now.phase) {
            eprintln!("{:>3}% {}", now.percent() as u64, describe_progress(&now));
            last_phase = Some(now.phase);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn finish_display(now: &Snapshot) {
    if std::io::stderr().is_terminal() {
        // The bar's last frame stays; end its line.
        eprintln!();
    } else {
        eprintln!("100% {}", describe_progress(now));
    }
}

/// What the run changes, deletes and does to each sector's recipients:
/// the first few of each, then how many more.
async fn consequences(
    out: &mut impl Write,
    db: &DatabaseConnection,
    org: OrgId,
    run: &import_run::Model,
    lang: Lang,
) -> Result<(), Failure> {
    let first = PageRequest {
        first: ERROR_ROWS_SHOWN,
        after: None,
    };
    let mut pages = import_reports::rows(db, org, &[run.id], &[RowStatus::Updated], first).await?;
    let updated = pages.remove(&run.id).unwrap_or_else(Page::empty);
    for row in &updated.items {
        let changes: Vec<String> = row
            .changes
            .iter()
            .map(|c| {
                let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
                format!("{} {} -> {}", c.field, shown(&c.before), shown(&c.after))
            })
            .collect();
        for warning in &row.warnings {
            writeln!(
                out,
                "row {}: {} {}",
                row.number,
                warning.code,
                warning.message(lang)
            )?;
        }
        writeln!(out, "row {}: {}", row.number, changes.join("; "))?;
    }
    if updated.has_next {
        writeln!(out, "... and more updated rows")?;
    }
    let deletions = import_reports::deletions(db, org, run.id, first).await?;
    let total = import_reports::count_deletions(db, org, run.id).await?;
    if total > 0 {
        writeln!(out, "deletions: {total}")?;
    }
    for (_, record) in &deletions.items {
        let who = [
            record.first_name.as_deref(),
            record.last_name.as_deref(),
            record.phone.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        let place = record.full_address.as_deref().unwrap_or("");
        let kind = record.kind.name();
        writeln!(out, "  {kind} {} {place} {who}", record.client_external_id)?;
    }
    if deletions.has_next {
        writeln!(out, "  ...")?;
    }
    let impact = import_reports::alert_impact(db, org, run.id).await?;
    let names: std::collections::HashMap<uuid::Uuid, String> =
        crate::service::owned::<entity::sector::Entity>(org)
            .all(db)
            .await?
            .into_iter()
            .map(|sector| (sector.id, sector.name))
            .collect();
    for sector in impact.iter().filter(|s| s.gained_count + s.lost_count > 0) {
        let name = names.get(&sector.sector_id).map_or("?", String::as_str);
        writeln!(
            out,
            "sector {name}: {} -> {} recipients (+{} -{})",
            sector.before, sector.after, sector.gained_count, sector.lost_count
        )?;
    }
    Ok(())
}

async fn report(
    db: &DatabaseConnection,
    org: OrgId,
    run: &import_run::Model,
) -> Result<bool, Failure> {
    let lang = lang();
    let summary: Summary = serde_json::from_value(run.summary.clone()).unwrap_or_default();
    let file_errors: Vec<Issue> = serde_json::from_value(run.file_errors.clone())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "run: {}", run.id)?;
    writeln!(
        out,
        "committed: {}{}",
        if run.committed { "yes" } else { "no" },
        if run.dry_run { " (dry run)" } else { "" }
    )?;
    writeln!(
        out,
        "rows: {} (errors: {}, skipped: {})",
        summary.total_rows, summary.error_rows, summary.skipped_rows
    )?;
    for (name, counts) in [
        ("clients", summary.clients),
        ("service points", summary.service_points),
        ("occupants", summary.occupants),
    ] {
        writeln!(
            out,
            "{name}: {} created, {} updated, {} unchanged, {} deleted",
            counts.created, counts.updated, counts.unchanged, counts.deleted
        )?;
    }
    for issue in &file_errors {
        writeln!(out, "file error {}: {}", issue.code, issue.message(lang))?;
    }
    let first = PageRequest {
        first: ERROR_ROWS_SHOWN,
        after: None,
    };
    let mut pages = import_reports::rows(db, org, &[run.id], &[RowStatus::Error], first).await?;
    let errors = pages
        .remove(&run.id)
        .map(|page| page.items)
        .unwrap_or_default();
    for row in &errors {
        for issue in &row.errors {
            let column = issue.column.as_deref().unwrap_or("-");
            writeln!(
                out,
                "row {}: {} ({column}): {}",
                row.number,
                issue.code,
                issue.message(lang)
            )?;
        }
    }
    let more = u64::from(summary.error_rows).saturating_sub(errors.len() as u64);
    if more > 0 {
        writeln!(out, "... and {more} more error rows")?;
    }
    let file_warnings: Vec<Issue> = serde_json::from_value(run.file_warnings.clone())?;
    for issue in &file_warnings {
        writeln!(out, "file warning {}: {}", issue.code, issue.message(lang))?;
    }
    consequences(&mut out, db, org, run, lang).await?;
    let clean = file_errors.is_empty() && summary.error_rows == 0;
    Ok(run.committed || (run.dry_run && clean))
}
