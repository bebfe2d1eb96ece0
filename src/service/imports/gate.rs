//! One import per organization at a time, and a bounded number of parses
//! at once (parsing is CPU-bound and runs on blocking threads).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use sea_orm::ConnectionTrait;
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::auth::OrgId;
use crate::import::error::FileError;
use crate::import::headers::Mapping;
use crate::import::{self as pipeline, ImportLimits, Parsed};
use crate::service::geocoding::Geocoding;
use crate::service::{ServiceError, locks};

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
    pub(super) fn claim(self: &Arc<Self>, org: OrgId) -> Result<Claim, ServiceError> {
        // A panic elsewhere cannot leave the set half-changed: read through
        // the poison rather than refuse every import from then on.
        let mut busy = self.busy.lock().unwrap_or_else(PoisonError::into_inner);
        if !busy.insert(org.uuid()) {
            return Err(ServiceError::ImportInProgress);
        }
        Ok(Claim {
            importer: self.clone(),
            org: org.uuid(),
        })
    }

    pub(super) async fn parse(&self, bytes: Vec<u8>, mapping: Vec<Mapping>) -> Parsed {
        let Ok(_permit) = self.parses.acquire().await else {
            return Parsed {
                file_errors: vec![FileError::Unreadable.issue()],
                ..Parsed::default()
            };
        };
        let limits = self.limits.clone();
        let parsed =
            tokio::task::spawn_blocking(move || pipeline::parse(&bytes, &limits, &mapping)).await;
        // A panic inside a reader is a broken file, not a broken server.
        parsed.unwrap_or_else(|_| Parsed {
            file_errors: vec![FileError::Unreadable.issue()],
            ..Parsed::default()
        })
    }
}

pub(super) struct Claim {
    importer: Arc<Importer>,
    org: Uuid,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut busy = self
            .importer
            .busy
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        busy.remove(&self.org);
    }
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
