//! How every operation runs, whichever way it arrived (HTTP JSON, batch,
//! multipart, `multipart/mixed`, websocket): admitted by the gate before
//! async-graphql parses or validates anything expensive, given an
//! expensive operation's place, run within its deadline, and answered with
//! a code on every error and within `MAX_RESPONSE_BYTES`.

use std::any::TypeId;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_graphql::futures_util::stream::{self, BoxStream, StreamExt};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{Data, Executor, Pos, Request, Response, ServerError};

use super::Tenant;
use super::admission::{Slot, Slots};
use super::compiled::Compiled;
use super::compiled::plan::Inputs;
use super::connection::PageSizes;
use super::gate::{self, CostModel, Figures, GateLimits, RowCosts};
use super::known::{OperationKey, Validation};
use super::loader::Wanted;
use crate::auth::{Authenticator, OrgId};
use crate::config::Limits;
use crate::error::{ApiError, Message, current_lang, current_request_id, internal_message};

/// The gate's model and limits, and the places of expensive operations.
pub struct Gate {
    model: CostModel,
    limits: GateLimits,
    expensive: Arc<Slots>,
    threshold: u64,
    pub(super) timeout: Duration,
    pub(super) max_response_bytes: usize,
    max_query_bytes: usize,
    max_page_size: u64,
}

impl Gate {
    pub fn new(sdl: &str, limits: &Limits) -> Gate {
        Gate {
            model: CostModel::from_sdl(sdl),
            limits: GateLimits {
                max_depth: limits.max_depth as u64,
                max_aliases: limits.max_aliases as u64,
                max_cost: limits.max_complexity as u64,
                max_fields: limits.max_query_fields as u64,
                default_page_size: limits.default_page_size,
            },
            expensive: Slots::new(limits.max_expensive_per_org),
            threshold: limits.expensive_complexity as u64,
            timeout: limits.request_timeout,
            max_response_bytes: limits.max_response_bytes,
            max_query_bytes: limits.max_query_bytes,
            max_page_size: limits.max_page_size,
        }
    }

    /// `LIMIT_EXCEEDED` for an answer over `MAX_RESPONSE_BYTES`.
    pub(super) fn too_large(&self) -> ApiError {
        too_large(self.max_response_bytes)
    }
}

/// An operation the gate let through.
#[derive(Debug, Clone, Default)]
pub struct Admitted {
    pub figures: Figures,
    /// A subscription lives as long as its client wants (within the
    /// socket's lifetime); anything else has a deadline.
    pub subscription: bool,
    /// What a row of each of its unpaged lists weighs; `None` when it has
    /// none.
    row_costs: Option<Arc<RowCosts>>,
    /// The columns its fields need of the records read most (all of them
    /// for a mutation or a subscription, and for a document that does not
    /// parse).
    pub wanted: Wanted,
    /// Whether async-graphql validated it fully before.
    pub(super) validation: Validation,
    /// The one statement that answers it, when one can.
    pub(super) compiled: Option<Arc<Compiled>>,
}

impl Admitted {
    /// Whether one statement answers it (on PostgreSQL): it has one, and
    /// async-graphql validated it in full before.
    pub(super) fn has_statement(&self) -> bool {
        self.compiled.is_some() && matches!(self.validation, Validation::Passed)
    }
}

/// The rest of an operation's cost budget, which its unpaged lists draw on
/// for the rows they return beyond their stated bounds (request data): a
/// response is refused while it is built, not after.
pub struct RowMeter {
    row_costs: Arc<RowCosts>,
    left: AtomicU64,
}

impl RowMeter {
    /// Charges `extra` rows of the list at `pos`; `LIMIT_EXCEEDED` once
    /// the operation would pass `MAX_QUERY_COMPLEXITY`.
    pub fn charge(&self, pos: async_graphql::Pos, extra: u64) -> Result<(), ApiError> {
        let cost = extra.saturating_mul(self.row_costs.per_row(pos));
        self.left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(cost)
            })
            .map(drop)
            .map_err(|_| {
                ApiError::LimitExceeded(Message::new(
                    "Réponse trop coûteuse : une liste a plus de lignes que prévu. Demandez moins de champs ou de lignes.",
                    "Response too costly: a list holds more rows than its stated bound allows here. Ask for fewer fields or rows.",
                ))
            })
    }
}

/// For an unpaged list that returned `rows`: past its stated bound, the
/// rows beyond it are charged to the operation's cost (see [`RowMeter`]).
pub fn charge_rows(
    ctx: &async_graphql::Context<'_>,
    type_name: &str,
    field: &str,
    rows: usize,
) -> Result<(), ApiError> {
    let Some(bound) = gate::stated_bound(type_name, field) else {
        return Ok(());
    };
    let extra = (rows as u64).saturating_sub(bound);
    match (extra, ctx.data_opt::<RowMeter>()) {
        (0, _) | (_, None) => Ok(()),
        (extra, Some(meter)) => meter.charge(ctx.item.pos, extra),
    }
}

/// The type of the operation of `document` that `operation_name` picks;
/// `None` when it picks none (async-graphql then says why).
pub fn operation_type(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<OperationType> {
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some(operation.node.ty),
        (DocumentOperations::Multiple(operations), Some(name)) => {
            operations.get(name).map(|operation| operation.node.ty)
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

impl super::Schemas {
    /// Parses `request` (or takes its document from those parsed before)
    /// and measures it, or takes what it was admitted with before; a
    /// document that does not parse passes, for async-graphql to say why.
    pub fn admit(&self, request: &mut Request) -> Result<Admitted, ApiError> {
        let gate = self.gate.clone();
        if request.query.len() > gate.max_query_bytes {
            let max = gate.max_query_bytes;
            return Err(ApiError::LimitExceeded(Message::new(
                format!("Requête trop longue : {max} octets au plus."),
                format!("Query too long: {max} bytes at most."),
            )));
        }
        let key = OperationKey::of(request);
        if let Some(admitted) = key.as_ref().and_then(|key| self.known.get(key)) {
            // A read its statement answers needs no document: the
            // resolvers' runners parse it if they run it after all.
            if admitted.has_statement() || self.parse(request).is_some() {
                return Ok(admitted);
            }
        }
        // Taken out while the document is borrowed, put back after.
        let operation_name = request.operation_name.take();
        let variables = std::mem::take(&mut request.variables);
        let measured = self.parse(request).map(|document| {
            gate::admit(
                &gate.model,
                &gate.limits,
                document,
                operation_name.as_deref(),
                &variables,
            )
            .map(|(figures, row_costs)| {
                let ty = operation_type(document, operation_name.as_deref());
                // Planned once, for an operation kept: its statement is
                // used from the second time on.
                let compiled = match (ty, &key) {
                    (Some(OperationType::Query), Some(_)) => Compiled::of(
                        document,
                        &Inputs {
                            operation_name: operation_name.as_deref(),
                            variables: &variables,
                            pages: PageSizes {
                                default: gate.limits.default_page_size,
                                max: gate.max_page_size,
                            },
                            row_costs: Some(&row_costs),
                            budget: gate.limits.max_cost.saturating_sub(figures.cost),
                        },
                    ),
                    _ => None,
                };
                Admitted {
                    figures,
                    validation: Validation::Always,
                    subscription: ty == Some(OperationType::Subscription),
                    compiled,
                    row_costs: (!row_costs.is_empty()).then(|| Arc::new(row_costs)),
                    wanted: match ty {
                        Some(OperationType::Query) => Wanted::of_document(document),
                        _ => Wanted::ALL,
                    },
                }
            })
        });
        request.variables = variables;
        request.operation_name = operation_name;
        match measured {
            Some(admitted) => Ok(self.known.admitted(key, admitted?)),
            None => Ok(Admitted::default()),
        }
    }

    /// An expensive operation's place among its organization's (callers
    /// without a token share one organization's worth); `None` for a
    /// cheap one.
    pub fn place(&self, admitted: &Admitted, org: Option<OrgId>) -> Result<Option<Slot>, ApiError> {
        if admitted.figures.cost < self.gate.threshold {
            return Ok(None);
        }
        let party = org.map_or(uuid::Uuid::nil(), OrgId::uuid);
        self.gate
            .expensive
            .take_for(party, |max| {
                Message::new(
                    format!(
                        "Trop de requêtes coûteuses en cours pour cette organisation : {max} au plus à la fois. Réessayez dans un instant."
                    ),
                    format!(
                        "Too many expensive requests running for this organization: {max} at a time. Try again in a moment."
                    ),
                )
            })
            .map(Some)
    }

    /// Runs an admitted operation to its end or its deadline (imports that
    /// carry their file excepted: they run as jobs and have their own
    /// limits), every error given a code.
    pub async fn execute(&self, request: Request, admitted: &Admitted) -> Response {
        let request = self.metered(self.parsed(request, admitted), admitted);
        let timed = request.uploads.is_empty();
        let run = self.schema_for(admitted).execute(request);
        let response = match timed {
            true => tokio::time::timeout(self.gate.timeout, run)
                .await
                .unwrap_or_else(|_| error_response(ApiError::Timeout)),
            false => run.await,
        };
        self.known.answered(admitted, &response);
        finish(response)
    }

    /// Runs an admitted operation as a stream: a subscription for as long
    /// as it lives, anything else to its first answer within the deadline.
    /// `slot` is held until the stream ends.
    pub fn execute_stream(
        &self,
        request: Request,
        session: Arc<Data>,
        admitted: Admitted,
        slot: Option<Slot>,
    ) -> BoxStream<'static, Response> {
        let request = self.metered(self.parsed(request, &admitted), &admitted);
        let responses = self
            .schema_for(&admitted)
            .execute_stream_with_session_data(request, session);
        let max_bytes = self.gate.max_response_bytes;
        let known = self.known.clone();
        let subscription = admitted.subscription;
        let mut unanswered = Some(admitted);
        let bounded = move |response: Response| {
            let _held = &slot;
            if let Some(admitted) = unanswered.take() {
                known.answered(&admitted, &response);
            }
            within_size(finish(response), max_bytes)
        };
        if subscription {
            return responses.map(bounded).boxed();
        }
        let deadline = self.gate.timeout;
        stream::once(async move {
            let mut responses = responses;
            tokio::time::timeout(deadline, responses.next())
                .await
                .map_or_else(
                    |_| error_response(ApiError::Timeout),
                    Option::unwrap_or_default,
                )
        })
        .map(bounded)
        .boxed()
    }

    /// An HTTP answer serialized, or the errors that replace it when it is
    /// over `MAX_RESPONSE_BYTES`.
    pub fn serialize(&self, response: &async_graphql::BatchResponse) -> Vec<u8> {
        let max_bytes = self.gate.max_response_bytes;
        match serde_json::to_vec(response) {
            Ok(bytes) if bytes.len() <= max_bytes => bytes,
            _ => {
                let error = || error_response(too_large(max_bytes));
                let replacement = match response {
                    async_graphql::BatchResponse::Single(_) => {
                        async_graphql::BatchResponse::Single(error())
                    }
                    async_graphql::BatchResponse::Batch(responses) => {
                        async_graphql::BatchResponse::Batch(
                            responses.iter().map(|_| error()).collect(),
                        )
                    }
                };
                serde_json::to_vec(&replacement).unwrap_or_default()
            }
        }
    }

    /// The schema that runs an operation: with the full validation unless
    /// it passed it before.
    fn schema_for(&self, admitted: &Admitted) -> &super::FlokonSchema {
        match admitted.validation {
            Validation::Passed => &self.validated_schema,
            _ => &self.schema,
        }
    }

    /// The request with its document, which `admit` left out for a read
    /// its statement answers.
    fn parsed(&self, mut request: Request, admitted: &Admitted) -> Request {
        if admitted.has_statement() {
            self.parse(&mut request);
        }
        request
    }

    /// The request with its row meter, when it has unpaged lists.
    fn metered(&self, request: Request, admitted: &Admitted) -> Request {
        match &admitted.row_costs {
            Some(row_costs) => request.data(RowMeter {
                row_costs: row_costs.clone(),
                left: AtomicU64::new(
                    self.gate
                        .limits
                        .max_cost
                        .saturating_sub(admitted.figures.cost),
                ),
            }),
            None => request,
        }
    }
}

/// A response of one error.
pub fn error_response(error: ApiError) -> Response {
    Response::from_errors(vec![server_error(error)])
}

pub fn server_error(error: ApiError) -> ServerError {
    async_graphql::Error::from(error).into_server_error(Pos::default())
}

fn too_large(max_bytes: usize) -> ApiError {
    let mib = max_bytes as f64 / (1024.0 * 1024.0);
    ApiError::LimitExceeded(Message::new(
        format!(
            "Réponse trop volumineuse : {mib:.0} Mio au plus. Demandez moins de lignes (`first`) ou moins de champs."
        ),
        format!(
            "Response too large: {mib:.0} MiB at most. Ask for fewer rows (`first`) or fewer fields."
        ),
    ))
}

/// The response, or an error in its place when it serializes to more than
/// `max_bytes`.
fn within_size(response: Response, max_bytes: usize) -> Response {
    if response.data == async_graphql::Value::Null {
        return response;
    }
    match serde_json::to_vec(&response) {
        Ok(bytes) if bytes.len() <= max_bytes => response,
        _ => error_response(too_large(max_bytes)),
    }
}

/// Gives every error a code. Errors from resolvers all carry one (see
/// `ApiError`); one that does not but has a source is an unmapped internal
/// error and is masked. The others are async-graphql's own: parsing,
/// validation, variables.
pub fn finish(mut response: Response) -> Response {
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

/// async-graphql's own limits, for what the gate does not measure
/// (directives, and fragment spreads nested past its recursion depth).
fn is_limit_message(message: &str) -> bool {
    message.contains("recursion depth")
        || message.contains("Too many directives")
        || message.contains("number of directives")
}

fn set_extension(error: &mut ServerError, name: &str, value: &str) {
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set(name, value);
}

/// The token a websocket said in `connection_init` (connection data):
/// asked about again before each of its operations.
pub struct SocketToken(pub String);

/// What runs a websocket's operations: the same gate, places, deadline and
/// codes as HTTP, and the socket's token checked again each time through
/// the same cache (a revoked token stops working within `AUTH_CACHE_TTL`).
#[derive(Clone)]
pub struct SocketExecutor {
    pub schemas: super::Schemas,
    pub auth: Arc<Authenticator>,
}

impl SocketExecutor {
    async fn start(
        &self,
        mut request: Request,
        session: Arc<Data>,
    ) -> BoxStream<'static, Response> {
        let refused = |error| stream::once(async move { error_response(error) }).boxed();
        let org = match self.still_valid(&session).await {
            Ok(org) => org,
            Err(error) => return refused(error),
        };
        let admitted = match self.schemas.admit(&mut request) {
            Ok(admitted) => admitted,
            Err(error) => return refused(error),
        };
        let slot = match self.schemas.place(&admitted, Some(org)) {
            Ok(slot) => slot,
            Err(error) => return refused(error),
        };
        self.schemas
            .execute_stream(request, session, admitted, slot)
    }

    /// The socket's organization, when its token still names it.
    async fn still_valid(&self, session: &Data) -> Result<OrgId, ApiError> {
        let data = |id| session.get(&id);
        let token = data(TypeId::of::<SocketToken>())
            .and_then(|token| token.downcast_ref::<SocketToken>())
            .ok_or(ApiError::Unauthenticated)?;
        let tenant = data(TypeId::of::<Tenant>())
            .and_then(|tenant| tenant.downcast_ref::<Tenant>())
            .ok_or(ApiError::Unauthenticated)?;
        match self.auth.organization(&token.0).await {
            Ok(Some(org)) if org == tenant.org => Ok(org),
            Ok(_) => Err(ApiError::Unauthenticated),
            Err(error) => Err(ApiError::Busy(Box::new(error))),
        }
    }
}

impl Executor for SocketExecutor {
    async fn execute(&self, request: Request) -> Response {
        self.start(request, Arc::default())
            .await
            .next()
            .await
            .unwrap_or_default()
    }

    fn execute_stream(
        &self,
        request: Request,
        session: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let this = self.clone();
        stream::once(async move { this.start(request, session.unwrap_or_default()).await })
            .flatten()
            .boxed()
    }
}
