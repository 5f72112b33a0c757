//! The `ferry` binary: parse the command line, run it.
#![forbid(unsafe_code)]

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    api::cli::init_tracing();
    api::cli::run(api::config::Cli::parse()).await
}
