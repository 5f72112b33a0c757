//! Benchmark: a 1 GiB file over loopback into Ferry (5 MiB chunks, 4 parallel
//! streams, every chunk and the whole file SHA-256-verified, assembled and
//! committed) next to nginx's WebDAV PUT of the same file, in the same run.
//!
//! Run: `cargo build --release --bins && $CARGO_TARGET_DIR/release/bench-upload`
//! (needs Debian's `nginx`; `--size-mib N`, `--runs N`, `--streams N` to vary).
#![forbid(unsafe_code)]

use std::{
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Instant,
};

use anyhow::{Context, bail};
use ferry_tests::{Api, ProcessServer};
use reqwest::{StatusCode, multipart};
use sha2::{Digest, Sha256};

const MIB: u64 = 1 << 20;
const CHUNK: u64 = 5 * MIB;

#[derive(Debug)]
struct Options {
    size_mib: u64,
    runs: usize,
    streams: usize,
}

fn options() -> anyhow::Result<Options> {
    let mut opts = Options {
        size_mib: 1024,
        runs: 3,
        streams: 4,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).context("a flag needs a value")?;
        match pair[0].as_str() {
            "--size-mib" => opts.size_mib = value.parse()?,
            "--runs" => opts.runs = value.parse()?,
            "--streams" => opts.streams = value.parse()?,
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(opts)
}

/// Write `size` pseudo-random bytes to `path`; return their SHA-256.
fn make_file(path: &Path, size: u64) -> anyhow::Result<String> {
    use rand::{RngCore, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; MIB as usize];
    let mut left = size;
    while left > 0 {
        let n = left.min(MIB) as usize;
        rng.fill_bytes(&mut block[..n]);
        hasher.update(&block[..n]);
        std::io::Write::write_all(&mut file, &block[..n])?;
        left -= n as u64;
    }
    std::io::Write::flush(&mut file)?;
    Ok(hex::encode(hasher.finalize()))
}

/// One chunked upload of `source` with `streams` workers; seconds taken.
async fn ferry_upload(
    api: &Api,
    source: &Path,
    size: u64,
    sha: &str,
    streams: usize,
    run: usize,
) -> anyhow::Result<f64> {
    let began = Instant::now();
    let (status, started) = api
        .start_upload(
            &format!("/bench/run{run}.bin"),
            size,
            Some(CHUNK),
            Some(sha),
        )
        .await;
    if status != StatusCode::OK {
        bail!("start: {status} {started}");
    }
    let id = started["upload_id"]
        .as_str()
        .context("upload_id")?
        .to_owned();
    let total = started["total_chunks"].as_u64().context("total_chunks")? as usize;
    let next = Arc::new(AtomicUsize::new(0));
    let file = Arc::new(std::fs::File::open(source)?);
    let workers = (0..streams).map(|_| {
        let (api, id, next, file) = (api.clone(), id.clone(), next.clone(), file.clone());
        tokio::spawn(async move {
            let mut completed = None;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return Ok::<_, anyhow::Error>(completed);
                }
                let offset = n as u64 * CHUNK;
                let len = CHUNK.min(size - offset) as usize;
                let file = file.clone();
                let data = tokio::task::spawn_blocking(move || {
                    let mut buf = vec![0u8; len];
                    file.read_exact_at(&mut buf, offset).map(|()| buf)
                })
                .await??;
                let hash = hex::encode(Sha256::digest(&data));
                let form = multipart::Form::new().text("chunk_hash", hash).part(
                    "chunk_file",
                    multipart::Part::bytes(data).file_name("chunk"),
                );
                let sent = Instant::now();
                let response = api
                    .client
                    .post(api.url(&format!("/api/sync/upload/{id}/chunk/{n}")))
                    .bearer_auth(&api.token)
                    .multipart(form)
                    .send()
                    .await?;
                let (status, body) = ferry_tests::parts(response).await;
                if status != StatusCode::OK {
                    bail!("chunk {n}: {status} {body}");
                }
                if body["status"] == "completed" {
                    eprintln!(
                        "  the completing chunk (with assembly) took {:.2}s",
                        sent.elapsed().as_secs_f64()
                    );
                    completed = Some(body);
                }
            }
        })
    });
    let mut done = None;
    for worker in futures_util::future::join_all(workers).await {
        if let Some(body) = worker?? {
            done = Some(body);
        }
    }
    let secs = began.elapsed().as_secs_f64();
    let done = done.context("no chunk completed the upload")?;
    if done["file"]["sha256"] != sha {
        bail!("committed hash differs: {done}");
    }
    Ok(secs)
}

struct Nginx {
    child: std::process::Child,
    port: u16,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_nginx(dir: &Path) -> anyhow::Result<Nginx> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    std::fs::create_dir_all(dir.join("dav"))?;
    std::fs::create_dir_all(dir.join("body"))?;
    let conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  client_max_body_size 0;\n\
         server {{\n    listen 127.0.0.1:{port};\n    location /dav/ {{\n      root {d};\n      dav_methods PUT;\n\
         create_full_put_path on;\n    }}\n  }}\n}}\n",
        d = dir.display()
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf)?;
    let child = std::process::Command::new("nginx")
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf_path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("starting nginx (apt-get install nginx)")?;
    Ok(Nginx { child, port })
}

async fn nginx_put(
    client: &reqwest::Client,
    port: u16,
    source: &Path,
    size: u64,
    run: usize,
) -> anyhow::Result<f64> {
    let began = Instant::now();
    let file = tokio::fs::File::open(source).await?;
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(
        file,
        256 * 1024,
    ));
    let response = client
        .put(format!("http://127.0.0.1:{port}/dav/run{run}.bin"))
        .header("content-length", size)
        .body(body)
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("nginx PUT: {}", response.status());
    }
    Ok(began.elapsed().as_secs_f64())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn ferry_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let bin = exe.with_file_name("ferry");
    if !bin.exists() {
        bail!(
            "{} is missing: run `cargo build --release --bins` first",
            bin.display()
        );
    }
    Ok(bin)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let opts = options()?;
    let size = opts.size_mib * MIB;
    let work = tempfile::Builder::new()
        .prefix("ferry-bench")
        .tempdir_in(std::env::temp_dir())?;
    let source = work.path().join("source.bin");
    eprintln!("writing a {} MiB test file…", opts.size_mib);
    let sha = make_file(&source, size)?;
    // Touch twice the file's size of page cache once, so that neither side pays
    // for a virtual machine's first touch of fresh memory during its runs.
    let scratch = work.path().join("scratch.bin");
    make_file(&scratch, 2 * size)?;
    std::fs::remove_file(&scratch)?;

    let ferry_bin = ferry_binary()?;
    let server = ProcessServer::spawn(
        ferry_bin.to_str().context("path")?,
        &work.path().join("ferry"),
        &[],
    )
    .await;
    let api = server.admin_api().await;
    let nginx = start_nginx(&work.path().join("nginx"))?;
    let client = reqwest::Client::new();
    ferry_tests::wait_healthy_port(&client, nginx.port).await;

    let (mut ferry_secs, mut nginx_secs) = (Vec::new(), Vec::new());
    for run in 0..opts.runs {
        // Alternate, so neither side always meets a warmer page cache.
        nginx_secs.push(nginx_put(&client, nginx.port, &source, size, run).await?);
        // Drop each run's output, so every run writes into recycled page cache.
        std::fs::remove_file(work.path().join(format!("nginx/dav/run{run}.bin")))?;
        let cpu_before = server.cpu_seconds();
        ferry_secs.push(ferry_upload(&api, &source, size, &sha, opts.streams, run).await?);
        eprintln!(
            "  ferry server CPU: {:.2}s",
            server.cpu_seconds() - cpu_before
        );
        eprintln!(
            "run {run}: ferry {:.2}s, nginx {:.2}s",
            ferry_secs[run], nginx_secs[run]
        );
    }
    let peak_rss_mib = server.peak_rss() as f64 / MIB as f64;
    let mibs = |secs: f64| opts.size_mib as f64 / secs;
    let (f, n) = (median(ferry_secs), median(nginx_secs));
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
    println!("\nFerry peak RSS over all runs: {peak_rss_mib:.1} MiB");
    Ok(())
}
