//! The HTTP side: routes, middleware, and the GraphQL handler that turns a
//! request into an authenticated, limited, localized execution.

use std::net::SocketAddr;
use std::sync::Arc;

use async_graphql::http::{GraphiQLSource, MultipartOptions};
use async_graphql::{BatchRequest, BatchResponse, Response as GqlResponse, ServerError};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::auth::{authenticate, bearer_token};
use crate::config::ServeConfig;
use crate::domain::Lang;
use crate::error::{LANG, internal_message, log_internal};
use crate::graphql::{FlokonSchema, Tenant, build_schema};
use crate::service::geocoding::Geocoding;
use crate::service::imports::{Importer, load_existing};
use crate::spreadsheet;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub schema: FlokonSchema,
    pub config: Arc<ServeConfig>,
}

/// A bound, ready server: build it, read its port, then run it.
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    /// Binds `config.bind_addr` (port 0 picks a free one) over a migrated
    /// database connection.
    pub async fn build(
        config: ServeConfig,
        db: DatabaseConnection,
    ) -> std::io::Result<Application> {
        let listener = TcpListener::bind(&config.bind_addr).await?;
        let parses = std::thread::available_parallelism().map_or(2, |n| n.get());
        let geocoder = crate::geocode::build(&config.geocoding).map_err(std::io::Error::other)?;
        let geocoding = Arc::new(Geocoding {
            geocoder,
            deadline: std::time::Duration::from_millis(config.geocoding.geocoder_deadline_ms),
        });
        if geocoding.enabled() {
            let interval =
                std::time::Duration::from_secs(config.geocoding.geocoder_retry_seconds.max(1));
            tokio::spawn(crate::service::geocoding::worker(
                db.clone(),
                geocoding.clone(),
                interval,
            ));
        }
        let importer = Arc::new(Importer::new(config.limits.import(), geocoding, parses));
        let schema = build_schema(&config.limits, config.introspection, importer);
        let state = AppState {
            db,
            schema,
            config: Arc::new(config),
        };
        Ok(Application {
            listener,
            router: router(state),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until SIGTERM or Ctrl-C, letting requests in flight finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown_signal())
            .await
    }
}

pub fn router(state: AppState) -> Router {
    let body_limit = state.config.limits.max_upload_bytes;
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/health", get(health))
        .route("/template.xlsx", get(template))
        .route("/export.xlsx", get(export))
        .with_state(state)
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(body_limit))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<Body>| {
            let request_id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("request", method = %request.method(), uri = %request.uri().path(), request_id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("request handler panicked");
    let body = serde_json::json!({"errors": [{"message": internal_message(Lang::Fr), "extensions": {"code": "INTERNAL"}}]});
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

async fn health(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => Json(serde_json::json!({"status": "ok", "database": "ok"})).into_response(),
        Err(error) => {
            log_internal(&error);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "error", "database": "unreachable"})),
            )
                .into_response()
        }
    }
}

/// GraphiQL only: queries and mutations go by POST, so a link or an image
/// tag can never trigger a mutation.
async fn graphiql(State(state): State<AppState>) -> Response {
    if !state.config.graphiql {
        return StatusCode::NOT_FOUND.into_response();
    }
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .title("Flokon API")
            .finish(),
    )
    .into_response()
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn xlsx_response(bytes: Vec<u8>, file_name: &str) -> Response {
    let disposition = format!("attachment; filename=\"{file_name}\"");
    (
        [
            (header::CONTENT_TYPE, XLSX.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

fn internal_response(error: &(dyn std::error::Error + 'static), lang: Lang) -> Response {
    log_internal(error);
    request_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL",
        internal_message(lang),
    )
}

/// `GET /template.xlsx`: open to all.
async fn template(headers: HeaderMap) -> Response {
    let lang = Lang::from_accept_language(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    match spreadsheet::template() {
        Ok(bytes) => xlsx_response(bytes, "gabarit-flokon.xlsx"),
        Err(error) => internal_response(&error, lang),
    }
}

/// `GET /export.xlsx`: the organization's data in the template's format.
async fn export(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let lang = Lang::from_accept_language(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    let org = match token {
        Some(token) => authenticate(&state.db, token).await,
        None => Ok(None),
    };
    let org = match org {
        Ok(Some(org)) => org,
        Ok(None) => {
            let message = lang.pick(
                "Jeton d'accès manquant, invalide ou révoqué : envoyez l'en-tête Authorization: Bearer <jeton>.",
                "Missing, invalid or revoked access token: send the header Authorization: Bearer <token>.",
            );
            return request_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message);
        }
        Err(error) => return internal_response(&error, lang),
    };
    let data = match load_existing(&state.db, org).await {
        Ok(data) => data,
        Err(error) => return internal_response(&error, lang),
    };
    match tokio::task::spawn_blocking(move || spreadsheet::export(&data)).await {
        Ok(Ok(bytes)) => xlsx_response(bytes, "export-flokon.xlsx"),
        Ok(Err(error)) => internal_response(&error, lang),
        Err(error) => internal_response(&error, lang),
    }
}

/// An error response outside execution (body, batch or size refused).
fn request_error(status: StatusCode, code: &str, message: String) -> Response {
    let body = serde_json::json!({"errors": [{"message": message, "extensions": {"code": code}}]});
    (status, Json(body)).into_response()
}

async fn graphql(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let lang = Lang::from_accept_language(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let request_id = headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let limits = &state.config.limits;

    let bytes = match axum::body::to_bytes(body, limits.max_upload_bytes).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let mib = limits.max_upload_bytes / (1024 * 1024);
            return request_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "LIMIT_EXCEEDED",
                lang.pick(
                    format!("Requête trop volumineuse : {mib} Mio au plus."),
                    format!("Request too large: {mib} MiB at most."),
                ),
            );
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let options = MultipartOptions::default()
        .max_file_size(limits.max_upload_bytes)
        .max_num_files(1);
    let batch = match async_graphql::http::receive_batch_body(content_type, bytes.as_ref(), options)
        .await
    {
        Ok(batch) => batch,
        Err(error) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                lang.pick(
                    format!("Requête GraphQL illisible : {error}"),
                    format!("Unreadable GraphQL request: {error}"),
                ),
            );
        }
    };
    if let BatchRequest::Batch(requests) = &batch
        && requests.len() > limits.max_batch
    {
        let max = limits.max_batch;
        return request_error(
            StatusCode::BAD_REQUEST,
            "LIMIT_EXCEEDED",
            lang.pick(
                format!("Trop d'opérations dans une requête : {max} au plus."),
                format!("Too many operations in one request: {max} at most."),
            ),
        );
    }
    if batch
        .iter()
        .any(|request| request.query.len() > limits.max_query_bytes)
    {
        let max = limits.max_query_bytes;
        return request_error(
            StatusCode::BAD_REQUEST,
            "LIMIT_EXCEEDED",
            lang.pick(
                format!("Requête trop longue : {max} octets au plus."),
                format!("Query too long: {max} bytes at most."),
            ),
        );
    }

    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    let org = match token {
        Some(token) => match authenticate(&state.db, token).await {
            Ok(org) => org,
            Err(error) => {
                log_internal(&error);
                let body = serde_json::json!({"errors": [{
                    "message": internal_message(lang),
                    "extensions": {"code": "INTERNAL", "requestId": request_id},
                }]});
                return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
            }
        },
        None => None,
    };
    let attach = |request| match org {
        Some(org) => Tenant {
            db: state.db.clone(),
            org,
        }
        .attach(request),
        None => request,
    };
    let batch = match batch {
        BatchRequest::Single(request) => BatchRequest::Single(attach(request)),
        BatchRequest::Batch(requests) => {
            BatchRequest::Batch(requests.into_iter().map(attach).collect())
        }
    };

    let response = LANG.scope(lang, state.schema.execute_batch(batch)).await;
    let response = match response {
        BatchResponse::Single(single) => BatchResponse::Single(finish(single, lang, &request_id)),
        BatchResponse::Batch(many) => BatchResponse::Batch(
            many.into_iter()
                .map(|r| finish(r, lang, &request_id))
                .collect(),
        ),
    };
    async_graphql_axum::GraphQLResponse::from(response).into_response()
}

/// Gives every error a code. Errors from resolvers all carry one (see
/// `ApiError`); one that does not but has a source is an unmapped internal
/// error and is masked. The others are async-graphql's own: parsing,
/// validation, variables.
fn finish(mut response: GqlResponse, lang: Lang, request_id: &str) -> GqlResponse {
    for error in &mut response.errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|e| e.get("code").is_some());
        if !has_code {
            // A source means some `Display` error went through
            // async-graphql's blanket conversion: its text may be SQL.
            if error.source.is_some() {
                tracing::error!(error = %error.message, "unmapped resolver error");
                error.message = internal_message(lang);
                set_extension(error, "code", "INTERNAL");
            } else {
                let code = if is_limit_message(&error.message) {
                    "LIMIT_EXCEEDED"
                } else {
                    "BAD_USER_INPUT"
                };
                set_extension(error, "code", code);
            }
        }
        let internal = error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .is_some_and(|c| matches!(c, async_graphql::Value::String(s) if s == "INTERNAL"));
        if internal {
            set_extension(error, "requestId", request_id);
        }
    }
    response
}

fn is_limit_message(message: &str) -> bool {
    message.contains("nested too deep")
        || message.contains("too complex")
        || message.contains("Too many directives")
}

fn set_extension(error: &mut ServerError, name: &str, value: &str) {
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set(name, value);
}
