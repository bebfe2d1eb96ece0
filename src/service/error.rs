//! The service layer's one error type: what a use case can refuse, or the
//! database failure under it. The API boundary (`crate::error`) maps it.

use sea_orm::DbErr;

use crate::domain::ValidationError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("an import is in progress")]
    ImportInProgress,
    /// An idempotency key sent again with another file or other options.
    #[error("idempotency key reused")]
    IdempotencyKeyReused,
    /// The run's lease ran out before it could commit (its executor was
    /// too slow to renew it, and it was declared interrupted): rolled back.
    #[error("import run interrupted")]
    RunInterrupted,
    #[error("webhook URL refused")]
    WebhookUrl(crate::webhook::UrlRefusal),
    #[error("a webhook endpoint needs events")]
    NoWebhookEvents,
    /// A cap an organization reached (endpoints, test sends).
    #[error("limit reached")]
    Limit(LimitReached),
    #[error("import cannot be undone")]
    Undo(UndoRefusal),
    /// A lock or a connection not had in time (`DB_LOCK_TIMEOUT`,
    /// `DB_ACQUIRE_TIMEOUT`), a deadlock or a serialization failure: nothing
    /// was written, and the same request can be sent again.
    #[error("database busy")]
    Busy(#[source] DbErr),
    #[error("database error")]
    Db(#[source] DbErr),
    /// Stored JSON (an undo snapshot) that does not read back, or a value
    /// that does not serialize: a bug or a damaged row, not a user error.
    #[error("stored data unreadable")]
    Serde(#[from] serde_json::Error),
    /// The export's spreadsheet could not be written (its temporary file,
    /// or the writing task).
    #[error("spreadsheet not written")]
    Spreadsheet(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// CPU work sent to a blocking thread panicked or was cancelled.
    #[error("blocking task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// Which cap an organization reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitReached {
    WebhookEndpoints { max: usize },
    TestSendsPerMinute { max: usize },
}

impl From<DbErr> for ServiceError {
    fn from(error: DbErr) -> ServiceError {
        if is_busy(&error) {
            ServiceError::Busy(error)
        } else {
            ServiceError::Db(error)
        }
    }
}

/// Whether the database gave up waiting rather than refused: PostgreSQL's
/// lock timeout, statement timeout, deadlock and serialization failure;
/// SQLite's busy and locked; no pooled connection in time.
fn is_busy(error: &DbErr) -> bool {
    use sea_orm::{ConnAcquireErr, RuntimeErr, sqlx};
    let sqlx_error = match error {
        DbErr::ConnectionAcquire(ConnAcquireErr::Timeout) => return true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        _ => return false,
    };
    match sqlx_error.as_ref() {
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(database) => matches!(
            database.code().as_deref(),
            Some("55P03" | "57014" | "40P01" | "40001" | "5" | "6" | "261" | "262" | "517")
        ),
        _ => false,
    }
}

/// Why an import cannot be undone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UndoRefusal {
    /// A dry run, a refused run, or one already undone.
    NotCommitted,
    /// Only destructive imports are snapshotted.
    NoSnapshot,
    LaterImport,
}

/// Logs an internal error with its whole source chain: the only place its
/// text goes, since clients get a fixed message.
pub fn log_internal(error: &(dyn std::error::Error + 'static)) {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!(error = %chain, "internal error");
}
