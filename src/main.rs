//! The binary: logging, then the command line (`flokon_api::cli`).

use clap::Parser;
use flokon_api::cli::{self, Cli};
use tracing_subscriber::EnvFilter;

/// mimalloc rather than glibc's malloc: an import allocates and frees
/// millions of small values, and glibc spent more than half the server's
/// time in malloc/free (perf) and kept freed memory in per-thread arenas.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `purge_delay` option (its index in mimalloc.h, the same in
/// v2 and v3; the crate names its neighbours, `mi_option_eager_commit_delay`
/// = 14 and `mi_option_use_numa_nodes` = 16, not this one).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

#[tokio::main]
async fn main() -> Result<(), cli::Failure> {
    // mimalloc 3 keeps freed pages for a second before giving them back. An
    // import frees its file's parse and builds its plan within that second:
    // the freed pages stayed resident, 35 MiB of a 100,000-row dry run's
    // 285 MiB peak. Given back at once, the peak is the live data's, and
    // the import benchmark runs as fast (perf/RESULTS.md, issue 23).
    // `MIMALLOC_PURGE_DELAY` set in the environment still decides.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a number mimalloc reads on its next purge; no memory
        // is touched.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    }
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    if !cli::run(cli).await? {
        std::process::exit(1);
    }
    Ok(())
}
