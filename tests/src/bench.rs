//! Shared by the benchmark binaries: test files, medians, the release `ferry`
//! binary, and reference servers (nginx's WebDAV module, `rclone serve webdav`)
//! run beside Ferry in the same run.
use std::{
    path::{Path, PathBuf},
    time::Instant,
};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

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
