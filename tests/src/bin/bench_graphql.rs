//! Benchmark: the GraphQL `schedules` query against a bare axum JSON route that
//! answers the same bytes, and the REST schedule list, in the same run — plus the
//! floor of the work Ferry must do per request: a bare axum route in this process
//! that reads the same 20 rows from the server's own SQLite file (same pool
//! settings, one joined query) and answers them as JSON, with no authentication,
//! no middleware and no framework above sea-orm.
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

    // The floor: the same joined read, per request, from the server's database.
    let db_url = format!(
        "sqlite://{}?mode=ro",
        work.path().join("data").join("ferry.db").display()
    );
    let db = api::service::db::connect(&db_url).await?;
    let floor = axum::Router::new().route(
        "/floor",
        axum::routing::get(move || {
            let db = db.clone();
            async move { floor_rows(&db).await }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let floor_url = format!("http://{}/floor", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, floor).await });

    let bare_rate = rate(move |c| c.get(&bare_url)).await?;
    let floor_rate = rate(move |c| c.get(&floor_url)).await?;
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
        "| floor: bare axum route reading the same rows from SQLite per request | {floor_rate:.0} | {:.2}× |",
        floor_rate / bare_rate
    );
    println!(
        "| REST `GET /api/sync/schedule/list` | {rest_rate:.0} | {:.2}× ({:.2}× the floor) |",
        rest_rate / bare_rate,
        rest_rate / floor_rate
    );
    println!(
        "| GraphQL `schedules` query | {graphql_rate:.0} | {:.2}× ({:.2}× the floor) |",
        graphql_rate / bare_rate,
        graphql_rate / floor_rate
    );
    Ok(())
}

/// The floor's answer: the schedules joined to their devices, read by position.
async fn floor_rows(db: &sea_orm::DatabaseConnection) -> axum::response::Response {
    use axum::response::IntoResponse;
    use sea_orm::{ConnectionTrait, Statement};
    const SQL: &str = "SELECT s.id, s.user_id, s.schedule_type, s.time_of_day, s.timezone, \
        s.enabled, s.next_run_at, d.device_id FROM sync_schedules s \
        JOIN devices d ON d.id = s.device_id ORDER BY s.created_at";
    let statement = Statement::from_string(db.get_database_backend(), SQL);
    let rows = match db.query_all_raw(statement).await {
        Ok(rows) => rows,
        Err(err) => {
            return (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                err.to_string(),
            )
                .into_response();
        }
    };
    let schedules: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "id": row.try_get_by_index::<uuid::Uuid>(0).ok(),
                "userId": row.try_get_by_index::<uuid::Uuid>(1).ok(),
                "scheduleType": row.try_get_by_index::<String>(2).ok(),
                "timeOfDay": row.try_get_by_index::<Option<String>>(3).ok(),
                "timezone": row.try_get_by_index::<String>(4).ok(),
                "enabled": row.try_get_by_index::<bool>(5).ok(),
                "nextRunAt": row.try_get_by_index::<Option<chrono::DateTime<chrono::Utc>>>(6).ok(),
                "deviceId": row.try_get_by_index::<String>(7).ok(),
            })
        })
        .collect();
    axum::Json(json!({ "data": { "schedules": schedules } })).into_response()
}
