//! Benchmark: the GraphQL `schedules` query against a bare axum JSON route that
//! answers the same bytes, and the REST schedule list, in the same run.
//!
//! Run: `cargo build --release --bins && $CARGO_TARGET_DIR/release/bench-graphql`
#![forbid(unsafe_code)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicIsize, Ordering},
    },
    time::Instant,
};

use anyhow::{Context, bail};
use ferry_tests::ProcessServer;
use serde_json::{Value, json};

const REQUESTS: usize = 20_000;
const CONCURRENCY: usize = 16;
const SCHEDULES: usize = 20;
const QUERY: &str =
    "{ schedules { id deviceId scheduleType timeOfDay timezone enabled nextRunAt } }";

/// Requests per second for `REQUESTS` requests built by `make`, `CONCURRENCY` at a time.
async fn rate(
    make: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync + 'static,
) -> anyhow::Result<f64> {
    let client = reqwest::Client::new();
    let make = Arc::new(make);
    let left = Arc::new(AtomicIsize::new(REQUESTS as isize));
    let began = Instant::now();
    let workers = (0..CONCURRENCY).map(|_| {
        let (client, make, left) = (client.clone(), make.clone(), left.clone());
        tokio::spawn(async move {
            while left.fetch_sub(1, Ordering::Relaxed) > 0 {
                let response = make(&client).send().await?;
                if !response.status().is_success() {
                    bail!("status {}", response.status());
                }
                response.bytes().await?;
            }
            Ok::<_, anyhow::Error>(())
        })
    });
    for worker in futures_util::future::join_all(workers).await {
        worker??;
    }
    Ok(REQUESTS as f64 / began.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let bin = std::env::current_exe()?.with_file_name("ferry");
    let server = ProcessServer::spawn(
        bin.to_str().context("path")?,
        &work.path().join("data"),
        &[],
    )
    .await;
    let api = server.admin_api().await;
    for n in 0..SCHEDULES {
        let body = json!({ "device_id": "laptop", "schedule_type": "daily", "time_of_day": format!("{:02}:00", n % 24),
                           "timezone": "Europe/Berlin", "sync_deletions": false });
        let (status, answer) = api.post("/api/sync/schedule/create", body).await;
        if !status.is_success() {
            bail!("create: {answer}");
        }
    }
    // The bare route answers exactly what the GraphQL query answers.
    let graphql_url = api.url("/graphql");
    let token = api.token.clone();
    let payload: Value = api
        .client
        .post(&graphql_url)
        .bearer_auth(&token)
        .json(&json!({ "query": QUERY }))
        .send()
        .await?
        .json()
        .await?;
    let body = payload.to_string();
    let bare = axum::Router::new().route(
        "/bare",
        axum::routing::get(move || {
            let body = body.clone();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    body,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let bare_url = format!("http://{}/bare", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, bare).await });

    let bare_rate = rate(move |c| c.get(&bare_url)).await?;
    let (rest_url, rest_token) = (api.url("/api/sync/schedule/list"), token.clone());
    let rest_rate = rate(move |c| c.get(&rest_url).bearer_auth(&rest_token)).await?;
    let graphql_rate = rate(move |c| {
        c.post(&graphql_url)
            .bearer_auth(&token)
            .json(&json!({ "query": QUERY }))
    })
    .await?;
    println!(
        "| what ({SCHEDULES} schedules, {CONCURRENCY} concurrent) | requests/s | ratio to bare axum |"
    );
    println!("|---|---|---|");
    println!("| bare axum route, same JSON bytes | {bare_rate:.0} | 1.00× |");
    println!(
        "| REST `GET /api/sync/schedule/list` | {rest_rate:.0} | {:.2}× |",
        rest_rate / bare_rate
    );
    println!(
        "| GraphQL `schedules` query | {graphql_rate:.0} | {:.2}× |",
        graphql_rate / bare_rate
    );
    Ok(())
}
