//! `POST /graphql`: a request body read within the limits, authenticated,
//! executed in the caller's language, every error given a code. `GET` serves
//! GraphiQL only (see [`super::graphiql`]), so a link or an image tag can
//! never trigger a mutation.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_graphql::futures_util::StreamExt;
use async_graphql::http::{
    ALL_WEBSOCKET_PROTOCOLS, MultipartOptions, create_multipart_mixed_stream,
    is_accept_multipart_mixed,
};
use async_graphql::{BatchRequest, BatchResponse, Data, Response as GqlResponse};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::body::Body;
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::DatabaseConnection;

use super::{AppState, organization};
use crate::auth::{Authenticator, OrgId, bearer_token};
use crate::error::{ApiError, Message};
use crate::graphql::Tenant;
use crate::graphql::admission::{Slot, Slots};
use crate::graphql::operation::{Admitted, SocketExecutor, SocketToken, error_response};

pub async fn graphql(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let limits = &state.config.limits;
    // The token before the body: without a valid one, only a body small
    // enough for GraphiQL's introspection is read.
    let org = organization(&state.auth, &headers).await?;
    let bytes = read_body(body, &headers, org.is_some(), limits).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    // A large JSON body (a sector of many vertices in its variables) costs
    // its size many times over once parsed: a few at a time, each read on
    // a blocking thread, so that memory stays bounded and the async
    // workers keep answering (`/health` among them).
    let multipart = content_type.is_some_and(|c| c.starts_with("multipart/"));
    let large = !multipart && bytes.len() > LARGE_JSON_BODY;
    let _large_place = match large {
        true => Some(large_place(&state.large_requests).await?),
        false => None,
    };
    // Values a large body may hold: a sector at its largest (three values
    // a position), with room to spare.
    let max_values = limits.max_sector_vertices.saturating_mul(3) + 10_000;
    let unreadable = |error: String| {
        ApiError::BadInput(Message::new(
            format!("Requête GraphQL illisible : {error}"),
            format!("Unreadable GraphQL request: {error}"),
        ))
    };
    let mut batch = match large {
        true => tokio::task::spawn_blocking(move || {
            // Counted on the bytes: parsed, each value takes tens of
            // times its text.
            if json_values(&bytes, max_values) > max_values {
                return Err(ApiError::LimitExceeded(Message::new(
                    format!("Requête trop volumineuse : {max_values} valeurs JSON au plus."),
                    format!("Request too large: {max_values} JSON values at most."),
                )));
            }
            serde_json::from_slice::<BatchRequest>(&bytes)
                .map_err(|error| unreadable(error.to_string()))
        })
        .await
        .map_err(|joined| ApiError::internal(crate::service::ServiceError::Task(joined)))??,
        false => {
            let options = MultipartOptions::default()
                .max_file_size(limits.max_upload_bytes)
                .max_num_files(1);
            async_graphql::http::receive_batch_body(content_type, bytes.as_ref(), options)
                .await
                .map_err(|error| unreadable(error.to_string()))?
        }
    };
    if let BatchRequest::Batch(requests) = &batch
        && requests.len() > limits.max_batch
    {
        let max = limits.max_batch;
        return Err(ApiError::LimitExceeded(Message::new(
            format!("Trop d'opérations dans une requête : {max} au plus."),
            format!("Too many operations in one request: {max} at most."),
        )));
    }
    // Every operation through the gate before any runs.
    let admitted = batch
        .iter_mut()
        .map(|request| state.schema.admit(request))
        .collect::<Result<Vec<_>, _>>()?;

    let attach = |request, admitted: &Admitted| match org {
        Some(org) => Tenant {
            db: state.db.clone(),
            org,
        }
        .attach(request, admitted.wanted),
        None => request,
    };
    let wants_stream = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_accept_multipart_mixed);
    let response = match batch {
        BatchRequest::Single(request) if wants_stream => {
            let slot = state.schema.place(&admitted[0], org)?;
            let admitted = admitted.into_iter().next().unwrap_or_default();
            let request = attach(request, &admitted);
            return Ok(multipart_mixed(&state, request, admitted, slot));
        }
        BatchRequest::Single(request) => {
            if let Some(org) = org
                && let Some(body) = state
                    .schema
                    .answer_compiled(&state.db, org, &admitted[0])
                    .await
            {
                return Ok(graphql_response(body));
            }
            let request = attach(request, &admitted[0]);
            BatchResponse::Single(run(&state, request, &admitted[0], org).await)
        }
        BatchRequest::Batch(requests) => {
            let mut responses = Vec::with_capacity(requests.len());
            for (request, admitted) in requests.into_iter().zip(&admitted) {
                let request = attach(request, admitted);
                responses.push(run(&state, request, admitted, org).await);
            }
            BatchResponse::Batch(responses)
        }
    };
    let mut answer = graphql_response(state.schema.serialize(&response));
    answer.headers_mut().extend(response.http_headers());
    Ok(answer)
}

fn graphql_response(body: Vec<u8>) -> Response {
    let mut answer = Response::new(Body::from(body));
    answer.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/graphql-response+json"),
    );
    answer
}

/// How many values (scalars, lists and objects) a JSON text holds at most,
/// read from its bytes without building anything: a separator or an
/// opening bracket outside strings starts one. Stops counting past `max`.
fn json_values(text: &[u8], max: usize) -> usize {
    let (mut count, mut in_string, mut escaped) = (1, false, false);
    for &byte in text {
        match (in_string, escaped, byte) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (true, false, _) => {}
            (false, _, b'"') => in_string = true,
            (false, _, b',' | b'[' | b'{') => {
                count += 1;
                if count > max {
                    break;
                }
            }
            (false, _, _) => {}
        }
    }
    count
}

/// JSON bodies above this size are large: [`LARGE_REQUESTS`] at a time.
const LARGE_JSON_BODY: usize = 1024 * 1024;
/// Large JSON requests one instance serves at once, and how long one waits
/// for its turn before `OVERLOADED`.
pub const LARGE_REQUESTS: usize = 2;
const LARGE_REQUEST_WAIT: Duration = Duration::from_secs(1);

/// A turn among the large requests (a large JSON body, an errors file
/// written from its import's file): `OVERLOADED` after a second's wait.
pub(super) async fn large_place(
    places: &Arc<tokio::sync::Semaphore>,
) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
    match tokio::time::timeout(LARGE_REQUEST_WAIT, places.clone().acquire_owned()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(ApiError::Overloaded),
    }
}

/// One admitted operation, holding an expensive operation's place while it
/// runs.
async fn run(
    state: &AppState,
    request: async_graphql::Request,
    admitted: &Admitted,
    org: Option<OrgId>,
) -> GqlResponse {
    match state.schema.place(admitted, org) {
        Ok(_slot) => state.schema.execute(request, admitted).await,
        Err(refused) => error_response(refused),
    }
}

/// The body, read up to the limit that applies: the upload limit with a
/// valid token, `MAX_ANONYMOUS_BODY_BYTES` without (refused as
/// unauthenticated, unread when its length says so).
async fn read_body(
    body: Body,
    headers: &HeaderMap,
    authenticated: bool,
    limits: &crate::config::Limits,
) -> Result<axum::body::Bytes, ApiError> {
    let max = match authenticated {
        true => limits.max_upload_bytes,
        false => limits.max_anonymous_body_bytes,
    };
    let too_large = || match authenticated {
        true => {
            let mib = max / (1024 * 1024);
            ApiError::PayloadTooLarge(Message::new(
                format!("Requête trop volumineuse : {mib} Mio au plus."),
                format!("Request too large: {mib} MiB at most."),
            ))
        }
        false => ApiError::Unauthenticated,
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > max) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, max)
        .await
        .map_err(|_| too_large())
}

/// An operation answered over HTTP as `multipart/mixed`, one part per
/// result: how a subscription streams without a websocket.
fn multipart_mixed(
    state: &AppState,
    request: async_graphql::Request,
    admitted: Admitted,
    slot: Option<Slot>,
) -> Response {
    let responses = state
        .schema
        .execute_stream(request, Arc::default(), admitted, slot);
    let parts = create_multipart_mixed_stream(responses, Duration::from_secs(30));
    Response::builder()
        .header(header::CONTENT_TYPE, "multipart/mixed; boundary=graphql")
        .body(Body::from_stream(parts.map(Ok::<_, std::io::Error>)))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// `GET /graphql/ws`: subscriptions (and any operation) over
/// graphql-transport-ws (or the older graphql-ws). Browsers send their
/// page's origin, checked against the same list as CORS; the token travels
/// in `connection_init`'s payload and is checked again before every
/// operation. The socket is closed when its token is revoked, when it has
/// not said `connection_init` within `WS_INIT_TIMEOUT`, and at
/// `WS_MAX_LIFETIME`.
pub async fn websocket(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
    headers: HeaderMap,
) -> Response {
    if !origin_allowed(&headers, &state.config.cors_allowed_origins) {
        return ApiError::Forbidden(Message::new(
            "Origine non autorisée : ajoutez-la à CORS_ALLOWED_ORIGINS.",
            "Origin not allowed: add it to CORS_ALLOWED_ORIGINS.",
        ))
        .into_response();
    }
    let limits = &state.config.limits;
    // Held until the socket says a valid `connection_init`.
    let unauthenticated = match state.sockets.unauthenticated.take_for(peer.ip(), |max| {
        Message::new(
            format!("Trop de connexions websocket non authentifiées depuis cette adresse : {max} au plus."),
            format!("Too many unauthenticated websockets from this address: {max} at most."),
        )
    }) {
        Ok(place) => place,
        Err(refused) => return refused.into_response(),
    };
    let (opened, mut opening) = tokio::sync::watch::channel(None);
    let init = SocketInit {
        db: state.db.clone(),
        auth: state.auth.clone(),
        sockets: state.sockets.per_org.clone(),
        _unauthenticated: unauthenticated,
        opened,
    };
    let executor = SocketExecutor {
        schemas: state.schema.clone(),
        auth: state.auth.clone(),
    };
    let (init_timeout, lifetime) = (limits.ws_init_timeout, limits.ws_max_lifetime);
    let recheck = state.config.auth_cache_ttl.max(Duration::from_secs(1));
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| async move {
            let (sink, stream) = socket.split();
            let auth = init.auth.clone();
            let serve = GraphQLWebSocket::new_with_pair(sink, stream, executor, protocol)
                .on_connection_init(move |payload| init.connection_init(payload))
                .serve();
            // The socket's token, once a valid `connection_init` sent it:
            // only that stops the first clock (pings and anything else do
            // not); then it is asked about again until it is revoked.
            let watched = async {
                let sent = tokio::time::timeout(init_timeout, opening.wait_for(Option::is_some));
                // The watch's lock is let go before anything waits.
                let sent = sent.await.map(|token| token.map(|token| token.clone()));
                let token = match sent {
                    Ok(Ok(token)) => token,
                    // Refused: async-graphql closes it, with the reason.
                    Ok(Err(_)) => std::future::pending().await,
                    // Silent past the timeout.
                    Err(_) => return,
                };
                let Some(token) = token else { return };
                loop {
                    tokio::time::sleep(recheck).await;
                    if let Ok(None) = auth.organization(&token).await {
                        return;
                    }
                }
            };
            tokio::select! {
                _ = serve => {}
                _ = watched => {}
                _ = tokio::time::sleep(lifetime) => {}
            }
        })
}

/// Websockets' places: per organization once open, per address before.
pub struct SocketPlaces {
    pub per_org: Arc<Slots>,
    pub unauthenticated: Arc<Slots<IpAddr>>,
}

impl SocketPlaces {
    pub fn new(limits: &crate::config::Limits) -> SocketPlaces {
        SocketPlaces {
            per_org: Slots::new(limits.max_sockets_per_org),
            unauthenticated: Slots::new(limits.max_unauthenticated_sockets_per_address),
        }
    }
}

/// What a socket's `connection_init` needs, and what it tells the socket.
struct SocketInit {
    db: DatabaseConnection,
    auth: Arc<Authenticator>,
    sockets: Arc<Slots>,
    /// The address's place, given back when `connection_init` has run
    /// (the socket is then open, or closing).
    _unauthenticated: Slot<IpAddr>,
    /// The token, sent once the socket is open.
    opened: tokio::sync::watch::Sender<Option<String>>,
}

impl SocketInit {
    /// Authenticates a websocket from `{"Authorization": "Bearer <token>"}`;
    /// without a valid one, or past the organization's sockets, the
    /// connection closes (code 1002, async-graphql's choice) with the
    /// reason.
    async fn connection_init(self, payload: serde_json::Value) -> async_graphql::Result<Data> {
        let token = ["Authorization", "authorization"]
            .iter()
            .find_map(|name| payload.get(name)?.as_str())
            .and_then(bearer_token);
        let org = match token {
            Some(token) => self.auth.organization(token).await.unwrap_or_else(|error| {
                crate::service::log_internal(&error);
                None
            }),
            None => None,
        };
        // A close frame's reason holds 123 bytes at most.
        let (Some(org), Some(token)) = (org, token) else {
            return Err(async_graphql::Error::new(
                "Forbidden: send {\"Authorization\": \"Bearer <token>\"} in connection_init",
            ));
        };
        let place = self
            .sockets
            .take(org, |max| {
                Message::new(
                    format!("Trop de websockets : {max} au plus."),
                    format!("Too many websockets for this organization: {max} at most."),
                )
            })
            .map_err(|_| async_graphql::Error::new("Too many websockets for this organization"))?;
        let mut data = Tenant { db: self.db, org }.into_data();
        data.insert(SocketToken(token.to_owned()));
        data.insert(place);
        self.opened.send_replace(Some(token.to_owned()));
        Ok(data)
    }
}

/// No origin (not a browser), the server's own, or one configured (as the
/// CORS layer reads them: without a trailing `/`).
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let own = origin
        .split_once("://")
        .is_some_and(|(_, authority)| Some(authority) == host);
    own || allowed
        .iter()
        .map(|o| o.trim().trim_end_matches('/'))
        .any(|o| o == "*" || o == origin)
}

#[cfg(test)]
mod tests {
    use super::json_values;

    #[test]
    fn json_values_are_counted_on_the_text_strings_aside() {
        assert_eq!(json_values(br#"1"#, 100), 1);
        assert_eq!(json_values(br#"[1,2,[3,4]]"#, 100), 6);
        assert_eq!(json_values(br#"{"a":[1,2],"b":"x,[{\"y"}"#, 100), 5);
        let polygon = format!("[{}[0,0]]", "[0,0],".repeat(999));
        assert_eq!(json_values(polygon.as_bytes(), 10_000), 3_001);
        assert_eq!(json_values(polygon.as_bytes(), 100), 101);
    }
}
