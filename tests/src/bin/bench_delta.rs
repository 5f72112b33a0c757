//! Benchmark: re-syncing a 1 GiB file after a 1 MiB edit in its middle, in the
//! same run: `ferry sync run` (a delta upload: only the blocks around the edit
//! travel), a full re-upload of the edited file (Ferry's chunked upload, 5 MiB
//! chunks, 4 streams: what a client without block lists does), and `rclone
//! sync` over Ferry's WebDAV (rclone re-sends a changed file whole). Bytes on
//! the wire are the server's own counters (`ferry_received_bytes_total`).
//!
//! Run: `cargo build --release -p api -p ferry-tests --bin ferry --bin bench-delta && $CARGO_TARGET_DIR/release/bench-delta`
#![forbid(unsafe_code)]

use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use anyhow::Context;
use ferry_tests::bench::{
    MIB, chunked_upload, ferry_binary, init_sync, make_file, sync_run, timed,
};
use ferry_tests::{ADMIN_PASSWORD, ProcessServer};

#[derive(Debug, clap::Parser)]
struct Options {
    /// The file's size in MiB.
    #[arg(long, default_value_t = 1024)]
    size_mib: u64,
    /// The edit's size in MiB.
    #[arg(long, default_value_t = 1)]
    edit_mib: u64,
}

/// The server's counter `name` (with its labels) from `/metrics`.
async fn metric(base: &str, name: &str) -> anyhow::Result<f64> {
    let text = reqwest::get(format!("{base}/metrics"))
        .await?
        .text()
        .await?;
    Ok(text
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0))
}

/// Overwrite `len` bytes in the middle of `path` with fresh noise.
fn edit_middle(path: &std::path::Path, len: u64, size: u64) -> anyhow::Result<()> {
    let noise: Vec<u8> = (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let file = std::fs::OpenOptions::new().write(true).open(path)?;
    file.write_all_at(&noise, size / 2 + 4321)?;
    file.sync_all()?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let opts = <Options as clap::Parser>::parse();
    let size = opts.size_mib * MIB;
    let bin = ferry_binary()?;
    let work = tempfile::Builder::new()
        .prefix("ferry-bench-delta")
        .tempdir()?;
    let server = ProcessServer::spawn(
        bin.to_str().context("path")?,
        &work.path().join("data"),
        &[],
    )
    .await;
    let base = server.base.clone();
    let (a, c) = (work.path().join("a"), work.path().join("rclone"));
    std::fs::create_dir_all(&a)?;
    std::fs::create_dir_all(&c)?;
    eprintln!("writing a {} MiB file…", opts.size_mib);
    make_file(&a.join("video.bin"), size)?;
    std::fs::copy(a.join("video.bin"), c.join("video.bin"))?;
    init_sync(&bin, &base, &a, "a").await?;
    std::thread::sleep(Duration::from_millis(2500));
    let (first_secs, _) = timed(sync_run(&bin, &a)).await?;
    eprintln!("first upload by ferry sync: {first_secs:.1} s");

    // rclone syncs as another user: the admin's device must not pull its copy.
    let admin = server.admin_api().await;
    let (status, body) = admin
        .post(
            "/api/users",
            serde_json::json!({ "username": "rclone", "password": ADMIN_PASSWORD }),
        )
        .await;
    anyhow::ensure!(status.as_u16() == 201, "creating the rclone user: {body}");
    let obscured = std::process::Command::new("rclone")
        .args(["obscure", ADMIN_PASSWORD])
        .output()?;
    let obscured = String::from_utf8(obscured.stdout)?.trim().to_owned();
    let rclone = |every_file: bool| {
        let mut command = std::process::Command::new("rclone");
        if every_file {
            // Plain WebDAV keeps no modification times: rclone compares sizes
            // only and would skip a same-size edit without this.
            command.arg("--ignore-times");
        }
        command
            .args(["sync"])
            .arg(&c)
            .arg(":webdav:/rclone")
            .args(["--webdav-url", &format!("{base}/webdav")])
            .args(["--webdav-user", "rclone", "--webdav-pass", &obscured])
            .args(["--transfers", "4"]);
        command
    };
    let (rclone_first, _) = timed(rclone(false)).await?;
    eprintln!("first upload by rclone sync: {rclone_first:.1} s");

    // The same 1 MiB edit in both copies; a later mtime so both tools see it.
    std::thread::sleep(Duration::from_millis(20));
    let edit = opts.edit_mib * MIB;
    edit_middle(&a.join("video.bin"), edit, size)?;
    edit_middle(&c.join("video.bin"), edit, size)?;
    // `ferry sync` leaves a file alone until it has been quiet for 2 s (it may
    // still be being written): the edit is done, so let that pass untimed.
    std::thread::sleep(Duration::from_millis(2500));
    // The floor of what a re-sync of a changed file must do: the client hashes
    // it to see the change and again while cutting it into blocks, and the
    // server hashes it whole to check `file_hash` (three SHA-256 passes).
    let floor = 3.0 * ferry_tests::bench::sha256_seconds(&a.join("video.bin"))?;

    let chunked = "ferry_received_bytes_total{protocol=\"chunked\"}";
    let webdav = "ferry_received_bytes_total{protocol=\"webdav\"}";
    let before = metric(&base, chunked).await?;
    let cpu = server.cpu_seconds();
    let (delta_secs, _) = timed(sync_run(&bin, &a)).await?;
    let delta_cpu = server.cpu_seconds() - cpu;
    let delta_bytes = metric(&base, chunked).await? - before;

    let api = admin;
    let sha = {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(std::fs::read(a.join("video.bin"))?))
    };
    let before = metric(&base, chunked).await?;
    let began = Instant::now();
    chunked_upload(&api, &a.join("video.bin"), size, &sha, 4, "/full/video.bin").await?;
    let full_secs = began.elapsed().as_secs_f64();
    let full_bytes = metric(&base, chunked).await? - before;

    let before = metric(&base, webdav).await?;
    let (rclone_secs, _) = timed(rclone(true)).await?;
    let rclone_bytes = metric(&base, webdav).await? - before;

    let mib = |b: f64| b / MIB as f64;
    println!(
        "| re-sync of a {} MiB file after a {} MiB edit | bytes received by the server | time | time ratio to the full re-upload |",
        opts.size_mib, opts.edit_mib
    );
    println!("|---|---|---|---|");
    println!(
        "| `ferry sync run` (delta upload of FastCDC blocks) | {:.1} MiB | {delta_secs:.2} s | {:.2}× |",
        mib(delta_bytes),
        delta_secs / full_secs
    );
    println!(
        "| full re-upload (Ferry chunked upload, 5 MiB chunks, 4 streams) | {:.1} MiB | {full_secs:.2} s | 1.00× |",
        mib(full_bytes)
    );
    println!(
        "| `rclone sync` over Ferry's WebDAV | {:.1} MiB | {rclone_secs:.2} s | {:.2}× |",
        mib(rclone_bytes),
        rclone_secs / full_secs
    );
    println!(
        "| floor: three SHA-256 passes over the file on one core | — | {floor:.2} s | {:.2}× |",
        floor / full_secs
    );
    println!(
        "\nBytes ratio: ferry sync sent {:.4}× of the full re-upload; its time is {:.2}× the floor; server CPU for the delta re-sync {delta_cpu:.2} s.",
        delta_bytes / full_bytes,
        delta_secs / floor
    );
    Ok(())
}
