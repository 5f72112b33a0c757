//! Benchmark: a 1 GiB file into one release `ferry` over loopback, through the
//! chunked API (5 MiB chunks, 4 streams, each chunk hashed by the client) and
//! through tus-js-client under Node — one PATCH with the whole file, and
//! `parallelUploads: 4` (four partial uploads joined by concatenation) — in the
//! same run, alternating; every upload verified and committed as a version.
//! Reports the median wall time, MiB/s, the ratio to the chunked API and the
//! server's and the client's CPU seconds per GiB (the chunked client is this
//! process; tus-js-client's Node process is measured by GNU time).
//!
//! Run: `npm ci --prefix tests/clients && cargo build --release --bins &&
//! $CARGO_TARGET_DIR/release/bench-tus` (`--size-mib N`, `--runs N`).
#![forbid(unsafe_code)]

use std::{path::Path, time::Instant};

use anyhow::{Context, bail};
use ferry_tests::{
    ProcessServer,
    bench::{MIB, chunked_upload, ferry_binary, median, prepare_source},
};

#[derive(Debug, clap::Parser)]
struct Options {
    /// Size of the test file in MiB.
    #[arg(long, default_value_t = 1024)]
    size_mib: u64,
    /// Runs per contender (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

/// Seconds for tus-js-client to upload `source` to `path` with `parallel`
/// parts, and the CPU seconds its Node process used (GNU time).
fn tus_js(
    base: &str,
    token: &str,
    source: &Path,
    path: &str,
    parallel: u32,
) -> anyhow::Result<(f64, f64)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/tus-upload.mjs");
    let options = serde_json::json!({
        "metadata": { "filename": "bench.bin", "path": path },
        "parallelUploads": parallel,
        "quiet": true,
    });
    let times = tempfile::NamedTempFile::new()?;
    let started = Instant::now();
    let output = std::process::Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%U %S")
        .arg("-o")
        .arg(times.path())
        .arg("node")
        .arg(script)
        .arg(format!("{base}/api/tus/"))
        .arg(token)
        .arg(source)
        .arg(options.to_string())
        .output()
        .context("node (npm ci --prefix tests/clients first)")?;
    let secs = started.elapsed().as_secs_f64();
    if !output.status.success() {
        bail!(
            "tus-js-client failed: {}",
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .last()
                .unwrap_or_default()
        );
    }
    let cpu = std::fs::read_to_string(times.path())?
        .split_whitespace()
        .filter_map(|v| v.parse::<f64>().ok())
        .sum();
    Ok((secs, cpu))
}

/// The SHA-256 of the file at `path`, downloaded and hashed as it streams.
async fn stored_sha256(api: &ferry_tests::Api, path: &str) -> anyhow::Result<String> {
    use futures_util::StreamExt;
    use sha2::Digest;
    let response = api
        .client
        .get(api.url("/api/sync/files/content"))
        .query(&[("path", path)])
        .bearer_auth(&api.token)
        .send()
        .await?
        .error_for_status()?;
    let mut hasher = sha2::Sha256::new();
    let mut body = response.bytes_stream();
    while let Some(piece) = body.next().await {
        hasher.update(&piece?);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let opts = <Options as clap::Parser>::parse();
    let size = opts.size_mib * MIB;
    let (work, source, sha) = prepare_source("ferry-bench-tus", opts.size_mib)?;
    let bin = ferry_binary()?;
    let server = ProcessServer::spawn(
        bin.to_str().context("path")?,
        &work.path().join("ferry"),
        &[],
    )
    .await;
    let api = server.admin_api().await;
    let base = api.url("");
    let base = base.trim_end_matches('/');

    let names = [
        "chunked API (5 MiB chunks, 4 streams)",
        "tus-js-client, one PATCH",
        "tus-js-client, parallelUploads: 4",
    ];
    let mut secs = vec![Vec::new(); 3];
    let mut cpu = vec![Vec::new(); 3];
    let mut client_cpu = vec![Vec::new(); 3];
    for run in 0..opts.runs {
        for (n, name) in names.iter().enumerate() {
            let path = format!("/bench/{n}-run{run}.bin");
            let before = server.cpu_seconds();
            let own_before = ferry_tests::bench::cpu_seconds_of(std::process::id());
            let (took, client) = match n {
                0 => {
                    let took = chunked_upload(&api, &source, size, &sha, 4, &path).await?;
                    let own = ferry_tests::bench::cpu_seconds_of(std::process::id());
                    (took, own - own_before)
                }
                1 => tus_js(base, &api.token, &source, &path, 1)?,
                _ => tus_js(base, &api.token, &source, &path, 4)?,
            };
            client_cpu[n].push(client);
            let got = stored_sha256(&api, &path).await?;
            if got != sha {
                bail!("{name}: the stored file's SHA-256 is {got}, not {sha}");
            }
            cpu[n].push(server.cpu_seconds() - before);
            secs[n].push(took);
            eprintln!("run {run}: {name}: {took:.2}s");
        }
    }
    let gib = size as f64 / (1u64 << 30) as f64;
    let baseline = median(secs[0].clone());
    println!(
        "| what ({} MiB, median of {}) | time | MiB/s | ratio to the chunked API | server CPU-s/GiB | client CPU-s/GiB |",
        opts.size_mib, opts.runs
    );
    println!("|---|---|---|---|---|---|");
    for (n, name) in names.iter().enumerate() {
        let t = median(secs[n].clone());
        println!(
            "| {name} | {t:.2} s | {:.1} | {:.2}× | {:.2} | {:.2} |",
            opts.size_mib as f64 / t,
            baseline / t,
            median(cpu[n].clone()) / gib,
            median(client_cpu[n].clone()) / gib
        );
    }
    Ok(())
}
