//! Speaking GraphQL (and plain GETs) to the server, and reading its
//! answers: nodes, error codes, messages.

use serde_json::{Value, json};

use super::app::TestApp;

impl TestApp {
    pub async fn post_graphql(
        &self,
        token: Option<&str>,
        body: Value,
        lang: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .post(format!("{}/graphql", self.address))
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(lang) = lang {
            request = request.header("Accept-Language", lang);
        }
        request.send().await.expect("request")
    }

    /// Runs an operation with the test organization's token.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.graphql_as(Some(&self.token), query, variables).await
    }

    /// Runs an operation with another token, or none.
    pub async fn graphql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.graphql_request(token, None, query, variables).await
    }

    /// Runs an operation with the test organization's token, asking for
    /// messages in `lang` (an `Accept-Language` value).
    pub async fn graphql_in(&self, lang: &str, query: &str, variables: Value) -> Value {
        self.graphql_request(Some(&self.token), Some(lang), query, variables)
            .await
    }

    /// Runs an operation with any token and any `Accept-Language`.
    pub async fn graphql_request(
        &self,
        token: Option<&str>,
        lang: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        let response = self
            .post_graphql(token, json!({"query": query, "variables": variables}), lang)
            .await;
        response.json().await.expect("json body")
    }

    /// A GET of `path` (`/health`, `/template.xlsx`...) without a token.
    pub async fn get(&self, path: &str) -> Fetched {
        self.get_as(None, path, &[]).await
    }

    /// A GET of `path` with a token and query parameters.
    pub async fn get_as(&self, token: Option<&str>, path: &str, query: &[(&str, &str)]) -> Fetched {
        let mut request = self
            .http
            .get(format!("{}{path}", self.address))
            .query(query);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        Fetched {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.bytes().await.expect("body").to_vec(),
        }
    }

    /// Runs an operation that must succeed, returning its `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let body = self.graphql(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }
}

/// The answer to a GET, read whole.
pub struct Fetched {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Fetched {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("json body")
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("utf-8 body")
    }
}

/// The nodes of a connection's `edges`.
pub fn nodes(connection: &Value) -> impl Iterator<Item = &Value> {
    connection["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| &edge["node"])
}

/// The `extensions.code` of each error of a response.
pub fn error_codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The first error of a response.
pub fn first_error(body: &Value) -> &Value {
    &body["errors"][0]
}

/// The first error's message.
pub fn error_message(body: &Value) -> &str {
    first_error(body)["message"]
        .as_str()
        .expect("an error message")
}

/// The first error's `extensions.reason` (`PHONE_INVALID`, `DUPLICATE_CLIENT_ID`...).
pub fn error_reason(body: &Value) -> &str {
    first_error(body)["extensions"]["reason"]
        .as_str()
        .expect("an error reason")
}
