//! The binary: logging, then the command line (`flokon_api::cli`).

use clap::Parser;
use flokon_api::cli::{self, Cli};
use tracing_subscriber::EnvFilter;

/// mimalloc rather than glibc's malloc: an import allocates and frees
/// millions of small values, and glibc spent more than half the server's
/// time in malloc/free (perf) and kept freed memory in per-thread arenas.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), cli::Failure> {
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
