//! Benchmark: a 1 GiB file over loopback into Ferry (5 MiB chunks, 4 parallel
//! streams, every chunk and the whole file SHA-256-verified, assembled and
//! committed) next to nginx's WebDAV PUT of the same file, in the same run; and
//! the same upload into a second Ferry serving HTTPS (self-signed, rustls), over
//! HTTP/2 and over HTTP/1.1, as a ratio to plain HTTP.
//!
//! Run: `cargo build --release --bins && $CARGO_TARGET_DIR/release/bench-upload`
//! (needs Debian's `nginx`; `--size-mib N`, `--runs N`, `--streams N` to vary).
#![forbid(unsafe_code)]

use anyhow::Context;
use ferry_tests::{
    ProcessServer,
    bench::{
        MIB, chunked_upload, ferry_binary, median, prepare_source, sha256_seconds, start_nginx,
        timed_put,
    },
};

#[derive(Debug, clap::Parser)]
struct Options {
    /// Size of the test file in MiB.
    #[arg(long, default_value_t = 1024)]
    size_mib: u64,
    /// Runs per contender (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Parallel chunk streams.
    #[arg(long, default_value_t = 4)]
    streams: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let opts = <Options as clap::Parser>::parse();
    let size = opts.size_mib * MIB;
    let (work, source, sha) = prepare_source("ferry-bench", opts.size_mib)?;

    let ferry_bin = ferry_binary()?;
    let server = ProcessServer::spawn(
        ferry_bin.to_str().context("path")?,
        &work.path().join("ferry"),
        &[],
    )
    .await;
    let api = server.admin_api().await;
    let certs = work.path().join("certs");
    let tls = api::tls::write_self_signed(&["127.0.0.1".to_owned()], &certs)?;
    let tls_client = |http1: bool| {
        let builder = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(&tls.cert)?)?);
        let builder = if http1 { builder.http1_only() } else { builder };
        anyhow::Ok(builder.build()?)
    };
    let https_server = ProcessServer::spawn_with_client(
        ferry_bin.to_str().context("path")?,
        &work.path().join("ferry-https"),
        &[
            ("FERRY_TLS_CERT", tls.cert.to_str().context("path")?),
            ("FERRY_TLS_KEY", tls.key.to_str().context("path")?),
        ],
        &tls_client(false)?,
    )
    .await;
    let https_h2 = https_server.admin_api_with(tls_client(false)?).await;
    let https_h1 = https_server.admin_api_with(tls_client(true)?).await;
    let nginx = start_nginx(&work.path().join("nginx"))?;
    let client = reqwest::Client::new();
    ferry_tests::wait_healthy_port(&client, nginx.port).await;

    let (mut ferry_secs, mut nginx_secs) = (Vec::new(), Vec::new());
    let (mut ferry_cpu, mut nginx_cpu, mut sha_secs) = (Vec::new(), Vec::new(), Vec::new());
    let (mut h2_secs, mut h1_secs) = (Vec::new(), Vec::new());
    for run in 0..opts.runs {
        // Alternate, so neither side always meets a warmer page cache.
        let put = client.put(format!("http://127.0.0.1:{}/dav/run{run}.bin", nginx.port));
        let nginx_before = nginx.cpu_seconds();
        nginx_secs.push(timed_put(put, &source, size).await?);
        nginx_cpu.push(nginx.cpu_seconds() - nginx_before);
        // The floor's hashing: two SHA-256 passes over the file on one core.
        sha_secs.push(sha256_seconds(&source)? + sha256_seconds(&source)?);
        // Drop each run's output, so every run writes into recycled page cache.
        std::fs::remove_file(work.path().join(format!("nginx/dav/run{run}.bin")))?;
        let cpu_before = server.cpu_seconds();
        ferry_secs.push(
            chunked_upload(
                &api,
                &source,
                size,
                &sha,
                opts.streams,
                &format!("/bench/run{run}.bin"),
            )
            .await?,
        );
        ferry_cpu.push(server.cpu_seconds() - cpu_before);
        eprintln!(
            "  ferry server CPU: {:.2}s, nginx {:.2}s, 2 × SHA-256 {:.2}s",
            ferry_cpu[run], nginx_cpu[run], sha_secs[run]
        );
        let cpu_before = https_server.cpu_seconds();
        h2_secs.push(
            chunked_upload(
                &https_h2,
                &source,
                size,
                &sha,
                opts.streams,
                &format!("/bench/run{run}.bin"),
            )
            .await?,
        );
        h1_secs.push(
            chunked_upload(
                &https_h1,
                &source,
                size,
                &sha,
                opts.streams,
                &format!("/bench/run{}.bin", run + opts.runs),
            )
            .await?,
        );
        eprintln!(
            "  ferry HTTPS server CPU (both uploads): {:.2}s",
            https_server.cpu_seconds() - cpu_before
        );
        eprintln!(
            "run {run}: ferry {:.2}s, HTTPS h2 {:.2}s, HTTPS http/1.1 {:.2}s, nginx {:.2}s",
            ferry_secs[run], h2_secs[run], h1_secs[run], nginx_secs[run]
        );
    }
    let peak_rss_mib = server.peak_rss() as f64 / MIB as f64;
    let mibs = |secs: f64| opts.size_mib as f64 / secs;
    let (f, n) = (median(ferry_secs), median(nginx_secs));
    let (h2, h1) = (median(h2_secs), median(h1_secs));
    println!("| what | median time | MiB/s | ratio to nginx |");
    println!("|---|---|---|---|");
    println!(
        "| Ferry chunked upload, {} MiB, 5 MiB chunks, {} streams, verified + assembled | {f:.2} s | {:.0} | {:.2}× |",
        opts.size_mib,
        opts.streams,
        mibs(f),
        n / f
    );
    println!(
        "| nginx WebDAV PUT of the same file | {n:.2} s | {:.0} | 1.00× |",
        mibs(n)
    );
    println!("\n| the same Ferry upload | median time | MiB/s | ratio to plain HTTP |");
    println!("|---|---|---|---|");
    println!("| plain HTTP/1.1 | {f:.2} s | {:.0} | 1.00× |", mibs(f));
    println!(
        "| HTTPS, HTTP/2 (ALPN h2) | {h2:.2} s | {:.0} | {:.2}× |",
        mibs(h2),
        f / h2
    );
    println!(
        "| HTTPS, HTTP/1.1 | {h1:.2} s | {:.0} | {:.2}× |",
        mibs(h1),
        f / h1
    );
    let gib = opts.size_mib as f64 / 1024.0;
    let (fc, nc, sc) = (
        median(ferry_cpu) / gib,
        median(nginx_cpu) / gib,
        median(sha_secs) / gib,
    );
    let floor = nc + sc;
    println!("\n| server CPU per GiB (median) | CPU-s | ratio to the floor |");
    println!("|---|---|---|");
    println!(
        "| floor: nginx's CPU for the PUT + two SHA-256 passes on one core ({nc:.2} + {sc:.2}) | {floor:.2} | 1.00× |"
    );
    println!("| Ferry, chunked upload | {fc:.2} | {:.2}× |", fc / floor);
    println!("\nFerry peak RSS over all runs: {peak_rss_mib:.1} MiB");
    Ok(())
}
