//! The API error boundary. Services return [`ServiceError`]; resolvers and
//! routes return [`ApiError`], converted once, into a GraphQL error or into
//! an HTTP response, with the same `extensions.code`, message language and
//! `requestId`.
//!
//! `ApiError` deliberately does not implement `Display`: async-graphql turns
//! any `Display` error into a client message with no code, which is how raw
//! database text leaks. Without it, the only ways out are the conversions
//! below, which log internal causes and send a fixed message.

use async_graphql::ErrorExtensions;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sea_orm::DbErr;

use crate::domain::{Lang, ValidationError};
use crate::service::{ServiceError, UndoRefusal, log_internal};

/// What the API knows of the request being served, for wording errors.
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    pub lang: Lang,
    /// The `x-request-id` the response carries, also in the logs.
    pub request_id: String,
}

tokio::task_local! {
    /// Set by the router's outermost middleware around each request, so that
    /// errors are worded for the caller wherever they are raised.
    pub static REQUEST: RequestContext;
}

pub fn current_lang() -> Lang {
    REQUEST.try_with(|request| request.lang).unwrap_or_default()
}

pub fn current_request_id() -> String {
    REQUEST
        .try_with(|request| request.request_id.clone())
        .unwrap_or_default()
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
    /// Authenticated or not, this caller may not: a browser page from an
    /// origin not configured.
    Forbidden(Message),
    NotFound,
    Invalid(ValidationError),
    BadInput(Message),
    /// `BAD_USER_INPUT` with a stable `reason` a client can act on.
    Refused {
        reason: &'static str,
        message: Message,
    },
    LimitExceeded(Message),
    /// A request body over the size limit: `LIMIT_EXCEEDED` with HTTP 413.
    PayloadTooLarge(Message),
    ImportInProgress,
    /// The operation ran past `REQUEST_TIMEOUT`; its work was dropped.
    Timeout,
    /// The instance serves `MAX_REQUESTS_IN_FLIGHT` already: 503 with
    /// `Retry-After`.
    Overloaded,
    /// The database was busy: retry shortly. The cause is logged.
    Busy(Box<dyn std::error::Error + Send + Sync>),
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> ApiError {
        ApiError::Internal(Box::new(error))
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "UNAUTHENTICATED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::NotFound => "NOT_FOUND",
            ApiError::Invalid(_) | ApiError::BadInput(_) | ApiError::Refused { .. } => {
                "BAD_USER_INPUT"
            }
            ApiError::LimitExceeded(_) | ApiError::PayloadTooLarge(_) => "LIMIT_EXCEEDED",
            ApiError::ImportInProgress => "IMPORT_IN_PROGRESS",
            ApiError::Timeout => "TIMEOUT",
            ApiError::Overloaded => "OVERLOADED",
            ApiError::Busy(_) => "BUSY",
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
            ServiceError::IdempotencyKeyReused => ApiError::Refused {
                reason: "IDEMPOTENCY_KEY_REUSED",
                message: Message::new(
                    "Cette clé d'idempotence a déjà servi pour un autre fichier ou d'autres options : prenez-en une nouvelle.",
                    "This idempotency key was already used with another file or other options: use a new one.",
                ),
            },
            error @ ServiceError::RunInterrupted => ApiError::internal(error),
            ServiceError::WebhookUrl(refusal) => webhook_url_refused(refusal),
            ServiceError::NoWebhookEvents => ApiError::Refused {
                reason: "WEBHOOK_EVENTS_REQUIRED",
                message: Message::new(
                    "Choisissez au moins un événement.",
                    "Choose at least one event.",
                ),
            },
            ServiceError::Limit(reached) => ApiError::LimitExceeded(limit_message(reached)),
            ServiceError::Undo(refusal) => ApiError::BadInput(undo_message(refusal)),
            ServiceError::Busy(db) => ApiError::Busy(Box::new(db)),
            ServiceError::Db(db) => ApiError::internal(db),
            ServiceError::Serde(serde) => ApiError::internal(serde),
            error @ (ServiceError::Spreadsheet(_) | ServiceError::Task(_)) => {
                ApiError::internal(error)
            }
        }
    }
}

fn webhook_url_refused(refusal: crate::webhook::UrlRefusal) -> ApiError {
    use crate::webhook::UrlRefusal;
    let (reason, fr, en) = match refusal {
        UrlRefusal::Malformed => (
            "WEBHOOK_URL_INVALID",
            "Adresse (URL) invalide : https://hote/chemin, sans identifiants.",
            "Invalid URL: https://host/path, without credentials.",
        ),
        UrlRefusal::NotHttps => (
            "WEBHOOK_URL_INVALID",
            "Seules les adresses https:// sont acceptées.",
            "Only https:// URLs are accepted.",
        ),
        UrlRefusal::Unresolved => (
            "WEBHOOK_URL_INVALID",
            "Ce nom d'hôte ne se résout pas.",
            "This host name does not resolve.",
        ),
        UrlRefusal::Private => (
            "WEBHOOK_URL_PRIVATE",
            "Cette adresse mène à un réseau privé ou local : refusée.",
            "This URL leads to a private or local network: refused.",
        ),
    };
    ApiError::Refused {
        reason,
        message: Message::new(fr, en),
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
        ServiceError::from(error).into()
    }
}

/// What the dataloaders fail with (shared by every key that waited).
impl From<std::sync::Arc<DbErr>> for ApiError {
    fn from(error: std::sync::Arc<DbErr>) -> ApiError {
        ApiError::internal(error)
    }
}

fn limit_message(reached: crate::service::LimitReached) -> Message {
    use crate::service::LimitReached;
    match reached {
        LimitReached::WebhookEndpoints { max } => Message::new(
            format!("Trop de points de terminaison webhook : {max} au plus par organisation."),
            format!("Too many webhook endpoints: {max} at most per organization."),
        ),
        LimitReached::TestSendsPerMinute { max } => Message::new(
            format!("Trop d'envois de test : {max} par minute au plus. Réessayez dans un instant."),
            format!("Too many test sends: {max} a minute at most. Try again in a moment."),
        ),
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

impl ApiError {
    /// The status of a REST response (GraphQL answers 200 with errors).
    fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Invalid(_)
            | ApiError::BadInput(_)
            | ApiError::Refused { .. }
            | ApiError::LimitExceeded(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::ImportInProgress => StatusCode::CONFLICT,
            ApiError::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The client's message in its language; an internal cause is logged
    /// here, once, and replaced by a fixed text.
    fn message(&self, lang: Lang) -> String {
        match self {
            ApiError::Unauthenticated => lang.pick(
                "Jeton d'accès manquant, invalide ou révoqué : envoyez l'en-tête Authorization: Bearer <jeton>.",
                "Missing, invalid or revoked access token: send the header Authorization: Bearer <token>.",
            ),
            ApiError::NotFound => lang.pick("Introuvable.", "Not found."),
            ApiError::ImportInProgress => lang.pick(
                "Un import est déjà en cours pour cette organisation : réessayez quand il sera terminé.",
                "An import is already in progress for this organization: try again when it is done.",
            ),
            ApiError::Timeout => lang.pick(
                "Opération trop longue : elle a été interrompue. Demandez moins à la fois.",
                "Operation took too long: it was stopped. Ask for less at a time.",
            ),
            ApiError::Overloaded => lang.pick(
                "Serveur occupé : réessayez dans un instant.",
                "Server busy: try again in a moment.",
            ),
            ApiError::Invalid(invalid) => invalid.message(lang),
            ApiError::BadInput(message)
            | ApiError::Forbidden(message)
            | ApiError::Refused { message, .. }
            | ApiError::LimitExceeded(message)
            | ApiError::PayloadTooLarge(message) => message.pick(lang),
            ApiError::Busy(source) => {
                log_internal(source.as_ref());
                lang.pick(
                    "Base de données occupée par d'autres modifications : réessayez dans un instant.",
                    "The database is busy with other changes: try again in a moment.",
                )
            }
            ApiError::Internal(source) => {
                log_internal(source.as_ref());
                internal_message(lang)
            }
        }
    }

    /// `extensions` beside the code: why and which field for a validation
    /// error, the request id for an internal one.
    fn extensions(&self) -> Vec<(&'static str, String)> {
        let mut extensions = vec![("code", self.code().to_owned())];
        match self {
            ApiError::Invalid(invalid) => {
                extensions.push(("reason", invalid.code().to_owned()));
                if let Some(field) = invalid.field() {
                    extensions.push(("field", field.api_name().to_owned()));
                }
            }
            ApiError::Refused { reason, .. } => extensions.push(("reason", (*reason).to_owned())),
            ApiError::Internal(_) => extensions.push(("requestId", current_request_id())),
            _ => {}
        }
        extensions
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> async_graphql::Error {
        let message = error.message(current_lang());
        async_graphql::Error::new(message).extend_with(|_, values| {
            for (name, value) in error.extensions() {
                values.set(name, value);
            }
        })
    }
}

/// REST routes answer errors in the shape GraphQL clients already read:
/// `{"errors": [{"message", "extensions": {"code", ...}}]}`.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = self.message(current_lang());
        let extensions: serde_json::Map<String, serde_json::Value> = self
            .extensions()
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value.into()))
            .collect();
        let body = serde_json::json!({"errors": [{"message": message, "extensions": extensions}]});
        let mut response = (self.status(), axum::Json(body)).into_response();
        if matches!(self, ApiError::Overloaded) {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}
