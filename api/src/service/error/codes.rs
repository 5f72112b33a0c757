//! The table of every error code: its string, its kind, its default message.
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
    /// A tus request without `Tus-Resumable: 1.0.0` (tus answers 412 with `Tus-Version`).
    UnsupportedVersion = "unsupported_version", Malformed, "this server speaks tus 1.0.0";
    /// A tus `PATCH` whose body is not `application/offset+octet-stream` (tus: 415).
    UnsupportedMediaType = "unsupported_media_type", Malformed, "the body must be application/offset+octet-stream";
    /// A checksum algorithm Ferry does not verify (it verifies sha1, sha256 and md5).
    UnsupportedChecksum = "unsupported_checksum", Malformed, "unsupported checksum algorithm";
    /// The client stopped sending a body.
    RequestTimeout = "request_timeout", Timeout, "the request body stalled";
    /// A well-formed value out of range (a negative size, say): `invalid_input` at 422.
    InvalidValue = "invalid_input", Invalid, "invalid input";
    /// A request's bytes whose checksum is not the one claimed (tus: 460); nothing of it is kept.
    ChecksumMismatch = "checksum_mismatch", Invalid, "checksum mismatch";
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
    /// An announced block list that is empty, too long, has a bad hash or size,
    /// or does not add up to `total_size`.
    InvalidBlockList = "invalid_block_list", Invalid, "invalid block list";
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
    /// The last enabled admin cannot be deleted, disabled or demoted.
    LastAdmin = "last_admin", Conflict, "the last enabled admin must stay";
    /// A chunk already stored with other bytes.
    ChunkConflict = "chunk_conflict", Conflict, "the chunk is stored with other bytes";
    /// Another request is writing this chunk right now.
    ChunkInProgress = "chunk_in_progress", Conflict, "the chunk is being written by another request";
    /// Bytes sent at an offset other than where the upload stands.
    OffsetMismatch = "offset_mismatch", Conflict, "the offset is not where the upload stands";
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
    /// A changes-feed cursor this server cannot serve: list again without one.
    CursorExpired = "cursor_expired", Gone, "the cursor cannot be served; list again without one";
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
