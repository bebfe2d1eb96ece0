//! Uploading spreadsheets (GraphQL multipart) and reading an import's
//! report: counts, row statuses, row issues.

use serde_json::{Value, json};

use super::app::TestApp;

/// The variables of an import in `mode` (`REPLACE_ALL`...), nothing else set.
pub fn mode(mode: &str) -> Value {
    json!({ "mode": mode })
}

/// The variables of an import that merges and deletes nothing.
pub fn keep() -> Value {
    mode("MERGE_KEEP_MISSING")
}

pub const IMPORT: &str = "mutation($file: Upload!, $mode: ImportMode!, $dryRun: Boolean, $skip: Boolean, $columns: [ColumnMappingInput!]) {
  importSpreadsheet(file: $file, mode: $mode, dryRun: $dryRun, skipInvalidRows: $skip, columns: $columns) {
    id mode fileName dryRun committed undone
    fileErrors { code column message } fileWarnings { code column message }
    columns { header index field }
    summary { totalRows errorRows skippedRows
      clients { created updated unchanged deleted }
      servicePoints { created updated unchanged deleted }
      occupants { created updated unchanged deleted } }
    rows(first: 500) { totalCount edges { node { rowNumber status errors { code column message } warnings { code column message } changes { field before after } } } }
  }
}";

impl TestApp {
    /// Uploads a file the way a GraphQL multipart client does; `variables`
    /// beside `file` (mode, dryRun, skip, columns).
    pub async fn upload(&self, file_name: &str, bytes: Vec<u8>, variables: Value) -> Value {
        self.upload_with(IMPORT, file_name, bytes, variables, None)
            .await
    }

    pub async fn upload_with(
        &self,
        query: &str,
        file_name: &str,
        bytes: Vec<u8>,
        variables: Value,
        lang: Option<&str>,
    ) -> Value {
        self.send_upload(&self.token, query, file_name, bytes, variables, lang)
            .await
            .json()
            .await
            .expect("json body")
    }

    /// Uploads to `importSpreadsheet` with another token: the raw response,
    /// for its status or its body.
    pub async fn upload_as(
        &self,
        token: &str,
        file_name: &str,
        bytes: Vec<u8>,
        variables: Value,
    ) -> reqwest::Response {
        self.send_upload(token, IMPORT, file_name, bytes, variables, None)
            .await
    }

    async fn send_upload(
        &self,
        token: &str,
        query: &str,
        file_name: &str,
        bytes: Vec<u8>,
        variables: Value,
        lang: Option<&str>,
    ) -> reqwest::Response {
        let upload = Upload {
            query,
            file_name,
            bytes,
            variables,
            lang,
        };
        upload.send(&self.http, &self.address, token).await
    }

    /// Undoes an import run: the whole response, errors included.
    pub async fn undo_import(&self, run_id: &Value) -> Value {
        self.graphql(
            "mutation($id: ID!) { undoImport(id: $id) { undone committed } }",
            json!({"id": run_id}),
        )
        .await
    }

    /// Uploads and returns the run, failing on any GraphQL error.
    pub async fn import(&self, file_name: &str, bytes: Vec<u8>, variables: Value) -> Value {
        let body = self.upload(file_name, bytes, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"]["importSpreadsheet"].clone()
    }

    /// Imports the two tenants of 100 rue du Pont in `mode`: the run.
    pub async fn import_pont_tenants(&self, mode: &str) -> Value {
        use crate::fixtures::{header, pont_tenants, xlsx};
        let [ana, ben] = pont_tenants();
        let file = xlsx(&[header(), ana, ben]);
        self.import("pont.xlsx", file, json!({ "mode": mode }))
            .await
    }
}

/// `{created, updated, unchanged, deleted}` of a run's summary part.
pub fn counts(run: &Value, part: &str) -> [i64; 4] {
    let c = &run["summary"][part];
    ["created", "updated", "unchanged", "deleted"].map(|k| c[k].as_i64().expect("count"))
}

/// `counts` of a run's clients, service points and occupants, in that order.
pub fn all_counts(run: &Value) -> [[i64; 4]; 3] {
    ["clients", "servicePoints", "occupants"].map(|part| counts(run, part))
}

/// Each row's `(rowNumber, status)`.
pub fn row_statuses(run: &Value) -> Vec<(i64, String)> {
    run["rows"]["edges"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|e| {
            (
                e["node"]["rowNumber"].as_i64().unwrap(),
                e["node"]["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Each `(rowNumber, code, column)` of a run's row `errors` or `warnings`,
/// row by row and in order within a row (`""` for no column).
pub fn row_issues(run: &Value, kind: &str) -> Vec<(i64, String, String)> {
    let mut found = Vec::new();
    for edge in run["rows"]["edges"].as_array().expect("rows") {
        let row = &edge["node"];
        for issue in row[kind].as_array().expect("issues") {
            found.push((
                row["rowNumber"].as_i64().expect("row number"),
                issue["code"].as_str().expect("code").to_owned(),
                issue["column"].as_str().unwrap_or("").to_owned(),
            ));
        }
    }
    found
}

/// `(row, code, column)` triples written as literals, to compare with
/// `row_issues`.
pub fn issues(expected: &[(i64, &str, &str)]) -> Vec<(i64, String, String)> {
    expected
        .iter()
        .map(|(row, code, column)| (*row, (*code).to_owned(), (*column).to_owned()))
        .collect()
}

/// A GraphQL multipart request carrying one file as `$file`.
pub struct Upload<'a> {
    pub query: &'a str,
    pub file_name: &'a str,
    pub bytes: Vec<u8>,
    pub variables: Value,
    pub lang: Option<&'a str>,
}

impl Upload<'_> {
    /// Sends it to the server at `base` (any instance).
    pub async fn send(self, http: &reqwest::Client, base: &str, token: &str) -> reqwest::Response {
        let mut variables = self.variables;
        variables["file"] = Value::Null;
        let operations = json!({"query": self.query, "variables": variables});
        let form = reqwest::multipart::Form::new()
            .text("operations", operations.to_string())
            .text("map", json!({"0": ["variables.file"]}).to_string())
            .part(
                "0",
                reqwest::multipart::Part::bytes(self.bytes).file_name(self.file_name.to_owned()),
            );
        let mut request = http
            .post(format!("{base}/graphql"))
            .bearer_auth(token)
            .multipart(form);
        if let Some(lang) = self.lang {
            request = request.header("Accept-Language", lang);
        }
        request.send().await.expect("upload")
    }
}
