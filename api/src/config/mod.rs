//! Configuration: defaults → environment → flags, one struct, secrets hidden in `Debug`.
use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand};

mod bounds;
mod validate;
pub use bounds::Bounds;

/// `ferry`: a self-hosted file-sync server.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about)]
pub struct Cli {
    #[command(
        flatten,
        next_help_heading = "Server settings (every command; each also from its FERRY_… variable)"
    )]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Command,
}

/// What the binary is asked to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (migrations run first).
    Serve,
    /// Run the database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Make TLS certificates.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Keep a folder in sync with a Ferry server (the reference client).
    #[command(subcommand)]
    Sync(client::SyncCommand),
}

/// `ferry cert …`
#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Write a self-signed development certificate (`cert.pem`) and key (`key.pem`) to DIR.
    SelfSigned {
        /// A host name or IP address the certificate is valid for (repeatable).
        #[arg(long = "host", required = true)]
        hosts: Vec<String>,
        /// The directory to write `cert.pem` and `key.pem` into (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
}

/// `ferry user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        /// The new user's name.
        name: String,
        /// Give the user the admin role.
        #[arg(long)]
        admin: bool,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Give a user the admin role, or take it away.
    Role {
        /// The user's name.
        name: String,
        /// `admin` or `user`.
        #[arg(value_parser = ["admin", "user"])]
        role: String,
    },
    /// Disable a user: every token of theirs stops working, their sockets close.
    Disable {
        /// The user's name.
        name: String,
    },
    /// Enable a disabled user again.
    Enable {
        /// The user's name.
        name: String,
    },
    /// Set a user's password (read from standard input); every token of theirs is revoked.
    Password {
        /// The user's name.
        name: String,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Delete a user with their devices, tokens, files, versions, schedules and settings.
    Delete {
        /// The user's name.
        name: String,
        /// Confirm: the user's files and their history are deleted with them.
        #[arg(long, required = true)]
        yes: bool,
    },
}

/// `ferry token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for USER and print it once.
    Create {
        /// The user the token acts as.
        user: String,
        /// Bind the token to this device (registered if new).
        #[arg(long)]
        device: Option<String>,
        /// A label for the token.
        #[arg(long)]
        name: Option<String>,
    },
    /// List a user's tokens (id, name, device, created, expires, revoked).
    List {
        /// The user whose tokens to list.
        user: String,
    },
    /// Revoke a token by its id (from `ferry token list`).
    Revoke {
        /// The token's id.
        id: uuid::Uuid,
    },
}

/// Every setting; each flag has an environment variable (`FERRY_…`, or the seed's `SYNC_…`).
#[derive(Clone, Args)]
pub struct Settings {
    /// Listen address.
    #[arg(
        long,
        env = "FERRY_BIND",
        default_value = "127.0.0.1:8000",
        global = true
    )]
    pub bind: SocketAddr,
    /// Directory for the SQLite database, blobs and staged chunks.
    #[arg(
        long,
        env = "FERRY_DATA_DIR",
        default_value = "./ferry-data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: `ferry.db` in the data directory.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Create this admin at start when no user exists yet.
    #[arg(long, env = "FERRY_ADMIN_USER", global = true)]
    pub admin_user: Option<String>,
    /// Password of the bootstrap admin.
    #[arg(long, env = "FERRY_ADMIN_PASSWORD", global = true)]
    pub admin_password: Option<String>,
    /// Default chunk size in bytes.
    #[arg(
        long,
        env = "SYNC_CHUNK_SIZE",
        default_value_t = 5_242_880,
        global = true
    )]
    pub chunk_size: u64,
    /// Largest chunk size a client may ask for.
    #[arg(
        long,
        env = "SYNC_MAX_CHUNK_SIZE",
        default_value_t = 104_857_600,
        global = true
    )]
    pub max_chunk_size: u64,
    /// Idle days before an unfinished upload expires.
    #[arg(
        long,
        env = "SYNC_CHUNK_CLEANUP_DAYS",
        default_value_t = 7,
        global = true
    )]
    pub chunk_cleanup_days: u32,
    /// Unfinished uploads one user may have at once.
    #[arg(
        long,
        env = "SYNC_MAX_CONCURRENT_UPLOADS",
        default_value_t = 10,
        global = true
    )]
    pub max_concurrent_uploads: u32,
    /// Measure and publish per-user throughput.
    #[arg(long, env = "SYNC_BANDWIDTH_MONITOR", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub bandwidth_monitor: bool,
    /// Largest file a client may upload, in bytes (default 1 TiB).
    #[arg(long, env = "FERRY_MAX_FILE_SIZE", default_value_t = 1 << 40, global = true)]
    pub max_file_size: u64,
    /// Free disk space to keep in reserve; writes that would eat into it answer 507.
    #[arg(long, env = "FERRY_MIN_FREE_SPACE", default_value_t = 64 << 20, global = true)]
    pub min_free_space: u64,
    /// How often the expiry job looks for idle uploads, in seconds.
    #[arg(
        long,
        env = "FERRY_CLEANUP_INTERVAL_SECS",
        default_value_t = 3600,
        global = true
    )]
    pub cleanup_interval_secs: u64,
    /// Seconds a chunk body may stall before the request is given up (408).
    #[arg(
        long,
        env = "FERRY_CHUNK_IDLE_TIMEOUT_SECS",
        default_value_t = 60,
        global = true
    )]
    pub chunk_idle_timeout_secs: u64,
    /// Lifetime of tokens issued by login, in days.
    #[arg(
        long,
        env = "FERRY_TOKEN_TTL_DAYS",
        default_value_t = 30,
        global = true
    )]
    pub token_ttl_days: u32,
    /// Requests per second each client (user, or IP when anonymous) may make to
    /// the upload endpoints, replenished continuously; 0 turns the limit off.
    #[arg(
        long,
        env = "FERRY_UPLOAD_RATE_PER_SECOND",
        default_value_t = 200,
        global = true
    )]
    pub upload_rate_per_second: u64,
    /// Requests a client may make at once before the per-second rate applies.
    #[arg(
        long,
        env = "FERRY_UPLOAD_RATE_BURST",
        default_value_t = 1000,
        global = true
    )]
    pub upload_rate_burst: u32,
    /// Reverse proxies whose `X-Forwarded-For` is believed (comma-separated IPs).
    #[arg(
        long,
        env = "FERRY_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Web origins (`https://app.example.com`) whose pages may upload over tus
    /// (`/api/tus/`) from the browser: CORS is answered for them only. None by default.
    #[arg(
        long,
        env = "FERRY_TUS_CORS_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub tus_cors_origins: Vec<String>,
    /// PEM certificate chain: serve HTTPS (HTTP/2 and HTTP/1.1) instead of plain HTTP.
    #[arg(long, env = "FERRY_TLS_CERT", requires = "tls_key", global = true)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of `--tls-cert`.
    #[arg(long, env = "FERRY_TLS_KEY", requires = "tls_cert", global = true)]
    pub tls_key: Option<PathBuf>,
    /// Also listen for plain HTTP here and answer it with a permanent redirect to HTTPS.
    #[arg(
        long,
        env = "FERRY_HTTP_REDIRECT_BIND",
        requires = "tls_cert",
        global = true
    )]
    pub http_redirect_bind: Option<SocketAddr>,
    /// Keep at most this many versions of each file (default: all).
    #[arg(long, env = "FERRY_KEEP_VERSIONS", global = true)]
    pub keep_versions: Option<u32>,
    /// Keep versions other than the current one this many days (default: forever).
    #[arg(long, env = "FERRY_KEEP_DAYS", global = true)]
    pub keep_days: Option<u32>,
    /// An unreferenced block younger than this many seconds is not collected.
    #[arg(
        long,
        env = "FERRY_GC_GRACE_SECS",
        default_value_t = 3600,
        global = true
    )]
    pub gc_grace_secs: u64,
    /// How often the block collector runs, in seconds (0: only when an admin asks).
    #[arg(
        long,
        env = "FERRY_GC_INTERVAL_SECS",
        default_value_t = 86_400,
        global = true
    )]
    pub gc_interval_secs: u64,
    /// Where blocks live: unset for the data directory, or `s3://BUCKET/PREFIX`
    /// (credentials and endpoint from the standard AWS variables below).
    #[arg(long, env = "FERRY_STORAGE", global = true)]
    pub storage: Option<String>,
    /// The S3 endpoint (default: AWS); e.g. `http://127.0.0.1:8333`.
    #[arg(long = "s3-endpoint", env = "AWS_ENDPOINT_URL", global = true)]
    pub s3_endpoint: Option<String>,
    /// The S3 region.
    #[arg(
        long = "s3-region",
        env = "AWS_REGION",
        default_value = "us-east-1",
        global = true
    )]
    pub s3_region: String,
    /// The S3 access key.
    #[arg(
        long = "s3-access-key-id",
        env = "AWS_ACCESS_KEY_ID",
        global = true,
        hide_env_values = true
    )]
    pub s3_access_key_id: Option<String>,
    /// The S3 secret key.
    #[arg(
        long = "s3-secret-access-key",
        env = "AWS_SECRET_ACCESS_KEY",
        global = true,
        hide_env_values = true
    )]
    pub s3_secret_access_key: Option<String>,
    /// Testing hook: block forever when the named step is reached (for crash tests).
    #[arg(long, env = "FERRY_DEBUG_PAUSE_AT", hide = true, global = true)]
    pub debug_pause_at: Option<String>,
    /// Bounds on what one client may make the server do (README: Security).
    #[command(flatten)]
    pub bounds: Bounds,
}

impl Settings {
    /// What the services are built from.
    pub fn service_options(&self) -> crate::service::Options {
        use crate::service::{UploadLimits, identity::login_guard::Budget};
        let budget = |burst: u32, refill_secs: u64| Budget {
            burst: burst.max(1),
            refill: std::time::Duration::from_secs(refill_secs.max(1)),
        };
        crate::service::Options {
            data_dir: self.data_dir.clone(),
            limits: UploadLimits {
                default_chunk_size: self.chunk_size,
                max_chunk_size: self.max_chunk_size,
                max_file_size: self.max_file_size,
                cleanup_days: self.chunk_cleanup_days,
                max_concurrent_uploads: self.max_concurrent_uploads,
                min_free_space: self.min_free_space,
                token_ttl_days: self.token_ttl_days,
                chunk_idle_timeout: std::time::Duration::from_secs(
                    self.chunk_idle_timeout_secs.max(1),
                ),
            },
            hash_concurrency: self.bounds.hash_concurrency(),
            login_failures_per_address: budget(
                self.bounds.login_failures_per_ip,
                self.bounds.login_ip_refill_secs,
            ),
            login_failures_per_user: budget(
                self.bounds.login_failures_per_user,
                self.bounds.login_user_refill_secs,
            ),
            debug_pause_at: self.debug_pause_at.clone(),
            collection: crate::service::files::collector::Collection {
                retention: crate::service::files::collector::Retention {
                    keep_versions: self.keep_versions,
                    keep_days: self.keep_days,
                },
                grace: std::time::Duration::from_secs(self.gc_grace_secs),
            },
            object_storage: self.object_storage(),
        }
    }

    /// The S3 location blocks live in, when `FERRY_STORAGE` names one (its
    /// syntax is checked at start-up by [`validate`](Self::validate)).
    pub fn object_storage(&self) -> Option<crate::service::files::object_blocks::S3Location> {
        let url = self.storage.as_deref()?;
        let mut location = crate::service::files::object_blocks::S3Location::parse(url).ok()?;
        location.endpoint = self.s3_endpoint.clone();
        location.region = self.s3_region.clone();
        location.access_key_id = self.s3_access_key_id.clone();
        location.secret_access_key = self.s3_secret_access_key.clone();
        Some(location)
    }

    /// Settings as they are with no flags and no environment, rooted at `data_dir`.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let mut settings = Cli::parse_from(["ferry", "serve"]).settings;
        settings.data_dir = data_dir.into();
        settings
    }

    /// The certificate and key files when HTTPS is configured.
    pub fn tls_files(&self) -> Option<crate::tls::TlsFiles> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(crate::tls::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => None,
        }
    }

    /// The database URL in force: `DATABASE_URL`, or SQLite in the data directory.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("ferry.db").display()
            ),
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_ref().map(|u| redact_url(u)),
            )
            .field("admin_user", &self.admin_user)
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "<hidden>"),
            )
            .field("chunk_size", &self.chunk_size)
            .field("max_chunk_size", &self.max_chunk_size)
            .field("chunk_cleanup_days", &self.chunk_cleanup_days)
            .field("max_concurrent_uploads", &self.max_concurrent_uploads)
            .field("bandwidth_monitor", &self.bandwidth_monitor)
            .field("upload_rate_per_second", &self.upload_rate_per_second)
            .field("upload_rate_burst", &self.upload_rate_burst)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("tus_cors_origins", &self.tus_cors_origins)
            .field("max_file_size", &self.max_file_size)
            .field("min_free_space", &self.min_free_space)
            .field("cleanup_interval_secs", &self.cleanup_interval_secs)
            .field("keep_versions", &self.keep_versions)
            .field("keep_days", &self.keep_days)
            .field("gc_grace_secs", &self.gc_grace_secs)
            .field("gc_interval_secs", &self.gc_interval_secs)
            .field("storage", &self.storage)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_region", &self.s3_region)
            .field("chunk_idle_timeout_secs", &self.chunk_idle_timeout_secs)
            .field("token_ttl_days", &self.token_ttl_days)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field("http_redirect_bind", &self.http_redirect_bind)
            .finish_non_exhaustive()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:<hidden>@host/db`.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:<hidden>{}",
                    &url[..scheme + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let mut settings = Settings::with_data_dir("/tmp/x");
        settings.admin_password = Some("hunter2".into());
        settings.database_url = Some("postgres://ferry:s3cret@db/ferry".into());
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("postgres://ferry:<hidden>@db/ferry"),
            "{shown}"
        );
    }

    #[test]
    fn defaults_match_the_spec() {
        let settings = Settings::with_data_dir("./ferry-data");
        assert_eq!(settings.bind.to_string(), "127.0.0.1:8000");
        assert_eq!(settings.chunk_size, 5_242_880);
        assert_eq!(settings.max_chunk_size, 104_857_600);
        assert_eq!(settings.chunk_cleanup_days, 7);
        assert_eq!(settings.max_concurrent_uploads, 10);
        assert!(settings.bandwidth_monitor);
    }
}
