//! Benchmark: how exactly the per-user download limit holds, from 64 KiB/s to
//! 100 MiB/s, with 1 and 8 concurrent transfers sharing the user's bucket; and
//! what pacing costs in server CPU next to the same bytes unthrottled.
//!
//! Run: `cargo build --release --bins && $CARGO_TARGET_DIR/release/bench-throttle`
//! (`--seconds N` per measurement, default 4).
#![forbid(unsafe_code)]

use std::time::Instant;

use anyhow::{Context, bail};
use ferry_tests::{
    Api, ProcessServer,
    bench::{MIB, ferry_binary},
    random_bytes,
};
use serde_json::json;

#[derive(Debug, clap::Parser)]
struct Options {
    /// Seconds each accuracy measurement should last at its limit.
    #[arg(long, default_value_t = 4.0)]
    seconds: f64,
    /// MiB downloaded for the CPU comparison (throttled and not).
    #[arg(long, default_value_t = 2048)]
    cpu_mib: u64,
}

const KIB: u64 = 1024;

async fn set_download_limit(api: &Api, limit: Option<u64>) -> anyhow::Result<()> {
    let (status, body) = api
        .post(
            "/api/sync/bandwidth/limit",
            json!({ "download_speed_limit": limit, "throttle_enabled": limit.is_some() }),
        )
        .await;
    if !status.is_success() {
        bail!("setting the limit: {status} {body}");
    }
    // Buckets re-read their limit about once a second.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    Ok(())
}

/// `streams` concurrent downloads of `path`, `rounds` times each; bytes and seconds.
async fn download_all(
    api: &Api,
    path: &str,
    streams: usize,
    rounds: usize,
) -> anyhow::Result<(u64, f64)> {
    use futures_util::StreamExt;
    let began = Instant::now();
    let tasks = (0..streams).map(|_| {
        let (api, path) = (api.clone(), path.to_owned());
        tokio::spawn(async move {
            let mut total = 0u64;
            for _ in 0..rounds {
                let response = api
                    .client
                    .get(api.url("/api/sync/files/content"))
                    .query(&[("path", path.as_str())])
                    .bearer_auth(&api.token)
                    .send()
                    .await?;
                let mut body = response.bytes_stream();
                while let Some(piece) = body.next().await {
                    total += piece?.len() as u64;
                }
            }
            Ok::<_, anyhow::Error>(total)
        })
    });
    let mut bytes = 0;
    for task in futures_util::future::join_all(tasks).await {
        bytes += task??;
    }
    Ok((bytes, began.elapsed().as_secs_f64()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let opts = <Options as clap::Parser>::parse();
    let work = tempfile::Builder::new()
        .prefix("ferry-bench-throttle")
        .tempdir_in(std::env::temp_dir())?;
    let bin = ferry_binary()?;
    let server = ProcessServer::spawn(
        bin.to_str().context("path")?,
        &work.path().join("ferry"),
        &[],
    )
    .await;
    let api = server.admin_api().await;

    println!("| limit | transfers | bytes | seconds | measured rate | error |");
    println!("|---|---|---|---|---|---|");
    let limits = [64 * KIB, 256 * KIB, MIB, 10 * MIB, 100 * MIB];
    for limit in limits {
        // One file per limit: `seconds` worth of bytes in all, shared by the streams.
        let total = (limit as f64 * opts.seconds) as u64;
        for streams in [1usize, 8] {
            let each = (total / streams as u64).max(1);
            let path = format!("/bench/{limit}-{streams}.bin");
            set_download_limit(&api, None).await?;
            api.upload_file(&path, &random_bytes(each as usize, limit), 8 * MIB)
                .await;
            set_download_limit(&api, Some(limit)).await?;
            let (bytes, secs) = download_all(&api, &path, streams, 1).await?;
            let rate = bytes as f64 / secs;
            println!(
                "| {} | {streams} | {bytes} | {secs:.2} | {} | {:+.1}% |",
                human(limit as f64),
                human(rate),
                (rate / limit as f64 - 1.0) * 100.0
            );
        }
    }

    // CPU: the same bytes with no limit, then with a limit far above what the
    // loopback carries (every byte paced, none delayed).
    let size = 256 * MIB;
    let rounds = (opts.cpu_mib * MIB / size).max(1) as usize;
    set_download_limit(&api, None).await?;
    api.upload_file("/bench/cpu.bin", &random_bytes(size as usize, 7), 8 * MIB)
        .await;
    println!(
        "\n| transfer of {} MiB (2 streams) | server CPU | wall |",
        rounds as u64 * size / MIB
    );
    println!("|---|---|---|");
    for (label, limit) in [("unthrottled", None), ("paced at 64 GiB/s", Some(64 << 30))] {
        set_download_limit(&api, limit).await?;
        let cpu = server.cpu_seconds();
        let (_, secs) = download_all(&api, "/bench/cpu.bin", 2, rounds / 2).await?;
        println!(
            "| {label} | {:.2} s | {secs:.2} s |",
            server.cpu_seconds() - cpu
        );
    }
    Ok(())
}

fn human(bytes_per_second: f64) -> String {
    if bytes_per_second >= MIB as f64 {
        format!("{:.2} MiB/s", bytes_per_second / MIB as f64)
    } else {
        format!("{:.1} KiB/s", bytes_per_second / KIB as f64)
    }
}
