//! Operations that passed async-graphql's full validation, so that the same
//! operation sent again skips it. A client sends the same few operations
//! over and over, and the full validation (22 rules in two walks of the
//! document) was a tenth of a small read's instructions. Validating the
//! same text, operation and variables against the same schema can only
//! say the same again.
//!
//! The operation is known by all that validation reads: its text, the
//! operation chosen, and the variables' values (an argument given by a
//! variable is checked against its type with the value). An operation seen
//! before runs on a twin schema in async-graphql's fast validation mode,
//! which keeps only the checks execution itself relies on (fragment
//! cycles, uploads).

use async_graphql::{Request, Response, Value};

/// The longest variables kept (with a query text of at most
/// `MAX_CACHED_QUERY`, as parsed documents): a few MB at most in all,
/// whatever clients send.
const MAX_VARIABLES: usize = 1024;

/// An operation as validation sees it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OperationKey {
    query: String,
    operation_name: Option<String>,
    /// The values as JSON (empty for none).
    variables: String,
}

impl OperationKey {
    /// `None` for an operation too large to keep, or one with files (an
    /// import is validated each time: it is rare and costly anyway).
    fn of(request: &Request) -> Option<OperationKey> {
        if request.query.len() > super::MAX_CACHED_QUERY || !request.uploads.is_empty() {
            return None;
        }
        let variables = match request.variables.is_empty() {
            true => String::new(),
            false => serde_json::to_string(&request.variables).ok()?,
        };
        (variables.len() <= MAX_VARIABLES).then(|| OperationKey {
            query: request.query.clone(),
            operation_name: request.operation_name.clone(),
            variables,
        })
    }
}

/// Whether an operation passed the full validation before.
#[derive(Clone, Debug, Default)]
pub enum Validation {
    /// It did: the fast validation is enough.
    Passed,
    /// Not yet: fully validated now, and remembered if it passes.
    Unknown(OperationKey),
    /// Fully validated each time, never remembered.
    #[default]
    Always,
}

/// The operations that passed, the most recent kept.
pub struct ValidatedOperations {
    passed: quick_cache::sync::Cache<OperationKey, ()>,
}

impl Default for ValidatedOperations {
    fn default() -> Self {
        ValidatedOperations {
            passed: quick_cache::sync::Cache::new(super::CACHED_DOCUMENTS),
        }
    }
}

impl ValidatedOperations {
    pub fn of(&self, request: &Request) -> Validation {
        match OperationKey::of(request) {
            Some(key) if self.passed.get(&key).is_some() => Validation::Passed,
            Some(key) => Validation::Unknown(key),
            None => Validation::Always,
        }
    }

    /// Remembers an operation that was fully validated and answered with
    /// data: async-graphql answers a refused one with errors and no data.
    pub fn remember(&self, validation: &Validation, response: &Response) {
        if let Validation::Unknown(key) = validation
            && response.data != Value::Null
        {
            self.passed.insert(key.clone(), ());
        }
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{Request, Variables};
    use serde_json::json;

    use super::Validation;

    /// Runs `query` with `variables` as HTTP does: its validation as the
    /// gate found it, and its answer.
    async fn run(
        schemas: &crate::graphql::Schemas,
        query: &str,
        variables: serde_json::Value,
    ) -> (Validation, serde_json::Value) {
        let mut request = Request::new(query).variables(Variables::from_json(variables));
        let admitted = schemas.admit(&mut request).expect("admitted");
        let response = schemas.execute(request, &admitted).await;
        let answer = serde_json::to_value(&response).unwrap();
        (admitted.validation, answer)
    }

    #[tokio::test]
    async fn an_operation_skips_the_full_validation_only_as_it_passed_it() {
        let schemas = crate::graphql::default_schemas();
        let kept = || schemas.validated.passed.len();
        let query = "query($name: String!) { __type(name: $name) { name } }";
        let answered = json!({"data": {"__type": {"name": "Client"}}});

        let (validation, answer) = run(&schemas, query, json!({"name": "Client"})).await;
        assert!(
            matches!(validation, Validation::Unknown(_)),
            "{validation:?}"
        );
        assert_eq!(answer, answered);
        assert_eq!(kept(), 1);
        let (validation, answer) = run(&schemas, query, json!({"name": "Client"})).await;
        assert!(matches!(validation, Validation::Passed), "{validation:?}");
        assert_eq!(answer, answered);

        // The same text with a value of the wrong type: validated in full,
        // refused, and refused again (a refusal is not remembered).
        for _ in 0..2 {
            let (validation, answer) = run(&schemas, query, json!({"name": 5})).await;
            assert!(
                matches!(validation, Validation::Unknown(_)),
                "{validation:?}"
            );
            assert_eq!(answer["data"], serde_json::Value::Null, "{answer}");
            let message = answer["errors"][0]["message"].as_str().unwrap();
            assert!(
                message.starts_with("Invalid value for argument"),
                "{message}"
            );
        }
        for _ in 0..2 {
            let (validation, answer) = run(&schemas, "{ nothing }", json!({})).await;
            assert!(
                matches!(validation, Validation::Unknown(_)),
                "{validation:?}"
            );
            assert_eq!(answer["data"], serde_json::Value::Null, "{answer}");
        }
        assert_eq!(kept(), 1);

        // Too long to keep: validated in full each time.
        let long = "__typename ".repeat(crate::graphql::MAX_CACHED_QUERY / 10);
        let long = format!("{{ {long} }}");
        let (validation, _) = run(&schemas, &long, json!({})).await;
        assert!(matches!(validation, Validation::Always), "{validation:?}");
        let values = json!({"name": "Client", "padding": "x".repeat(super::MAX_VARIABLES)});
        let (validation, _) = run(&schemas, query, values).await;
        assert!(matches!(validation, Validation::Always), "{validation:?}");
        assert_eq!(kept(), 1);
    }
}
