//! Request bodies, bounded before any handler reads them. Every route takes a
//! small body (JSON, GraphQL, WebDAV XML, dashboard forms), read whole here
//! under a size limit and a deadline, except the two that stream: a chunk
//! upload (bounded by its upload's chunk size and idle timeout in its handler)
//! and a WebDAV `PUT` (bounded by the free-space check, and here by an idle
//! timeout on every piece).
use std::time::Duration;

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use futures_util::StreamExt;

use crate::{config::Bounds, error::Error};

/// The body limits in force.
#[derive(Clone, Copy, Debug)]
pub struct BodyBounds {
    /// Largest small body, in bytes.
    pub max_small: u64,
    /// Time a small body may take to arrive whole.
    pub small_deadline: Duration,
    /// Time a streamed body may go without a byte.
    pub idle: Duration,
}

impl From<&Bounds> for BodyBounds {
    fn from(bounds: &Bounds) -> Self {
        Self {
            max_small: bounds.max_request_body,
            small_deadline: Duration::from_secs(bounds.small_body_timeout_secs.max(1)),
            idle: Duration::from_secs(bounds.body_idle_timeout_secs.max(1)),
        }
    }
}

/// How a request's body is bounded.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    /// The chunk handler bounds it itself.
    Chunk,
    /// WebDAV `PUT`: streamed, with an idle timeout.
    Stream,
    /// Everything else: read whole, under the size limit and the deadline.
    Small,
}

fn kind(method: &Method, path: &str) -> Kind {
    let webdav =
        path == crate::webdav::PREFIX || path.starts_with(&format!("{}/", crate::webdav::PREFIX));
    if webdav && method == Method::PUT {
        return Kind::Stream;
    }
    let mut parts = path.trim_start_matches('/').split('/');
    let is_chunk = method == Method::POST
        && parts.next() == Some("api")
        && parts.next() == Some("sync")
        && parts.next() == Some("upload")
        && parts.next().is_some()
        && parts.next() == Some("chunk")
        && parts.next().is_some()
        && parts.next().is_none();
    if is_chunk { Kind::Chunk } else { Kind::Small }
}

/// Middleware bounding every request body (see the module comment).
pub async fn bound_bodies(
    State(bounds): State<BodyBounds>,
    request: Request,
    next: Next,
) -> Response {
    match kind(request.method(), request.uri().path()) {
        Kind::Chunk => next.run(request).await,
        Kind::Stream => {
            let request = request.map(|body| idle_bounded(body, bounds.idle));
            next.run(request).await
        }
        Kind::Small => match read_small(request, bounds).await {
            Ok(request) => next.run(request).await,
            Err(err) => err.into_response(),
        },
    }
}

fn too_large(max: u64) -> Error {
    Error::too_large(
        "payload_too_large",
        format!("the request body is larger than {max} bytes"),
    )
}

/// The request with its body read whole: 413 past the limit (at once when the
/// `Content-Length` says so, before reading anything), 408 past the deadline.
async fn read_small(request: Request, bounds: BodyBounds) -> Result<Request, Error> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > bounds.max_small) {
        return Err(too_large(bounds.max_small));
    }
    if declared == Some(0) {
        return Ok(request);
    }
    let (parts, body) = request.into_parts();
    let read = async {
        let mut stream = body.into_data_stream();
        let mut buffer = Vec::new();
        while let Some(piece) = stream.next().await {
            let piece =
                piece.map_err(|e| Error::bad_request("invalid_input", format!("body: {e}")))?;
            if (buffer.len() + piece.len()) as u64 > bounds.max_small {
                return Err(too_large(bounds.max_small));
            }
            buffer.extend_from_slice(&piece);
        }
        Ok(Bytes::from(buffer))
    };
    let bytes = tokio::time::timeout(bounds.small_deadline, read)
        .await
        .map_err(|_| Error::Timeout("the request body did not arrive in time"))??;
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The body's error when a piece does not come within the idle timeout.
#[derive(Debug, thiserror::Error)]
#[error("the request body stalled")]
pub struct Stalled;

/// `body`, failing with [`Stalled`] when no piece arrives for `idle`.
pub fn idle_bounded(body: Body, idle: Duration) -> Body {
    let stream = futures_util::stream::unfold(
        (body.into_data_stream(), false),
        move |(mut stream, failed)| async move {
            if failed {
                return None;
            }
            match tokio::time::timeout(idle, stream.next()).await {
                Ok(Some(piece)) => Some((piece, (stream, false))),
                Ok(None) => None,
                Err(_) => Some((Err(axum::Error::new(Stalled)), (stream, true))),
            }
        },
    );
    Body::from_stream(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_chunks_and_webdav_puts_stream() {
        assert_eq!(
            kind(&Method::POST, "/api/sync/upload/abc/chunk/3"),
            Kind::Chunk
        );
        assert_eq!(kind(&Method::PUT, "/webdav/a/b.txt"), Kind::Stream);
        assert_eq!(kind(&Method::PUT, "/webdavx/a"), Kind::Small);
        assert_eq!(kind(&Method::POST, "/graphql"), Kind::Small);
        assert_eq!(kind(&Method::POST, "/api/sync/upload/start"), Kind::Small);
        assert_eq!(
            kind(&Method::POST, "/api/sync/upload/abc/chunk/3/x"),
            Kind::Small
        );
        assert_eq!(
            kind(&Method::from_bytes(b"PROPFIND").expect("m"), "/webdav/"),
            Kind::Small
        );
    }
}
