//! Operations seen before: what the gate measured of them, and whether
//! they passed async-graphql's full validation. A client sends the same
//! few operations over and over; walking each again for its cost and
//! columns, and validating it in full again (22 rules in two walks of the
//! document, a tenth of a small read's instructions), can only give the
//! same answers against the same schema and limits.
//!
//! An operation is known by all that either reads: its text, the operation
//! chosen, and the variables' values (a list's `first` may be a variable,
//! and async-graphql checks an argument given by a variable with its
//! value). One that passed validation before runs on a twin schema in
//! async-graphql's fast validation mode, which keeps only the checks
//! execution itself relies on (fragment cycles, uploads). What the gate
//! refuses is never kept, and an operation validation refused is
//! validated in full again each time.

use async_graphql::{Request, Response, Value};

use super::operation::Admitted;

/// The longest variables kept (with a query text of at most
/// `MAX_CACHED_QUERY`, as parsed documents): a few MB at most in all,
/// whatever clients send.
const MAX_VARIABLES: usize = 1024;

/// An operation as the gate and validation see it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OperationKey {
    query: String,
    operation_name: Option<String>,
    /// The values as JSON (empty for none).
    variables: String,
}

impl OperationKey {
    /// `None` for an operation too large to keep, or one with files (an
    /// import is measured and validated each time: it is rare and costly
    /// anyway).
    pub fn of(request: &Request) -> Option<OperationKey> {
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

/// The operations admitted before, the most recent kept; an entry's
/// `validation` is `Passed` or `Always` (not validated yet).
pub struct KnownOperations {
    admitted: quick_cache::sync::Cache<OperationKey, Admitted>,
}

impl Default for KnownOperations {
    fn default() -> Self {
        KnownOperations {
            admitted: quick_cache::sync::Cache::new(super::CACHED_DOCUMENTS),
        }
    }
}

impl KnownOperations {
    /// What the operation was admitted with before, for this request.
    pub fn get(&self, key: &OperationKey) -> Option<Admitted> {
        let mut admitted = self.admitted.get(key)?;
        if !matches!(admitted.validation, Validation::Passed) {
            admitted.validation = Validation::Unknown(key.clone());
        }
        Some(admitted)
    }

    /// Keeps what the gate admitted an operation with (when it has a key),
    /// and returns it for this request.
    pub fn admitted(&self, key: Option<OperationKey>, admitted: Admitted) -> Admitted {
        let Some(key) = key else {
            return admitted;
        };
        self.admitted.insert(key.clone(), admitted.clone());
        let mut admitted = admitted;
        admitted.validation = Validation::Unknown(key);
        admitted
    }

    /// Marks an operation that was fully validated and answered with data
    /// as validated: async-graphql answers a refused one with errors and
    /// no data.
    pub fn answered(&self, admitted: &Admitted, response: &Response) {
        if let Validation::Unknown(key) = &admitted.validation
            && response.data != Value::Null
        {
            let mut passed = admitted.clone();
            passed.validation = Validation::Passed;
            self.admitted.insert(key.clone(), passed);
        }
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{Request, Variables};
    use serde_json::json;

    use super::Validation;
    use crate::graphql::operation::Admitted;

    /// Runs `query` with `variables` as HTTP does: what the gate admitted
    /// it with, and its answer.
    async fn run(
        schemas: &crate::graphql::Schemas,
        query: &str,
        variables: serde_json::Value,
    ) -> (Admitted, serde_json::Value) {
        let mut request = Request::new(query).variables(Variables::from_json(variables));
        let admitted = schemas.admit(&mut request).expect("admitted");
        let response = schemas.execute(request, &admitted).await;
        let answer = serde_json::to_value(&response).unwrap();
        (admitted, answer)
    }

    fn unknown(admitted: &Admitted) -> bool {
        matches!(admitted.validation, Validation::Unknown(_))
    }

    #[tokio::test]
    async fn an_operation_skips_the_full_validation_only_as_it_passed_it() {
        let schemas = crate::graphql::default_schemas();
        let query = "query($name: String!) { __type(name: $name) { name } }";
        let answered = json!({"data": {"__type": {"name": "Client"}}});

        let (first, answer) = run(&schemas, query, json!({"name": "Client"})).await;
        assert!(unknown(&first), "{first:?}");
        assert_eq!(answer, answered);
        let (again, answer) = run(&schemas, query, json!({"name": "Client"})).await;
        assert!(matches!(again.validation, Validation::Passed), "{again:?}");
        assert_eq!(again.figures, first.figures);
        assert_eq!(answer, answered);

        // The same text with a value of the wrong type: validated in full,
        // refused, and refused again (a refusal is not remembered).
        for _ in 0..2 {
            let (admitted, answer) = run(&schemas, query, json!({"name": 5})).await;
            assert!(unknown(&admitted), "{admitted:?}");
            assert_eq!(answer["data"], serde_json::Value::Null, "{answer}");
            let message = answer["errors"][0]["message"].as_str().unwrap();
            assert!(
                message.starts_with("Invalid value for argument"),
                "{message}"
            );
        }
        for _ in 0..2 {
            let (admitted, answer) = run(&schemas, "{ nothing }", json!({})).await;
            assert!(unknown(&admitted), "{admitted:?}");
            assert_eq!(answer["data"], serde_json::Value::Null, "{answer}");
        }

        // Too long to keep: measured and validated in full each time.
        let long = "__typename ".repeat(crate::graphql::MAX_CACHED_QUERY / 10);
        let long = format!("{{ {long} }}");
        for _ in 0..2 {
            let (admitted, _) = run(&schemas, &long, json!({})).await;
            assert!(matches!(admitted.validation, Validation::Always));
        }
        let values = json!({"name": "Client", "padding": "x".repeat(super::MAX_VARIABLES)});
        for _ in 0..2 {
            let (admitted, _) = run(&schemas, query, values.clone()).await;
            assert!(matches!(admitted.validation, Validation::Always));
        }
    }

    #[test]
    fn what_the_gate_refuses_is_refused_again_each_time() {
        let schemas = crate::graphql::default_schemas();
        // Deeper than the gate allows (16 levels).
        let nested = "ofType { ".repeat(20) + "name" + &" }".repeat(20);
        let deep = format!("{{ __type(name: \"Client\") {{ {nested} }} }}");
        for _ in 0..2 {
            let mut request = Request::new(deep.as_str());
            assert!(schemas.admit(&mut request).is_err());
        }
    }
}
