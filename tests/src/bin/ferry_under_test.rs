//! The `ferry` binary, built inside the test package so tests can spawn it
//! (and kill it) as a real process: the same one-line `main` as `api/src/main.rs`.
#![forbid(unsafe_code)]

#[tokio::main]
async fn main() -> std::process::ExitCode {
    api::cli::main().await
}
