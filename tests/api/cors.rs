//! Browsers on other origins: a preflight from a configured origin is
//! answered 204 with what the front end may send; an unlisted origin gets
//! no allow headers; without configuration the API stays same-origin.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

const FRONT: &str = "http://localhost:5173";

async fn app_allowing(origins: &[&str]) -> TestApp {
    let origins: Vec<String> = origins.iter().map(|o| (*o).to_owned()).collect();
    spawn_app_with(move |config| config.cors_allowed_origins = origins).await
}

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.http
        .request(Method::OPTIONS, format!("{}/graphql", app.address))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_is_answered_with_what_it_may_send() {
    let app = app_allowing(&["https://app.example.ca", FRONT]).await;
    let response = preflight(&app, FRONT).await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some(FRONT)
    );
    let methods = header(&response, "access-control-allow-methods").unwrap();
    assert_eq!(methods, "GET,POST,OPTIONS");
    let headers = header(&response, "access-control-allow-headers").unwrap();
    assert!(
        headers.contains("authorization") && headers.contains("content-type"),
        "{headers}"
    );
    assert_eq!(header(&response, "access-control-max-age"), Some("3600"));
    assert!(header(&response, "vary").unwrap().contains("origin"));
    assert_eq!(header(&response, "access-control-allow-credentials"), None);
}

#[tokio::test]
async fn a_preflight_from_an_unlisted_origin_gets_no_allow_headers() {
    let app = app_allowing(&[FRONT]).await;
    let response = preflight(&app, "https://evil.example").await;
    assert_eq!(header(&response, "access-control-allow-origin"), None);
    assert_eq!(header(&response, "access-control-allow-headers"), None);
}

#[tokio::test]
async fn a_request_from_an_allowed_origin_gets_its_origin_echoed_and_the_request_id_exposed() {
    let app = app_allowing(&[FRONT]).await;
    let response = app
        .http
        .post(format!("{}/graphql", app.address))
        .header("Origin", FRONT)
        .bearer_auth(&app.token)
        .json(&json!({"query": "{ clients(first: 2) { totalCount } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some(FRONT)
    );
    let exposed = header(&response, "access-control-expose-headers").unwrap();
    assert!(exposed.contains("x-request-id"), "{exposed}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["data"]["clients"]["totalCount"], 0);
}

#[tokio::test]
async fn any_origin_only_when_asked_for_with_a_star() {
    let app = app_allowing(&["*"]).await;
    let response = preflight(&app, "https://anywhere.example").await;
    assert_eq!(response.status(), 204);
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn without_configuration_the_api_stays_same_origin() {
    let app = spawn_app().await;
    let response = preflight(&app, FRONT).await;
    assert_eq!(response.status(), 405);
    assert_eq!(header(&response, "access-control-allow-origin"), None);
}
