//! The `ferry` binary: parse the command line, run it.
#![forbid(unsafe_code)]

/// mimalloc instead of the system allocator: a request allocates many small,
/// short-lived values (rows, JSON, futures), and glibc's malloc spent about a
/// fifth of the server's CPU on them (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    api::cli::main().await
}
