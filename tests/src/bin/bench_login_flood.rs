//! Benchmark: a login flood — 600 wrong passwords over REST, GraphQL and WebDAV
//! Basic, 96 at a time, from one address — against a real `ferry` process,
//! while a signed-in user keeps four requests going (list schedules, pause 5 ms). Reports the
//! server's peak RSS, the signed-in user's p95 latency, and how many attempts
//! were refused (429) or checked (401) per second.
//!
//! Run: `cargo build --release --bins && $CARGO_TARGET_DIR/release/bench-login-flood`
//! (`--ferry PATH` measures another build, e.g. an older commit's, in the same way).
#![forbid(unsafe_code)]

use ferry_tests::{ProcessServer, bench::ferry_binary, flood};
use reqwest::StatusCode;

#[derive(Debug, clap::Parser)]
struct Options {
    /// The `ferry` binary to measure (default: this build's release binary).
    #[arg(long)]
    ferry: Option<std::path::PathBuf>,
    /// Wrong passwords to send.
    #[arg(long, default_value_t = 600)]
    attempts: usize,
    /// Attempts in flight at once.
    #[arg(long, default_value_t = 96)]
    concurrency: usize,
    /// Lift the per-address and per-username failure limits (every attempt is hashed).
    #[arg(long)]
    no_failure_limits: bool,
    /// Signed-in requests in flight at once (each: list schedules, pause 5 ms, again).
    #[arg(long, default_value_t = 4)]
    users: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options: Options = clap::Parser::parse();
    let binary = match options.ferry {
        Some(path) => path,
        None => ferry_binary()?,
    };
    // Without the failure limits every attempt is hashed: what a flood from many
    // addresses against many usernames costs.
    let unlimited = [
        ("FERRY_LOGIN_FAILURES_PER_IP", "1000000"),
        ("FERRY_LOGIN_FAILURES_PER_USER", "1000000"),
    ];
    let env: &[(&str, &str)] = if options.no_failure_limits {
        &unlimited
    } else {
        &[]
    };
    let (_dir, server) = ProcessServer::spawn_fresh(binary.to_str().unwrap_or_default(), env).await;
    let api = server.admin_api().await;
    let before = server.peak_rss();
    let outcome = flood::run(
        &server.base,
        &api,
        options.attempts,
        options.concurrency,
        options.users,
    )
    .await;
    let seconds = outcome.took.as_secs_f64();
    let refused = outcome.count(StatusCode::TOO_MANY_REQUESTS);
    let checked = outcome.count(StatusCode::UNAUTHORIZED);
    let peak = server.peak_rss();
    println!(
        "binary {}\nattempts {} in {seconds:.2} s: {refused} refused (429, {:.0}/s), {checked} checked (401, {:.0}/s), {} other\n\
         server peak RSS {} MiB (before the flood {} MiB)\nsigned-in user: p95 {:.0} ms over {} requests",
        binary.display(),
        outcome.statuses.len(),
        refused as f64 / seconds,
        checked as f64 / seconds,
        outcome.statuses.len() - refused - checked,
        peak >> 20,
        before >> 20,
        outcome.p95().as_secs_f64() * 1000.0,
        outcome.latencies.len()
    );
    Ok(())
}
