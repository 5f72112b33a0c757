//! Benchmark: a login flood — 600 wrong passwords over REST, GraphQL and WebDAV
//! Basic, 96 at a time, from one address — against a real `ferry` process,
//! while a signed-in user keeps four requests going (list schedules, pause 5 ms). Reports the
//! server's peak RSS, the signed-in user's p95 latency, and how many attempts
//! were refused (429) or checked (401) per second.
//!
//! Run: `cargo build --release --bins && $CARGO_TARGET_DIR/release/bench-login-flood`
//! (`--ferry PATH` measures another build, e.g. an older commit's, in the same way).
#![forbid(unsafe_code)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use ferry_tests::{ADMIN, ProcessServer, bench::ferry_binary};
use futures_util::StreamExt;
use serde_json::json;

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

async fn attempt(client: &reqwest::Client, base: &str, n: usize) -> u16 {
    let wrong = format!("wrong-{n}");
    let request = match n % 3 {
        0 => client
            .post(format!("{base}/api/auth/login"))
            .json(&json!({ "username": ADMIN, "password": wrong })),
        1 => client.post(format!("{base}/graphql")).json(&json!({
            "query": "mutation($p: String!) { login(username: \"admin\", password: $p) { token } }",
            "variables": { "p": wrong },
        })),
        _ => client
            .request(
                reqwest::Method::from_bytes(b"PROPFIND").expect("method"),
                format!("{base}/webdav/"),
            )
            .basic_auth(ADMIN, Some(wrong)),
    };
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            if body.contains("too_many_attempts") {
                429
            } else if status == 200 && body.contains("unauthorized") {
                401
            } else {
                status
            }
        }
        Err(_) => 0,
    }
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
    let stop = Arc::new(AtomicBool::new(false));
    let watchers: Vec<_> = (0..options.users)
        .map(|_| {
            let (user, watching) = (api.clone(), stop.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while !watching.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let _ = user.get("/api/sync/schedule/list").await;
                    seen.push(started.elapsed());
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                seen
            })
        })
        .collect();
    let client = reqwest::Client::new();
    let started = Instant::now();
    let statuses: Vec<u16> = futures_util::stream::iter(0..options.attempts)
        .map(|n| {
            let (client, base) = (client.clone(), server.base.clone());
            async move { attempt(&client, &base, n).await }
        })
        .buffer_unordered(options.concurrency)
        .collect()
        .await;
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for watcher in watchers {
        latencies.extend(watcher.await?);
    }
    latencies.sort();
    let p95 = latencies[latencies.len().saturating_sub(1) * 95 / 100];
    let refused = statuses.iter().filter(|s| **s == 429).count();
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let peak = server.peak_rss();
    println!(
        "binary {}\nattempts {} in {seconds:.2} s: {refused} refused (429, {:.0}/s), {checked} checked (401, {:.0}/s), {} other\n\
         server peak RSS {} MiB (before the flood {} MiB)\nsigned-in user: p95 {:.0} ms over {} requests",
        binary.display(),
        statuses.len(),
        refused as f64 / seconds,
        checked as f64 / seconds,
        statuses.len() - refused - checked,
        peak >> 20,
        before >> 20,
        p95.as_secs_f64() * 1000.0,
        latencies.len()
    );
    Ok(())
}
