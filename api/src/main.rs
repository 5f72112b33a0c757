//! The `ferry` binary: parse the command line, run it.
#![forbid(unsafe_code)]

#[tokio::main]
async fn main() -> std::process::ExitCode {
    api::cli::main().await
}
