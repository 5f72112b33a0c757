//! Benchmark: a second device receiving a tree with `ferry sync run`, against
//! `rclone sync` of the same tree over Ferry's WebDAV, in the same run — plus
//! the floor of the work the Ferry client must do beyond rclone's (rclone's
//! time plus hashing every received byte, which the client checks and rclone
//! does not), the client's peak RSS, and the time from a save on one watching
//! device to the file on another.
//!
//! Run: `cargo build --release -p api -p ferry-tests --bin ferry --bin bench-sync && $CARGO_TARGET_DIR/release/bench-sync`
#![forbid(unsafe_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ferry_tests::bench::{MIB, ferry_binary, init_sync, make_file, median, sync_run, timed};
use ferry_tests::{ADMIN, ADMIN_PASSWORD, ProcessServer};

#[derive(Debug, clap::Parser)]
struct Options {
    /// Small files in the tree (20 per folder).
    #[arg(long, default_value_t = 10_000)]
    files: usize,
    /// The big file's size.
    #[arg(long, default_value_t = 1024)]
    big_mib: u64,
    /// Saves timed from one watching device to the other.
    #[arg(long, default_value_t = 20)]
    saves: usize,
}

/// Every file under `dir`, hashed (what the client verifies and rclone does not).
fn hash_tree(dir: &Path) -> anyhow::Result<u64> {
    let mut bytes = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                stack.push(entry.path());
            } else {
                let data = std::fs::read(entry.path())?;
                bytes += data.len() as u64;
                std::hint::black_box(<sha2::Sha256 as sha2::Digest>::digest(&data));
            }
        }
    }
    Ok(bytes)
}

fn populate(dir: &Path, files: usize, big_mib: u64) -> anyhow::Result<()> {
    use rand::{RngCore, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    for n in 0..files {
        let folder = dir.join(format!("f{:03}", n / 20));
        std::fs::create_dir_all(&folder)?;
        let mut data = vec![0u8; 1024 + (n % 4) * 1024];
        rng.fill_bytes(&mut data);
        std::fs::write(folder.join(format!("file-{:02}.bin", n % 20)), data)?;
    }
    make_file(&dir.join("big.bin"), big_mib * MIB)?;
    Ok(())
}

async fn save_to_other_device(a: &Path, b: &Path, saves: usize) -> anyhow::Result<Vec<f64>> {
    let mut latencies = Vec::new();
    std::fs::create_dir_all(a.join("latency"))?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    for n in 0..saves {
        let content = format!("save {n} at {:?}", Instant::now());
        let name = format!("latency/{n}.txt");
        let started = Instant::now();
        std::fs::write(a.join(&name), &content)?;
        loop {
            if std::fs::read_to_string(b.join(&name)).ok().as_deref() == Some(content.as_str()) {
                break;
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!("save {n} never arrived");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        latencies.push(started.elapsed().as_secs_f64());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(latencies)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let opts = <Options as clap::Parser>::parse();
    let bin = ferry_binary()?;
    let work = tempfile::Builder::new()
        .prefix("ferry-bench-sync")
        .tempdir()?;
    let server = ProcessServer::spawn(
        bin.to_str().context("path")?,
        &work.path().join("data"),
        &[],
    )
    .await;
    let (a, b, c) = (
        work.path().join("a"),
        work.path().join("b"),
        work.path().join("rclone"),
    );
    eprintln!(
        "writing {} small files and a {} MiB file…",
        opts.files, opts.big_mib
    );
    std::fs::create_dir_all(&a)?;
    populate(&a, opts.files, opts.big_mib)?;
    init_sync(&bin, &server.base, &a, "a").await?;
    init_sync(&bin, &server.base, &b, "b").await?;
    let (push, _) = timed(sync_run(&bin, &a)).await?;
    eprintln!("device a pushed the tree in {push:.1} s");

    let (ferry_secs, ferry_rss) = timed(sync_run(&bin, &b)).await?;
    let mut rclone = std::process::Command::new("rclone");
    let obscured = std::process::Command::new("rclone")
        .args(["obscure", ADMIN_PASSWORD])
        .output()?;
    let obscured = String::from_utf8(obscured.stdout)?.trim().to_owned();
    rclone
        .args(["sync", ":webdav:"])
        .arg(&c)
        .args(["--webdav-url", &format!("{}/webdav", server.base)])
        .args(["--webdav-user", ADMIN, "--webdav-pass", &obscured])
        .args([
            "--transfers",
            "4",
            "--checkers",
            "8",
            "--exclude",
            "/.ferry/**",
        ]);
    let (rclone_secs, rclone_rss) = timed(rclone).await?;
    let hashing = Instant::now();
    let hashed = hash_tree(&c)?;
    let hash_secs = hashing.elapsed().as_secs_f64();
    let floor = rclone_secs + hash_secs;

    let mut watchers: Vec<tokio::process::Child> = Vec::new();
    for dir in [&a, &b] {
        watchers.push(
            tokio::process::Command::new(&bin)
                .args(["sync", "watch"])
                .arg(dir)
                .env("RUST_LOG", "warn")
                .kill_on_drop(true)
                .spawn()?,
        );
    }
    let latencies = save_to_other_device(&a, &b, opts.saves).await?;
    drop(watchers);
    let mut sorted = latencies.clone();
    sorted.sort_by(f64::total_cmp);
    let p90 = sorted[(sorted.len() * 9 / 10).min(sorted.len() - 1)];

    println!(
        "| what ({} small files in {} folders + one {} MiB file) | time | ratio |",
        opts.files,
        opts.files.div_ceil(20),
        opts.big_mib
    );
    println!("|---|---|---|");
    println!("| `rclone sync` over Ferry's WebDAV (4 transfers) | {rclone_secs:.1} s | 1.00× |");
    println!(
        "| floor: rclone + SHA-256 of every received byte ({:.0} MiB, {hash_secs:.1} s) | {floor:.1} s | {:.2}× |",
        hashed as f64 / MIB as f64,
        floor / rclone_secs
    );
    println!(
        "| `ferry sync run` on a second device | {ferry_secs:.1} s | {:.2}× rclone, {:.2}× the floor |",
        ferry_secs / rclone_secs,
        ferry_secs / floor
    );
    println!();
    println!(
        "peak RSS: ferry sync run {:.1} MiB (target ≤ 64 MiB), rclone {:.1} MiB",
        ferry_rss as f64 / 1024.0,
        rclone_rss as f64 / 1024.0
    );
    println!(
        "save on a watching device → file on another: p50 {:.2} s, p90 {p90:.2} s over {} saves (target p50 ≤ 2 s)",
        median(latencies.clone()),
        latencies.len()
    );
    Ok(())
}
