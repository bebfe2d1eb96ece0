//! GraphiQL from the binary: `GET /graphql` serves our page, and
//! `/graphiql/<file>` the files it loads, vendored GraphiQL and React builds
//! (assets/graphiql/, see assets/VERSIONS) and our own bootstrap script and
//! stylesheet. Nothing comes from a CDN, so the page works offline, on an
//! intranet, and under a Content-Security-Policy that allows the server's
//! own origin only. Vendored files carry their version in their name, ours
//! a hash of their content: every file can be cached for good, since a build
//! that changes a file serves it under a new name.

mod vendored;

use std::sync::LazyLock;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::AppState;

const PAGE_HTML: &str = include_str!("graphiql/page.html");
const PAGE_JS: &[u8] = include_bytes!("graphiql/flokon-graphiql.js");
const PAGE_CSS: &[u8] = include_bytes!("graphiql/flokon-graphiql.css");

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The page's policy. GraphiQL's stylesheet embeds its fonts and icons as
/// `data:` URLs; `connect-src 'self'` also covers `ws:`/`wss:` to the same
/// host and port (CSP level 3), which the subscriptions use.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

struct Asset {
    name: String,
    content_type: &'static str,
    bytes: &'static [u8],
}

struct Site {
    html: String,
    assets: Vec<Asset>,
}

static SITE: LazyLock<Site> = LazyLock::new(site);

fn site() -> Site {
    let vendored = |(name, bytes): (&str, &'static [u8]), content_type| Asset {
        name: name.to_owned(),
        content_type,
        bytes,
    };
    let ours = |stem: &str, extension: &str, bytes: &'static [u8], content_type| {
        let digest = Sha256::digest(bytes);
        let hash = hex::encode(&digest[..6]);
        Asset {
            name: format!("{stem}-{hash}.{extension}"),
            content_type,
            bytes,
        }
    };
    let react = vendored(vendored::REACT, JS);
    let react_dom = vendored(vendored::REACT_DOM, JS);
    let graphiql_js = vendored(vendored::GRAPHIQL_JS, JS);
    let graphiql_css = vendored(vendored::GRAPHIQL_CSS, CSS);
    let page_js = ours("flokon-graphiql", "js", PAGE_JS, JS);
    let page_css = ours("flokon-graphiql", "css", PAGE_CSS, CSS);
    let html = PAGE_HTML
        .replace("{{react}}", &react.name)
        .replace("{{react_dom}}", &react_dom.name)
        .replace("{{graphiql_js}}", &graphiql_js.name)
        .replace("{{graphiql_css}}", &graphiql_css.name)
        .replace("{{page_js}}", &page_js.name)
        .replace("{{page_css}}", &page_css.name);
    Site {
        html,
        assets: vec![
            react,
            react_dom,
            graphiql_js,
            graphiql_css,
            page_js,
            page_css,
        ],
    }
}

/// `GET /graphql`: the page, unless GraphiQL is disabled. Revalidated on
/// each visit, so a new build's file names are picked up at once.
pub async fn page(State(state): State<AppState>) -> Response {
    if !state.config.graphiql {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        SITE.html.as_str(),
    )
        .into_response()
}

/// `GET /graphiql/<file>`: one of the page's files, 404 for any other name
/// or when GraphiQL is disabled.
pub async fn asset(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let found = SITE.assets.iter().find(|asset| asset.name == file);
    match found {
        Some(asset) if state.config.graphiql => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(asset.content_type),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
            ],
            asset.bytes,
        )
            .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// assets/VERSIONS says what is vendored: each file embedded has the
    /// sha256 written there, so neither can be changed without the other.
    #[test]
    fn the_vendored_files_are_those_listed_in_versions() {
        let versions = include_str!("../../assets/VERSIONS");
        let listed: Vec<(&str, &str)> = versions
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .map(|line| {
                let columns: Vec<&str> = line.split('\t').collect();
                (columns[2].trim_start_matches("graphiql/"), columns[3])
            })
            .collect();
        let embedded = [
            vendored::REACT,
            vendored::REACT_DOM,
            vendored::GRAPHIQL_JS,
            vendored::GRAPHIQL_CSS,
        ];
        assert_eq!(listed.len(), embedded.len());
        for (name, bytes) in embedded {
            let sum = hex::encode(Sha256::digest(bytes));
            assert!(
                listed.contains(&(name, sum.as_str())),
                "{name} ({sum}) is not in assets/VERSIONS: run scripts/refresh-graphiql-assets.sh"
            );
        }
    }

    #[test]
    fn the_page_names_every_file_and_nothing_else() {
        let site = site();
        assert!(!site.html.contains("{{"), "{}", site.html);
        for asset in &site.assets {
            assert!(site.html.contains(&format!("graphiql/{}", asset.name)));
        }
    }
}
