//! Shared by the benchmark binaries: test files, medians, the release `ferry`
//! binary, and reference servers (nginx's WebDAV module, `rclone serve webdav`)
//! run beside Ferry in the same run.
use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Instant,
};

use tokio::io::AsyncWriteExt;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use crate::{ADMIN, ADMIN_PASSWORD, Api};

pub const MIB: u64 = 1 << 20;

/// Write `size` pseudo-random bytes to `path`; return their SHA-256.
pub fn make_file(path: &Path, size: u64) -> anyhow::Result<String> {
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

/// Touch twice `size` bytes of page cache once, so that no contender pays for
/// a virtual machine's first touch of fresh memory during its runs.
pub fn warm_page_cache(dir: &Path, size: u64) -> anyhow::Result<()> {
    let scratch = dir.join("scratch.bin");
    make_file(&scratch, 2 * size)?;
    std::fs::remove_file(&scratch)?;
    Ok(())
}

/// A fresh work directory named `prefix…` holding `source.bin` of `size_mib`
/// MiB (with its SHA-256), the page cache warmed: where each file benchmark starts.
pub fn prepare_source(
    prefix: &str,
    size_mib: u64,
) -> anyhow::Result<(tempfile::TempDir, PathBuf, String)> {
    let work = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(std::env::temp_dir())?;
    let source = work.path().join("source.bin");
    eprintln!("writing a {size_mib} MiB test file…");
    let sha = make_file(&source, size_mib * MIB)?;
    warm_page_cache(work.path(), size_mib * MIB)?;
    Ok((work, source, sha))
}

pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The `ferry` binary next to this benchmark's (a release build).
pub fn ferry_binary() -> anyhow::Result<PathBuf> {
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

/// A free loopback port.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A reference server process, killed on drop.
#[derive(Debug)]
pub struct Reference {
    child: std::process::Child,
    pub port: u16,
}

impl Reference {
    /// CPU seconds the reference server has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds_of(self.child.id())
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// nginx (one worker, no master) serving `dir/dav/` at `/dav/` with WebDAV PUT.
pub fn start_nginx(dir: &Path) -> anyhow::Result<Reference> {
    let port = free_port()?;
    std::fs::create_dir_all(dir.join("dav"))?;
    std::fs::create_dir_all(dir.join("body"))?;
    let conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  sendfile on;\n  client_body_temp_path {d}/body;\n  client_max_body_size 0;\n\
         server {{\n    listen 127.0.0.1:{port};\n    location /dav/ {{\n      root {d};\n      dav_methods PUT DELETE MKCOL COPY MOVE;\n\
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
    Ok(Reference { child, port })
}

/// `rclone serve webdav` over the local folder `dir`.
pub fn start_rclone(dir: &Path) -> anyhow::Result<Reference> {
    let port = free_port()?;
    std::fs::create_dir_all(dir)?;
    let child = std::process::Command::new("rclone")
        .arg("serve")
        .arg("webdav")
        .arg(dir)
        .arg("--addr")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--config")
        .arg("/dev/null")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("starting rclone (apt-get install rclone)")?;
    Ok(Reference { child, port })
}

/// One streamed PUT of `source` to `url`; seconds taken.
pub async fn timed_put(
    request: reqwest::RequestBuilder,
    source: &Path,
    size: u64,
) -> anyhow::Result<f64> {
    let began = Instant::now();
    let file = tokio::fs::File::open(source).await?;
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(
        file,
        256 * 1024,
    ));
    let response = request
        .header("content-length", size)
        .body(body)
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("PUT: {}", response.status());
    }
    Ok(began.elapsed().as_secs_f64())
}

/// One GET read to the end; seconds taken. Fails unless `size` bytes came.
pub async fn timed_get(request: reqwest::RequestBuilder, size: u64) -> anyhow::Result<f64> {
    use futures_util::StreamExt;
    let began = Instant::now();
    let response = request.send().await?;
    if !response.status().is_success() {
        bail!("GET: {}", response.status());
    }
    let mut body = response.bytes_stream();
    let mut got = 0u64;
    while let Some(chunk) = body.next().await {
        got += chunk?.len() as u64;
    }
    if got != size {
        bail!("GET returned {got} bytes, expected {size}");
    }
    Ok(began.elapsed().as_secs_f64())
}

/// `ferry sync init dir` as the bootstrap admin on `device`.
pub async fn init_sync(bin: &Path, base: &str, dir: &Path, device: &str) -> anyhow::Result<()> {
    let mut child = tokio::process::Command::new(bin)
        .args(["sync", "init"])
        .arg(dir)
        .args([
            "--server",
            base,
            "--user",
            ADMIN,
            "--device",
            device,
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    let mut stdin = child.stdin.take().context("stdin")?;
    stdin.write_all(ADMIN_PASSWORD.as_bytes()).await?;
    drop(stdin);
    if !child.wait().await?.success() {
        bail!("ferry sync init {device} failed");
    }
    Ok(())
}

/// Run `command` under GNU time: (seconds, peak RSS in KiB).
pub async fn timed(mut command: std::process::Command) -> anyhow::Result<(f64, u64)> {
    let report = tempfile::NamedTempFile::new()?;
    let mut timed = tokio::process::Command::new("/usr/bin/time");
    timed
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(report.path())
        .arg(command.get_program())
        .args(command.get_args())
        .stdout(Stdio::null());
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            timed.env(key, value);
        }
    }
    let _ = command.stdout(Stdio::null());
    let started = Instant::now();
    let status = timed.status().await?;
    let secs = started.elapsed().as_secs_f64();
    if !status.success() {
        bail!("{:?} failed", command.get_program());
    }
    let rss: u64 = std::fs::read_to_string(report.path())?
        .lines()
        .last()
        .context("no time report")?
        .trim()
        .parse()?;
    Ok((secs, rss))
}

/// `ferry sync run dir`, quietly.
pub fn sync_run(bin: &Path, dir: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(bin);
    command
        .args(["sync", "run"])
        .arg(dir)
        .env("RUST_LOG", "warn");
    command
}

/// CPU seconds (user + system) the process `pid` has used so far.
pub fn cpu_seconds_of(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (tick(11) + tick(12)) / 100.0
}

/// Seconds one core takes to SHA-256 the file at `path` (read from the page cache).
pub fn sha256_seconds(path: &Path) -> anyhow::Result<f64> {
    use std::io::Read;
    let started = Instant::now();
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; MIB as usize];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    std::hint::black_box(hasher.finalize());
    Ok(started.elapsed().as_secs_f64())
}

/// One chunked upload of `source` to `path` in 5 MiB chunks with `streams`
/// workers (each chunk read and hashed by the client); seconds taken.
pub async fn chunked_upload(
    api: &Api,
    source: &Path,
    size: u64,
    sha: &str,
    streams: usize,
    path: &str,
) -> anyhow::Result<f64> {
    chunked_upload_over(std::slice::from_ref(api), source, size, sha, streams, path).await
}

/// [`chunked_upload`] with stream `i` sending through `apis[i % apis.len()]`
/// (nodes of one cluster); the upload is started on the first.
pub async fn chunked_upload_over(
    apis: &[Api],
    source: &Path,
    size: u64,
    sha: &str,
    streams: usize,
    path: &str,
) -> anyhow::Result<f64> {
    let api = &apis[0];
    use reqwest::{StatusCode, multipart};
    use std::os::unix::fs::FileExt;
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };
    const CHUNK: u64 = 5 * MIB;
    let began = Instant::now();
    let (status, started) = api.start_upload(path, size, Some(CHUNK), Some(sha)).await;
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
    let workers = (0..streams).map(|stream| {
        let api = apis[stream % apis.len()].clone();
        let (id, next, file) = (id.clone(), next.clone(), file.clone());
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
                let (status, body) = crate::parts(response).await;
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
