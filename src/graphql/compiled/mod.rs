//! Reads answered by one statement. A client asks the same few list reads
//! over and over, and answering `clients → servicePoints → occupants`
//! through the resolvers costs ten times what PostgreSQL spends on its
//! statements: every field a future, every row decoded, every value a
//! `Value`, then JSON. For an operation seen before whose fields are all
//! plain columns of those records ([`plan`]), one PostgreSQL statement
//! writes the response's `data` itself ([`sql`]), and the server sends it
//! on as it comes, as PostGraphile does.
//!
//! The resolvers stay the reference and answer everything else: the
//! first time an operation is seen (it is then validated in full), on
//! SQLite (no base64 for ids and cursors, no `LATERAL` to carry the row
//! meter's count up), over a websocket or in a batch, and whenever a plan
//! would not answer as they do (rows past the row meter's budget; a
//! failed statement). The tests hold both to the same bytes.

pub mod plan;
pub mod sql;

use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;
use sea_orm::sqlx::Row;
use sea_orm::{DatabaseConnection, DbBackend};

use super::operation::{Admitted, error_response};
use crate::auth::OrgId;
use crate::error::ApiError;

/// The longest statement kept prepared. PostgreSQL keeps a prepared
/// statement's plan in every connection that ran it, some 75 bytes for each
/// byte of its text (measured: 5.8 KB of text, 0.4 MB; 69 KB, 6.4 MB),
/// and sqlx keeps 100 a connection: longer statements are planned each
/// time they run (a fifth more of the database's time), so that no client
/// can fill the database's memory with plans. The common list reads are
/// well within it (`clients → servicePoints → occupants` with a few fields
/// each: 1.3 KB).
const MAX_PREPARED: usize = 4 * 1024;

/// An operation's statement.
#[derive(Debug)]
pub struct Compiled {
    sql: String,
    /// What its unpaged lists' rows past their bounds may cost.
    budget: u64,
}

impl Compiled {
    pub fn of(document: &ExecutableDocument, inputs: &plan::Inputs<'_>) -> Option<Arc<Compiled>> {
        let plan = plan::plan(document, inputs)?;
        Some(Arc::new(Compiled {
            sql: sql::statement(&plan),
            budget: plan.budget,
        }))
    }
}

impl super::Schemas {
    /// The HTTP answer to an admitted operation from its one statement;
    /// `None` when the resolvers answer it (see the module).
    pub async fn answer_compiled(
        &self,
        db: &DatabaseConnection,
        org: OrgId,
        admitted: &Admitted,
    ) -> Option<Vec<u8>> {
        let compiled = admitted.compiled.as_ref()?;
        if !admitted.has_statement() || db.get_database_backend() != DbBackend::Postgres {
            return None;
        }
        // Refused: the resolvers' turn says why.
        let _slot = self.place(admitted, Some(org)).ok()?;
        let prepared = compiled.sql.len() <= MAX_PREPARED;
        let read = crate::service::query_owned(db, org, &compiled.sql, prepared);
        let answer = tokio::time::timeout(self.gate.timeout, read).await;
        let row = match answer {
            Err(_) => return Some(self.serialized_error(ApiError::Timeout)),
            Ok(Err(error)) => {
                tracing::warn!(%error, "a compiled read failed: the resolvers answer it");
                return None;
            }
            Ok(Ok(row)) => row?,
        };
        let data: String = row.try_get("data").ok()?;
        let extra: i64 = row.try_get("extra").ok()?;
        // Past the budget, the row meter refuses it where the resolvers
        // would have stopped: they answer it.
        if u64::try_from(extra).map_or(true, |extra| extra > compiled.budget) {
            return None;
        }
        let mut body = Vec::with_capacity(data.len() + 9);
        body.extend_from_slice(b"{\"data\":");
        body.extend_from_slice(data.as_bytes());
        body.push(b'}');
        if body.len() > self.gate.max_response_bytes {
            return Some(self.serialized_error(self.gate.too_large()));
        }
        Some(body)
    }

    fn serialized_error(&self, error: ApiError) -> Vec<u8> {
        self.serialize(&async_graphql::BatchResponse::Single(error_response(error)))
    }
}
