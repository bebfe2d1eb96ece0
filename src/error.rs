//! The API error boundary. Services return [`ServiceError`]; resolvers and
//! routes return [`ApiError`], converted once into a GraphQL error or an HTTP
//! response with the same `extensions.code`.
//!
//! `ApiError` deliberately does not implement `Display`: async-graphql turns
//! any `Display` error into a client message with no code, which is how raw
//! database text leaks. Without it, the only way out is our `From` below,
//! which logs internal causes and sends a fixed message.

use async_graphql::ErrorExtensions;
use sea_orm::DbErr;

use crate::domain::{Lang, ValidationError};
use crate::service::{ServiceError, UndoRefusal};

tokio::task_local! {
    /// The language of the request being executed, set by the GraphQL handler
    /// so that errors are worded for the caller wherever they are raised.
    pub static LANG: Lang;
}

pub fn current_lang() -> Lang {
    LANG.try_with(|lang| *lang).unwrap_or_default()
}

/// A message in both languages, picked when the error is sent.
#[derive(Debug, Clone)]
pub struct Message {
    pub fr: String,
    pub en: String,
}

impl Message {
    pub fn new(fr: impl Into<String>, en: impl Into<String>) -> Message {
        Message {
            fr: fr.into(),
            en: en.into(),
        }
    }

    pub fn pick(&self, lang: Lang) -> String {
        lang.pick(self.fr.clone(), self.en.clone())
    }
}

#[derive(Debug)]
pub enum ApiError {
    Unauthenticated,
    NotFound,
    Invalid(ValidationError),
    BadInput(Message),
    LimitExceeded(Message),
    ImportInProgress,
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> ApiError {
        ApiError::Internal(Box::new(error))
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "UNAUTHENTICATED",
            ApiError::NotFound => "NOT_FOUND",
            ApiError::Invalid(_) | ApiError::BadInput(_) => "BAD_USER_INPUT",
            ApiError::LimitExceeded(_) => "LIMIT_EXCEEDED",
            ApiError::ImportInProgress => "IMPORT_IN_PROGRESS",
            ApiError::Internal(_) => "INTERNAL",
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> ApiError {
        match error {
            ServiceError::NotFound => ApiError::NotFound,
            ServiceError::Invalid(invalid) => ApiError::Invalid(invalid),
            ServiceError::ImportInProgress => ApiError::ImportInProgress,
            ServiceError::Undo(refusal) => ApiError::BadInput(undo_message(refusal)),
            ServiceError::Db(db) => ApiError::internal(db),
            ServiceError::Serde(serde) => ApiError::internal(serde),
        }
    }
}

fn undo_message(refusal: UndoRefusal) -> Message {
    match refusal {
        UndoRefusal::NotCommitted => Message::new(
            "Cet import n'a rien changé (essai, refusé ou déjà annulé) : il n'y a rien à annuler.",
            "This import changed nothing (dry run, refused or already undone): there is nothing to undo.",
        ),
        UndoRefusal::NoSnapshot => Message::new(
            "Seuls les imports « Repartir à neuf » et « Fusionner et supprimer le reste » peuvent être annulés.",
            "Only REPLACE_ALL and MERGE_DELETE_MISSING imports can be undone.",
        ),
        UndoRefusal::LaterImport => Message::new(
            "Un import plus récent a été appliqué depuis : celui-ci ne peut plus être annulé.",
            "A later import has been committed since: this one can no longer be undone.",
        ),
    }
}

impl From<DbErr> for ApiError {
    fn from(error: DbErr) -> ApiError {
        ApiError::internal(error)
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> ApiError {
        ApiError::Invalid(error)
    }
}

/// The message sent for every internal error; the detail is only logged.
pub fn internal_message(lang: Lang) -> String {
    lang.pick(
        "Erreur interne. Si elle persiste, donnez le requestId au support.",
        "Internal error. If it persists, give the requestId to support.",
    )
}

/// Logs an internal error with its whole source chain.
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

impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> async_graphql::Error {
        let lang = current_lang();
        let code = error.code();
        let message = match &error {
            ApiError::Unauthenticated => lang.pick(
                "Jeton d'accès manquant, invalide ou révoqué : envoyez l'en-tête Authorization: Bearer <jeton>.",
                "Missing, invalid or revoked access token: send the header Authorization: Bearer <token>.",
            ),
            ApiError::NotFound => lang.pick("Introuvable.", "Not found."),
            ApiError::ImportInProgress => lang.pick(
                "Un import est déjà en cours pour cette organisation : réessayez quand il sera terminé.",
                "An import is already in progress for this organization: try again when it is done.",
            ),
            ApiError::Invalid(invalid) => invalid.message(lang),
            ApiError::BadInput(message) | ApiError::LimitExceeded(message) => message.pick(lang),
            ApiError::Internal(source) => {
                log_internal(source.as_ref());
                internal_message(lang)
            }
        };
        async_graphql::Error::new(message).extend_with(|_, extensions| {
            extensions.set("code", code);
            if let ApiError::Invalid(invalid) = &error {
                extensions.set("reason", invalid.code());
                if let Some(field) = invalid.field() {
                    extensions.set("field", field.api_name());
                }
            }
        })
    }
}
