//! Which reads one statement can answer, as plain types: a query whose
//! every field is a column of a client, a service point or an occupant,
//! or a connection or list of them under `clients` or `servicePoints`. Anything else (a
//! fragment, a directive, a filter, a way back up, a field whose text
//! PostgreSQL would write otherwise (a float: `47` for `47.0`), a
//! duplicated response key) has no plan and goes to the
//! resolvers, which stay the reference: a plan must answer exactly what
//! they answer.

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, OperationDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::{Name, Positioned, Value, Variables};
use uuid::Uuid;

use crate::graphql::connection::{PageSizes, read_page};
use crate::graphql::gate::{RowCosts, stated_bound};
use crate::graphql::object::Occupant;
pub use crate::graphql::object::OccupantField as RecordField;
use crate::graphql::plain::PlainObject;

/// A response key (the alias, or the field's name) and what it holds.
pub type Fields<F> = Vec<(String, F)>;

/// A query answered by one statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub fields: Fields<RootField>,
    /// What the rows of unpaged lists past their stated bound may still
    /// cost (the row meter's budget, `operation::RowMeter`).
    pub budget: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RootField {
    Typename,
    Clients(Connection<ClientField>),
    ServicePoints(Connection<PointField>),
}

/// A page of records in id order: `first` after the cursor `after`.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection<N> {
    pub first: u64,
    pub after: Option<Uuid>,
    pub fields: Fields<ConnectionField<N>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionField<N> {
    Typename,
    TotalCount,
    PageInfo(Fields<PageInfoField>),
    Edges(Fields<EdgeField<N>>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PageInfoField {
    Typename,
    HasNextPage,
    EndCursor,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EdgeField<N> {
    Typename,
    Cursor,
    Node(Fields<N>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClientField {
    Typename,
    Id,
    ExternalId,
    Name,
    ServicePoints(Connection<PointField>),
    CreatedAt,
    UpdatedAt,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PointField {
    Typename,
    Id,
    AddressLine1,
    City,
    Province,
    PostalCode,
    FullAddress,
    GeocodeStatus,
    Occupants(Occupants),
    CreatedAt,
    UpdatedAt,
}

/// A point's occupants: an unpaged list, its rows past
/// [`OCCUPANTS_BOUND`] charged `per_row` each to the plan's budget.
#[derive(Debug, Clone, PartialEq)]
pub struct Occupants {
    pub per_row: u64,
    pub fields: Fields<OccupantField>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OccupantField {
    Typename,
    /// A field of its record ([`Occupant`]'s plain fields).
    Record(RecordField),
    /// What the phone answered the organization (`phone_consent`).
    ConsentStatus,
    OptedOutAt,
}

/// The occupants a point lists within the query's stated cost.
pub fn occupants_bound() -> u64 {
    stated_bound("ServicePoint", "occupants").unwrap_or(0)
}

/// Everything a plan is made from besides the document.
pub struct Inputs<'a> {
    pub operation_name: Option<&'a str>,
    pub variables: &'a Variables,
    pub pages: PageSizes,
    pub row_costs: Option<&'a RowCosts>,
    pub budget: u64,
}

/// The plan of the operation `inputs` picks in `document`; `None` when one
/// statement cannot answer it (the resolvers will).
pub fn plan(document: &ExecutableDocument, inputs: &Inputs<'_>) -> Option<Plan> {
    let operation = match (&document.operations, inputs.operation_name) {
        (DocumentOperations::Single(operation), _) => &operation.node,
        (DocumentOperations::Multiple(operations), Some(name)) => &operations.get(name)?.node,
        (DocumentOperations::Multiple(_), None) => return None,
    };
    if operation.ty != OperationType::Query || !operation.directives.is_empty() {
        return None;
    }
    let reader = Reader { operation, inputs };
    let fields = reader.fields(&operation.selection_set, |field| match name(field) {
        "__typename" => reader.bare(field, RootField::Typename),
        "clients" => reader
            .connection(field, |node| reader.client(node))
            .map(RootField::Clients),
        "servicePoints" => reader
            .connection(field, |node| reader.point(node))
            .map(RootField::ServicePoints),
        _ => None,
    })?;
    Some(Plan {
        fields,
        budget: inputs.budget,
    })
}

fn name(field: &Positioned<Field>) -> &str {
    field.node.name.node.as_str()
}

struct Reader<'a> {
    operation: &'a OperationDefinition,
    inputs: &'a Inputs<'a>,
}

impl Reader<'_> {
    /// Each field of `set` by its response key, read by `read`: `None` at
    /// the first that cannot be planned, a fragment, a directive, or a key
    /// given twice (GraphQL merges those; the resolvers do it).
    fn fields<F>(
        &self,
        set: &Positioned<SelectionSet>,
        mut read: impl FnMut(&Positioned<Field>) -> Option<F>,
    ) -> Option<Fields<F>> {
        let mut fields: Fields<F> = Vec::with_capacity(set.node.items.len());
        for selection in &set.node.items {
            let Selection::Field(field) = &selection.node else {
                return None;
            };
            if !field.node.directives.is_empty() {
                return None;
            }
            let key = field.node.response_key().node.as_str();
            if fields.iter().any(|(seen, _)| seen == key) {
                return None;
            }
            fields.push((key.to_owned(), read(field)?));
        }
        Some(fields)
    }

    /// A field without arguments or selections.
    fn bare<F>(&self, field: &Positioned<Field>, value: F) -> Option<F> {
        let field = &field.node;
        (field.arguments.is_empty() && field.selection_set.node.items.is_empty()).then_some(value)
    }

    /// An argument's value, its variable's (or the variable's default)
    /// when it is one; `Null` when absent.
    fn argument(&self, field: &Field, name: &str) -> Value {
        let Some(value) = field.get_argument(name) else {
            return Value::Null;
        };
        let variable = |variable: Name| -> Result<Value, ()> {
            if let Some(value) = self.inputs.variables.get(&variable) {
                return Ok(value.clone());
            }
            let default = self
                .operation
                .variable_definitions
                .iter()
                .find(|definition| definition.node.name.node == variable)
                .and_then(|definition| definition.node.default_value.as_ref());
            Ok(default.map_or(Value::Null, |value| value.node.clone()))
        };
        value
            .node
            .clone()
            .into_const_with(variable)
            .unwrap_or(Value::Null)
    }

    /// `first`/`after` as the resolvers read them; `None` for what they
    /// refuse (a negative or too large `first`, a malformed cursor), so
    /// that they say why.
    fn page(&self, field: &Field) -> Option<(u64, Option<Uuid>)> {
        if field
            .arguments
            .iter()
            .any(|(name, _)| !matches!(name.node.as_str(), "first" | "after"))
        {
            return None;
        }
        let first = match self.argument(field, "first") {
            Value::Null => None,
            Value::Number(n) => Some(i32::try_from(n.as_i64()?).ok()?),
            _ => return None,
        };
        let after = match self.argument(field, "after") {
            Value::Null => None,
            Value::String(cursor) => Some(cursor),
            _ => return None,
        };
        let page = read_page(first, after.as_deref(), self.inputs.pages).ok()?;
        Some((page.first, page.after))
    }

    fn connection<N>(
        &self,
        field: &Positioned<Field>,
        node: impl Fn(&Positioned<Field>) -> Option<N>,
    ) -> Option<Connection<N>> {
        let (first, after) = self.page(&field.node)?;
        let fields = self.fields(&field.node.selection_set, |field| match name(field) {
            "__typename" => self.bare(field, ConnectionField::Typename),
            "totalCount" => self.bare(field, ConnectionField::TotalCount),
            "pageInfo" => self
                .object(field, |field| match name(field) {
                    "__typename" => self.bare(field, PageInfoField::Typename),
                    "hasNextPage" => self.bare(field, PageInfoField::HasNextPage),
                    "endCursor" => self.bare(field, PageInfoField::EndCursor),
                    _ => None,
                })
                .map(ConnectionField::PageInfo),
            "edges" => self
                .object(field, |field| match name(field) {
                    "__typename" => self.bare(field, EdgeField::Typename),
                    "cursor" => self.bare(field, EdgeField::Cursor),
                    "node" => self.object(field, &node).map(EdgeField::Node),
                    _ => None,
                })
                .map(ConnectionField::Edges),
            _ => None,
        })?;
        Some(Connection {
            first,
            after,
            fields,
        })
    }

    /// A field without arguments whose selections `read` reads.
    fn object<F>(
        &self,
        field: &Positioned<Field>,
        read: impl FnMut(&Positioned<Field>) -> Option<F>,
    ) -> Option<Fields<F>> {
        if !field.node.arguments.is_empty() {
            return None;
        }
        self.fields(&field.node.selection_set, read)
    }

    fn client(&self, field: &Positioned<Field>) -> Option<ClientField> {
        match name(field) {
            "__typename" => self.bare(field, ClientField::Typename),
            "id" => self.bare(field, ClientField::Id),
            "externalId" => self.bare(field, ClientField::ExternalId),
            "name" => self.bare(field, ClientField::Name),
            "servicePoints" => self
                .connection(field, |field| self.point(field))
                .map(ClientField::ServicePoints),
            "createdAt" => self.bare(field, ClientField::CreatedAt),
            "updatedAt" => self.bare(field, ClientField::UpdatedAt),
            _ => None,
        }
    }

    fn point(&self, field: &Positioned<Field>) -> Option<PointField> {
        match name(field) {
            "__typename" => self.bare(field, PointField::Typename),
            "id" => self.bare(field, PointField::Id),
            "addressLine1" => self.bare(field, PointField::AddressLine1),
            "city" => self.bare(field, PointField::City),
            "province" => self.bare(field, PointField::Province),
            "postalCode" => self.bare(field, PointField::PostalCode),
            "fullAddress" => self.bare(field, PointField::FullAddress),
            "geocodeStatus" => self.bare(field, PointField::GeocodeStatus),
            "occupants" => {
                let fields = self.object(field, |field| self.occupant(field))?;
                let per_row = self
                    .inputs
                    .row_costs
                    .map_or(1, |costs| costs.per_row(field.pos));
                Some(PointField::Occupants(Occupants {
                    per_row: per_row.max(1),
                    fields,
                }))
            }
            "createdAt" => self.bare(field, PointField::CreatedAt),
            "updatedAt" => self.bare(field, PointField::UpdatedAt),
            _ => None,
        }
    }

    fn occupant(&self, field: &Positioned<Field>) -> Option<OccupantField> {
        let read = match name(field) {
            "__typename" => OccupantField::Typename,
            "consentStatus" => OccupantField::ConsentStatus,
            "optedOutAt" => OccupantField::OptedOutAt,
            other => OccupantField::Record(Occupant::plain_field(other)?),
        };
        self.bare(field, read)
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::Variables;
    use async_graphql::parser::parse_query;
    use serde_json::json;

    use super::*;

    fn plan_of(query: &str, variables: serde_json::Value) -> Option<Plan> {
        let document = parse_query(query).expect("parses");
        plan(
            &document,
            &Inputs {
                operation_name: None,
                variables: &Variables::from_json(variables),
                pages: PageSizes {
                    default: 50,
                    max: 500,
                },
                row_costs: None,
                budget: 7,
            },
        )
    }

    #[test]
    fn a_read_of_columns_is_planned_with_its_keys_pages_and_budget() {
        let plan = plan_of(
            "query($n: Int, $m: Int = 3) { k: __typename clients(first: $n) { edges { node {
                id servicePoints(first: $m) { totalCount edges { node { fullAddress occupants { phone } } } } } } } }",
            json!({"n": 2}),
        )
        .expect("planned");
        let points = Connection {
            first: 3,
            after: None,
            fields: vec![
                ("totalCount".to_owned(), ConnectionField::TotalCount),
                (
                    "edges".to_owned(),
                    ConnectionField::Edges(vec![(
                        "node".to_owned(),
                        EdgeField::Node(vec![
                            ("fullAddress".to_owned(), PointField::FullAddress),
                            (
                                "occupants".to_owned(),
                                PointField::Occupants(Occupants {
                                    per_row: 1,
                                    fields: vec![(
                                        "phone".to_owned(),
                                        OccupantField::Record(RecordField::Phone),
                                    )],
                                }),
                            ),
                        ]),
                    )]),
                ),
            ],
        };
        let clients = Connection {
            first: 2,
            after: None,
            fields: vec![(
                "edges".to_owned(),
                ConnectionField::Edges(vec![(
                    "node".to_owned(),
                    EdgeField::Node(vec![
                        ("id".to_owned(), ClientField::Id),
                        (
                            "servicePoints".to_owned(),
                            ClientField::ServicePoints(points),
                        ),
                    ]),
                )]),
            )],
        };
        assert_eq!(
            plan,
            Plan {
                fields: vec![
                    ("k".to_owned(), RootField::Typename),
                    ("clients".to_owned(), RootField::Clients(clients)),
                ],
                budget: 7,
            }
        );
    }

    #[test]
    fn a_page_is_read_as_the_resolvers_read_it_or_left_to_them() {
        let first = |query: &str, variables| {
            plan_of(query, variables).map(|plan| match &plan.fields[0].1 {
                RootField::Clients(clients) => (clients.first, clients.after),
                _ => unreachable!(),
            })
        };
        let query = "query($f: Int, $a: String) { clients(first: $f, after: $a) { totalCount } }";
        assert_eq!(first(query, json!({})), Some((50, None)));
        assert_eq!(first(query, json!({"f": 500})), Some((500, None)));
        let id = Uuid::now_v7();
        let cursor = crate::graphql::id::cursor(id);
        assert_eq!(
            first(query, json!({"f": 1, "a": cursor})),
            Some((1, Some(id)))
        );
        // What the resolvers refuse, they refuse with their own words.
        assert_eq!(first(query, json!({"f": 501})), None);
        assert_eq!(first(query, json!({"f": -1})), None);
        assert_eq!(first(query, json!({"a": "not a cursor"})), None);
    }

    #[test]
    fn what_one_statement_cannot_answer_has_no_plan() {
        for query in [
            "{ clients { edges { node { ...F } } } } fragment F on Client { id }",
            "{ clients { edges { ... on ClientEdge { cursor } } } }",
            "{ clients { edges { node { id @skip(if: false) } } } }",
            "query Q @deprecated { __typename }",
            "{ clients(search: \"x\") { totalCount } }",
            "{ clients(sectorId: null) { totalCount } }",
            "{ clients { edges { node { id id } } } }",
            "{ clients { edges { node { servicePoints { edges { node { latitude } } } } } } }",
            "{ clients { edges { node { servicePoints { edges { node { client { id } } } } } } } }",
            "{ clients { edges { node { servicePoints { edges { node { occupants { servicePoint { id } } } } } } } } }",
            "{ servicePoints(clientId: null) { totalCount } }",
            "{ servicePoints { edges { node { sectors { name } } } } }",
            "mutation { __typename }",
            "query A { __typename } query B { __typename }",
        ] {
            assert_eq!(plan_of(query, json!({})), None, "{query}");
        }
    }
}
