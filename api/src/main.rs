//! The `ferry` binary: parse the command line, run it.
#![forbid(unsafe_code)]

/// mimalloc instead of the system allocator: a request allocates many small,
/// short-lived values (rows, JSON, futures), and glibc's malloc spent about a
/// fifth of the server's CPU on them (see BENCHMARKS.md). Built with `no_thp`:
/// otherwise mimalloc asks for transparent huge pages for its arenas, and each
/// first touch of one commits 2 MiB — `ferry sync` holding 10,000 paths had
/// 43 MiB of mostly empty huge pages in a 66 MiB peak.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    api::cli::main().await
}
