//! Request bodies, bounded before any handler reads them. Each route group
//! states its policy where the router is built: JSON, GraphQL and dashboard
//! routes take [`small_bodies`] (read whole under a size limit and a deadline);
//! the chunk route bounds its streamed body itself (the upload's chunk size and
//! idle timeout); WebDAV reads its XML bodies with [`read_small`] and streams a
//! `PUT` through [`idle_bounded`], after authenticating the caller.
use crate::service::Code;
use std::time::Duration;

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use futures_util::StreamExt;

use crate::{config::Bounds, service::error::Error};

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

/// Middleware: the request's body read whole (see [`read_small`]) before the handler runs.
pub async fn small_bodies(
    State(bounds): State<BodyBounds>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    match read_small(&parts.headers, body, bounds).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(err) => err.into_response(),
    }
}

fn too_large(max: u64) -> Error {
    Error::new(
        Code::PayloadTooLarge,
        format!("the request body is larger than {max} bytes"),
    )
}

/// A body read whole: 413 past the limit (at once when the `Content-Length`
/// says so, before reading anything), 408 past the deadline.
pub async fn read_small(
    headers: &HeaderMap,
    body: Body,
    bounds: BodyBounds,
) -> Result<Bytes, Error> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > bounds.max_small) {
        return Err(too_large(bounds.max_small));
    }
    if declared == Some(0) || axum::body::HttpBody::size_hint(&body).exact() == Some(0) {
        return Ok(Bytes::new());
    }
    let read = async {
        let mut stream = body.into_data_stream();
        let mut buffer = Vec::new();
        while let Some(piece) = stream.next().await {
            let piece = piece.map_err(|e| Error::new(Code::InvalidInput, format!("body: {e}")))?;
            if (buffer.len() + piece.len()) as u64 > bounds.max_small {
                return Err(too_large(bounds.max_small));
            }
            buffer.extend_from_slice(&piece);
        }
        Ok(Bytes::from(buffer))
    };
    tokio::time::timeout(bounds.small_deadline, read)
        .await
        .map_err(|_| Error::timeout("the request body did not arrive in time"))?
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
