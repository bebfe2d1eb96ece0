//! Lists answered without a future per field. async-graphql resolves each
//! field of each item as a boxed future, inserted in a map, which for a
//! list of occupants asked for `{ phone contactMethod }` costs far more
//! than reading the two values (the nested read spent a tenth of its
//! instructions there). When every field a list's selection asks for is
//! one its items answer from what they hold (no load, no error, no
//! argument, no directive, no fragment), [`PlainList`] writes the items'
//! values directly; any other selection goes the usual way. The schema
//! sees a plain list of the item type.

use std::borrow::Cow;

use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::resolve_list;
use async_graphql::{ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value};

/// An object type some of whose fields its items answer by themselves.
pub trait PlainObject: OutputType {
    /// One of those fields.
    type Field: Copy + Send + Sync;

    /// The field named `name`, if the item answers it by itself.
    fn plain_field(name: &str) -> Option<Self::Field>;

    /// The item's answer to `field`, as its resolver would give it.
    fn plain_value(&self, field: Self::Field) -> Value;
}

/// A list of `T`, in the schema as `[T!]!`.
pub struct PlainList<T>(pub Vec<T>);

/// What a selection asks of each item, by response key: `None` for
/// `__typename`.
type PlainSelection<F> = Vec<(Name, Option<F>)>;

/// The selection as plain fields, or `None` when any part of it is not.
fn plain_selection<T: PlainObject>(set: &SelectionSet) -> Option<PlainSelection<T::Field>> {
    set.items
        .iter()
        .map(|selection| {
            let Selection::Field(field) = &selection.node else {
                return None;
            };
            let field: &Field = &field.node;
            let simple = field.directives.is_empty()
                && field.arguments.is_empty()
                && field.selection_set.node.items.is_empty();
            if !simple {
                return None;
            }
            let key = field.response_key().node.clone();
            match field.name.node.as_str() {
                "__typename" => Some((key, None)),
                name => Some((key, Some(T::plain_field(name)?))),
            }
        })
        .collect()
}

impl<T: PlainObject> OutputType for PlainList<T> {
    fn type_name() -> Cow<'static, str> {
        Vec::<T>::type_name()
    }

    fn qualified_type_name() -> String {
        Vec::<T>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        Vec::<T>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let Some(selection) = plain_selection::<T>(&ctx.item.node) else {
            return resolve_list(ctx, field, &self.0, Some(self.0.len())).await;
        };
        let type_name = T::type_name();
        let items = self.0.iter().map(|item| {
            let values = selection.iter().map(|(key, field)| {
                let value = match field {
                    Some(field) => item.plain_value(*field),
                    None => Value::String(type_name.to_string()),
                };
                (key.clone(), value)
            });
            Value::Object(values.collect())
        });
        Ok(Value::List(items.collect()))
    }
}
