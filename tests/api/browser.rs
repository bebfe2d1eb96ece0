//! The API in a real browser: headless Chromium renders GraphiQL from the
//! server alone, and a page on another origin (allowed by
//! `CORS_ALLOWED_ORIGINS`) queries the API with a token. These tests run
//! where Chromium is installed (`.ci/run` installs it) and say that they are
//! skipped elsewhere.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::helpers::{program_or_skip, run_program, spawn_app, spawn_app_with};

/// Chromium (`chromium` on the PATH or /usr/bin/chromium), or a line on the
/// terminal saying that the test is skipped.
fn chromium_or_skip(test: &str) -> Option<PathBuf> {
    program_or_skip(
        "chromium",
        &format!("browser::{test}"),
        "apt-get install chromium",
    )
}

/// What Chromium made of a page: the DOM once the page settled, and its
/// log (console messages, Content-Security-Policy violations).
struct Dumped {
    dom: String,
    log: String,
}

/// Loads `url` in headless Chromium with a fresh profile and dumps the DOM
/// after 10 s of virtual time (time the page spends waiting on the network
/// is not counted, so a slow machine does not cut it short).
async fn dump_dom(chromium: PathBuf, url: String) -> Dumped {
    let profile = tempfile::tempdir().expect("profile dir");
    let mut command = Command::new(chromium);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--enable-logging=stderr",
            "--log-level=0",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(&url);
    let output = run_program(command, Duration::from_secs(90)).await;
    assert!(
        output.status.success(),
        "chromium failed on {url}: {output:?}"
    );
    Dumped {
        dom: String::from_utf8_lossy(&output.stdout).into_owned(),
        log: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The messages Chromium logged about the page's Content-Security-Policy.
fn policy_violations(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|line| line.contains("Content Security Policy"))
        .collect()
}

/// GraphiQL renders from the server alone (no network but loopback here):
/// its query editor is in the DOM, and its documentation explorer (opened
/// by our page) lists the root types, which it can only do once the
/// schema's introspection came back.
#[tokio::test]
async fn graphiql_renders_offline_with_the_schemas_root_types() {
    let Some(chromium) = chromium_or_skip("graphiql_renders_offline_with_the_schemas_root_types")
    else {
        return;
    };
    let app = spawn_app().await;

    let page = dump_dom(chromium, format!("{}/graphql", app.address)).await;

    let dom = &page.dom;
    assert!(dom.contains("<title>Flokon API</title>"), "{dom}");
    assert!(
        !dom.contains("Chargement de GraphiQL"),
        "still loading: {dom}"
    );
    assert!(dom.contains("graphiql-container"), "no GraphiQL: {dom}");
    assert!(
        dom.contains("graphiql-query-editor"),
        "no query editor: {dom}"
    );
    assert!(dom.contains("CodeMirror"), "no editor: {dom}");
    assert!(dom.contains("Bearer ..."), "no header hint: {dom}");
    assert!(dom.contains("Root Types"), "schema not loaded: {dom}");
    for (operation, root) in [("query", "Query"), ("mutation", "Mutation")] {
        let shown = format!(
            "<span class=\"graphiql-doc-explorer-root-type\">{operation}</span>: \
             <a class=\"graphiql-doc-explorer-type-name\" href=\"#\">{root}</a>"
        );
        assert!(dom.contains(&shown), "no {operation} root type: {dom}");
    }
    let violations = policy_violations(&page.log);
    assert!(violations.is_empty(), "{violations:#?}");
}

/// A front end's page: asks the API for the clients' count with a token and
/// writes the answer, or the failure, into the page.
fn front_end_page(api: &str, token: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html><body><p id="answer">waiting</p><script>
fetch("{api}/graphql", {{
  method: "POST",
  headers: {{"Content-Type": "application/json", "Authorization": "Bearer {token}"}},
  body: JSON.stringify({{query: "{{ clients(first: 2) {{ totalCount }} }}"}})
}})
  .then(response => response.json())
  .then(body => {{ document.getElementById("answer").textContent = "totalCount=" + body.data.clients.totalCount; }})
  .catch(error => {{ document.getElementById("answer").textContent = "failed: " + error; }});
</script></body></html>"#
    )
}

/// Serves `html` at `/` from a loopback port of its own: the page's origin.
async fn serve_page(listener: TcpListener, html: String) {
    let router = Router::new().route("/", get(move || async move { Html(html) }));
    tokio::spawn(async move { axum::serve(listener, router).await });
}

/// What the page shows once loaded in Chromium.
fn answer(dom: &str) -> &str {
    let start = dom.find("<p id=\"answer\">").expect("answer paragraph") + 15;
    &dom[start..start + dom[start..].find("</p>").expect("end of answer")]
}

#[tokio::test]
async fn a_page_on_an_allowed_origin_queries_the_api_and_another_origin_cannot() {
    let Some(chromium) =
        chromium_or_skip("a_page_on_an_allowed_origin_queries_the_api_and_another_origin_cannot")
    else {
        return;
    };
    let allowed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let other = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let allowed_origin = format!("http://{}", allowed.local_addr().expect("address"));
    let other_origin = format!("http://{}", other.local_addr().expect("address"));
    let origins = vec![allowed_origin.clone()];
    let app = spawn_app_with(move |config| config.cors_allowed_origins = origins).await;
    for id in ["C-1", "C-2", "C-3"] {
        app.create_client(id, None).await;
    }
    let html = front_end_page(&app.address, &app.token);
    serve_page(allowed, html.clone()).await;
    serve_page(other, html).await;

    let page = dump_dom(chromium.clone(), format!("{allowed_origin}/")).await;
    // Three clients, two per page: the count is the whole list's.
    assert_eq!(answer(&page.dom), "totalCount=3", "{}", page.log);

    let page = dump_dom(chromium, format!("{other_origin}/")).await;
    assert_eq!(answer(&page.dom), "failed: TypeError: Failed to fetch");
}
