//! Reading imports back: the runs, newest first, and each run's per-row
//! report in row order. Kept apart from running an import: these are plain
//! paged reads, batched over several runs for `importRuns { rows }`.

use std::collections::HashMap;

use entity::{import_deletion, import_impact, import_report, import_run, import_source};
use futures_util::TryStreamExt;
use sea_orm::sea_query::{Expr, ExprTrait, Order};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, Iterable, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, StreamTrait,
};
use uuid::Uuid;

use super::{Page, PageRequest, Reader, fetch_page_by, owned};
use crate::auth::OrgId;
use crate::domain::RowStatus;
use crate::import::error::Issue;
use crate::import::plan::RowResult;
use crate::import::plan::deletions::DeletedRecord;
use crate::import::plan::impact::SectorImpact;
use crate::import::report;
use crate::service::ServiceError;
use crate::service::store::tenant::belongs;

/// Most recent first: the cursor is the previous page's last run id.
pub async fn list_runs(
    db: &impl Reader,
    org: OrgId,
    page: PageRequest,
) -> Result<Page<import_run::Model>, ServiceError> {
    let runs = owned::<import_run::Entity>(org);
    Ok(fetch_page_by(db, runs, import_run::Column::Id, Order::Desc, page).await?)
}

pub async fn count_runs(db: &impl ConnectionTrait, org: OrgId) -> Result<u64, ServiceError> {
    Ok(owned::<import_run::Entity>(org).count(db).await?)
}

/// How many rows of `statuses` a chunk holds (of any status when empty).
fn rows_of(statuses: &[RowStatus]) -> Expr {
    let column = |status: &RowStatus| match status {
        RowStatus::Created => import_report::Column::CreatedRows,
        RowStatus::Updated => import_report::Column::UpdatedRows,
        RowStatus::Unchanged => import_report::Column::UnchangedRows,
        RowStatus::Skipped => import_report::Column::SkippedRows,
        RowStatus::Error => import_report::Column::ErrorRows,
    };
    let statuses: Vec<RowStatus> = match statuses {
        [] => RowStatus::iter().collect(),
        some => some.to_vec(),
    };
    let mut columns = statuses.iter().map(|status| Expr::col(column(status)));
    let first = columns.next().expect("at least one status");
    columns.fold(first, |sum, column| sum.add(column))
}

/// The report chunks of these runs holding a row of `statuses`.
fn chunks_with(
    org: OrgId,
    run_ids: &[Uuid],
    statuses: &[RowStatus],
) -> Select<import_report::Entity> {
    import_report::Entity::find()
        .filter(belongs::<import_report::Entity>(org))
        .filter(import_report::Column::ImportRunId.is_in(run_ids.iter().copied()))
        .filter(rows_of(statuses).gt(0))
}

/// One page of each run's report, in row order: the cursor is the previous
/// page's last row number. Every run gets a page, empty or not. Reads the
/// chunks past the cursor holding rows of `statuses`, in order, and stops
/// once each run's page is full (for one run, the statement asks for no
/// more chunks than the page can need: each holds a row it wants).
pub async fn rows(
    db: &(impl ConnectionTrait + StreamTrait),
    org: OrgId,
    run_ids: &[Uuid],
    statuses: &[RowStatus],
    page: PageRequest<i32>,
) -> Result<HashMap<Uuid, Page<RowResult>>, DbErr> {
    let after = page.after.unwrap_or(i32::MIN);
    let wanted = page.first as usize + 1;
    let mut found: HashMap<Uuid, Vec<RowResult>> =
        run_ids.iter().map(|run| (*run, Vec::new())).collect();
    let mut select = chunks_with(org, run_ids, statuses)
        .filter(import_report::Column::LastRow.gt(after))
        .order_by_asc(import_report::Column::ImportRunId)
        .order_by_asc(import_report::Column::FirstRow);
    if run_ids.len() == 1 {
        select = select.limit(wanted as u64);
    }
    let mut chunks = select.stream(db).await?;
    let mut unfilled = found.len();
    while unfilled > 0
        && let Some(chunk) = chunks.try_next().await?
    {
        let Some(rows) = found.get_mut(&chunk.import_run_id) else {
            continue;
        };
        if rows.len() >= wanted {
            continue;
        }
        let decoded = report::decode(&chunk.rows).map_err(|error| {
            tracing::error!(run = %chunk.import_run_id, first_row = chunk.first_row, %error, "import report chunk unreadable");
            DbErr::Type("import report chunk unreadable".to_owned())
        })?;
        let matching = decoded.into_iter().filter(|row| {
            row.number as i64 > after as i64
                && (statuses.is_empty() || statuses.contains(&row.status))
        });
        rows.extend(matching.take(wanted - rows.len()));
        if rows.len() == wanted {
            unfilled -= 1;
        }
    }
    Ok(found
        .into_iter()
        .map(|(run, mut items)| {
            let has_next = items.len() > page.first as usize;
            items.truncate(page.first as usize);
            (run, Page { items, has_next })
        })
        .collect())
}

/// How many rows of each run have one of `statuses` (any when empty):
/// the chunks' counts, summed.
pub async fn count_rows(
    db: &impl ConnectionTrait,
    org: OrgId,
    run_ids: &[Uuid],
    statuses: &[RowStatus],
) -> Result<HashMap<Uuid, u64>, DbErr> {
    let counts: Vec<(Uuid, Option<i64>)> = chunks_with(org, run_ids, statuses)
        .select_only()
        .column(import_report::Column::ImportRunId)
        .expr(rows_of(statuses).sum())
        .group_by(import_report::Column::ImportRunId)
        .into_tuple()
        .all(db)
        .await?;
    let mut counts: HashMap<Uuid, u64> = counts
        .into_iter()
        .map(|(run, n)| (run, n.unwrap_or(0) as u64))
        .collect();
    for run in run_ids {
        counts.entry(*run).or_insert(0);
    }
    Ok(counts)
}

/// One page of what a run deletes (or would), in list order: the cursor
/// is the previous page's last position (from 1).
pub async fn deletions(
    db: &impl ConnectionTrait,
    org: OrgId,
    run_id: Uuid,
    page: PageRequest<i32>,
) -> Result<Page<(i32, DeletedRecord)>, DbErr> {
    let after = page.after.unwrap_or(0);
    let wanted = page.first as usize + 1;
    let chunks = import_deletion::Entity::find()
        .filter(belongs::<import_deletion::Entity>(org))
        .filter(import_deletion::Column::ImportRunId.eq(run_id))
        .filter(import_deletion::Column::LastIndex.gt(after))
        .order_by_asc(import_deletion::Column::FirstIndex)
        .limit(wanted.div_ceil(report::ROWS_PER_CHUNK) as u64 + 1)
        .all(db)
        .await?;
    let mut items = Vec::with_capacity(wanted);
    for chunk in chunks {
        let records: Vec<DeletedRecord> = report::decode_as(&chunk.records).map_err(|error| {
            tracing::error!(run = %run_id, first = chunk.first_index, %error, "import deletions chunk unreadable");
            DbErr::Type("import deletions chunk unreadable".to_owned())
        })?;
        let numbered = (chunk.first_index..).zip(records);
        items.extend(
            numbered
                .filter(|(index, _)| *index > after)
                .take(wanted - items.len()),
        );
        if items.len() == wanted {
            break;
        }
    }
    let has_next = items.len() > page.first as usize;
    items.truncate(page.first as usize);
    Ok(Page { items, has_next })
}

/// How many records a run deletes (or would).
pub async fn count_deletions(
    db: &impl ConnectionTrait,
    org: OrgId,
    run_id: Uuid,
) -> Result<u64, DbErr> {
    let last: Option<Option<i32>> = import_deletion::Entity::find()
        .filter(belongs::<import_deletion::Entity>(org))
        .filter(import_deletion::Column::ImportRunId.eq(run_id))
        .select_only()
        .expr(import_deletion::Column::LastIndex.max())
        .into_tuple()
        .one(db)
        .await?;
    Ok(last.flatten().unwrap_or(0) as u64)
}

/// What `errors.xlsx` is written from: the run's kept file and its rows
/// in error (number and issues, in row order), or `None` when the run has
/// none or its file is gone (retention).
pub async fn errors_source(
    db: &(impl ConnectionTrait + StreamTrait),
    org: OrgId,
    run_id: Uuid,
    max_rows: usize,
) -> Result<Option<(import_source::Model, Vec<(u32, Vec<Issue>)>)>, ServiceError> {
    let source = import_source::Entity::find()
        .filter(belongs::<import_source::Entity>(org))
        .filter(import_source::Column::ImportRunId.eq(run_id))
        .one(db)
        .await?;
    let Some(source) = source else {
        return Ok(None);
    };
    let page = PageRequest {
        first: max_rows as u64,
        after: None,
    };
    let mut found = rows(db, org, &[run_id], &[RowStatus::Error], page).await?;
    let errors = found
        .remove(&run_id)
        .map(|page| page.items)
        .unwrap_or_default()
        .into_iter()
        .map(|row| (row.number, row.errors))
        .collect();
    Ok(Some((source, errors)))
}

/// Who gains or loses each sector's alerts with the run (empty without
/// sectors, or once purged).
pub async fn alert_impact(
    db: &impl ConnectionTrait,
    org: OrgId,
    run_id: Uuid,
) -> Result<Vec<SectorImpact>, DbErr> {
    let stored = import_impact::Entity::find()
        .filter(belongs::<import_impact::Entity>(org))
        .filter(import_impact::Column::ImportRunId.eq(run_id))
        .one(db)
        .await?;
    let Some(stored) = stored else {
        return Ok(Vec::new());
    };
    report::decode_as(&stored.data).map_err(|error| {
        tracing::error!(run = %run_id, %error, "import impact unreadable");
        DbErr::Type("import impact unreadable".to_owned())
    })
}

/// How often a followed run is read again: its executor writes at most
/// twice a second, on whichever instance it runs.
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// The run as it is now, then each time it changes, ending with its final
/// state. It polls the row (one primary-key read per interval), so it
/// follows a run executed by any instance, on both databases.
pub async fn follow(
    db: sea_orm::DatabaseConnection,
    org: OrgId,
    id: Uuid,
) -> Result<
    impl futures_util::Stream<Item = Result<import_run::Model, ServiceError>> + Send + 'static,
    ServiceError,
> {
    let first = super::get_owned::<import_run::Entity>(&db, org, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    // State: the last run sent (None before the first), and whether the
    // stream is over.
    let stream = futures_util::stream::unfold(
        (db, Some(first), None::<import_run::Model>, false),
        move |(db, mut next, last, done)| async move {
            if done {
                return None;
            }
            loop {
                let run = match next.take() {
                    Some(run) => run,
                    None => {
                        tokio::time::sleep(FOLLOW_EVERY).await;
                        match super::get_owned::<import_run::Entity>(&db, org, id).await {
                            Ok(Some(run)) => run,
                            Ok(None) => {
                                return Some((Err(ServiceError::NotFound), (db, None, last, true)));
                            }
                            Err(error) => return Some((Err(error), (db, None, last, true))),
                        }
                    }
                };
                if last.as_ref() == Some(&run) {
                    continue;
                }
                let over = run.status.is_final();
                return Some((Ok(run.clone()), (db, None, Some(run), over)));
            }
        },
    );
    Ok(stream)
}
