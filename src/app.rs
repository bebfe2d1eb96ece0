//! Startup and the router: build the services once, bind, wire the routes
//! and the middleware every request goes through (request id, tracing span,
//! body limit, language and request context, panic catcher).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::auth::Authenticator;
use crate::config::ServeConfig;
use crate::config::SmsProvider;
use crate::domain::Lang;
use crate::error::{ApiError, REQUEST, RequestContext};
use crate::graphql::alert::AlertPolicy;
use crate::graphql::build_schemas;
use crate::graphql::webhook::WebhookPolicy;
use crate::routes::{AppState, graphiql, graphql, health, spreadsheets, twilio};
use crate::service::imports::Importer;
use crate::webhook;
use crate::worker::Runner;
use crate::worker::dispatch::{Dispatch, Dispatcher};
use crate::worker::geocoding::{Locating, WorkerSettings};
use crate::worker::imports::QueuedImports;
use crate::worker::retention::Retention;
use crate::worker::webhooks::{Deliveries, DeliverySettings};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A bound, ready server: build it, read its port, then run it.
pub struct Application {
    listener: TcpListener,
    router: Router,
    grace: Duration,
    /// The background workers, when the configuration runs them.
    workers: Option<Runner>,
}

impl Application {
    /// Binds `config.bind_addr` (port 0 picks a free one) over a migrated
    /// database connection, and starts the background workers (geocoding,
    /// queued imports, retention, webhook deliveries).
    pub async fn build(
        config: ServeConfig,
        db: DatabaseConnection,
    ) -> std::io::Result<Application> {
        let cors = cors_layer(&config.cors_allowed_origins)?;
        let listener = TcpListener::bind(&config.bind_addr).await?;
        let importer = Importer::configured(&db, &config.imports, &config.geocoding)?;
        let dispatcher =
            Dispatcher::configured(&config.alerts, &db).map_err(std::io::Error::other)?;
        let alerts = AlertPolicy {
            clock: config.alerts.clock,
            rate: dispatcher.rate(),
            transliterate: config.alerts.sms_transliterate,
        };
        if config.alerts.sms_provider == SmsProvider::Log {
            tracing::info!("SMS_PROVIDER=log: alerts are logged, nothing is sent");
        }
        let workers = if config.background_workers {
            Some(start_workers(&config, &db, &importer, dispatcher)?)
        } else {
            None
        };
        let policy = WebhookPolicy {
            allow_private: config.webhooks.webhook_allow_private,
            test_sends_per_minute: config.webhooks.webhook_test_sends_per_minute,
        };
        let schema = build_schemas(
            &config.limits,
            config.introspection,
            importer,
            policy,
            alerts,
        );
        let auth = Arc::new(Authenticator::new(db.clone(), config.auth_cache_ttl));
        let state = AppState {
            db,
            auth,
            schema,
            sockets: Arc::new(graphql::SocketPlaces::new(&config.limits)),
            large_requests: Arc::new(tokio::sync::Semaphore::new(graphql::LARGE_REQUESTS)),
            config: Arc::new(config),
        };
        let grace = state.config.shutdown_grace;
        let mut router = router(state);
        if let Some(cors) = cors {
            router = with_cors(router, cors);
        }
        Ok(Application {
            listener,
            router,
            grace,
            workers,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until SIGTERM or Ctrl-C, letting requests in flight and the
    /// background workers' work finish for `SHUTDOWN_GRACE` at most.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (signalled, mut signal) = tokio::sync::watch::channel(false);
        let mut drain_signal = signal.clone();
        let serve = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            signalled.send_replace(true);
        });
        let grace = self.grace;
        let drained = async {
            if drain_signal.wait_for(|stop| *stop).await.is_err() {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(grace).await;
        };
        let http = async {
            tokio::select! {
                served = std::future::IntoFuture::into_future(serve) => served,
                () = drained => {
                    tracing::warn!(?grace, "shutting down: requests still in flight after the grace period, dropped");
                    Ok(())
                }
            }
        };
        // From the signal on (or the server's end), no background pass
        // starts; those under way get the same grace.
        let background = async {
            let _ = signal.wait_for(|stop| *stop).await;
            if let Some(workers) = self.workers {
                workers.stop(grace).await;
            }
        };
        let (served, ()) = tokio::join!(http, background);
        served
    }
}

/// The background workers of every instance: geocoding, queued imports,
/// retention, webhook deliveries, alert dispatch.
fn start_workers(
    config: &ServeConfig,
    db: &DatabaseConnection,
    importer: &Arc<Importer>,
    dispatcher: Dispatcher,
) -> std::io::Result<Runner> {
    let mut runner = Runner::new(db.clone());
    if importer.geocoding.enabled() {
        runner.start(Locating {
            geocoding: importer.geocoding.clone(),
            settings: WorkerSettings {
                interval: Duration::from_secs(config.geocoding.geocoder_retry_seconds.max(1)),
                batch: config.geocoding.geocoder_worker_batch.max(1),
            },
        });
    }
    runner.start(QueuedImports::new(
        importer.clone(),
        config.jobs.import_workers,
    ));
    runner.start(Retention {
        days: config.jobs.import_retention_days,
        undo_window: config.jobs.undo_window,
        interval: config.jobs.import_retention_interval,
    });
    let hooks = &config.webhooks;
    let sender = webhook::Sender::new(
        hooks.webhook_timeout,
        hooks.webhook_allow_private,
        hooks.webhook_proxy.as_deref(),
    )
    .map_err(std::io::Error::other)?;
    let settings = DeliverySettings {
        interval: hooks.webhook_worker_interval,
        retry_delays: hooks.webhook_retry_delays.clone(),
        batch: 20,
    };
    runner.start(Deliveries::new(Arc::new(sender), settings));
    runner.start(Dispatch::new(dispatcher));
    Ok(runner)
}

pub fn router(state: AppState) -> Router {
    let body_limit = state.config.limits.max_upload_bytes;
    let in_flight = Arc::new(tokio::sync::Semaphore::new(
        state.config.limits.max_requests_in_flight,
    ));
    let bounded = Router::new()
        .route("/graphql", get(graphiql::page).post(graphql::graphql))
        .route("/graphql/ws", get(graphql::websocket))
        .route("/graphiql/{file}", get(graphiql::asset))
        .route("/template.xlsx", get(spreadsheets::template))
        .route("/export.xlsx", get(spreadsheets::export))
        .route("/imports/{id}/errors.xlsx", get(spreadsheets::errors))
        .route("/twilio/status", axum::routing::post(twilio::status))
        .route("/twilio/inbound", axum::routing::post(twilio::inbound))
        .layer(middleware::from_fn_with_state(in_flight, within_capacity));
    let routes = Router::new()
        .route("/health", get(health::health))
        .merge(bounded)
        .with_state(state)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(body_limit));
    with_middleware(routes)
}

/// Serves the request if the instance has room for it (`/health` always
/// has: it is outside), else 503 with `Retry-After` at once.
async fn within_capacity(
    axum::extract::State(in_flight): axum::extract::State<Arc<tokio::sync::Semaphore>>,
    request: Request,
    next: Next,
) -> Response {
    match in_flight.try_acquire_owned() {
        Ok(_permit) => next.run(request).await,
        Err(_) => ApiError::Overloaded.into_response(),
    }
}

/// The layers around every route, outermost last. The request context
/// wraps the panic catcher so that a panic is answered in the caller's
/// language with its request id.
fn with_middleware(routes: Router) -> Router {
    routes
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn(request_context))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<Body>| {
            let request_id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("request", method = %request.method(), uri = %request.uri().path(), request_id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Browsers may call the API from the configured origins: tokens travel in
/// the `Authorization` header, never cookies, so no credentials mode.
/// `None` when no origin is configured (same origin only).
fn cors_layer(origins: &[String]) -> std::io::Result<Option<CorsLayer>> {
    let origins: Vec<&str> = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .collect();
    if origins.is_empty() {
        return Ok(None);
    }
    let allow_origin = if origins == ["*"] {
        AllowOrigin::any()
    } else {
        let parsed: Result<Vec<HeaderValue>, _> = origins
            .iter()
            .map(|o| HeaderValue::from_str(o.trim_end_matches('/')))
            .collect();
        AllowOrigin::list(parsed.map_err(|_| {
            std::io::Error::other(format!(
                "CORS_ALLOWED_ORIGINS: not an origin in {origins:?}"
            ))
        })?)
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                header::ACCEPT_LANGUAGE,
                HeaderName::from_static("apollo-require-preflight"),
                REQUEST_ID,
            ])
            .expose_headers([REQUEST_ID, header::CONTENT_DISPOSITION])
            .max_age(Duration::from_secs(3600)),
    ))
}

/// CORS outside everything else, so a preflight is answered before routing
/// (which knows no OPTIONS).
fn with_cors(router: Router, cors: CorsLayer) -> Router {
    router.layer(cors).layer(middleware::from_fn(finish_cors))
}

/// A preflight is answered 204 (it has no body), and an origin not allowed
/// gets no CORS header at all, not even the lists of what allowed ones may
/// send.
async fn finish_cors(request: Request, next: Next) -> Response {
    let preflight = request.method() == Method::OPTIONS;
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        let cors_headers: Vec<HeaderName> = headers
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for name in cors_headers {
            headers.remove(name);
        }
    }
    if preflight && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::NO_CONTENT;
    }
    response
}

/// Reads the caller's language and the request id once, for every error
/// raised while the request is served.
async fn request_context(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let context = RequestContext {
        lang: Lang::from_accept_language(header(header::ACCEPT_LANGUAGE)),
        request_id: header(REQUEST_ID).unwrap_or_default().to_owned(),
    };
    REQUEST.scope(context, next.run(request)).await
}

/// A handler panicked: the cause is in the log, the client gets the fixed
/// internal error.
#[derive(Debug, thiserror::Error)]
#[error("request handler panicked: {0}")]
struct Panicked(String);

fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    ApiError::internal(Panicked(text)).into_response()
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

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    async fn boom() -> Response {
        panic!("boom")
    }

    #[tokio::test]
    async fn a_panic_is_an_internal_error_in_the_callers_language_with_its_request_id() {
        let app = with_middleware(Router::new().route("/boom", get(boom)));
        let request = Request::builder()
            .uri("/boom")
            .header(header::ACCEPT_LANGUAGE, "en-CA")
            .body(Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), 500);
        let request_id = response.headers()[REQUEST_ID].to_str().unwrap().to_owned();
        let body = axum::body::to_bytes(response.into_body(), 10_000)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "INTERNAL");
        assert_eq!(error["extensions"]["requestId"], request_id.as_str());
        assert!(!request_id.is_empty());
        assert_eq!(
            error["message"],
            "Internal error. If it persists, give the requestId to support."
        );
    }
}
