//! The `ferry` binary, built inside the test package so tests can spawn it
//! (and kill it) as a real process: the same two lines as `api/src/main.rs`.
#![forbid(unsafe_code)]

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    api::cli::init_tracing();
    api::cli::run(api::config::Cli::parse()).await
}
