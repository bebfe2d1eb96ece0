//! `POST /graphql`: a request body read within the limits, authenticated,
//! executed in the caller's language, every error given a code. `GET` serves
//! GraphiQL only (see [`super::graphiql`]), so a link or an image tag can
//! never trigger a mutation.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_graphql::futures_util::StreamExt;
use async_graphql::http::{
    ALL_WEBSOCKET_PROTOCOLS, MultipartOptions, create_multipart_mixed_stream,
    is_accept_multipart_mixed,
};
use async_graphql::{BatchRequest, BatchResponse, Data, Response as GqlResponse, ServerError};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::body::Body;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::DatabaseConnection;

use super::{AppState, organization};
use crate::auth::{Authenticator, bearer_token};
use crate::error::{ApiError, Message, current_lang, current_request_id, internal_message};
use crate::graphql::Tenant;

pub async fn graphql(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let limits = &state.config.limits;
    let bytes = axum::body::to_bytes(body, limits.max_upload_bytes)
        .await
        .map_err(|_| {
            let mib = limits.max_upload_bytes / (1024 * 1024);
            ApiError::PayloadTooLarge(Message::new(
                format!("Requête trop volumineuse : {mib} Mio au plus."),
                format!("Request too large: {mib} MiB at most."),
            ))
        })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let options = MultipartOptions::default()
        .max_file_size(limits.max_upload_bytes)
        .max_num_files(1);
    let mut batch = async_graphql::http::receive_batch_body(content_type, bytes.as_ref(), options)
        .await
        .map_err(|error| {
            ApiError::BadInput(Message::new(
                format!("Requête GraphQL illisible : {error}"),
                format!("Unreadable GraphQL request: {error}"),
            ))
        })?;
    if let BatchRequest::Batch(requests) = &batch
        && requests.len() > limits.max_batch
    {
        let max = limits.max_batch;
        return Err(ApiError::LimitExceeded(Message::new(
            format!("Trop d'opérations dans une requête : {max} au plus."),
            format!("Too many operations in one request: {max} at most."),
        )));
    }
    if batch
        .iter()
        .any(|request| request.query.len() > limits.max_query_bytes)
    {
        let max = limits.max_query_bytes;
        return Err(ApiError::LimitExceeded(Message::new(
            format!("Requête trop longue : {max} octets au plus."),
            format!("Query too long: {max} bytes at most."),
        )));
    }

    if batch.iter_mut().any(|request| {
        state
            .schema
            .parse(request)
            .is_some_and(|document| aliases(document) > limits.max_aliases)
    }) {
        let max = limits.max_aliases;
        return Err(ApiError::LimitExceeded(Message::new(
            format!("Trop d'alias dans la requête : {max} au plus."),
            format!("Too many aliases in the query: {max} at most."),
        )));
    }

    let org = organization(&state.auth, &headers).await?;
    let attach = |request| match org {
        Some(org) => Tenant {
            db: state.db.clone(),
            org,
        }
        .attach(request),
        None => request,
    };
    let wants_stream = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_accept_multipart_mixed);
    let response = match batch {
        BatchRequest::Single(request) if wants_stream => {
            return Ok(multipart_mixed(&state, attach(request)));
        }
        BatchRequest::Single(request) => {
            BatchResponse::Single(finish(state.schema.execute(request, attach).await))
        }
        BatchRequest::Batch(requests) => {
            let mut responses = Vec::with_capacity(requests.len());
            for request in requests {
                responses.push(finish(state.schema.execute(request, attach).await));
            }
            BatchResponse::Batch(responses)
        }
    };
    Ok(async_graphql_axum::GraphQLResponse::from(response).into_response())
}

/// Aliased fields in a document, every operation and fragment counted.
fn aliases(document: &async_graphql::parser::types::ExecutableDocument) -> usize {
    use async_graphql::parser::types::{Selection, SelectionSet};
    fn count(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|selection| match &selection.node {
                Selection::Field(field) => {
                    usize::from(field.node.alias.is_some()) + count(&field.node.selection_set.node)
                }
                Selection::InlineFragment(inline) => count(&inline.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    let operations: usize = document
        .operations
        .iter()
        .map(|(_, operation)| count(&operation.node.selection_set.node))
        .sum();
    let fragments: usize = document
        .fragments
        .values()
        .map(|fragment| count(&fragment.node.selection_set.node))
        .sum();
    operations + fragments
}

/// An operation answered over HTTP as `multipart/mixed`, one part per
/// result: how a subscription streams without a websocket.
fn multipart_mixed(state: &AppState, request: async_graphql::Request) -> Response {
    let responses = state.schema.guarded.execute_stream(request).map(finish);
    let parts = create_multipart_mixed_stream(responses, Duration::from_secs(30));
    Response::builder()
        .header(header::CONTENT_TYPE, "multipart/mixed; boundary=graphql")
        .body(Body::from_stream(parts.map(Ok::<_, std::io::Error>)))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// `GET /graphql/ws`: subscriptions over graphql-transport-ws (or the older
/// graphql-ws). Browsers send their page's origin, checked against the
/// same list as CORS; the token travels in `connection_init`'s payload.
pub async fn websocket(
    State(state): State<AppState>,
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
    let (schema, db, auth) = (
        state.schema.guarded.clone(),
        state.db.clone(),
        state.auth.clone(),
    );
    let init_timeout = state.config.limits.ws_init_timeout;
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| async move {
            // Closed if silent past `init_timeout` before its first message
            // (a connection that never says `connection_init` holds a
            // socket for nothing); after that, as long as the client likes.
            let spoke = Arc::new(AtomicBool::new(false));
            let heard = spoke.clone();
            let (sink, stream) = socket.split();
            let stream = stream.inspect(move |_| heard.store(true, Ordering::Relaxed));
            let serve = GraphQLWebSocket::new_with_pair(sink, stream, schema, protocol)
                .on_connection_init(move |payload| connection_init(db, auth, payload))
                .serve();
            let silent = async {
                tokio::time::sleep(init_timeout).await;
                if spoke.load(Ordering::Relaxed) {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                _ = serve => {}
                _ = silent => {}
            }
        })
}

/// No origin (not a browser), the server's own, or one configured.
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
        .map(|o| o.trim())
        .any(|o| o == "*" || o == origin)
}

/// Authenticates a websocket from `{"Authorization": "Bearer <token>"}`;
/// without a valid one the connection closes (code 1002, async-graphql's
/// choice) with the reason.
async fn connection_init(
    db: DatabaseConnection,
    auth: Arc<Authenticator>,
    payload: serde_json::Value,
) -> async_graphql::Result<Data> {
    let token = ["Authorization", "authorization"]
        .iter()
        .find_map(|name| payload.get(name)?.as_str())
        .and_then(bearer_token);
    let org = match token {
        Some(token) => auth.organization(token).await.unwrap_or_else(|error| {
            crate::service::log_internal(&error);
            None
        }),
        None => None,
    };
    match org {
        Some(org) => Ok(Tenant { db, org }.into_data()),
        // A close frame's reason holds 123 bytes at most.
        None => Err(async_graphql::Error::new(
            "Forbidden: send {\"Authorization\": \"Bearer <token>\"} in connection_init",
        )),
    }
}

/// Gives every error a code. Errors from resolvers all carry one (see
/// `ApiError`); one that does not but has a source is an unmapped internal
/// error and is masked. The others are async-graphql's own: parsing,
/// validation, variables.
fn finish(mut response: GqlResponse) -> GqlResponse {
    for error in &mut response.errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|e| e.get("code").is_some());
        if has_code {
            continue;
        }
        // A source means some `Display` error went through async-graphql's
        // blanket conversion: its text may be SQL.
        if error.source.is_some() {
            tracing::error!(error = %error.message, "unmapped resolver error");
            error.message = internal_message(current_lang());
            set_extension(error, "code", "INTERNAL");
            set_extension(error, "requestId", &current_request_id());
        } else {
            let code = if is_limit_message(&error.message) {
                "LIMIT_EXCEEDED"
            } else {
                "BAD_USER_INPUT"
            };
            set_extension(error, "code", code);
        }
    }
    response
}

fn is_limit_message(message: &str) -> bool {
    message.contains("nested too deep")
        || message.contains("too complex")
        || message.contains("Too many directives")
        || message.contains("number of directives")
}

fn set_extension(error: &mut ServerError, name: &str, value: &str) {
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set(name, value);
}
