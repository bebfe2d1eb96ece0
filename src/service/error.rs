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
    #[error("import cannot be undone")]
    Undo(UndoRefusal),
    #[error("database error")]
    Db(#[from] DbErr),
    /// Stored JSON (an undo snapshot) that does not read back, or a value
    /// that does not serialize: a bug or a damaged row, not a user error.
    #[error("stored data unreadable")]
    Serde(#[from] serde_json::Error),
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
