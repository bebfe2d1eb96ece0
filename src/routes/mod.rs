//! HTTP handlers, thin like resolvers: read the request, call a service or
//! the schema, answer. Errors go out through [`ApiError`]'s `IntoResponse`,
//! so every route speaks the same error shape and codes as GraphQL.

pub mod graphiql;
pub mod graphql;
pub mod health;
pub mod spreadsheets;
pub mod twilio;

use std::sync::Arc;

use axum::http::{HeaderMap, header};
use sea_orm::DatabaseConnection;

use crate::auth::{Authenticator, OrgId, bearer_token};
use crate::config::ServeConfig;
use crate::error::ApiError;
use crate::graphql::Schemas;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub auth: Arc<Authenticator>,
    pub schema: Schemas,
    pub config: Arc<ServeConfig>,
    pub sockets: Arc<graphql::SocketPlaces>,
    /// Large JSON requests' turns ([`graphql::LARGE_REQUESTS`]).
    pub large_requests: Arc<tokio::sync::Semaphore>,
}

/// The organization of the request's bearer token; `None` without a valid
/// one (GraphQL lets such requests introspect, REST routes refuse them).
pub async fn organization(
    auth: &Authenticator,
    headers: &HeaderMap,
) -> Result<Option<OrgId>, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    match token {
        Some(token) => Ok(auth.organization(token).await?),
        None => Ok(None),
    }
}
