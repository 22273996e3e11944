//! `observerd`: the node agent. Everything but argument parsing, logging and the exit code
//! lives in `observer::agent`.

use std::process::ExitCode;

use clap::Parser;
use observer::agent::options::Options;

/// Flows are built on the pipeline's and the servers' threads and freed wherever their
/// last reader drops them, hundreds of thousands a second: mimalloc's per-thread heaps
/// keep that off glibc's arena locks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let opts = Options::parse();
    // Before anything is touched: a refused configuration changes nothing.
    if let Err(e) = opts.validate() {
        eprintln!("Error: {e}");
        return ExitCode::from(2);
    }
    let level = opts.log_level.parse().unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .init();
    // Before any other thread exists, so every runtime thread starts in the node.
    let node_netns = match observer::agent::enter_node(&opts) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("Error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(observer::agent::run(opts, node_netns)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
