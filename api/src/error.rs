//! The one error type of the service layer and its one mapping to HTTP.
//!
//! Internal details (database and I/O errors) go to the log; clients get a stable
//! `code` and a message that leaks nothing.
use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use sea_orm::DbErr;

/// Everything a service call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No credentials, or credentials that do not check out (401).
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Authenticated, but not allowed (403).
    #[error("{0}")]
    Forbidden(&'static str),
    /// Unknown — or belongs to someone else (404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Malformed request (400).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// Well-formed but invalid (422).
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// Conflicts with the current state (409).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The upload expired or was cancelled (410).
    #[error("{message}")]
    Gone { code: &'static str, message: String },
    /// Larger than allowed (413).
    #[error("{message}")]
    TooLarge { code: &'static str, message: String },
    /// The client stopped sending in the middle of a body (408).
    #[error("{0}")]
    Timeout(&'static str),
    /// The requested byte range lies outside the file (416).
    #[error("requested range not satisfiable")]
    RangeNotSatisfiable { size: u64 },
    /// Too many requests or too many open uploads (429).
    #[error("{message}")]
    RateLimited {
        code: &'static str,
        message: String,
        retry_after_secs: u64,
    },
    /// The disk (or its reserve) is full (507).
    #[error("storage is full")]
    StorageFull,
    /// A database error: logged, never shown.
    #[error(transparent)]
    Db(#[from] DbErr),
    /// An I/O error other than a full disk: logged, never shown.
    #[error("i/o: {0}")]
    Io(std::io::Error),
    /// Anything else that is our fault: logged, never shown.
    #[error("{0}")]
    Internal(String),
}

/// The service layer's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        use std::io::ErrorKind;
        match err.kind() {
            ErrorKind::StorageFull | ErrorKind::QuotaExceeded => Error::StorageFull,
            _ => Error::Io(err),
        }
    }
}

impl Error {
    /// 422 with a specific code.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            code,
            message: message.into(),
        }
    }

    /// 400 with a specific code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Error::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// 409 with a specific code.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Error::Conflict {
            code,
            message: message.into(),
        }
    }

    /// 410 with a specific code.
    pub fn gone(code: &'static str, message: impl Into<String>) -> Self {
        Error::Gone {
            code,
            message: message.into(),
        }
    }

    /// 413 with a specific code.
    pub fn too_large(code: &'static str, message: impl Into<String>) -> Self {
        Error::TooLarge {
            code,
            message: message.into(),
        }
    }

    /// The stable snake_case code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthorized(_) => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not_found",
            Error::Timeout(_) => "request_timeout",
            Error::RangeNotSatisfiable { .. } => "range_not_satisfiable",
            Error::StorageFull => "storage_full",
            Error::BadRequest { code, .. }
            | Error::Invalid { code, .. }
            | Error::Conflict { code, .. }
            | Error::Gone { code, .. }
            | Error::TooLarge { code, .. }
            | Error::RateLimited { code, .. } => code,
            Error::Db(_) | Error::Io(_) | Error::Internal(_) => "internal",
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Error::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            Error::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Conflict { .. } => StatusCode::CONFLICT,
            Error::Gone { .. } => StatusCode::GONE,
            Error::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            Error::Db(_) | Error::Io(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the client is told: internal errors say nothing of their cause.
    pub fn public_message(&self) -> String {
        match self {
            Error::Db(_) | Error::Io(_) | Error::Internal(_) => "internal server error".to_owned(),
            other => other.to_string(),
        }
    }
}

impl Error {
    /// The GraphQL form: the public message, with `extensions.code`.
    pub fn graphql(self) -> async_graphql::Error {
        if self.status().is_server_error() && !matches!(self, Error::StorageFull) {
            tracing::error!(error = %self, "graphql request failed");
        }
        let code = self.code();
        async_graphql::ErrorExtensions::extend_with(
            async_graphql::Error::new(self.public_message()),
            |_, ext| ext.set("code", code),
        )
    }
}

/// `?` in resolvers: our errors become GraphQL errors through [`Error::graphql`].
pub trait GraphQLResult<T> {
    /// Map the error to its GraphQL form.
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> GraphQLResult<T> for Result<T> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(Error::graphql)
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() && !matches!(self, Error::StorageFull) {
            tracing::error!(error = %self, "request failed");
        }
        let body = serde_json::json!({
            "error": { "code": self.code(), "message": self.public_message() }
        });
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            Error::RateLimited {
                retry_after_secs, ..
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            Error::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Error::RangeNotSatisfiable { size } => {
                if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    headers.insert(header::CONTENT_RANGE, value);
                }
            }
            _ => {}
        }
        response
    }
}
