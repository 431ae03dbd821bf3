//! The `idp-sync` binary: parses the command line and hands over to [`idp_sync::app`].

use clap::Parser;
use idp_sync::app::{self, cli::Cli};
use std::process::ExitCode;

/// jemalloc, with the options compiled in from `.cargo/config.toml`
/// (`JEMALLOC_SYS_WITH_MALLOC_CONF`): see the README, "Deployment".
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.is_serve() {
        idp_sync::telemetry::init_logging_with_native_capture();
    } else {
        idp_sync::telemetry::init_logging();
    }
    match app::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("idp-sync: {e}");
            e.exit_code()
        }
    }
}
