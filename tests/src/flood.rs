//! A login flood, shared by its test and its benchmark: wrong passwords for
//! `admin` over REST, GraphQL and WebDAV Basic in turn, many at once, while a
//! signed-in user keeps requests going and their latencies are recorded.
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::json;

use crate::{ADMIN, Api};

/// One wrong-password attempt (`n` picks the door and the password); its
/// status, with GraphQL's in-body errors mapped to 429 and 401.
pub async fn wrong_password(client: &reqwest::Client, base: &str, n: usize) -> StatusCode {
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
    let Ok(response) = request.send().await else {
        return StatusCode::SERVICE_UNAVAILABLE;
    };
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    match status {
        _ if body.contains("too_many_attempts") => StatusCode::TOO_MANY_REQUESTS,
        StatusCode::OK if body.contains("unauthorized") => StatusCode::UNAUTHORIZED,
        other => other,
    }
}

/// What one flood did.
#[derive(Debug)]
pub struct Outcome {
    /// The status of every attempt.
    pub statuses: Vec<StatusCode>,
    /// How long the flood took.
    pub took: Duration,
    /// The signed-in user's request latencies during it, sorted.
    pub latencies: Vec<Duration>,
}

impl Outcome {
    /// Attempts that answered `status`.
    pub fn count(&self, status: StatusCode) -> usize {
        self.statuses.iter().filter(|s| **s == status).count()
    }

    /// The 95th percentile of the signed-in user's latencies.
    pub fn p95(&self) -> Duration {
        self.latencies
            .get(self.latencies.len().saturating_sub(1) * 95 / 100)
            .copied()
            .unwrap_or_default()
    }
}

/// Send `attempts` wrong passwords to `base`, `concurrency` at a time, while
/// `user` keeps `users` requests going (list schedules, pause 5 ms, again).
pub async fn run(
    base: &str,
    user: &Api,
    attempts: usize,
    concurrency: usize,
    users: usize,
) -> Outcome {
    let stop = Arc::new(AtomicBool::new(false));
    let watchers: Vec<_> = (0..users)
        .map(|_| {
            let (user, watching) = (user.clone(), stop.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while !watching.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let (status, _) = user.get("/api/sync/schedule/list").await;
                    assert_eq!(status, StatusCode::OK, "the signed-in user was refused");
                    seen.push(started.elapsed());
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                seen
            })
        })
        .collect();
    let client = reqwest::Client::new();
    let started = Instant::now();
    let statuses = futures_util::stream::iter(0..attempts)
        .map(|n| {
            let client = client.clone();
            async move { wrong_password(&client, base, n).await }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for watcher in watchers {
        latencies.extend(watcher.await.expect("latency watcher"));
    }
    latencies.sort();
    Outcome {
        statuses,
        took,
        latencies,
    }
}
