//! The one error type of the service layer: a [`Code`] from one table, a message,
//! and what an adapter needs to answer well (the form field at fault, when to
//! retry, the size a range missed). Nothing here knows HTTP, GraphQL or WebDAV:
//! each adapter maps a code's [`Kind`] to its own status in one function.
//!
//! Internal details (database and I/O errors) go to the log; clients get the
//! code and a message that leaks nothing.
use std::borrow::Cow;

use sea_orm::DbErr;

mod codes;

pub use codes::{Code, Kind};

/// Everything a service call can fail with.
#[derive(Debug)]
pub struct Error {
    code: Code,
    message: Cow<'static, str>,
    field: Option<&'static str>,
    retry_after_secs: Option<u64>,
    range_size: Option<u64>,
    /// Boxed: rare, and large (a database error).
    cause: Option<Box<Cause>>,
}

/// What an internal error hides from the client.
#[derive(Debug)]
enum Cause {
    Db(DbErr),
    Io(std::io::Error),
}

/// The service layer's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with `code` and `message`.
    pub fn new(code: Code, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            retry_after_secs: None,
            range_size: None,
            cause: None,
        }
    }

    /// An error with `code` and its default message.
    pub fn of(code: Code) -> Self {
        Self::new(code, code.default_message())
    }

    /// `what` is unknown, or someone else's.
    pub fn not_found(what: &str) -> Self {
        Self::new(Code::NotFound, format!("{what} not found"))
    }

    /// Missing or wrong credentials.
    pub fn unauthorized(message: &'static str) -> Self {
        Self::new(Code::Unauthorized, message)
    }

    /// Authenticated, but not allowed.
    pub fn forbidden(message: &'static str) -> Self {
        Self::new(Code::Forbidden, message)
    }

    /// The client stopped sending.
    pub fn timeout(message: &'static str) -> Self {
        Self::new(Code::RequestTimeout, message)
    }

    /// The disk is full.
    pub fn storage_full() -> Self {
        Self::of(Code::StorageFull)
    }

    /// A byte range outside a file of `size` bytes.
    pub fn range_not_satisfiable(size: u64) -> Self {
        Self {
            range_size: Some(size),
            ..Self::of(Code::RangeNotSatisfiable)
        }
    }

    /// Our fault: `detail` goes to the log only.
    pub fn internal(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Code::Internal, detail)
    }

    /// The form field (the API's snake_case name) this error is about.
    pub fn on_field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    /// When the client may try again.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// The code clients match on.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The kind of failure (what adapters map to a status).
    pub fn kind(&self) -> Kind {
        self.code.kind()
    }

    /// The form field this error is about: the one given, else the one its code
    /// names (`invalid_timezone` is about `timezone`).
    pub fn field(&self) -> Option<&'static str> {
        self.field.or(match self.code {
            Code::InvalidTimeOfDay => Some("time_of_day"),
            Code::InvalidTimezone => Some("timezone"),
            Code::InvalidDayOfWeek => Some("day_of_week"),
            Code::InvalidDayOfMonth => Some("day_of_month"),
            Code::InvalidScheduleType => Some("schedule_type"),
            Code::InvalidDebounceSeconds => Some("debounce_seconds"),
            Code::InvalidResolveConflicts => Some("resolve_conflicts"),
            Code::InvalidUsername | Code::UsernameTaken => Some("username"),
            Code::InvalidPassword => Some("password"),
            Code::InvalidRole => Some("role"),
            _ => None,
        })
    }

    /// Seconds to wait before retrying, for throttled errors.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after_secs
    }

    /// The size of the file a range missed.
    pub fn range_size(&self) -> Option<u64> {
        self.range_size
    }

    /// A database error (retried by callers that can).
    pub fn is_db(&self) -> bool {
        matches!(self.cause.as_deref(), Some(Cause::Db(_)))
    }

    /// What the client is told: internal errors say nothing of their cause.
    pub fn public_message(&self) -> Cow<'static, str> {
        if self.code == Code::Internal {
            Cow::Borrowed(Code::Internal.default_message())
        } else {
            self.message.clone()
        }
    }

    /// Log the error if it is our fault: adapters call this once, where the
    /// error becomes an answer.
    pub fn log_if_internal(&self, adapter: &'static str) {
        if self.is_internal() {
            tracing::error!(error = %self, adapter, "request failed");
        }
    }

    /// Whether this is our fault (to be logged as an error).
    pub fn is_internal(&self) -> bool {
        self.code == Code::Internal
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.cause.as_deref() {
            Some(Cause::Db(err)) => write!(f, "database: {err}"),
            Some(Cause::Io(err)) => write!(f, "i/o: {err}"),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self.cause.as_deref() {
            Some(Cause::Db(err)) => Some(err),
            Some(Cause::Io(err)) => Some(err),
            None => None,
        }
    }
}

impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        Self {
            cause: Some(Box::new(Cause::Db(err))),
            ..Self::of(Code::Internal)
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        use std::io::ErrorKind;
        match err.kind() {
            ErrorKind::StorageFull | ErrorKind::QuotaExceeded => Error::storage_full(),
            _ => Self {
                cause: Some(Box::new(Cause::Io(err))),
                ..Self::of(Code::Internal)
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_snake_case_and_only_invalid_input_is_shared() {
        let mut seen = std::collections::HashMap::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{s}");
            if let Some(other) = seen.insert(s, *code) {
                assert_eq!(s, "invalid_input", "{other:?} and {code:?} share {s}");
            }
            assert!(!code.default_message().is_empty());
        }
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let err = Error::from(DbErr::Custom("secret table".into()));
        assert_eq!(err.code(), Code::Internal);
        assert!(err.is_db());
        assert_eq!(err.public_message(), "internal server error");
        assert!(err.to_string().contains("secret table"));
    }
}
