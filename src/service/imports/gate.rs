//! One import per organization at a time, on every instance, claimed before
//! the file is even parsed; and a bounded number of parses at once (parsing
//! is CPU-bound and runs on blocking threads).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use entity::{import_claim, organization};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QuerySelect, Statement,
};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::auth::OrgId;
use crate::config::{GeocoderConfig, ImportConfig};
use crate::geocode;
use crate::import::error::FileError;
use crate::import::headers::Mapping;
use crate::import::progress::Progress;
use crate::import::{self as pipeline, ImportLimits, Parsed};
use crate::service::geocoding::Geocoding;
use crate::service::store::locks;
use crate::service::store::rate_budget::DbRateBudget;
use crate::service::store::tenant::{delete_all_owned, update_all_owned};
use crate::service::{ServiceError, log_internal};

/// Shared by all requests: who is importing now, and how many parses may
/// run at once (parsing is CPU-bound and runs on blocking threads).
pub struct Importer {
    pub limits: ImportLimits,
    pub geocoding: Arc<Geocoding>,
    /// How long an import's claims (the organization's, its run's) hold
    /// without renewal.
    pub lease: Duration,
    /// Wakes this instance's import worker when a run is queued here.
    pub(super) queued: Notify,
    busy: Mutex<HashSet<Uuid>>,
    parses: Semaphore,
}

impl Importer {
    pub fn new(
        limits: ImportLimits,
        geocoding: Arc<Geocoding>,
        concurrent_parses: usize,
        lease: Duration,
    ) -> Importer {
        Importer {
            limits,
            geocoding,
            lease: lease.max(Duration::from_secs(1)),
            queued: Notify::new(),
            busy: Mutex::new(HashSet::new()),
            parses: Semaphore::new(concurrent_parses.max(1)),
        }
    }

    /// With the configured limits, lease and geocoder: the server's, and
    /// the `import` command's.
    pub fn configured(
        db: &DatabaseConnection,
        imports: &ImportConfig,
        geocoding: &GeocoderConfig,
    ) -> std::io::Result<Arc<Importer>> {
        let parses = std::thread::available_parallelism().map_or(2, |n| n.get());
        // A provider's rate is owed per deployment: on PostgreSQL every
        // instance takes its turns from one budget in the database.
        let budget = geocode::rate_limit(geocoding)
            .and_then(|rps| DbRateBudget::for_deployment(db, "geocoder", rps))
            .map(|budget| Arc::new(budget) as Arc<dyn geocode::RateBudget>);
        let geocoder = geocode::build_sharing(geocoding, budget).map_err(std::io::Error::other)?;
        let geocoding = Arc::new(Geocoding {
            geocoder,
            deadline: Duration::from_millis(geocoding.geocoder_deadline_ms),
        });
        Ok(Arc::new(Importer::new(
            ImportLimits::from(imports),
            geocoding,
            parses,
            imports.import_lease,
        )))
    }

    /// Resolves when a run is queued on this instance (it wakes the import
    /// worker).
    pub async fn queued(&self) {
        self.queued.notified().await;
    }

    /// One import per organization at a time, refused at once otherwise:
    /// in this process first, then, on PostgreSQL, in the database for
    /// every instance (a lease renewed while the import runs). SQLite
    /// serves one instance with one writer: one import at a time there,
    /// whatever the organization, rather than one waiting out the other's
    /// write lock.
    async fn claim(
        self: &Arc<Self>,
        db: &DatabaseConnection,
        org: OrgId,
    ) -> Result<Claim, ServiceError> {
        let postgres = db.get_database_backend() == DbBackend::Postgres;
        let key = if postgres { org.uuid() } else { Uuid::nil() };
        // A panic elsewhere cannot leave the set half-changed: read through
        // the poison rather than refuse every import from then on.
        let inserted = self
            .busy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key);
        if !inserted {
            return Err(ServiceError::ImportInProgress);
        }
        let mut claim = Claim {
            importer: self.clone(),
            key,
            lease: None,
        };
        if postgres {
            claim.lease = Some(Lease::take(db, org, self.lease).await?);
        }
        Ok(claim)
    }

    /// Runs `work` holding the organization's import claim, given back as
    /// soon as `work` ends, whatever its outcome.
    pub(super) async fn exclusively<T>(
        self: &Arc<Self>,
        db: &DatabaseConnection,
        org: OrgId,
        work: impl Future<Output = Result<T, ServiceError>>,
    ) -> Result<T, ServiceError> {
        let mut claim = self.claim(db, org).await?;
        let result = work.await;
        if let Some(lease) = claim.lease.take() {
            lease.release().await;
        }
        result
    }

    pub(super) async fn parse(
        &self,
        bytes: Arc<Vec<u8>>,
        mapping: Vec<Mapping>,
        progress: Arc<Progress>,
    ) -> Parsed {
        let Ok(_permit) = self.parses.acquire().await else {
            return Parsed {
                file_errors: vec![FileError::Unreadable.issue()],
                ..Parsed::default()
            };
        };
        let limits = self.limits.clone();
        let parsed = tokio::task::spawn_blocking(move || {
            pipeline::parse(&bytes, &limits, &mapping, &progress)
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
    key: Uuid,
    lease: Option<Lease>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut busy = self
            .importer
            .busy
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        busy.remove(&self.key);
    }
}

/// An organization's `import_claim` row, held by one import: renewed in the
/// background, released when dropped.
struct Lease {
    db: DatabaseConnection,
    org: OrgId,
    holder: Uuid,
    renewal: JoinHandle<()>,
    released: bool,
}

impl Lease {
    /// Takes the row, or refuses at once while another holder's lease runs
    /// (an instance that dies mid-import blocks its organization's imports
    /// this long at most).
    async fn take(
        db: &DatabaseConnection,
        org: OrgId,
        lease: Duration,
    ) -> Result<Lease, ServiceError> {
        let holder = Uuid::now_v7();
        let seconds = lease.as_secs_f64();
        let taken = db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "INSERT INTO import_claim (organization_id, holder, claimed_until) \
                 VALUES ($1, $2, now() + make_interval(secs => $3)) \
                 ON CONFLICT (organization_id) DO UPDATE \
                 SET holder = EXCLUDED.holder, claimed_until = EXCLUDED.claimed_until \
                 WHERE import_claim.claimed_until < now()",
                [org.uuid().into(), holder.into(), seconds.into()],
            ))
            .await?;
        if taken.rows_affected() == 0 {
            return Err(ServiceError::ImportInProgress);
        }
        let renewal = tokio::spawn(renew(db.clone(), org, holder, lease));
        Ok(Lease {
            db: db.clone(),
            org,
            holder,
            renewal,
            released: false,
        })
    }
}

/// Extends the lease every third of it while the import runs.
async fn renew(db: DatabaseConnection, org: OrgId, holder: Uuid, lease: Duration) {
    loop {
        tokio::time::sleep(lease / 3).await;
        let renewed = update_all_owned::<import_claim::Entity>(org)
            .col_expr(
                import_claim::Column::ClaimedUntil,
                Expr::cust_with_values("now() + make_interval(secs => ?)", [lease.as_secs_f64()]),
            )
            .filter(import_claim::Column::Holder.eq(holder))
            .exec(&db)
            .await;
        match renewed {
            Ok(result) if result.rows_affected == 1 => {}
            Ok(_) => tracing::warn!(org = %org.uuid(), "import claim lost"),
            Err(error) => log_internal(&error),
        }
    }
}

impl Lease {
    /// Gives the row back now, so the organization's next import, sent the
    /// moment this one answers, is not refused.
    async fn release(mut self) {
        self.released = true;
        self.renewal.abort();
        if let Err(error) = delete_claim(&self.db, self.org, self.holder).await {
            log_internal(&error);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewal.abort();
        if self.released {
            return;
        }
        let (db, org, holder) = (self.db.clone(), self.org, self.holder);
        // Unwinding or cancelled: released in the background; a failure only
        // lets the lease run out.
        tokio::spawn(async move {
            if let Err(error) = delete_claim(&db, org, holder).await {
                log_internal(&error);
            }
        });
    }
}

async fn delete_claim(db: &DatabaseConnection, org: OrgId, holder: Uuid) -> Result<(), DbErr> {
    delete_all_owned::<import_claim::Entity>(org)
        .filter(import_claim::Column::Holder.eq(holder))
        .exec(db)
        .await?;
    Ok(())
}

/// Serializes imports of one organization across server instances too:
/// PostgreSQL refuses a second one at once; on SQLite the transaction holds
/// the write lock from here.
pub(super) async fn lock_organization(
    tx: &impl ConnectionTrait,
    org: OrgId,
) -> Result<(), ServiceError> {
    if !locks::try_lock_imports(tx, org).await? {
        return Err(ServiceError::ImportInProgress);
    }
    locks::lock_memberships(tx, org, locks::Memberships::Exclusive).await?;
    Ok(())
}

/// The organization's next commit number, taken under its import lock, so
/// commits are numbered in the order they happen whatever the hosts'
/// clocks.
pub(super) async fn next_commit_seq(tx: &impl ConnectionTrait, org: OrgId) -> Result<i64, DbErr> {
    organization::Entity::update_many()
        .col_expr(
            organization::Column::ImportSeq,
            Expr::col(organization::Column::ImportSeq).add(1),
        )
        .filter(organization::Column::Id.eq(org.uuid()))
        .exec(tx)
        .await?;
    organization::Entity::find_by_id(org.uuid())
        .select_only()
        .column(organization::Column::ImportSeq)
        .into_tuple::<i64>()
        .one(tx)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("organization".to_owned()))
}
