//! What protects the server from costly requests: depth, complexity,
//! batches, query and body sizes are refused with LIMIT_EXCEEDED (or 413),
//! while GraphiQL's own introspection still passes the defaults.

use serde_json::json;

use crate::helpers::{error_codes, spawn_app, spawn_app_with};

/// The query GraphiQL sends on load (graphql-js `getIntrospectionQuery`).
const INTROSPECTION: &str = include_str!("../fixtures/introspection.graphql");

#[tokio::test]
async fn graphiqls_introspection_passes_the_default_limits() {
    let app = spawn_app().await;
    let body = app.graphql_as(None, INTROSPECTION, json!({})).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
}

#[tokio::test]
async fn too_deep_a_query_is_refused() {
    let app = spawn_app().await;
    let mut query =
        String::from("{ clients { edges { node { servicePoints { edges { node { client ");
    for _ in 0..4 {
        query.push_str("{ servicePoints { edges { node { client ");
    }
    query.push_str("{ id }");
    let unclosed = query.matches('{').count() - query.matches('}').count();
    query.push_str(&" }".repeat(unclosed));
    let body = app.graphql(&query, json!({})).await;
    assert_eq!(error_codes(&body), ["LIMIT_EXCEEDED"], "{body:#}");
}

#[tokio::test]
async fn too_complex_a_query_is_refused() {
    let app = spawn_app_with(|config| config.limits.max_complexity = 20).await;
    let fields = (0..25)
        .map(|i| format!("c{i}: clients {{ totalCount }}"))
        .collect::<Vec<_>>()
        .join(" ");
    let body = app.graphql(&format!("{{ {fields} }}"), json!({})).await;
    assert_eq!(error_codes(&body), ["LIMIT_EXCEEDED"]);
}

#[tokio::test]
async fn batches_are_refused_unless_enabled() {
    let app = spawn_app().await;
    let batch =
        json!([{"query": "{ clients { totalCount } }"}, {"query": "{ clients { totalCount } }"}]);
    let response = app
        .post_graphql(Some(&app.token), batch.clone(), None)
        .await;
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error_codes(&body), ["LIMIT_EXCEEDED"]);

    let app = spawn_app_with(|config| config.limits.max_batch = 2).await;
    let response = app.post_graphql(Some(&app.token), batch, None).await;
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body[0]["data"]["clients"]["totalCount"], 0);
    assert_eq!(body[1]["data"]["clients"]["totalCount"], 0);
}

#[tokio::test]
async fn too_long_a_query_is_refused() {
    let app = spawn_app().await;
    let query = format!("{{ clients {{ totalCount }} }} #{}", "x".repeat(40_000));
    let response = app
        .post_graphql(Some(&app.token), json!({"query": query}), None)
        .await;
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error_codes(&body), ["LIMIT_EXCEEDED"]);
}

#[tokio::test]
async fn too_large_a_body_is_refused() {
    let app = spawn_app_with(|config| config.limits.max_upload_bytes = 1024).await;
    let query = format!("{{ clients {{ totalCount }} }} #{}", "x".repeat(2_000));
    let response = app
        .post_graphql(Some(&app.token), json!({"query": query}), None)
        .await;
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn an_unreadable_body_is_bad_input() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(format!("{}/graphql", app.address))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);
}

/// `{ a0: clients(first: 1) { totalCount } a1: ... }` with `n` aliases.
fn aliased(n: usize) -> String {
    let fields: Vec<String> = (0..n)
        .map(|i| format!("a{i}: clients(first: 1) {{ totalCount }}"))
        .collect();
    format!("{{ {} }}", fields.join(" "))
}

#[tokio::test]
async fn an_alias_flood_is_refused_before_anything_runs() {
    let app = spawn_app_with(|config| {
        config.limits.max_query_bytes = 64 * 1024;
        config.background_workers = false;
    })
    .await;
    // The token is looked up first (and kept): then nothing runs.
    app.graphql("{ __typename }", json!({})).await;
    app.reset_statements();
    let body = app.graphql(&aliased(1_000), json!({})).await;
    assert_eq!(error_codes(&body), ["LIMIT_EXCEEDED"], "{body:#}");
    assert!(
        crate::helpers::error_message(&body).contains("100"),
        "{body:#}"
    );
    assert_eq!(app.statements(), Vec::<String>::new());

    // Aliases hidden in a fragment count too; 100 in all pass.
    let fragment = format!("query {{ ...F }} fragment F on Query {}", aliased(101));
    let body = app.graphql(&fragment, json!({})).await;
    assert_eq!(error_codes(&body), ["LIMIT_EXCEEDED"], "{body:#}");
    let body = app.graphql(&aliased(100), json!({})).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert_eq!(body["data"]["a99"]["totalCount"], 0);
}

#[tokio::test]
async fn a_directive_flood_is_refused() {
    let app = spawn_app().await;
    let directives = " @skip(if: false)".repeat(100);
    let body = app
        .graphql(&format!("{{ __typename{directives} }}"), json!({}))
        .await;
    assert_eq!(error_codes(&body), ["LIMIT_EXCEEDED"], "{body:#}");
}

#[tokio::test]
async fn counts_and_searches_weigh_what_they_cost() {
    let app = spawn_app_with(|config| config.background_workers = false).await;
    // 100 aliases pass the alias cap, but 100 searches with a count each
    // weigh 100 × (1 + 5,000 + 1,001) = 600,200 > 500,000: refused before
    // any runs.
    let searches: Vec<String> = (0..100)
        .map(|i| format!("s{i}: clients(first: 1, search: \"Érable\") {{ totalCount }}"))
        .collect();
    app.reset_statements();
    let body = app
        .graphql(&format!("{{ {} }}", searches.join(" ")), json!({}))
        .await;
    assert_eq!(error_codes(&body), ["LIMIT_EXCEEDED"], "{body:#}");
    assert_no_record_read(&app);
    // Without the search, the same 100 counts pass (100 × 1,002).
    let counts: Vec<String> = (0..100)
        .map(|i| format!("c{i}: clients(first: 1) {{ totalCount }}"))
        .collect();
    let body = app
        .graphql(&format!("{{ {} }}", counts.join(" ")), json!({}))
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
}

/// No statement since `reset_statements` read a client: no resolver ran.
fn assert_no_record_read(app: &crate::helpers::TestApp) {
    let ran = app.statements();
    assert!(
        ran.iter().all(|sql| !sql.contains("\"client\"")),
        "a resolver ran: {ran:#?}"
    );
}

#[tokio::test]
async fn every_list_weighs_its_selection_times_its_rows_at_every_depth() {
    let app = spawn_app_with(|config| config.background_workers = false).await;
    let nested = |first: u32, points: &str, alias: usize| {
        format!(
            "n{alias}: clients(first: {first}) {{ edges {{ node {{ externalId
                servicePoints{points} {{ edges {{ node {{ occupants {{ phone }} }} }} }} }} }} }}"
        )
    };
    // 100 clients, each with a default page of 100 points of 20 occupants:
    // 2 + 100 × (3 + 1 + 100 × (2 + 20)) = 220,402: accepted, twice too.
    let two: Vec<String> = (0..2).map(|i| nested(100, "", i)).collect();
    let body = app
        .graphql(&format!("{{ {} }}", two.join(" ")), json!({}))
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert_eq!(body["data"]["n0"]["edges"], json!([]));

    // 500 clients so: 1,102,002 > 500,000, refused before any runs.
    app.reset_statements();
    let body = app
        .graphql(&format!("{{ {} }}", nested(500, "", 0)), json!({}))
        .await;
    assert_eq!(error_codes(&body), ["LIMIT_EXCEEDED"], "{body:#}");
    assert!(
        crate::helpers::error_message(&body).contains("1102002"),
        "{body:#}"
    );
    assert_no_record_read(&app);

    // The same 500 clients asking for 2 points each weigh 24,002.
    let body = app
        .graphql(
            &format!("{{ {} }}", nested(500, "(first: 2)", 0)),
            json!({}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
}
