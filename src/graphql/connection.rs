//! Relay connections: `edges { node cursor }`, `pageInfo`, `totalCount`.

use async_graphql::{Context, SimpleObject};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::id::{cursor, parse_cursor};
use super::import::{ImportRun, RowReport};
use super::object::{Client, ServicePoint};
use super::webhook::WebhookDelivery;
use crate::config::Limits;
use crate::error::{ApiError, Message};
use crate::service::{Page, PageRequest};

#[derive(SimpleObject)]
#[graphql(serial)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
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
    let first = match first {
        None => limits.default_page_size,
        Some(n) if n < 0 => {
            return Err(ApiError::BadInput(Message::new(
                "`first` ne peut pas être négatif.",
                "`first` cannot be negative.",
            )));
        }
        Some(n) if n as u64 > limits.max_page_size => {
            let max = limits.max_page_size;
            return Err(ApiError::LimitExceeded(Message::new(
                format!("`first` ne peut pas dépasser {max}."),
                format!("`first` cannot exceed {max}."),
            )));
        }
        Some(n) => n as u64,
    };
    let after = after.as_deref().map(parse_cursor).transpose()?;
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
pub fn row_cursor(row: &RowReport) -> String {
    URL_SAFE_NO_PAD.encode(format!("row:{}", row.0.number))
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

/// A node's id, for its cursor.
pub trait Cursor {
    fn uuid(&self) -> uuid::Uuid;
}

/// A connection and its edge type over `$node`, whose cursor is its id's
/// ([`Cursor`]) unless a `$cursor` function says otherwise.
macro_rules! connection {
    ($connection:ident, $edge:ident, $node:ident) => {
        connection!($connection, $edge, $node, |node: &$node| cursor(
            node.uuid()
        ));
    };
    ($connection:ident, $edge:ident, $node:ident, $cursor:expr) => {
        #[derive(SimpleObject)]
        #[graphql(serial)]
        pub struct $edge {
            pub node: $node,
            pub cursor: String,
        }

        #[derive(SimpleObject)]
        #[graphql(serial)]
        pub struct $connection {
            pub edges: Vec<$edge>,
            pub page_info: PageInfo,
            /// Counted only when asked for: a scan, so it weighs
            /// `TOTAL_COUNT_COST` in the query's cost.
            pub total_count: i64,
        }

        impl $connection {
            pub fn new(page: Page<$node>, total_count: u64) -> $connection {
                let edges: Vec<$edge> = page
                    .items
                    .into_iter()
                    .map(|node| $edge {
                        cursor: ($cursor)(&node),
                        node,
                    })
                    .collect();
                let end_cursor = edges.last().map(|edge| edge.cursor.clone());
                $connection {
                    edges,
                    page_info: PageInfo {
                        has_next_page: page.has_next,
                        end_cursor,
                    },
                    total_count: total_count as i64,
                }
            }
        }
    };
}

connection!(ClientConnection, ClientEdge, Client);
connection!(ServicePointConnection, ServicePointEdge, ServicePoint);
connection!(ImportRunConnection, ImportRunEdge, ImportRun);
connection!(RowReportConnection, RowReportEdge, RowReport, row_cursor);
connection!(
    WebhookDeliveryConnection,
    WebhookDeliveryEdge,
    WebhookDelivery
);
