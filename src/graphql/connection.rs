//! Relay connections: `edges { node cursor }`, `pageInfo`, `totalCount`,
//! one generic type for every node ([`ConnectionNode`] names it).

use std::borrow::Cow;

use async_graphql::{Context, Lookahead, Object, OutputType, SimpleObject, TypeName};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::id::parse_cursor;
use crate::config::Limits;
use crate::error::{ApiError, Message};
use crate::service::{Page, PageRequest};

#[derive(SimpleObject)]
#[graphql(serial)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

/// What pages default to and may not exceed.
#[derive(Debug, Clone, Copy)]
pub struct PageSizes {
    pub default: u64,
    pub max: u64,
}

/// Reads `first`/`after`, refusing a `first` beyond the configured cap.
pub fn page_request(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<PageRequest, ApiError> {
    let limits = ctx
        .data::<Limits>()
        .map_err(|_| ApiError::internal(MissingData("Limits")))?;
    let sizes = PageSizes {
        default: limits.default_page_size,
        max: limits.max_page_size,
    };
    read_page(first, after.as_deref(), sizes)
}

/// `first`/`after` as every connection reads them (and a read's one
/// statement, `compiled::plan`): a page of `sizes.default` when `first`
/// is omitted; a negative or too large `first`, or a malformed cursor,
/// refused.
pub fn read_page(
    first: Option<i32>,
    after: Option<&str>,
    sizes: PageSizes,
) -> Result<PageRequest, ApiError> {
    let first = match first {
        None => sizes.default,
        Some(n) if n < 0 => {
            return Err(ApiError::BadInput(Message::new(
                "`first` ne peut pas être négatif.",
                "`first` cannot be negative.",
            )));
        }
        Some(n) if n as u64 > sizes.max => {
            let max = sizes.max;
            return Err(ApiError::LimitExceeded(Message::new(
                format!("`first` ne peut pas dépasser {max}."),
                format!("`first` cannot exceed {max}."),
            )));
        }
        Some(n) => n as u64,
    };
    let after = after.map(parse_cursor).transpose()?;
    Ok(PageRequest { first, after })
}

/// Reads `first`/`after` of a run's `rows`, whose cursor is a row number.
pub fn row_page_request(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<PageRequest<i32>, ApiError> {
    let first = page_request(ctx, first, None)?.first;
    let after = after.as_deref().map(parse_row_cursor).transpose()?;
    Ok(PageRequest { first, after })
}

/// A report row's cursor: `base64url("row:<number>")`.
pub fn row_cursor(number: u32) -> String {
    URL_SAFE_NO_PAD.encode(format!("row:{number}"))
}

fn parse_row_cursor(cursor: &str) -> Result<i32, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("row:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| {
            ApiError::BadInput(Message::new(
                "Curseur (after) invalide.",
                "Invalid cursor (after).",
            ))
        })
}

/// Context data the schema was built without: a programming error.
#[derive(Debug, thiserror::Error)]
#[error("context data missing: {0}")]
pub struct MissingData(pub &'static str);

/// Whether the query asks for `totalCount`, so the count runs only then.
pub fn wants_total(ctx: &Context<'_>) -> bool {
    ctx.look_ahead().field("totalCount").exists()
}

/// What a connection's selection asks of each node (`edges { node }`).
pub fn nodes<'a>(connection: &Lookahead<'a>) -> Lookahead<'a> {
    connection.field("edges").field("node")
}

/// A type listed in connections: the names of its connection and edge
/// types in the schema, and its cursor (its id's, unless it says otherwise).
pub trait ConnectionNode: OutputType + Send + Sync + 'static {
    const CONNECTION: &'static str;
    const EDGE: &'static str;

    fn cursor(&self) -> String;
}

/// Implements [`ConnectionNode`] for types whose cursor is their id's,
/// read by `$id` (`|node| node.0.id`).
macro_rules! listed_by_id {
    ($($node:ty: $connection:literal, $edge:literal, $id:expr;)*) => {$(
        impl $crate::graphql::connection::ConnectionNode for $node {
            const CONNECTION: &'static str = $connection;
            const EDGE: &'static str = $edge;

            fn cursor(&self) -> String {
                let id: fn(&$node) -> uuid::Uuid = $id;
                $crate::graphql::id::cursor(id(self))
            }
        }
    )*};
}
pub(crate) use listed_by_id;

pub struct Edge<N: ConnectionNode> {
    pub node: N,
}

// The cursor is written only when asked for: most reads of a nested page
// never ask, and it was a base64 string for every edge.
#[Object(name_type, serial)]
impl<N: ConnectionNode> Edge<N> {
    async fn node(&self) -> &N {
        &self.node
    }

    async fn cursor(&self) -> String {
        self.node.cursor()
    }
}

impl<N: ConnectionNode> TypeName for Edge<N> {
    fn type_name() -> Cow<'static, str> {
        N::EDGE.into()
    }
}

#[derive(SimpleObject)]
#[graphql(name_type, serial)]
pub struct Connection<N: ConnectionNode> {
    pub edges: Vec<Edge<N>>,
    pub page_info: PageInfo,
    /// Counted only when asked for: a scan, so it weighs
    /// `TOTAL_COUNT_COST` in the query's cost.
    pub total_count: i64,
}

impl<N: ConnectionNode> TypeName for Connection<N> {
    fn type_name() -> Cow<'static, str> {
        N::CONNECTION.into()
    }
}

impl<N: ConnectionNode> Connection<N> {
    pub fn new(page: Page<N>, total_count: u64) -> Connection<N> {
        let end_cursor = page.items.last().map(ConnectionNode::cursor);
        let edges: Vec<Edge<N>> = page.items.into_iter().map(|node| Edge { node }).collect();
        Connection {
            edges,
            page_info: PageInfo {
                has_next_page: page.has_next,
                end_cursor,
            },
            total_count: total_count as i64,
        }
    }
}
