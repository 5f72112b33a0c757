//! Plain-data objects answered field after field, in place.
//!
//! async-graphql resolves every field of every object as its own boxed future,
//! gathered in a `FuturesUnordered`, because a field may wait on I/O. Most of
//! Ferry's answer types are plain values copied out of the service (`Schedule`,
//! `Device`, …): each field is ready at once, and for a list of them that
//! machinery is most of what a query costs (in `perf` during `bench-graphql`,
//! over a third of the server's CPU went to the `schedules` list's per-field
//! futures, `FuturesUnordered` and their allocations).
//!
//! [`Plain`] wraps such a type: the schema sees the very same type (name, fields,
//! SDL), and each field is still resolved by the type's own derived resolver;
//! only the fields are awaited one after another in selection order on the
//! current task instead of being boxed and polled as a set. GraphQL lets a query's
//! fields run in any order. A selection this path does not handle the same way
//! — a fragment, or a field carrying a directive — goes through async-graphql's
//! own [`resolve_container`] for the whole object.
//!
//! Extensions' per-field `resolve` hooks do not run for the fields of a plain
//! object; Ferry's only extension ([`super::guard::Guard`]) has none.
use std::borrow::Cow;

use async_graphql::{
    ContainerType, ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value,
    indexmap::IndexMap,
    parser::types::{Field, Selection},
    registry::Registry,
    resolver_utils::resolve_container,
};

/// `T` (a plain-data object type) answered field after field; see the module docs.
#[derive(Debug, Clone)]
pub struct Plain<T>(pub T);

impl<T> Plain<T> {
    /// The answer type made from a service value, wrapped.
    pub fn from_answer(value: impl Into<T>) -> Self {
        Self(value.into())
    }
}

impl<T: OutputType + ContainerType> OutputType for Plain<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        resolve_in_order(ctx, &self.0).await
    }
}

/// Whether every selection of `ctx` is a directive-free field.
fn only_plain_fields(ctx: &ContextSelectionSet<'_>) -> bool {
    ctx.item
        .node
        .items
        .iter()
        .all(|selection| match &selection.node {
            Selection::Field(field) => field.node.directives.is_empty(),
            Selection::FragmentSpread(_) | Selection::InlineFragment(_) => false,
        })
}

/// `root`'s selected fields, resolved one after another.
async fn resolve_in_order<T: ContainerType>(
    ctx: &ContextSelectionSet<'_>,
    root: &T,
) -> ServerResult<Value> {
    if !only_plain_fields(ctx) {
        return resolve_container(ctx, root).await;
    }
    let mut answer = IndexMap::with_capacity(ctx.item.node.items.len());
    for selection in &ctx.item.node.items {
        let Selection::Field(field) = &selection.node else {
            continue;
        };
        let key = field.node.response_key().node.clone();
        let value = if field.node.name.node == "__typename" {
            Value::String(root.introspection_type_name().into_owned())
        } else {
            root.resolve_field(&ctx.with_field(field))
                .await?
                .unwrap_or_default()
        };
        merge(&mut answer, key, value);
    }
    Ok(Value::Object(answer))
}

/// Put `value` under `key` as async-graphql does when a key is selected twice:
/// the first value stays, objects (and objects in lists) are merged key by key.
fn merge(answer: &mut IndexMap<Name, Value>, key: Name, value: Value) {
    let Some(earlier) = answer.get_mut(&key) else {
        answer.insert(key, value);
        return;
    };
    match (earlier, value) {
        (Value::Object(earlier), Value::Object(value)) => {
            for (key, value) in value {
                merge(earlier, key, value);
            }
        }
        (Value::List(earlier), Value::List(value)) => {
            for (earlier, value) in earlier.iter_mut().zip(value) {
                if let (Value::Object(earlier), Value::Object(value)) = (earlier, value) {
                    for (key, value) in value {
                        merge(earlier, key, value);
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Enum, Object, Schema, SimpleObject};

    use super::Plain;

    #[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
    enum Kind {
        Daily,
        Weekly,
    }

    #[derive(SimpleObject, Clone, Debug)]
    struct Inner {
        a: i32,
        b: String,
    }

    #[derive(SimpleObject, Clone, Debug)]
    struct Item {
        id: async_graphql::ID,
        name: String,
        size: Option<i64>,
        kind: Kind,
        at: chrono::DateTime<chrono::Utc>,
        inner: Inner,
        tags: Vec<Inner>,
    }

    fn items() -> Vec<Item> {
        (0..3)
            .map(|n| Item {
                id: async_graphql::ID(format!("id-{n}")),
                name: format!("name \"{n}\""),
                size: (n % 2 == 0).then_some(i64::from(n) << 40),
                kind: if n == 1 { Kind::Weekly } else { Kind::Daily },
                at: chrono::DateTime::from_timestamp(1_700_000_000 + i64::from(n), 0)
                    .expect("a time"),
                inner: Inner {
                    a: n,
                    b: "x".into(),
                },
                tags: vec![Inner {
                    a: n * 10,
                    b: "t".into(),
                }],
            })
            .collect()
    }

    #[derive(Debug)]
    struct Root;

    #[Object]
    impl Root {
        /// async-graphql's own resolution.
        async fn derived(&self) -> Vec<Item> {
            items()
        }
        /// The same items, answered field after field.
        async fn plain(&self) -> Vec<Plain<Item>> {
            items().into_iter().map(Plain).collect()
        }
    }

    /// What `selection` answers for `derived` and for `plain`, as JSON.
    async fn both(selection: &str, fragments: &str) -> (String, String) {
        let schema = Schema::new(Root, EmptyMutation, EmptySubscription);
        let mut answers = Vec::new();
        for field in ["derived", "plain"] {
            let query = format!("{{ list: {field} {selection} }} {fragments}");
            let response = schema.execute(query.as_str()).await;
            assert!(response.errors.is_empty(), "{query}: {:?}", response.errors);
            answers.push(serde_json::to_string(&response.data).expect("json"));
        }
        let plain = answers.pop().expect("two");
        (answers.pop().expect("two"), plain)
    }

    #[tokio::test]
    async fn a_plain_object_answers_exactly_what_the_derived_resolver_answers() {
        let selections = [
            ("{ id name size kind at }", ""),
            ("{ __typename at id inner { b a } tags { a } }", ""),
            ("{ n: name name n2: name size }", ""),
            ("{ inner { a } inner { b } tags { a } tags { b } }", ""),
            (
                "{ id name @skip(if: true) size @include(if: false) kind }",
                "",
            ),
            ("{ id name @skip(if: false) }", ""),
            ("{ ...F kind }", "fragment F on Item { id name }"),
            ("{ id ... on Item { at } ... { size } }", ""),
        ];
        for (selection, fragments) in selections {
            let (derived, plain) = both(selection, fragments).await;
            assert_eq!(derived, plain, "{selection}");
        }
    }

    #[test]
    fn the_schema_sees_the_same_type() {
        #[derive(Debug)]
        struct Derived;
        #[Object]
        impl Derived {
            async fn list(&self) -> Vec<Item> {
                items()
            }
        }
        #[derive(Debug)]
        struct Wrapped;
        #[Object(name = "Derived")]
        impl Wrapped {
            async fn list(&self) -> Vec<Plain<Item>> {
                items().into_iter().map(Plain).collect()
            }
        }
        let derived = Schema::new(Derived, EmptyMutation, EmptySubscription).sdl();
        let wrapped = Schema::new(Wrapped, EmptyMutation, EmptySubscription).sdl();
        assert_eq!(derived, wrapped);
    }
}
