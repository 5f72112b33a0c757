//! `ferry sync`: the reference client. It keeps a folder in sync with a Ferry
//! server through the server's public HTTP API only (the changes feed, chunked
//! uploads, downloads, folders, the device's settings) and depends on no
//! server crate.
//!
//! The folder's state (the merge base, the mirror of the server's tree, uploads
//! in flight) lives in `DIR/.ferry/`, which never syncs.
#![forbid(unsafe_code)]

pub mod api;
mod blocks;
pub mod cli;
pub mod error;
pub mod local;
pub mod pass;
pub mod plan;
mod pull;
mod reuse;
pub mod state;
pub mod status;
mod transfer;
pub mod watch;

pub use cli::SyncCommand;
pub use error::{Error, Result};
