//! The bounds on hostile input: sizes, times, counts and rates, each a setting
//! with a default (README: Security).
use clap::Args;

/// Every bound the server puts on one client's requests.
#[derive(Clone, Debug, Args)]
pub struct Bounds {
    /// Largest body of a JSON, GraphQL or WebDAV XML request, in bytes (413 beyond;
    /// chunk and WebDAV PUT bodies are bounded by the upload's own sizes).
    #[arg(long, env = "FERRY_MAX_REQUEST_BODY", default_value_t = 1 << 20, global = true)]
    pub max_request_body: u64,
    /// Seconds a client may take to send a request's headers before the connection is closed.
    #[arg(
        long,
        env = "FERRY_HEADER_TIMEOUT_SECS",
        default_value_t = 20,
        global = true
    )]
    pub header_timeout_secs: u64,
    /// Seconds a request body (any: upload, PUT, JSON) may go without a byte before it is given up (408).
    #[arg(
        long,
        env = "FERRY_BODY_IDLE_TIMEOUT_SECS",
        default_value_t = 60,
        global = true
    )]
    pub body_idle_timeout_secs: u64,
    /// Seconds a small body (JSON, GraphQL, WebDAV XML) may take to arrive whole (408).
    #[arg(
        long,
        env = "FERRY_SMALL_BODY_TIMEOUT_SECS",
        default_value_t = 30,
        global = true
    )]
    pub small_body_timeout_secs: u64,
    /// Password hashes (argon2, 19 MiB each) computed at once; 0: one per CPU core.
    #[arg(
        long,
        env = "FERRY_PASSWORD_HASH_CONCURRENCY",
        default_value_t = 0,
        global = true
    )]
    pub password_hash_concurrency: usize,
    /// Failed logins one client address may make before it must wait (429).
    #[arg(
        long,
        env = "FERRY_LOGIN_FAILURES_PER_IP",
        default_value_t = 10,
        global = true
    )]
    pub login_failures_per_ip: u32,
    /// Seconds after which a client address gets one more failed login back.
    #[arg(
        long,
        env = "FERRY_LOGIN_IP_REFILL_SECS",
        default_value_t = 6,
        global = true
    )]
    pub login_ip_refill_secs: u64,
    /// Failed logins one username may see (from anywhere) before logins for it must wait (429).
    #[arg(
        long,
        env = "FERRY_LOGIN_FAILURES_PER_USER",
        default_value_t = 20,
        global = true
    )]
    pub login_failures_per_user: u32,
    /// Seconds after which a username gets one more failed login back.
    #[arg(
        long,
        env = "FERRY_LOGIN_USER_REFILL_SECS",
        default_value_t = 3,
        global = true
    )]
    pub login_user_refill_secs: u64,
    /// GraphQL WebSockets one user may hold open at once.
    #[arg(
        long,
        env = "FERRY_MAX_SOCKETS_PER_USER",
        default_value_t = 32,
        global = true
    )]
    pub max_sockets_per_user: usize,
    /// Subscriptions one GraphQL WebSocket may run at once.
    #[arg(
        long,
        env = "FERRY_MAX_SUBSCRIPTIONS_PER_SOCKET",
        default_value_t = 64,
        global = true
    )]
    pub max_subscriptions_per_socket: usize,
    /// Seconds a GraphQL WebSocket may take to send `connection_init`.
    #[arg(
        long,
        env = "FERRY_SOCKET_INIT_TIMEOUT_SECS",
        default_value_t = 10,
        global = true
    )]
    pub socket_init_timeout_secs: u64,
    /// Seconds between re-checks of an open WebSocket's token, for changes made
    /// elsewhere; changes made through this server, and the token's expiry, are
    /// acted on at once.
    #[arg(
        long,
        env = "FERRY_SOCKET_RECHECK_SECS",
        default_value_t = 60,
        global = true
    )]
    pub socket_recheck_secs: u64,
    /// WebDAV locks one user may hold at once.
    #[arg(
        long,
        env = "FERRY_WEBDAV_MAX_LOCKS",
        default_value_t = 1000,
        global = true
    )]
    pub webdav_max_locks: usize,
    /// Longest WebDAV lock timeout granted, in seconds (`Timeout: Infinite` included).
    #[arg(
        long,
        env = "FERRY_WEBDAV_MAX_LOCK_SECS",
        default_value_t = 3600,
        global = true
    )]
    pub webdav_max_lock_secs: u64,
    /// Most ranges one `Range` header may ask for; more, or overlapping ones, get the whole file.
    #[arg(long, env = "FERRY_MAX_RANGES", default_value_t = 16, global = true)]
    pub max_ranges: usize,
}

impl Bounds {
    /// Argon2 hashes at once: the setting, or one per core.
    pub fn hash_concurrency(&self) -> usize {
        match self.password_hash_concurrency {
            0 => std::thread::available_parallelism().map_or(2, usize::from),
            n => n,
        }
    }
}
