//! Benchmark: PUT and GET of one large file over WebDAV against Ferry, nginx's
//! dav module and `rclone serve webdav`, all in the same run, alternating.
//!
//! Ferry's PUT hashes the body (SHA-256), fsyncs it, renames it into the blob
//! store and commits a version; nginx and rclone write a plain file.
//!
//! Run: `cargo build --release --bins && $CARGO_TARGET_DIR/release/bench-webdav`
//! (needs Debian's `nginx` and `rclone`; `--size-mib N`, `--runs N` to vary).
#![forbid(unsafe_code)]

use anyhow::Context;
use ferry_tests::{
    ADMIN, ADMIN_PASSWORD, ProcessServer,
    bench::{
        MIB, ferry_binary, median, prepare_source, start_nginx, start_rclone, timed_get, timed_put,
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
}

/// One contender: how to address a file on it.
struct Contender {
    name: &'static str,
    base: String,
    basic_auth: bool,
    put_secs: Vec<f64>,
    get_secs: Vec<f64>,
}

impl Contender {
    fn request(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        name: &str,
    ) -> reqwest::RequestBuilder {
        let request = client.request(method, format!("{}/{name}", self.base));
        if self.basic_auth {
            request.basic_auth(ADMIN, Some(ADMIN_PASSWORD))
        } else {
            request
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let opts = <Options as clap::Parser>::parse();
    let size = opts.size_mib * MIB;
    let (work, source, _) = prepare_source("ferry-bench-dav", opts.size_mib)?;

    let ferry_bin = ferry_binary()?;
    let ferry = ProcessServer::spawn(
        ferry_bin.to_str().context("path")?,
        &work.path().join("ferry"),
        &[],
    )
    .await;
    let nginx = start_nginx(&work.path().join("nginx"))?;
    let rclone = start_rclone(&work.path().join("rclone"))?;
    let client = reqwest::Client::new();
    ferry_tests::wait_healthy_port(&client, nginx.port).await;
    ferry_tests::wait_healthy_port(&client, rclone.port).await;

    let mut contenders = [
        Contender {
            name: "nginx 1.22 dav",
            base: format!("http://127.0.0.1:{}/dav", nginx.port),
            basic_auth: false,
            put_secs: Vec::new(),
            get_secs: Vec::new(),
        },
        Contender {
            name: "rclone serve webdav",
            base: format!("http://127.0.0.1:{}", rclone.port),
            basic_auth: false,
            put_secs: Vec::new(),
            get_secs: Vec::new(),
        },
        Contender {
            name: "Ferry /webdav",
            base: format!("{}/webdav", ferry.base),
            basic_auth: true,
            put_secs: Vec::new(),
            get_secs: Vec::new(),
        },
    ];
    // One authenticated request first, so the Basic password check is cached
    // as it is for any client after its first request.
    let warm = contenders[2].request(&client, reqwest::Method::OPTIONS, "");
    warm.send().await?;

    let admin = ferry.admin_api().await;
    let mut rest_get_secs = Vec::new();
    let mut ferry_cpu = Vec::new();
    for run in 0..opts.runs {
        for contender in contenders.iter_mut() {
            let name = format!("run{run}.bin");
            let cpu_before = ferry.cpu_seconds();
            let put = contender.request(&client, reqwest::Method::PUT, &name);
            contender
                .put_secs
                .push(timed_put(put, &source, size).await?);
            let get = contender.request(&client, reqwest::Method::GET, &name);
            contender.get_secs.push(timed_get(get, size).await?);
            if contender.name.starts_with("Ferry") {
                ferry_cpu.push(ferry.cpu_seconds() - cpu_before);
                // The same file over REST (`GET /api/sync/files/content`).
                let rest = client
                    .get(format!("{}/api/sync/files/content", ferry.base))
                    .query(&[("path", format!("/{name}"))])
                    .bearer_auth(&admin.token);
                rest_get_secs.push(timed_get(rest, size).await?);
            }
            let delete = contender.request(&client, reqwest::Method::DELETE, &name);
            delete.send().await?;
            eprintln!(
                "run {run}: {} PUT {:.2}s GET {:.2}s",
                contender.name, contender.put_secs[run], contender.get_secs[run]
            );
        }
    }
    let mibs = |secs: f64| opts.size_mib as f64 / secs;
    let medians: Vec<(f64, f64)> = contenders
        .iter()
        .map(|c| (median(c.put_secs.clone()), median(c.get_secs.clone())))
        .collect();
    let (nginx_put, nginx_get) = medians[0];
    let rest_get = median(rest_get_secs);
    let (rclone_put, rclone_get) = medians[1];
    println!(
        "| server | PUT {} MiB | PUT MiB/s | GET {} MiB | GET MiB/s |",
        opts.size_mib, opts.size_mib
    );
    println!("|---|---|---|---|---|");
    for (contender, (put, get)) in contenders.iter().zip(&medians) {
        println!(
            "| {} | {put:.2} s | {:.0} | {get:.2} s | {:.0} |",
            contender.name,
            mibs(*put),
            mibs(*get)
        );
    }
    let (ferry_put, ferry_get) = medians[2];
    println!(
        "\nFerry vs nginx: PUT {:.2}×, GET {:.2}×; vs rclone: PUT {:.2}×, GET {:.2}× (higher is faster)",
        nginx_put / ferry_put,
        nginx_get / ferry_get,
        rclone_put / ferry_put,
        rclone_get / ferry_get
    );
    println!(
        "Ferry REST GET (`/api/sync/files/content`) of the same file: {rest_get:.2} s, {:.0} MiB/s, {:.2}× nginx's GET",
        mibs(rest_get),
        nginx_get / rest_get
    );
    println!(
        "Ferry server CPU per PUT+GET: {:.2} s (median); peak RSS {:.1} MiB",
        median(ferry_cpu),
        ferry.peak_rss() as f64 / MIB as f64
    );
    Ok(())
}
