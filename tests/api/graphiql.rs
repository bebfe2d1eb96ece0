//! GraphiQL is served whole by the server: the page loads nothing from
//! elsewhere, every file it names is there with the right type and a long
//! cache, and its Content-Security-Policy allows the server's origin only.

use crate::helpers::{Fetched, TestApp, spawn_app, spawn_app_with};

/// The values of every `attribute="..."` in `html`, in order.
fn attribute_values<'a>(html: &'a str, attribute: &str) -> Vec<&'a str> {
    let marker = format!(" {attribute}=\"");
    html.match_indices(&marker)
        .map(|(at, _)| {
            let rest = &html[at + marker.len()..];
            &rest[..rest.find('"').expect("closing quote")]
        })
        .collect()
}

/// The files the page at `/graphql` loads, as paths on the server (the page
/// names them relative to itself).
fn referenced_files(html: &str) -> Vec<String> {
    let mut references = attribute_values(html, "src");
    references.extend(attribute_values(html, "href"));
    references
        .into_iter()
        // The favicon is an empty data: URL, so the browser asks for none.
        .filter(|reference| !reference.starts_with("data:"))
        .map(|reference| {
            assert!(
                !reference.contains(':') && !reference.starts_with('/'),
                "not a file of this server's, relative to the page: {reference}"
            );
            format!("/{reference}")
        })
        .collect()
}

fn header<'a>(fetched: &'a Fetched, name: &str) -> &'a str {
    fetched
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .expect("ascii header")
}

async fn page(app: &TestApp) -> String {
    let page = app.get("/graphql").await;
    assert_eq!(page.status, 200);
    assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
    page.text()
}

#[tokio::test]
async fn the_page_names_no_outside_address() {
    let app = spawn_app().await;
    let html = page(&app).await;
    for outside in ["http://", "https://", "//"] {
        assert!(!html.contains(outside), "{outside} in the page:\n{html}");
    }
    assert!(html.contains("<title>Flokon API</title>"), "{html}");
    // Scripts come from files only (the policy allows no inline code).
    assert!(!html.contains("<style"), "{html}");
    let scripts = html.matches("<script").count();
    assert_eq!(scripts, html.matches("<script src=\"").count(), "{html}");
    assert_eq!(scripts, html.matches("></script>").count(), "{html}");
    assert_eq!(scripts, 4, "React, ReactDOM, GraphiQL and ours: {html}");
}

#[tokio::test]
async fn every_file_the_page_names_is_served_with_its_type_and_a_long_cache() {
    let app = spawn_app().await;
    let html = page(&app).await;
    let files = referenced_files(&html);
    assert_eq!(files.len(), 6, "{files:?}");
    for file in &files {
        let fetched = app.get(file).await;
        assert_eq!(fetched.status, 200, "{file}");
        let expected = if file.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else if file.ends_with(".css") {
            "text/css; charset=utf-8"
        } else {
            panic!("unexpected file {file}")
        };
        assert_eq!(header(&fetched, "content-type"), expected, "{file}");
        assert_eq!(
            header(&fetched, "cache-control"),
            "public, max-age=31536000, immutable",
            "{file}"
        );
        assert_eq!(header(&fetched, "x-content-type-options"), "nosniff");
        assert!(!fetched.body.is_empty(), "{file}");
        let text = String::from_utf8_lossy(&fetched.body);
        if file.ends_with(".css") {
            // Fonts and icons are inline: a stylesheet fetches nothing.
            for (at, _) in text.match_indices("url(") {
                let target = text[at + 4..].trim_start_matches(['"', '\'']);
                assert!(target.starts_with("data:"), "{file} loads {:.60}", target);
            }
            assert!(!text.contains("@import"), "{file}");
        }
    }
    // Our bootstrap script names no other server either, nor another file.
    let ours = files
        .iter()
        .find(|f| f.starts_with("/graphiql/flokon-graphiql-") && f.ends_with(".js"))
        .expect("the bootstrap script");
    let script = app.get(ours).await.text();
    for outside in ["http://", "https://", "import(", ".js'", ".css'"] {
        assert!(!script.contains(outside), "{outside} in {ours}");
    }
    // The vendored files carry their version in their name.
    for vendored in ["react-18.3.1.", "react-dom-18.3.1.", "graphiql-4."] {
        assert!(
            files.iter().any(|f| f.contains(vendored)),
            "{vendored}: {files:?}"
        );
    }
}

#[tokio::test]
async fn the_page_allows_only_its_own_origin() {
    let app = spawn_app().await;
    let page = app.get("/graphql").await;
    let policy = header(&page, "content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{directive} not in {policy}");
    }
    for loose in ["unsafe-inline", "unsafe-eval", "*", "http:", "https:"] {
        assert!(!policy.contains(loose), "{loose} in {policy}");
    }
    // Revalidated on each visit, so a new build's file names are seen at once.
    assert_eq!(header(&page, "cache-control"), "no-cache");
}

#[tokio::test]
async fn an_unknown_file_is_not_found() {
    let app = spawn_app().await;
    for path in [
        "/graphiql/nothing.js",
        "/graphiql/..%2FCargo.toml",
        "/graphiql/",
    ] {
        assert_eq!(app.get(path).await.status, 404, "{path}");
    }
}

#[tokio::test]
async fn without_graphiql_neither_the_page_nor_its_files_are_served() {
    let enabled = spawn_app().await;
    let files = referenced_files(&page(&enabled).await);
    let app = spawn_app_with(|config| config.graphiql = false).await;
    assert_eq!(app.get("/graphql").await.status, 404);
    for file in files {
        assert_eq!(app.get(&file).await.status, 404, "{file}");
    }
}
