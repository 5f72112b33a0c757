//! Bounds on what one GraphQL document may make the server do, checked before
//! async-graphql parses it: its parser recurses on every `{`, `[` and `(`, and
//! a few thousand of them overflow a worker's stack. Also caps the
//! subscriptions one WebSocket may keep running.
use crate::service::Code;
use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use async_graphql::{
    Request, Response, ServerError, ServerResult,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextSubscribe,
    },
    futures_util::stream::BoxStream,
};
use futures_util::StreamExt;

/// Deepest nesting of brackets (`{`, `[`, `(`) a document may have. The
/// selection depth limit (24) and GraphiQL's introspection query fit well
/// below it; the parser's own stack holds far more.
pub const MAX_NESTING: usize = 64;
/// Longest document accepted, in bytes (a WebSocket message has no body limit).
pub const MAX_DOCUMENT: usize = 256 * 1024;

/// How deeply `query` nests brackets outside strings and comments, stopping
/// early once it passes `limit` (so a hostile document costs one linear scan).
pub fn nesting_depth(query: &str, limit: usize) -> usize {
    let bytes = query.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    // `\"""` is an escaped triple quote inside a block string.
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > limit {
                    return deepest;
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

/// Why a document is refused before parsing, if it is.
pub fn check_document(query: &str) -> Result<(), String> {
    if query.len() > MAX_DOCUMENT {
        return Err(format!("the document is larger than {MAX_DOCUMENT} bytes"));
    }
    if nesting_depth(query, MAX_NESTING) > MAX_NESTING {
        return Err(format!(
            "the document nests brackets more than {MAX_NESTING} deep"
        ));
    }
    Ok(())
}

/// The subscriptions running on one WebSocket (session data of the socket).
#[derive(Debug)]
pub struct SubscriptionSlots {
    running: Arc<AtomicUsize>,
    max: usize,
}

impl SubscriptionSlots {
    pub fn new(max: usize) -> Self {
        Self {
            running: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }
}

/// Gives back a subscription slot when its stream ends or is dropped.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The schema extension enforcing both bounds on sockets (HTTP requests are
/// checked before they reach the schema: an extension costs every field of every
/// answer a look-up and a boxed future).
#[derive(Debug, Default)]
pub struct Guard;

impl ExtensionFactory for Guard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Guard)
    }
}

pub(crate) fn refused(code: Code, message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", code.as_str());
    error.extensions = Some(extensions);
    error
}

#[async_graphql::async_trait::async_trait]
impl Extension for Guard {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        check_document(&request.query).map_err(|message| refused(Code::InvalidInput, message))?;
        next.run(ctx, request).await
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let Some(slots) = ctx.data_opt::<SubscriptionSlots>() else {
            return next.run(ctx, stream);
        };
        if slots.running.fetch_add(1, Ordering::AcqRel) >= slots.max {
            slots.running.fetch_sub(1, Ordering::AcqRel);
            let error = refused(
                Code::RateLimited,
                format!(
                    "at most {} subscriptions may run on one connection",
                    slots.max
                ),
            );
            return futures_util::stream::once(async move { Response::from_errors(vec![error]) })
                .boxed();
        }
        let slot = Slot(slots.running.clone());
        next.run(ctx, stream)
            .map(move |response| {
                let _held = &slot;
                response
            })
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        assert_eq!(nesting_depth("{ a { b(x: [1, [2]]) } }", 99), 5);
        assert_eq!(nesting_depth("{ a(s: \"[[[[\") # {{{{\n }", 99), 2);
        assert_eq!(nesting_depth("{ a(s: \"\"\"{{ \\\"\"\" [[\"\"\") }", 99), 2);
        assert_eq!(nesting_depth("{ a(s: \"\\\"[[\") }", 99), 2);
    }

    #[test]
    fn a_deep_literal_is_refused_after_one_scan() {
        let deep = format!("{{ a(x: {}1{}) }}", "[".repeat(5000), "]".repeat(5000));
        assert_eq!(nesting_depth(&deep, MAX_NESTING), MAX_NESTING + 1);
        assert!(check_document(&deep).is_err());
        assert!(check_document("{ me { id } }").is_ok());
    }
}
