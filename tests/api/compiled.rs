//! Reads answered by one statement (PostgreSQL, an operation seen before)
//! answer byte for byte what the resolvers answer the first time: every
//! field a plan covers, aliases, variables and their defaults, pages and
//! cursors, messy text, another organization's rows, the row meter's
//! budget. On SQLite both answers come from the resolvers, and must agree
//! all the same.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

/// Whether an answer came from a plan, by the statements SeaORM ran for
/// it: none (a plan's statement goes through sqlx directly), where the
/// resolvers run at least one.
fn planned(statements: &[String]) -> bool {
    statements.is_empty()
}

/// Plans answer on PostgreSQL only.
fn plans_answer(app: &TestApp) -> bool {
    app.sqlite_url().is_none()
}

/// The body of `query` sent once (validated in full, answered by the
/// resolvers) and again (answered by its plan on PostgreSQL): both, as
/// bytes, must be the same; the second's statement count is checked.
async fn twice(app: &TestApp, query: &str, variables: Value) -> Value {
    let (first, second) = both(app, query, variables).await;
    assert_eq!(
        String::from_utf8_lossy(&second),
        String::from_utf8_lossy(&first),
        "{query}"
    );
    serde_json::from_slice(&first).unwrap()
}

/// The same, for several root fields: async-graphql writes those in the
/// order they finish (a plan, in the order asked, as GraphQL says), so
/// only the values must be the same.
async fn twice_any_root_order(app: &TestApp, query: &str, variables: Value) -> Value {
    let (first, second) = both(app, query, variables).await;
    let first: Value = serde_json::from_slice(&first).unwrap();
    let second: Value = serde_json::from_slice(&second).unwrap();
    assert_eq!(second, first, "{query}");
    first
}

async fn both(app: &TestApp, query: &str, variables: Value) -> (Vec<u8>, Vec<u8>) {
    let body = json!({"query": query, "variables": variables});
    let first = app.post_graphql(Some(&app.token), body.clone(), None).await;
    let first = first.bytes().await.unwrap();
    app.reset_statements();
    let second = app.post_graphql(Some(&app.token), body, None).await;
    assert_eq!(second.status(), 200);
    let second = second.bytes().await.unwrap();
    let statements = app.statements();
    assert_eq!(
        planned(&statements),
        plans_answer(app),
        "{query}: {statements:#?}"
    );
    (first.to_vec(), second.to_vec())
}

/// An operation refused the same way twice: the second answer, and the
/// statements it ran.
async fn refused_twice(app: &TestApp, query: &str) -> (Value, Vec<String>) {
    let first = app.graphql(query, json!({})).await;
    app.reset_statements();
    let second = app.graphql(query, json!({})).await;
    assert_eq!(second, first, "{query}");
    assert!(second.get("errors").is_some(), "{second}");
    (second, app.statements())
}

/// Three clients: one with two points (the first with three occupants,
/// the second with none), one without points, one with a point whose
/// texts hold what JSON must escape; their ids in creation order.
async fn seed(app: &TestApp) -> Vec<String> {
    let first = app
        .create_client("C-1", Some("Société Tremblay \"père\" & fils"))
        .await;
    let second = app.create_client("C-2", None).await;
    let third = app
        .create_client("C\\3 — ☃ 🚜", Some("tab\there, line\nthere"))
        .await;
    let point = app
        .create_service_point(
            &first,
            json!({"addressLine1": "1 rue A", "city": "Québec", "province": "QC", "postalCode": "G1K 1A1"}),
        )
        .await;
    app.create_service_point(&first, json!({"addressLine1": "2 rue B"}))
        .await;
    let messy = app
        .create_service_point(
            &third,
            json!({"addressLine1": "3 chemin d'l'Église", "city": "Saint-Zénon"}),
        )
        .await;
    for (phone, method) in [("418-555-0101", "SMS"), ("418-555-0102", "CALL")] {
        app.create_occupant(&point, phone, method).await;
    }
    app.data(
        "mutation($input: CreateOccupantInput!) { createOccupant(input: $input) { id } }",
        json!({"input": {
            "servicePointId": point, "phone": "581-555-0103", "contactMethod": "SMS",
            "firstName": "Zoé", "lastName": "O'Neil", "notes": "chien \"méchant\"\\ 🐕", "language": "EN"
        }}),
    )
    .await;
    app.create_occupant(&messy, "819-555-0104", "CALL").await;
    vec![first, second, third]
}

const EVERY_FIELD: &str = "{ __typename clients(first: 3) { __typename totalCount
    pageInfo { __typename hasNextPage endCursor }
    edges { __typename cursor node { __typename id externalId name createdAt updatedAt
        servicePoints(first: 5) { __typename totalCount pageInfo { hasNextPage endCursor __typename }
            edges { __typename cursor node { __typename id addressLine1 city province postalCode
                fullAddress geocodeStatus createdAt updatedAt
                occupants { __typename id firstName lastName phone contactMethod notes language
                    consentStatus optedOutAt createdAt updatedAt } } } } } } } }";

/// Creation dates to the second, the millisecond and the microsecond
/// (chrono writes the fraction only as long as it needs), and what two
/// phones answered:
/// one consent pending, one unsubscribed to the microsecond.
async fn date_and_consent(app: &TestApp) {
    use chrono::{Duration, TimeZone, Utc};
    use entity::values::Consent;
    use entity::{client, phone_consent};
    use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set};

    let clients = client::Entity::find()
        .order_by_asc(client::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    let whole = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
    let dates = [
        whole,
        whole + Duration::milliseconds(123),
        whole + Duration::microseconds(456_789),
    ];
    for (model, at) in clients.iter().zip(dates) {
        client::ActiveModel {
            id: Set(model.id),
            created_at: Set(at),
            ..Default::default()
        }
        .update(&app.db)
        .await
        .unwrap();
    }
    let answers = [
        ("418-555-0101", Consent::Pending, None),
        (
            "418-555-0102",
            Consent::Accepted,
            Some(whole + Duration::microseconds(8)),
        ),
    ];
    for (phone, consent, opted_out_at) in answers {
        phone_consent::ActiveModel {
            organization_id: Set(clients[0].organization_id),
            phone: Set(phone.to_owned()),
            consent: Set(consent),
            opted_out_at: Set(opted_out_at),
            consent_requested_at: Set(None),
            consent_answered_at: Set(None),
            updated_at: Set(whole),
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn a_read_seen_before_is_answered_by_one_statement_as_the_resolvers_answer_it() {
    let app = spawn_app().await;
    let clients = seed(&app).await;
    date_and_consent(&app).await;

    let data = twice(&app, EVERY_FIELD, json!({})).await;
    let connection = &data["data"]["clients"];
    assert_eq!(connection["totalCount"], 3);
    assert_eq!(connection["pageInfo"]["hasNextPage"], false);
    let nodes: Vec<&Value> = connection["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| &edge["node"])
        .collect();
    let ids: Vec<&str> = nodes.iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert_eq!(ids, clients.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(nodes[2]["externalId"], "C\\3 — ☃ 🚜");
    assert_eq!(nodes[2]["name"], "tab here, line there");
    assert_eq!(nodes[1]["servicePoints"]["edges"], json!([]));
    let points = &nodes[0]["servicePoints"];
    assert_eq!(points["totalCount"], 2);
    let first_point = &points["edges"][0]["node"];
    assert_eq!(first_point["fullAddress"], "1 rue A, Québec, QC, G1K 1A1");
    assert_eq!(points["edges"][1]["node"]["occupants"], json!([]));
    let occupants = first_point["occupants"].as_array().unwrap();
    assert_eq!(occupants.len(), 3);
    assert_eq!(occupants[2]["notes"], "chien \"méchant\"\\ 🐕");
    assert_eq!(occupants[2]["language"], "EN");
    assert_eq!(occupants[1]["contactMethod"], "CALL");
    assert_eq!(nodes[0]["createdAt"], "2026-01-02T03:04:05+00:00");
    assert_eq!(nodes[1]["createdAt"], "2026-01-02T03:04:05.123+00:00");
    assert_eq!(nodes[2]["createdAt"], "2026-01-02T03:04:05.456789+00:00");
    let consent: Vec<(&Value, &Value)> = occupants
        .iter()
        .map(|o| (&o["consentStatus"], &o["optedOutAt"]))
        .collect();
    assert_eq!(
        consent,
        [
            (&json!("PENDING"), &Value::Null),
            (
                &json!("OPTED_OUT"),
                &json!("2026-01-02T03:04:05.000008+00:00")
            ),
            (&json!("UNKNOWN"), &Value::Null)
        ]
    );

    // Pages: the first two, then past the second's cursor, then none,
    // and the default page.
    let page = "query($first: Int, $after: String) { clients(first: $first, after: $after) {
        pageInfo { hasNextPage endCursor } edges { cursor node { externalId } } } }";
    let first_two = twice(&app, page, json!({"first": 2})).await;
    let info = &first_two["data"]["clients"]["pageInfo"];
    assert_eq!(info["hasNextPage"], true);
    let cursor = info["endCursor"].as_str().unwrap().to_owned();
    assert_eq!(first_two["data"]["clients"]["edges"][1]["cursor"], cursor);
    let rest = twice(&app, page, json!({"first": 2, "after": cursor})).await;
    assert_eq!(
        rest["data"]["clients"]["edges"][0]["node"]["externalId"],
        "C\\3 — ☃ 🚜"
    );
    assert_eq!(rest["data"]["clients"]["pageInfo"]["hasNextPage"], false);
    let none = twice(&app, page, json!({"first": 0})).await;
    assert_eq!(
        none["data"]["clients"],
        json!({"pageInfo": {"hasNextPage": true, "endCursor": null}, "edges": []})
    );
    let default = twice(&app, page, json!({})).await;
    assert_eq!(
        default["data"]["clients"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // The organization's points, a page at a time.
    let points = "{ servicePoints(first: 2) { totalCount pageInfo { hasNextPage endCursor }
        edges { cursor node { id addressLine1 fullAddress geocodeStatus occupants { phone language } } } } }";
    let data = twice(&app, points, json!({})).await;
    let points = &data["data"]["servicePoints"];
    assert_eq!(points["totalCount"], 3);
    assert_eq!(points["pageInfo"]["hasNextPage"], true);
    assert_eq!(points["edges"][1]["node"]["fullAddress"], "2 rue B");

    // Aliases, a variable's default, a page of points past a cursor.
    let aliased = "query($n: Int = 1) { a: clients(first: $n) { e: edges { n: node {
        x: externalId p: servicePoints(first: 1) { i: pageInfo { more: hasNextPage } e: edges { c: cursor } } } } }
        b: clients { t: totalCount } k: __typename }";
    let data = twice_any_root_order(&app, aliased, json!({})).await;
    assert_eq!(data["data"]["a"]["e"][0]["n"]["x"], "C-1");
    assert_eq!(data["data"]["a"]["e"][0]["n"]["p"]["i"]["more"], true);
    assert_eq!(data["data"]["b"]["t"], 3);
    assert_eq!(data["data"]["k"], "Query");
}

/// Texts reach the database cleaned of control characters, but a plan's
/// escaping must not depend on it: PostgreSQL's `to_json` writes every
/// character as serde_json does.
#[tokio::test]
async fn postgresql_escapes_text_as_serde_json_does() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let app = spawn_app().await;
    if !plans_answer(&app) {
        return;
    }
    let text: String = (1..=0x7f_u8)
        .map(char::from)
        .chain("é€🚜\u{2028}".chars())
        .collect();
    let row = app
        .db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT to_json($1::text)::text AS json",
            [text.clone().into()],
        ))
        .await
        .unwrap()
        .unwrap();
    let json: String = row.try_get("", "json").unwrap();
    assert_eq!(json, serde_json::to_string(&text).unwrap());
}

#[tokio::test]
async fn what_a_plan_does_not_cover_is_answered_by_the_resolvers_every_time() {
    let app = spawn_app().await;
    seed(&app).await;
    for query in [
        "{ clients(first: 2) { edges { node { externalId servicePoints { edges { node { client { id } } } } } } } }",
        "{ clients(search: \"c-1\") { edges { node { externalId } } } }",
        "{ clients { edges { node { ...F } } } } fragment F on Client { externalId }",
        "{ clients { edges { node { externalId @include(if: true) } } } }",
        "{ clients { edges { node { servicePoints { edges { node { latitude occupants { phone } } } } } } } }",
    ] {
        let first = app.graphql(query, json!({})).await;
        assert!(first.get("errors").is_none(), "{first}");
        app.reset_statements();
        let second = app.graphql(query, json!({})).await;
        assert_eq!(second, first, "{query}");
        assert!(
            !planned(&app.statements()),
            "{query}: {:#?}",
            app.statements()
        );
    }
}

#[tokio::test]
async fn a_plan_reads_only_its_organization() {
    let app = spawn_app().await;
    seed(&app).await;
    let other = app.new_org("Autre").await;
    let query = "{ clients { totalCount edges { node { externalId servicePoints { totalCount edges { node { occupants { phone } } } } } } } }";
    let mut answers = Vec::new();
    for _ in 0..2 {
        let body = app.graphql_as(Some(&other), query, json!({})).await;
        answers.push(body);
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(
        answers[1],
        json!({"data": {"clients": {"totalCount": 0, "edges": []}}})
    );
}

/// The cost the gate puts on `query`, read from its refusal.
async fn cost_of(query: &str) -> u64 {
    let probe = spawn_app_with(|config| config.limits.max_complexity = 1).await;
    let body = probe.graphql_in("en", query, json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    message
        .split("up to ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|cost| cost.parse().ok())
        .unwrap_or_else(|| panic!("{message}"))
}

#[tokio::test]
async fn rows_past_the_budget_get_the_row_meters_answer_from_a_plan_too() {
    let query = "{ clients { edges { node { servicePoints { edges { node { occupants { phone } } } } } } } }";
    let cost = cost_of(query).await;
    // A budget of 10: five rows past the list's bound fit (a row of one
    // field costs one or two), eleven do not.
    let app = spawn_app_with(|config| config.limits.max_complexity = cost as usize + 10).await;
    let (_, point) = app.create_client_with_point("C-1").await;
    let bound = 20;
    for n in 0..bound + 5 {
        app.create_occupant(&point, &format!("418-555-{n:04}"), "SMS")
            .await;
    }
    let within = twice(&app, query, json!({})).await;
    let occupants = &within["data"]["clients"]["edges"][0]["node"]["servicePoints"]["edges"][0]["node"]
        ["occupants"];
    assert_eq!(occupants.as_array().unwrap().len(), bound + 5);

    for n in bound + 5..bound + 11 {
        app.create_occupant(&point, &format!("418-555-{n:04}"), "SMS")
            .await;
    }
    let (refused, _) = refused_twice(&app, query).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED",
        "{refused}"
    );
}

/// A batch runs through the resolvers, which parse the document a read's
/// statement did without: the same answers as alone.
#[tokio::test]
async fn a_read_known_to_its_statement_is_answered_alike_in_a_batch() {
    let app = spawn_app_with(|config| config.limits.max_batch = 2).await;
    seed(&app).await;
    let alone = twice(&app, EVERY_FIELD, json!({})).await;
    let batch = json!([{"query": EVERY_FIELD}, {"query": EVERY_FIELD}]);
    let answers: Value = app
        .post_graphql(Some(&app.token), batch, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answers, json!([alone.clone(), alone]));
}

/// The deadline holds on a read its statement answers: held up by a lock,
/// it is stopped with `TIMEOUT` like any other operation.
#[tokio::test]
async fn a_statement_past_its_deadline_is_stopped_with_timeout() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let app = spawn_app_with(|config| {
        config.limits.request_timeout = std::time::Duration::from_millis(300)
    })
    .await;
    if !plans_answer(&app) {
        return;
    }
    seed(&app).await;
    twice(&app, EVERY_FIELD, json!({})).await;

    let lock = app.db.begin().await.unwrap();
    lock.execute_unprepared("LOCK TABLE client IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let body = app.graphql(EVERY_FIELD, json!({})).await;
    let waited = started.elapsed();
    lock.rollback().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "TIMEOUT", "{body}");
    assert!(waited < std::time::Duration::from_secs(2), "{waited:?}");
    // And the next one is answered again.
    let again = app.graphql(EVERY_FIELD, json!({})).await;
    assert_eq!(again["data"]["clients"]["totalCount"], 3, "{again}");
}

/// The response-size bound holds on a read its statement answers: the same
/// error in the same words both times.
#[tokio::test]
async fn a_statements_answer_over_its_size_is_replaced_by_an_error() {
    let app = spawn_app_with(|config| config.limits.max_response_bytes = 300).await;
    seed(&app).await;
    let (refused, statements) = refused_twice(&app, EVERY_FIELD).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED",
        "{refused}"
    );
    assert_eq!(planned(&statements), plans_answer(&app), "{statements:#?}");
}

/// A selection wider than PostgreSQL's hundred arguments a call is still
/// one statement, and the same bytes.
#[tokio::test]
async fn a_wide_read_is_answered_alike() {
    let app = spawn_app_with(|config| config.limits.max_aliases = 200).await;
    seed(&app).await;
    let fields: String = (0..150).map(|i| format!("a{i}: externalId ")).collect();
    let query = format!("{{ clients(first: 2) {{ edges {{ node {{ {fields} }} }} }} }}");
    let data = twice(&app, &query, json!({})).await;
    assert_eq!(data["data"]["clients"]["edges"][1]["node"]["a149"], "C-2");
}
