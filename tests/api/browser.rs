//! The API in a real browser: headless Chromium renders GraphiQL from the
//! server alone, and a page on another origin (allowed by
//! `CORS_ALLOWED_ORIGINS`) queries the API with a token. These tests run
//! where Chromium is installed (`.ci/run` installs it) and say that they are
//! skipped elsewhere.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::helpers::{spawn_app, spawn_app_with};

/// `chromium` on the PATH, or Debian's `/usr/bin/chromium`.
fn chromium() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("chromium"))
            .find(|candidate| candidate.is_file())
    });
    on_path.or_else(|| {
        let debian = Path::new("/usr/bin/chromium");
        debian.is_file().then(|| debian.to_owned())
    })
}

/// Chromium, or a line on the terminal saying the test is skipped (written
/// to stderr directly: the test harness hides what passing tests print).
fn chromium_or_skip(test: &str) -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED browser::{test}: no chromium on the PATH nor /usr/bin/chromium \
             (apt-get install chromium)"
        );
    }
    found
}

/// What Chromium made of a page: the DOM once the page settled, and its
/// log (console messages, Content-Security-Policy violations).
struct Dumped {
    dom: String,
    log: String,
}

/// Loads `url` in headless Chromium with a fresh profile and dumps the DOM
/// after 10 s of virtual time (time the page spends waiting on the network
/// is not counted). On a blocking thread: the server under test runs on the
/// test's own runtime.
async fn dump_dom(chromium: PathBuf, url: String) -> Dumped {
    tokio::task::spawn_blocking(move || {
        let profile = tempfile::tempdir().expect("profile dir");
        let child = Command::new(&chromium)
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
            .arg(&url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let output = wait_at_most(child, Duration::from_secs(90));
        assert!(
            output.status.success(),
            "chromium failed on {url}: {output:?}"
        );
        Dumped {
            dom: String::from_utf8_lossy(&output.stdout).into_owned(),
            log: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    })
    .await
    .expect("chromium thread")
}

/// The child's output, or a panic (and the child killed) past `limit`.
fn wait_at_most(mut child: std::process::Child, limit: Duration) -> std::process::Output {
    let start = Instant::now();
    // Drain stdout and stderr while waiting, so a full pipe cannot stall it.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut bytes).map(|_| bytes)
    });
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut bytes).map(|_| bytes)
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    std::process::Output {
        status,
        stdout: out.join().expect("stdout reader").expect("stdout"),
        stderr: err.join().expect("stderr reader").expect("stderr"),
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
