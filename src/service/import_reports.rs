//! Reading imports back: the runs, newest first, and each run's per-row
//! report in row order. Kept apart from running an import: these are plain
//! paged reads, batched over several runs for `importRuns { rows }`.

use std::collections::HashMap;

use entity::{import_row, import_run};
use sea_orm::sea_query::{Expr, ExprTrait, Order};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
    Select,
};
use uuid::Uuid;

use super::{Page, PageRequest, fetch_page_by, fetch_pages_by, owned};
use crate::auth::OrgId;
use crate::domain::RowStatus;
use crate::service::ServiceError;

/// Most recent first: the cursor is the previous page's last run id.
pub async fn list_runs(
    db: &impl ConnectionTrait,
    org: OrgId,
    page: PageRequest,
) -> Result<Page<import_run::Model>, ServiceError> {
    let runs = owned::<import_run::Entity>(org);
    Ok(fetch_page_by(db, runs, import_run::Column::Id, Order::Desc, page).await?)
}

pub async fn count_runs(db: &impl ConnectionTrait, org: OrgId) -> Result<u64, ServiceError> {
    Ok(owned::<import_run::Entity>(org).count(db).await?)
}

/// The rows of these runs with one of `statuses` (any status when empty).
fn rows_filter(org: OrgId, run_ids: &[Uuid], statuses: &[RowStatus]) -> Select<import_row::Entity> {
    let mut select = import_row::Entity::find()
        .filter(import_row::Column::OrganizationId.eq(org.uuid()))
        .filter(import_row::Column::ImportRunId.is_in(run_ids.iter().copied()));
    if !statuses.is_empty() {
        select = select.filter(import_row::Column::Status.is_in(statuses.iter().copied()));
    }
    select
}

/// One page of each run's report, in row order, in one statement: the
/// cursor is the previous page's last row number. Every run gets a page,
/// empty or not.
pub async fn rows(
    db: &impl ConnectionTrait,
    org: OrgId,
    run_ids: &[Uuid],
    statuses: &[RowStatus],
    page: PageRequest<i32>,
) -> Result<HashMap<Uuid, Page<import_row::Model>>, DbErr> {
    let mut pages = fetch_pages_by(
        db,
        rows_filter(org, run_ids, statuses),
        (import_row::Entity, import_row::Column::ImportRunId),
        import_row::Column::RowNumber,
        Order::Asc,
        page,
    )
    .await?;
    for run in run_ids {
        pages.entry(*run).or_insert_with(Page::empty);
    }
    Ok(pages)
}

/// How many rows of each run have one of `statuses` (any when empty).
pub async fn count_rows(
    db: &impl ConnectionTrait,
    org: OrgId,
    run_ids: &[Uuid],
    statuses: &[RowStatus],
) -> Result<HashMap<Uuid, u64>, DbErr> {
    let counts: Vec<(Uuid, i64)> = rows_filter(org, run_ids, statuses)
        .select_only()
        .column(import_row::Column::ImportRunId)
        .expr(Expr::col(import_row::Column::RowNumber).count())
        .group_by(import_row::Column::ImportRunId)
        .into_tuple()
        .all(db)
        .await?;
    let mut counts: HashMap<Uuid, u64> =
        counts.into_iter().map(|(run, n)| (run, n as u64)).collect();
    for run in run_ids {
        counts.entry(*run).or_insert(0);
    }
    Ok(counts)
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
