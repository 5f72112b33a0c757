//! The one error type of the service layer: a [`Code`] from one table, a message,
//! and what an adapter needs to answer well (the form field at fault, when to
//! retry, the size a range missed). Nothing here knows HTTP, GraphQL or WebDAV:
//! each adapter maps a code's [`Kind`] to its own status in one function.
//!
//! Internal details (database and I/O errors) go to the log; clients get the
//! code and a message that leaks nothing.
use std::borrow::Cow;

use sea_orm::DbErr;

/// What kind of failure a code is; adapters choose their status from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// No credentials, or credentials that do not check out.
    Unauthenticated,
    /// Authenticated, but not allowed.
    Forbidden,
    /// Unknown — or belongs to someone else.
    NotFound,
    /// The request itself is malformed.
    Malformed,
    /// The client stopped sending in the middle of a request.
    Timeout,
    /// Conflicts with the current state.
    Conflict,
    /// The upload expired or was cancelled.
    Gone,
    /// Larger than allowed.
    TooLarge,
    /// A byte range outside the file.
    OutOfRange,
    /// Well-formed but invalid.
    Invalid,
    /// Too many requests, attempts or open things; retry later.
    Throttled,
    /// The disk (or its reserve) is full.
    StorageFull,
    /// Not ready to serve (the database is unreachable).
    Unavailable,
    /// The request names another server.
    ElsewhereServer,
    /// Our fault: logged, never explained.
    Internal,
}

macro_rules! codes {
    ($( $(#[doc = $doc:literal])* $variant:ident = $code:literal, $kind:ident, $message:literal; )*) => {
        /// Every error code Ferry answers with: the stable snake_case string clients
        /// match on, its kind, and the message used when a call gives none.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Code {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl Code {
            /// Every code, in the order of this table.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The string clients match on.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// Which kind of failure this is.
            pub fn kind(self) -> Kind {
                match self { $(Code::$variant => Kind::$kind,)* }
            }

            /// The message of an error that was given none.
            pub fn default_message(self) -> &'static str {
                match self { $(Code::$variant => $message,)* }
            }
        }
    };
}

codes! {
    /// No bearer token, an unknown, expired or revoked one, or a wrong password.
    Unauthorized = "unauthorized", Unauthenticated, "authentication required";
    /// The caller may not do this (admin-only, another device's token, a disabled user).
    Forbidden = "forbidden", Forbidden, "forbidden";
    /// Unknown, or someone else's.
    NotFound = "not_found", NotFound, "not found";
    /// A body or parameter that does not parse.
    InvalidInput = "invalid_input", Malformed, "invalid input";
    /// A chunk number outside `0..total_chunks`.
    InvalidChunkNumber = "invalid_chunk_number", Malformed, "invalid chunk number";
    /// A chunk whose body is not the size its position requires.
    SizeMismatch = "size_mismatch", Malformed, "the chunk is not the size its position requires";
    /// A WebDAV COPY/MOVE without a `Host` to check its `Destination` against.
    MissingHost = "missing_host", Malformed, "the request has no Host header";
    /// The client stopped sending a body.
    RequestTimeout = "request_timeout", Timeout, "the request body stalled";
    /// A well-formed value out of range (a negative size, say): `invalid_input` at 422.
    InvalidValue = "invalid_input", Invalid, "invalid input";
    /// A chunk whose SHA-256 is not the one claimed, or a file whose hash is not the announced one.
    HashMismatch = "hash_mismatch", Invalid, "hash mismatch";
    /// The assembled file's SHA-256 is not the announced `file_hash` (the upload fails).
    FileHashMismatch = "file_hash_mismatch", Invalid, "the assembled file's SHA-256 does not match file_hash";
    /// An upload whose staged chunks vanished before assembly (the upload fails).
    StagedDataLost = "staged_data_lost", Invalid, "the upload's staged data is gone";
    /// A `file_hash` that is not 64 hex digits.
    InvalidFileHash = "invalid_file_hash", Invalid, "invalid file_hash";
    /// A `day_of_week` outside 0–6 on a weekly schedule.
    InvalidDayOfWeek = "invalid_day_of_week", Invalid, "invalid day_of_week";
    /// A `day_of_month` outside 1–31 on a monthly schedule.
    InvalidDayOfMonth = "invalid_day_of_month", Invalid, "invalid day_of_month";
    /// A chunk hash that is not 64 lowercase hex digits.
    InvalidChunkHash = "invalid_chunk_hash", Invalid, "invalid chunk hash";
    /// A chunk size outside 1 byte … `SYNC_MAX_CHUNK_SIZE`.
    InvalidChunkSize = "invalid_chunk_size", Invalid, "invalid chunk size";
    /// A resumed upload asked for another chunk size.
    ChunkSizeMismatch = "chunk_size_mismatch", Invalid, "the chunk size differs from the upload's";
    /// A path that is empty, relative, has `..`, control characters or is too long.
    InvalidPath = "invalid_path", Invalid, "invalid path";
    /// The same path twice in one list.
    DuplicatePath = "duplicate_path", Invalid, "duplicate path";
    /// A count (`first`, `count`, `limit`) out of range.
    InvalidCount = "invalid_count", Invalid, "invalid count";
    /// A pagination cursor this server did not issue.
    InvalidCursor = "invalid_cursor", Invalid, "invalid cursor";
    /// A date outside the years 1970–9999.
    InvalidDate = "invalid_date", Invalid, "invalid date";
    /// An on-change debounce outside its range.
    InvalidDebounceSeconds = "invalid_debounce_seconds", Invalid, "invalid debounce_seconds";
    /// A device id that is not a UUID of one of the caller's devices.
    InvalidDeviceId = "invalid_device_id", Invalid, "invalid device_id";
    /// A device name that is empty or too long.
    InvalidDeviceName = "invalid_device_name", Invalid, "invalid device name";
    /// A password too short or too long.
    InvalidPassword = "invalid_password", Invalid, "invalid password";
    /// A conflict strategy Ferry does not know.
    InvalidResolveConflicts = "invalid_resolve_conflicts", Invalid, "invalid resolve_conflicts";
    /// A role other than `admin` or `user`.
    InvalidRole = "invalid_role", Invalid, "invalid role";
    /// A schedule type Ferry does not know, or its fields do not fit it.
    InvalidScheduleType = "invalid_schedule_type", Invalid, "invalid schedule_type";
    /// A negative bandwidth limit.
    InvalidSpeedLimit = "invalid_speed_limit", Invalid, "invalid speed limit";
    /// A throttle hour outside 0–23, or only one of the pair.
    InvalidThrottleHour = "invalid_throttle_hour", Invalid, "invalid throttle hour";
    /// A time of day that is not `HH:MM`.
    InvalidTimeOfDay = "invalid_time_of_day", Invalid, "invalid time_of_day";
    /// A time zone that is not an IANA name.
    InvalidTimezone = "invalid_timezone", Invalid, "invalid timezone";
    /// A username that is empty, too long or has forbidden characters.
    InvalidUsername = "invalid_username", Invalid, "invalid username";
    /// Something already exists at that path.
    AlreadyExists = "already_exists", Conflict, "already exists";
    /// An admin may not disable themself.
    CannotDisableSelf = "cannot_disable_self", Conflict, "you cannot disable yourself";
    /// A chunk already stored with other bytes.
    ChunkConflict = "chunk_conflict", Conflict, "the chunk is stored with other bytes";
    /// Another request is writing this chunk right now.
    ChunkInProgress = "chunk_in_progress", Conflict, "the chunk is being written by another request";
    /// A move into itself or onto its own descendant.
    InvalidMove = "invalid_move", Conflict, "invalid move";
    /// The parent folder does not exist.
    ParentMissing = "parent_missing", Conflict, "the parent folder does not exist";
    /// A file where a folder is needed, or the other way round.
    PathConflict = "path_conflict", Conflict, "a file and a folder would share a path";
    /// A run that can no longer change.
    RunFailed = "run_failed", Conflict, "the run failed";
    /// A disabled schedule cannot run.
    ScheduleDisabled = "schedule_disabled", Conflict, "the schedule is disabled";
    /// The upload is being assembled.
    UploadAssembling = "upload_assembling", Conflict, "the upload is being assembled";
    /// The upload is already complete.
    UploadCompleted = "upload_completed", Conflict, "the upload is already complete";
    /// The upload failed.
    UploadFailed = "upload_failed", Conflict, "the upload failed";
    /// The upload is paused.
    UploadPaused = "upload_paused", Conflict, "the upload is paused";
    /// The username is taken.
    UsernameTaken = "username_taken", Conflict, "username taken";
    /// The upload expired.
    UploadExpired = "upload_expired", Gone, "the upload expired";
    /// The upload was cancelled.
    UploadCancelled = "upload_cancelled", Gone, "the upload was cancelled";
    /// A body over the request limit.
    PayloadTooLarge = "payload_too_large", TooLarge, "the request body is too large";
    /// A file over `--max-file-size`.
    FileTooLarge = "file_too_large", TooLarge, "the file is too large";
    /// A chunk body over the upload's chunk size.
    ChunkTooLarge = "chunk_too_large", TooLarge, "the chunk is too large";
    /// A byte range outside the file.
    RangeNotSatisfiable = "range_not_satisfiable", OutOfRange, "requested range not satisfiable";
    /// Too many requests in a short time.
    RateLimited = "rate_limited", Throttled, "too many requests";
    /// Too many failed sign-ins from this address or for this user.
    TooManyAttempts = "too_many_attempts", Throttled, "too many failed sign-in attempts";
    /// Too many WebDAV locks held by one user.
    TooManyLocks = "too_many_locks", Throttled, "too many locks";
    /// Too many unfinished uploads for one user.
    TooManyUploads = "too_many_uploads", Throttled, "too many unfinished uploads";
    /// The disk, or the space kept free on it, is full.
    StorageFull = "storage_full", StorageFull, "storage is full";
    /// A WebDAV COPY or MOVE whose `Destination` names another server.
    ForeignDestination = "foreign_destination", ElsewhereServer, "the Destination names another server";
    /// `/readyz`: the database does not answer.
    NotReady = "not_ready", Unavailable, "database unavailable";
    /// Our fault; the log says why.
    Internal = "internal", Internal, "internal server error";
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a service call can fail with.
#[derive(Debug)]
pub struct Error {
    code: Code,
    message: Cow<'static, str>,
    field: Option<&'static str>,
    retry_after_secs: Option<u64>,
    range_size: Option<u64>,
    cause: Option<Cause>,
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
        matches!(self.cause, Some(Cause::Db(_)))
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
        match &self.cause {
            Some(Cause::Db(err)) => write!(f, "database: {err}"),
            Some(Cause::Io(err)) => write!(f, "i/o: {err}"),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            Some(Cause::Db(err)) => Some(err),
            Some(Cause::Io(err)) => Some(err),
            None => None,
        }
    }
}

impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        Self {
            cause: Some(Cause::Db(err)),
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
                cause: Some(Cause::Io(err)),
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
