//! The client's one error type: what went wrong, said in one line.
use std::path::PathBuf;

/// Everything `ferry sync` can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error in the SPEC's format.
    #[error("the server refused {what}: {message} ({code}, HTTP {status})")]
    Server {
        what: String,
        status: u16,
        code: String,
        message: String,
    },
    /// The server could not be reached, or the connection broke.
    #[error("cannot reach the server while {what}: {source}")]
    Network {
        what: String,
        #[source]
        source: reqwest::Error,
    },
    /// A local file or folder could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The folder's sync state could not be read or written.
    #[error("the sync state in .ferry/ failed: {0}")]
    State(#[from] sqlx::Error),
    /// The folder is not set up, or its setup is unusable.
    #[error("{0}")]
    Setup(String),
    /// Downloaded bytes did not hash to what the server announced.
    #[error("{path}: the download does not match its SHA-256 (expected {expected})")]
    Corrupt { path: String, expected: String },
}

impl Error {
    /// An I/O error about `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// The server's error code, if the server answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Server { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether trying again later may succeed (the server away or busy).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Network { .. } => true,
            Self::Server { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// The client's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
