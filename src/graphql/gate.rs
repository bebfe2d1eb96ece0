//! The admission gate: what an operation would really cost, computed on
//! the fragment-expanded document before async-graphql validates it.
//!
//! async-graphql 7 re-expands a fragment at every spread in its depth and
//! complexity visitors (and `check_recursive_depth`, which has no cycle
//! check at all), so a 1 KB document of fragments spreading each other
//! twice costs exponential time before any of its limits answers. Here each
//! fragment is walked once per list context and its figures reused at every
//! spread: linear in the document, whatever it expands to. Only documents
//! whose expansion is bounded (`max_fields`) go on to async-graphql.
//!
//! Cost follows rows at every depth: a field weighs 1 (more for a count or
//! a search), and a list weighs its selection times the rows it may return:
//! a connection's `first` (the default page size when omitted), a stated
//! bound for lists without arguments ([`stated_bound`]). Cycles through
//! lists multiply, as they would when run.

use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, Field, Selection, SelectionSet, Type,
    TypeKind, TypeSystemDefinition,
};
use async_graphql::{Name, Pos, Positioned, Value, Variables};

use crate::error::{ApiError, Message};

/// What a count (`totalCount`) weighs: it scans the organization's rows,
/// the work of about a thousand fields.
pub const TOTAL_COUNT_COST: u64 = 1_000;
/// What a `search` argument adds: a scan on folded text.
pub const SEARCH_COST: u64 = 5_000;

/// The rows a list without paging arguments is counted as returning. These
/// bound what a real organization holds (a point lies in a few sectors, a
/// sector alerts about a thousand occupants); a list that holds more is
/// still bounded by `MAX_RESPONSE_BYTES`.
pub fn stated_bound(type_name: &str, field: &str) -> Option<u64> {
    Some(match (type_name, field) {
        ("Query", "sectors") => 100,
        ("Query", "webhookEndpoints") => crate::config::MAX_WEBHOOK_ENDPOINTS as u64,
        ("Sector", "alertRecipients") => 1_000,
        ("Sector", "alerts") => 50,
        ("ServicePoint", "sectors") => 5,
        ("ServicePoint", "occupants") => 20,
        ("ImportRun", "columns") => 200,
        ("ImportRun", "alertImpact") => 100,
        ("RowReport", "changes") => 13,
        ("Query", "messageTemplates") => 4,
        ("ImportRun", "fileErrors" | "fileWarnings") => 20,
        ("RowReport", "errors" | "warnings") => 16,
        ("Mutation", "importSectors") => 100,
        ("__Schema", "directives") => 8,
        ("__Directive", "locations") => 20,
        _ => return None,
    })
}

/// A list the model knows nothing of: counted as a default page.
const UNKNOWN_LIST_ROWS: u64 = crate::config::DEFAULT_PAGE_SIZE as u64;

/// The fields async-graphql answers for introspection, which the SDL leaves
/// out.
const INTROSPECTION_SDL: &str = r#"
type __Schema { description: String types: [__Type!]! queryType: __Type! mutationType: __Type
  subscriptionType: __Type directives: [__Directive!]! }
type __Type { kind: __TypeKind! name: String description: String
  fields(includeDeprecated: Boolean): [__Field!] interfaces: [__Type!] possibleTypes: [__Type!]
  enumValues(includeDeprecated: Boolean): [__EnumValue!] inputFields: [__InputValue!]
  ofType: __Type specifiedByURL: String isOneOf: Boolean }
type __Field { name: String! description: String args: [__InputValue!]! type: __Type!
  isDeprecated: Boolean! deprecationReason: String }
type __InputValue { name: String! description: String type: __Type! defaultValue: String
  isDeprecated: Boolean deprecationReason: String }
type __EnumValue { name: String! description: String isDeprecated: Boolean! deprecationReason: String }
type __Directive { name: String! description: String locations: [__DirectiveLocation!]!
  args: [__InputValue!]! isRepeatable: Boolean }
"#;

/// How one field of a type is counted.
#[derive(Debug, Clone)]
struct FieldModel {
    /// The named type it returns (lists unwrapped).
    ty: Name,
    rows: Rows,
    /// A field with `first`: a connection or a paged list.
    paged: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Rows {
    One,
    /// A list counted as this many rows (a stated bound).
    Bound(u64),
    /// A connection's `edges`: the rows its `first` asked for.
    Edges,
    /// A list paged by its own `first`.
    First,
}

/// Each output type's fields, read once from the schema's SDL.
#[derive(Debug, Default)]
pub struct CostModel {
    types: HashMap<Name, HashMap<Name, FieldModel>>,
}

impl CostModel {
    /// The model of the schema printed as `sdl`, with introspection's types.
    pub fn from_sdl(sdl: &str) -> CostModel {
        let mut model = CostModel::default();
        let mut counts = IntrospectionCounts::default();
        for sdl in [sdl, INTROSPECTION_SDL] {
            let Ok(document) = async_graphql::parser::parse_schema(sdl) else {
                continue;
            };
            for definition in document.definitions {
                let TypeSystemDefinition::Type(definition) = definition else {
                    continue;
                };
                let definition = definition.node;
                let type_name = definition.name.node;
                counts.types += 1;
                let fields = match definition.kind {
                    TypeKind::Object(object) => object.fields,
                    TypeKind::Interface(interface) => interface.fields,
                    TypeKind::Enum(enumeration) => {
                        counts.enum_values.add(enumeration.values.len());
                        continue;
                    }
                    TypeKind::InputObject(input) => {
                        counts.input_fields.add(input.fields.len());
                        continue;
                    }
                    TypeKind::Union(union) => {
                        counts.possible_types = counts.possible_types.max(union.members.len());
                        continue;
                    }
                    TypeKind::Scalar => continue,
                };
                counts.fields.add(fields.len());
                let connection = type_name.ends_with("Connection");
                let mut models = HashMap::with_capacity(fields.len());
                for field in fields {
                    let field = field.node;
                    counts.args.add(field.arguments.len());
                    let paged = field
                        .arguments
                        .iter()
                        .any(|argument| argument.node.name.node == "first");
                    let (named, list) = unwrap(&field.ty.node);
                    let rows = match (list, paged, connection) {
                        (false, _, _) => Rows::One,
                        (true, true, _) => Rows::First,
                        (true, false, true) => Rows::Edges,
                        (true, false, false) => Rows::Bound(
                            stated_bound(&type_name, &field.name.node).unwrap_or(UNKNOWN_LIST_ROWS),
                        ),
                    };
                    models.insert(
                        field.name.node,
                        FieldModel {
                            ty: named.clone(),
                            rows,
                            paged,
                        },
                    );
                }
                model.types.insert(type_name, models);
            }
        }
        model.count_introspection(&counts);
        model
    }

    /// Introspection lists weigh what they hold on average in this schema:
    /// answered from memory, and the schema is known.
    fn count_introspection(&mut self, counts: &IntrospectionCounts) {
        let mut set = |type_name: &str, field: &str, rows: usize| {
            if let Some(model) = self
                .types
                .get_mut(type_name)
                .and_then(|fields| fields.get_mut(field))
            {
                model.rows = Rows::Bound(rows.max(1) as u64);
            }
        };
        set("__Schema", "types", counts.types);
        set("__Type", "fields", counts.fields.average());
        set("__Type", "inputFields", counts.input_fields.average());
        set("__Type", "enumValues", counts.enum_values.average());
        set("__Type", "interfaces", 2);
        set("__Type", "possibleTypes", counts.possible_types.max(8));
        set("__Field", "args", counts.args.average());
        set("__Directive", "args", 2);
        if let Some(query) = self.types.get_mut("Query") {
            for (name, ty) in [("__schema", "__Schema"), ("__type", "__Type")] {
                query.insert(
                    Name::new(name),
                    FieldModel {
                        ty: Name::new(ty),
                        rows: Rows::One,
                        paged: false,
                    },
                );
            }
        }
    }

    fn field(&self, type_name: &str, field: &str) -> Option<&FieldModel> {
        self.types.get(type_name)?.get(field)
    }
}

#[derive(Default)]
struct IntrospectionCounts {
    types: usize,
    fields: Average,
    input_fields: Average,
    enum_values: Average,
    args: Average,
    possible_types: usize,
}

#[derive(Default)]
struct Average {
    total: usize,
    of: usize,
}

impl Average {
    fn add(&mut self, n: usize) {
        self.total += n;
        self.of += 1;
    }

    fn average(&self) -> usize {
        self.total.div_ceil(self.of.max(1))
    }
}

/// The named type under any list and non-null wrappers, and whether a list
/// wraps it.
fn unwrap(ty: &Type) -> (&Name, bool) {
    match &ty.base {
        BaseType::Named(name) => (name, false),
        BaseType::List(inner) => (unwrap(inner).0, true),
    }
}

/// What the gate admits.
#[derive(Debug, Clone)]
pub struct GateLimits {
    pub max_depth: u64,
    pub max_aliases: u64,
    pub max_cost: u64,
    /// Field selections of the whole document once fragments are expanded
    /// (what async-graphql's validation walks).
    pub max_fields: u64,
    pub default_page_size: u64,
}

/// An operation's figures, fragments expanded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    /// Fields it may resolve, lists times their rows.
    pub cost: u64,
    /// Field selections once fragments are expanded (rows not counted).
    pub fields: u64,
    pub aliases: u64,
    pub depth: u64,
}

impl Figures {
    fn add(&mut self, other: Figures) {
        self.cost = self.cost.saturating_add(other.cost);
        self.fields = self.fields.saturating_add(other.fields);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.depth = self.depth.max(other.depth);
    }
}

/// What one more row of each unpaged list of the document weighs (its
/// selection's cost), by the list field's place in the document: a list
/// that returns more rows than its stated bound charges the rows beyond it
/// to the operation's cost as it runs (`RowMeter`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowCosts(HashMap<Pos, u64>);

impl RowCosts {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The cost of one row of the list at `pos` (1 for one the walk did
    /// not see).
    pub fn per_row(&self, pos: Pos) -> u64 {
        self.0.get(&pos).copied().unwrap_or(1)
    }
}

/// Why the gate refused a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Fields { max: u64 },
    Depth { max: u64 },
    Aliases { max: u64 },
    Cost { cost: u64, max: u64 },
    FragmentCycle(String),
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        let message = match refusal {
            Refusal::Fields { max } => Message::new(
                format!(
                    "Requête trop grande une fois ses fragments développés : {max} champs au plus."
                ),
                format!("Query too large once its fragments are expanded: {max} fields at most."),
            ),
            Refusal::Depth { max } => Message::new(
                format!("Requête trop imbriquée : {max} niveaux au plus."),
                format!("Query nested too deep: {max} levels at most."),
            ),
            Refusal::Aliases { max } => Message::new(
                format!("Trop d'alias dans la requête : {max} au plus."),
                format!("Too many aliases in the query: {max} at most."),
            ),
            Refusal::Cost { cost, max } => Message::new(
                format!(
                    "Requête trop coûteuse : jusqu'à {cost} champs pour {max} au plus. Demandez moins de lignes (`first`) ou moins de champs."
                ),
                format!(
                    "Query too complex: up to {cost} fields for {max} at most. Ask for fewer rows (`first`) or fewer fields."
                ),
            ),
            Refusal::FragmentCycle(name) => {
                return ApiError::BadInput(Message::new(
                    format!("Le fragment « {name} » s'inclut lui-même."),
                    format!("Fragment \"{name}\" spreads itself."),
                ));
            }
        };
        ApiError::LimitExceeded(message)
    }
}

/// The figures of the operation that will run, once the whole document is
/// known to stay within `limits`, and what its unpaged lists weigh a row.
pub fn admit(
    model: &CostModel,
    limits: &GateLimits,
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
) -> Result<(Figures, RowCosts), Refusal> {
    let mut walk = Walk {
        model,
        document,
        variables,
        default_rows: limits.default_page_size,
        fragments: HashMap::new(),
        visiting: HashSet::new(),
        row_costs: HashMap::new(),
    };
    // async-graphql's validation walks every operation and every fragment
    // definition, expanded: all of it is bounded, not only what runs.
    let mut expanded = 0u64;
    let mut chosen = None::<Figures>;
    for (name, operation) in document.operations.iter() {
        let root = match operation.node.ty {
            async_graphql::parser::types::OperationType::Query => "Query",
            async_graphql::parser::types::OperationType::Mutation => "Mutation",
            async_graphql::parser::types::OperationType::Subscription => "Subscription",
        };
        let figures = walk.selection_set(&operation.node.selection_set.node, root, None)?;
        expanded = expanded.saturating_add(figures.fields);
        let selected = match (&document.operations, operation_name) {
            (DocumentOperations::Single(_), _) => true,
            (DocumentOperations::Multiple(_), Some(wanted)) => name.is_some_and(|n| n == wanted),
            // Several and none named: async-graphql refuses it; count the
            // heaviest meanwhile.
            (DocumentOperations::Multiple(_), None) => chosen.is_none_or(|c| c.cost < figures.cost),
        };
        if selected {
            chosen = Some(figures);
        }
    }
    for (name, fragment) in &document.fragments {
        let figures = walk.fragment(name, None)?;
        let _ = fragment;
        expanded = expanded.saturating_add(figures.fields);
    }
    if expanded > limits.max_fields {
        return Err(Refusal::Fields {
            max: limits.max_fields,
        });
    }
    let figures = chosen.unwrap_or_default();
    if figures.depth > limits.max_depth {
        return Err(Refusal::Depth {
            max: limits.max_depth,
        });
    }
    if figures.aliases > limits.max_aliases {
        return Err(Refusal::Aliases {
            max: limits.max_aliases,
        });
    }
    if figures.cost > limits.max_cost {
        return Err(Refusal::Cost {
            cost: figures.cost,
            max: limits.max_cost,
        });
    }
    Ok((figures, RowCosts(walk.row_costs)))
}

struct Walk<'a> {
    model: &'a CostModel,
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    default_rows: u64,
    /// Each fragment's figures by the rows its enclosing connection asked
    /// for (which its `edges` would multiply by).
    fragments: HashMap<(&'a str, Option<u64>), Figures>,
    visiting: HashSet<&'a str>,
    row_costs: HashMap<Pos, u64>,
}

impl<'a> Walk<'a> {
    /// A selection set on `type_name`; `edge_rows` when it is a
    /// connection's, for its `edges`.
    fn selection_set(
        &mut self,
        set: &'a SelectionSet,
        type_name: &str,
        edge_rows: Option<u64>,
    ) -> Result<Figures, Refusal> {
        let mut figures = Figures::default();
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    figures.add(self.field(field, type_name, edge_rows)?);
                }
                Selection::InlineFragment(inline) => {
                    let inline = &inline.node;
                    let on = inline
                        .type_condition
                        .as_ref()
                        .map_or(type_name, |condition| condition.node.on.node.as_str());
                    figures.add(self.selection_set(&inline.selection_set.node, on, edge_rows)?);
                }
                Selection::FragmentSpread(spread) => {
                    figures.add(self.fragment(&spread.node.fragment_name.node, edge_rows)?);
                }
            }
        }
        Ok(figures)
    }

    fn fragment(&mut self, name: &'a str, edge_rows: Option<u64>) -> Result<Figures, Refusal> {
        if let Some(figures) = self.fragments.get(&(name, edge_rows)) {
            return Ok(*figures);
        }
        // Unknown: validation says so, and it weighs nothing meanwhile.
        let Some(fragment) = self.document.fragments.get(name) else {
            return Ok(Figures::default());
        };
        if !self.visiting.insert(name) {
            return Err(Refusal::FragmentCycle(name.to_owned()));
        }
        let on = fragment.node.type_condition.node.on.node.as_str();
        let figures = self.selection_set(&fragment.node.selection_set.node, on, edge_rows)?;
        self.visiting.remove(name);
        self.fragments.insert((name, edge_rows), figures);
        Ok(figures)
    }

    fn field(
        &mut self,
        positioned: &'a Positioned<Field>,
        type_name: &str,
        edge_rows: Option<u64>,
    ) -> Result<Figures, Refusal> {
        let field = &positioned.node;
        let model = self.model.field(type_name, &field.name.node);
        let mut weight = 1u64;
        if field.name.node == "totalCount" {
            weight += TOTAL_COUNT_COST;
        }
        if field.get_argument("search").is_some() {
            weight += SEARCH_COST;
        }
        // A field the schema lacks: validation refuses it; its selection
        // is still walked, each field of it counted once.
        let (child_type, rows, child_edge_rows) = match model {
            None => ("", 1, None),
            Some(model) => {
                let first = model.paged.then(|| self.first(field));
                let rows = match model.rows {
                    Rows::One => 1,
                    Rows::Bound(rows) => rows,
                    Rows::Edges => edge_rows.unwrap_or(self.default_rows),
                    Rows::First => first.unwrap_or(self.default_rows),
                };
                let child_edge_rows = match model.rows {
                    Rows::One => first,
                    _ => None,
                };
                (model.ty.as_str(), rows, child_edge_rows)
            }
        };
        let child = self.selection_set(&field.selection_set.node, child_type, child_edge_rows)?;
        if model.is_some_and(|model| matches!(model.rows, Rows::Bound(_))) {
            self.row_costs.insert(positioned.pos, child.cost.max(1));
        }
        Ok(Figures {
            cost: weight.saturating_add(rows.saturating_mul(child.cost)),
            fields: 1u64.saturating_add(child.fields),
            aliases: u64::from(field.alias.is_some()).saturating_add(child.aliases),
            depth: child.depth + 1,
        })
    }

    /// The rows a `first` asks for; omitted, null or unreadable: the
    /// default page (the resolver refuses what is unreadable).
    fn first(&self, field: &Field) -> u64 {
        let value = field.get_argument("first").and_then(|value| {
            value
                .node
                .clone()
                .into_const_with(|name| self.variables.get(&name).cloned().ok_or(()))
                .ok()
        });
        match value {
            Some(Value::Number(n)) => {
                n.as_u64()
                    .unwrap_or(if n.as_i64().is_some() { 0 } else { u64::MAX })
            }
            _ => self.default_rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> CostModel {
        CostModel::from_sdl(&crate::graphql::sdl())
    }

    fn limits() -> GateLimits {
        GateLimits {
            max_depth: 16,
            max_aliases: 100,
            max_cost: 500_000,
            max_fields: 5_000,
            default_page_size: 100,
        }
    }

    fn figures(query: &str) -> Result<Figures, Refusal> {
        figures_with(query, Variables::default())
    }

    fn figures_with(query: &str, variables: Variables) -> Result<Figures, Refusal> {
        let document = async_graphql::parser::parse_query(query).expect("parses");
        admit(&model(), &limits(), &document, None, &variables).map(|(figures, _)| figures)
    }

    /// `query { ...F0 } fragment F0 on Query { ...F1 ...F1 } ... fragment
    /// F{levels} on Query { __typename }`, each spread `fan_out` times.
    fn fan_out(levels: usize, fan_out: usize) -> String {
        let mut query = String::from("query { ...F0 }");
        for level in 0..levels {
            let spread = format!(" ...F{}", level + 1);
            query.push_str(&format!(
                " fragment F{level} on Query {{{} }}",
                spread.repeat(fan_out)
            ));
        }
        query.push_str(&format!(" fragment F{levels} on Query {{ __typename }}"));
        query
    }

    #[test]
    fn a_fragment_fan_out_is_counted_as_expanded_without_expanding_it() {
        // 2^10 = 1,024 expanded fields: admitted, counted exactly.
        let admitted = figures(&fan_out(10, 2)).unwrap();
        assert_eq!(admitted.fields, 1_024);
        assert_eq!(admitted.cost, 1_024);
        // 2^13 is over 5,000; 3^40 saturates: both refused at once.
        assert_eq!(
            figures(&fan_out(13, 2)),
            Err(Refusal::Fields { max: 5_000 })
        );
        let started = std::time::Instant::now();
        assert_eq!(
            figures(&fan_out(40, 3)),
            Err(Refusal::Fields { max: 5_000 })
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn unused_fragments_and_other_operations_are_bounded_too() {
        let unused = fan_out(20, 2).replacen("query { ...F0 }", "query { __typename }", 1);
        assert_eq!(figures(&unused), Err(Refusal::Fields { max: 5_000 }));
    }

    #[test]
    fn a_fragment_cycle_is_refused() {
        let query = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
        assert!(matches!(figures(query), Err(Refusal::FragmentCycle(_))));
    }

    #[test]
    fn lists_weigh_their_rows_at_every_depth() {
        // A connection weighs 1, its `edges` 1 + rows × its selection:
        // clients 1 + edges (1 + 10 × node (1 + name 1 + servicePoints 1 +
        // edges (1 + 5 × node (1 + occupants (1 + 20 × phone 1))))).
        let query = "{ clients(first: 10) { edges { node { name servicePoints(first: 5) {
            edges { node { occupants { phone } } } } } } } }";
        let admitted = figures(query).unwrap();
        assert_eq!(
            admitted.cost,
            1 + 1 + 10 * (1 + 1 + 1 + 1 + 5 * (1 + 1 + 20))
        );
        assert_eq!(admitted.depth, 8);
        // A count is paid once, not per row.
        let counted = figures("{ clients(first: 500) { totalCount } }").unwrap();
        assert_eq!(counted.cost, 1 + 1 + TOTAL_COUNT_COST);
        // An omitted `first` is the default page; a variable is read.
        let default = figures("{ clients { edges { cursor } } }").unwrap();
        assert_eq!(default.cost, 1 + 1 + 100);
        let variables = Variables::from_json(serde_json::json!({"n": 3}));
        let read = figures_with(
            "query($n: Int) { clients(first: $n) { edges { cursor } } }",
            variables,
        )
        .unwrap();
        assert_eq!(read.cost, 1 + 1 + 3);
    }

    #[test]
    fn a_cycle_through_unpaged_lists_multiplies() {
        let query = "{ sectors { alertRecipients { servicePoint { sectors {
            alertRecipients { phone } } } } } }";
        // 100 × 1,000 × 5 × 1,000 recipients at the bottom.
        assert!(matches!(
            figures(query),
            Err(Refusal::Cost { cost, .. }) if cost > 500_000_000
        ));
    }

    #[test]
    fn the_same_fragment_in_a_connection_multiplies_by_its_rows() {
        let query = "{ a: clients(first: 2) { ...C } b: clients(first: 50) { ...C } }
            fragment C on ClientConnection { edges { node { name } } }";
        let admitted = figures(query).unwrap();
        assert_eq!(admitted.cost, (1 + 1 + 2 * 2) + (1 + 1 + 50 * 2));
        assert_eq!(admitted.aliases, 2);
    }

    #[test]
    fn each_unpaged_list_knows_what_a_row_weighs() {
        let query = "{ sectors { name alertRecipients { phone servicePoint { fullAddress } } } }";
        let document = async_graphql::parser::parse_query(query).unwrap();
        let (_, costs) =
            admit(&model(), &limits(), &document, None, &Variables::default()).unwrap();
        // `sectors` at line 1, column 3: name 1 + alertRecipients (1 + 1,000
        // × 3); `alertRecipients` at column 18: phone 1 + servicePoint 2.
        assert_eq!(costs.per_row(Pos { line: 1, column: 3 }), 1 + 1 + 1_000 * 3);
        assert_eq!(
            costs.per_row(Pos {
                line: 1,
                column: 18
            }),
            3
        );
        assert_eq!(costs.per_row(Pos { line: 9, column: 9 }), 1);
    }

    #[test]
    fn graphiqls_introspection_stays_well_within_the_defaults() {
        let admitted = figures(INTROSPECTION).unwrap();
        assert!(admitted.cost < 100_000, "{admitted:?}");
        assert!(admitted.depth <= 13, "{admitted:?}");
    }

    /// The query GraphiQL sends on load (graphql-js `getIntrospectionQuery`).
    const INTROSPECTION: &str = include_str!("../../tests/fixtures/introspection.graphql");
}
