//! A [`Plan`] as one PostgreSQL statement that writes the response's
//! `data` as JSON text, byte for byte what the resolvers would write, with
//! the rows its unpaged lists hold past their bound (what the row meter
//! would charge). `$1` is the organization, every table filtered on it
//! by the tenant helpers' [`owned_by_first_parameter`].
//!
//! Each connection is a page of its table (`ORDER BY id LIMIT first`)
//! aggregated into one text, its nested connections and lists joined
//! laterally per row. Text is written with `concat` and `to_json` (which
//! escapes as serde_json does: the same short escapes, `\u00XX` in lower
//! case for the other control characters, everything else as it is);
//! `json_build_object` would put spaces after every colon and comma, and
//! `jsonb` would reorder the keys. `string_agg` is given its rows by a
//! sorted subquery through nested loops, which keep that order: an
//! `ORDER BY` inside it sorts each list again, an eighth of the statement.

use std::fmt::Write as _;

use uuid::Uuid;

use crate::service::owned_by_first_parameter;

use super::plan::{
    ClientField, Connection, ConnectionField, EdgeField, OccupantField, Occupants, PageInfoField,
    Plan, PointField, RecordField, RootField, occupants_bound,
};

/// The statement answering `plan`: one row of `data` (text) and `extra`
/// (bigint).
pub fn statement(plan: &Plan) -> String {
    let mut writer = Writer {
        lateral: 0,
        budget: plan.budget,
    };
    let mut data = Json::default();
    let mut joins = Joins::default();
    data.literal("{");
    for (index, (key, field)) in plan.fields.iter().enumerate() {
        data.key(index, key);
        let lateral = match field {
            RootField::Typename => {
                data.literal("\"Query\"");
                continue;
            }
            RootField::Clients(clients) => writer.connection(clients, None),
            RootField::ServicePoints(points) => writer.connection(points, None),
        };
        data.value(format!("{}.json", joins.add(lateral)));
    }
    data.literal("}");
    format!(
        "SELECT {} AS data, ({})::bigint AS extra FROM (SELECT 1) AS one{}",
        data.finish(),
        joins.extra(),
        joins.sql
    )
}

/// Text made of literal pieces and SQL expressions: one `concat(...)`.
#[derive(Default)]
struct Json {
    args: Vec<String>,
    literal: String,
}

impl Json {
    fn literal(&mut self, text: &str) {
        self.literal.push_str(text);
    }

    /// `,"key":` (no comma before the first).
    fn key(&mut self, index: usize, key: &str) {
        if index > 0 {
            self.literal.push(',');
        }
        // A response key is a GraphQL name: `[_A-Za-z][_0-9A-Za-z]*`.
        let _ = write!(self.literal, "\"{key}\":");
    }

    fn value(&mut self, expression: String) {
        self.flush();
        self.args.push(expression);
    }

    fn flush(&mut self) {
        if !self.literal.is_empty() {
            let text = std::mem::take(&mut self.literal);
            self.args.push(format!("'{}'", text.replace('\'', "''")));
        }
    }

    fn finish(mut self) -> String {
        self.flush();
        concat(self.args)
    }
}

/// The most arguments one `concat` is given: PostgreSQL takes 100 at most
/// (`FUNC_MAX_ARGS`).
const MAX_CONCAT: usize = 90;

/// `args` joined: one `concat`, or `concat`s of `concat`s past
/// [`MAX_CONCAT`].
fn concat(mut args: Vec<String>) -> String {
    while args.len() > MAX_CONCAT {
        args = args
            .chunks(MAX_CONCAT)
            .map(|chunk| format!("concat({})", chunk.join(", ")))
            .collect();
    }
    match args.len() {
        1 => args.remove(0),
        _ => format!("concat({})", args.join(", ")),
    }
}

/// The lateral subqueries of one level, each one row of `json` and
/// `extra`.
#[derive(Default)]
struct Joins {
    sql: String,
    aliases: Vec<String>,
}

impl Joins {
    fn add(&mut self, (alias, subquery): (String, String)) -> String {
        let _ = write!(self.sql, " CROSS JOIN LATERAL ({subquery}) AS {alias}");
        self.aliases.push(alias.clone());
        alias
    }

    /// Their `extra`s added up, row by row.
    fn extra(&self) -> String {
        let mut sum = String::from("0");
        for alias in &self.aliases {
            let _ = write!(sum, " + {alias}.extra");
        }
        sum
    }
}

/// A table a connection pages through, and the records of its nodes.
trait Node {
    const TABLE: &'static str;
    const KIND: &'static str;
    const CONNECTION: &'static str;
    const EDGE: &'static str;

    /// Writes this field's value for `row`, reading the columns it needs.
    fn write(&self, writer: &mut Writer, row: &mut Row, json: &mut Json, joins: &mut Joins);
}

/// The rows of a subquery (`alias`), and the columns their fields read.
struct Row {
    alias: String,
    columns: Vec<&'static str>,
}

impl Row {
    /// Rows read by `alias`, their `id` always among the columns.
    fn new(alias: String) -> Row {
        Row {
            alias,
            columns: vec!["id"],
        }
    }

    /// `alias.name`, a column read.
    fn column(&mut self, name: &'static str) -> String {
        self.columns.push(name);
        format!("{}.{name}", self.alias)
    }

    /// The columns read, as the select list of the table `t`.
    fn select_list(mut self) -> String {
        self.columns.sort_unstable();
        self.columns.dedup();
        let columns: Vec<String> = self.columns.iter().map(|c| format!("t.{c}")).collect();
        columns.join(", ")
    }
}

struct Writer {
    lateral: usize,
    budget: u64,
}

impl Writer {
    /// A fresh alias for a lateral subquery.
    fn next(&mut self) -> String {
        self.lateral += 1;
        format!("l{}", self.lateral)
    }

    /// A page of `N`'s table (under the row `parent` names, as
    /// `t.column = parent.id`) as `(alias, subquery)`.
    fn connection<N: Node>(
        &mut self,
        connection: &Connection<N>,
        parent: Option<(&str, &str)>,
    ) -> (String, String) {
        let alias = self.next();
        let mut page = Row::new(format!("{alias}p"));
        let owned = |table_alias: &str| {
            let mut filter = owned_by_first_parameter(table_alias);
            if let Some((column, parent)) = parent {
                let _ = write!(filter, " AND {table_alias}.{column} = {parent}.id");
            }
            filter
        };
        let after = |table_alias: &str| match connection.after {
            Some(after) => format!(
                "{} AND {table_alias}.id > {}",
                owned(table_alias),
                uuid(after)
            ),
            None => owned(table_alias),
        };
        let mut json = Json::default();
        let mut joins = Joins::default();
        json.literal("{");
        for (index, (key, field)) in connection.fields.iter().enumerate() {
            json.key(index, key);
            match field {
                ConnectionField::Typename => json.literal(&format!("\"{}\"", N::CONNECTION)),
                ConnectionField::TotalCount => json.value(format!(
                    "(SELECT count(*) FROM {} AS x WHERE {})",
                    N::TABLE,
                    owned("x")
                )),
                ConnectionField::PageInfo(fields) => {
                    json.literal("{");
                    for (index, (key, field)) in fields.iter().enumerate() {
                        json.key(index, key);
                        match field {
                            PageInfoField::Typename => json.literal("\"PageInfo\""),
                            PageInfoField::HasNextPage => json.value(format!(
                                "CASE WHEN (SELECT count(*) FROM (SELECT 1 FROM {} AS x WHERE {} LIMIT {}) AS more) > {} THEN 'true' ELSE 'false' END",
                                N::TABLE,
                                after("x"),
                                connection.first.saturating_add(1),
                                connection.first
                            )),
                            // The last id of the page: a uuid's text sorts
                            // as its bytes.
                            PageInfoField::EndCursor => json.value(format!(
                                "coalesce('\"' || {} || '\"', 'null')",
                                cursor(&format!("max({}::text)::uuid", page.column("id")))
                            )),
                        }
                    }
                    json.literal("}");
                }
                ConnectionField::Edges(fields) => {
                    let mut edge = Json::default();
                    edge.literal("{");
                    for (index, (key, field)) in fields.iter().enumerate() {
                        edge.key(index, key);
                        match field {
                            EdgeField::Typename => edge.literal(&format!("\"{}\"", N::EDGE)),
                            EdgeField::Cursor => edge.value(format!(
                                "concat('\"', {}, '\"')",
                                cursor(&page.column("id"))
                            )),
                            EdgeField::Node(fields) => {
                                edge.literal("{");
                                for (index, (key, field)) in fields.iter().enumerate() {
                                    edge.key(index, key);
                                    field.write(self, &mut page, &mut edge, &mut joins);
                                }
                                edge.literal("}");
                            }
                        }
                    }
                    edge.literal("}");
                    json.literal("[");
                    json.value(format!("string_agg({}, ',')", edge.finish()));
                    json.literal("]");
                }
            }
        }
        json.literal("}");
        let page_alias = page.alias.clone();
        let subquery = format!(
            "SELECT {} AS json, coalesce(sum({}), 0) AS extra FROM (SELECT {} FROM {} AS t WHERE {} ORDER BY t.id LIMIT {}) AS {page_alias}{}",
            json.finish(),
            joins.extra(),
            page.select_list(),
            N::TABLE,
            after("t"),
            connection.first,
            joins.sql
        );
        (alias, subquery)
    }

    /// A point's occupants, all of them up to what the budget allows (one
    /// more tells it was passed).
    fn occupants(&mut self, occupants: &Occupants, point: &str) -> (String, String) {
        let alias = self.next();
        let mut rows = Row::new(format!("{alias}o"));
        let bound = occupants_bound();
        let most = bound
            .saturating_add(self.budget / occupants.per_row)
            .saturating_add(1)
            .min(i64::MAX as u64);
        let mut json = Json::default();
        json.literal("{");
        for (index, (key, field)) in occupants.fields.iter().enumerate() {
            json.key(index, key);
            let mut column = |name| rows.column(name);
            match field {
                OccupantField::Typename => json.literal("\"Occupant\""),
                OccupantField::Record(field) => {
                    let value = match field {
                        RecordField::Id => global_id("Occupant", &column("id")),
                        RecordField::FirstName => nullable(&column("first_name")),
                        RecordField::LastName => nullable(&column("last_name")),
                        RecordField::Phone => text(&column("phone")),
                        RecordField::ContactMethod => text(&column("contact_method")),
                        RecordField::Notes => nullable(&column("notes")),
                        RecordField::Language => text(&column("language")),
                        RecordField::CreatedAt => timestamp(&column("created_at")),
                        RecordField::UpdatedAt => timestamp(&column("updated_at")),
                    };
                    json.value(value);
                }
                OccupantField::ConsentStatus => {
                    let phone = column("phone");
                    json.value(format!(
                        "coalesce((SELECT CASE WHEN c.opted_out_at IS NULL THEN to_json(c.consent)::text ELSE '\"OPTED_OUT\"' END {}), '\"UNKNOWN\"')",
                        consent_of(&phone)
                    ))
                }
                OccupantField::OptedOutAt => {
                    let phone = column("phone");
                    json.value(format!(
                        "coalesce((SELECT {} {}), 'null')",
                        timestamp("c.opted_out_at"),
                        consent_of(&phone)
                    ))
                }
            }
        }
        json.literal("}");
        let rows_alias = rows.alias.clone();
        let subquery = format!(
            "SELECT concat('[', string_agg({}, ','), ']') AS json, greatest(count(*) - {bound}, 0) * {} AS extra FROM (SELECT {} FROM occupant AS t WHERE {} AND t.service_point_id = {point}.id ORDER BY t.id LIMIT {most}) AS {rows_alias}",
            json.finish(),
            occupants.per_row,
            rows.select_list(),
            owned_by_first_parameter("t"),
        );
        (alias, subquery)
    }
}

/// A uuid as an SQL literal.
fn uuid(id: Uuid) -> String {
    format!("'{id}'::uuid")
}

/// `base64url` without padding, as [`crate::graphql::id`] writes it.
fn base64url(bytes: &str) -> String {
    format!("translate(encode({bytes}, 'base64'), E'+/=\\n', '-_')")
}

/// The cursor of the record whose id `id` is.
fn cursor(id: &str) -> String {
    base64url(&format!("uuid_send({id})"))
}

/// A global ID, `base64url("Kind:<uuid without hyphens>")`, as a JSON
/// string.
fn global_id(kind: &str, id: &str) -> String {
    let text = format!("convert_to(concat('{kind}:', replace({id}::text, '-', '')), 'UTF8')");
    format!("concat('\"', {}, '\"')", base64url(&text))
}

/// `FROM` the organization's consent of the phone `phone` (one row at
/// most: its key), as `c`.
fn consent_of(phone: &str) -> String {
    format!(
        "FROM phone_consent AS c WHERE {} AND c.phone = {phone}",
        owned_by_first_parameter("c")
    )
}

/// A `timestamptz` as a JSON string in chrono's RFC 3339 (async-graphql's
/// `DateTime`): UTC as `+00:00`, the fraction of a second only when there
/// is one, in milliseconds when it is whole ones, else in microseconds
/// (PostgreSQL keeps no finer); NULL stays NULL.
fn timestamp(column: &str) -> String {
    let utc = format!("({column} AT TIME ZONE 'UTC')");
    let micros = format!("(extract(microseconds FROM {utc})::bigint % 1000000)");
    format!(
        "('\"' || to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN {micros} = 0 THEN '' WHEN {micros} % 1000 = 0 THEN to_char({utc}, '.MS') ELSE to_char({utc}, '.US') END || '+00:00\"')"
    )
}

fn text(column: &str) -> String {
    format!("to_json({column})")
}

fn nullable(column: &str) -> String {
    format!("coalesce(to_json({column})::text, 'null')")
}

impl Node for ClientField {
    const TABLE: &'static str = "client";
    const KIND: &'static str = "Client";
    const CONNECTION: &'static str = "ClientConnection";
    const EDGE: &'static str = "ClientEdge";

    fn write(&self, writer: &mut Writer, row: &mut Row, json: &mut Json, joins: &mut Joins) {
        match self {
            ClientField::Typename => json.literal(&format!("\"{}\"", Self::KIND)),
            ClientField::Id => json.value(global_id(Self::KIND, &row.column("id"))),
            ClientField::ExternalId => json.value(text(&row.column("external_id"))),
            ClientField::Name => json.value(nullable(&row.column("name"))),
            ClientField::ServicePoints(points) => {
                let lateral = writer.connection(points, Some(("client_id", &row.alias)));
                let alias = joins.add(lateral);
                json.value(format!("{alias}.json"));
            }
            ClientField::CreatedAt => json.value(timestamp(&row.column("created_at"))),
            ClientField::UpdatedAt => json.value(timestamp(&row.column("updated_at"))),
        }
    }
}

impl Node for PointField {
    const TABLE: &'static str = "service_point";
    const KIND: &'static str = "ServicePoint";
    const CONNECTION: &'static str = "ServicePointConnection";
    const EDGE: &'static str = "ServicePointEdge";

    fn write(&self, writer: &mut Writer, row: &mut Row, json: &mut Json, joins: &mut Joins) {
        let mut column = |name| row.column(name);
        match self {
            PointField::Typename => json.literal(&format!("\"{}\"", Self::KIND)),
            PointField::Id => json.value(global_id(Self::KIND, &column("id"))),
            PointField::AddressLine1 => json.value(text(&column("address_line1"))),
            PointField::City => json.value(nullable(&column("city"))),
            PointField::Province => json.value(nullable(&column("province"))),
            PointField::PostalCode => json.value(nullable(&column("postal_code"))),
            // `domain::full_address`: the parts present, joined by ", ".
            PointField::FullAddress => json.value(text(&format!(
                "concat_ws(', ', {}, {}, {}, {})",
                column("address_line1"),
                column("city"),
                column("province"),
                column("postal_code")
            ))),
            PointField::GeocodeStatus => json.value(text(&column("geocode_status"))),
            PointField::Occupants(occupants) => {
                let alias = joins.add(writer.occupants(occupants, &row.alias));
                json.value(format!("{alias}.json"));
            }
            PointField::CreatedAt => json.value(timestamp(&column("created_at"))),
            PointField::UpdatedAt => json.value(timestamp(&column("updated_at"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many arguments the widest call of `sql` is given.
    fn widest_call(sql: &str) -> usize {
        let mut open: Vec<usize> = Vec::new();
        let mut widest = 0;
        let mut quoted = false;
        for byte in sql.bytes() {
            match (quoted, byte) {
                (_, b'\'') => quoted = !quoted,
                (true, _) => {}
                (false, b'(') => open.push(1),
                (false, b',') => {
                    if let Some(count) = open.last_mut() {
                        *count += 1;
                    }
                }
                (false, b')') => widest = widest.max(open.pop().unwrap_or(0)),
                _ => {}
            }
        }
        widest
    }

    #[test]
    fn a_wide_selection_is_written_in_calls_postgresql_takes() {
        let names: Vec<(String, ClientField)> = (0..300)
            .map(|i| (format!("a{i}"), ClientField::ExternalId))
            .collect();
        let plan = Plan {
            fields: vec![(
                "clients".to_owned(),
                RootField::Clients(Connection {
                    first: 1,
                    after: None,
                    fields: vec![(
                        "edges".to_owned(),
                        ConnectionField::Edges(vec![("node".to_owned(), EdgeField::Node(names))]),
                    )],
                }),
            )],
            budget: 0,
        };
        let sql = statement(&plan);
        assert!(widest_call(&sql) <= 100, "{}", widest_call(&sql));
        assert_eq!(sql.matches("to_json(l1p.external_id)").count(), 300);
        assert!(sql.contains("\"a299\":"));
    }
}
