//! `cargo xtask test`: install prerequisites, then run every test of the workspace with
//! the datapath built in. Privileged tests (BPF_PROG_TEST_RUN, the lab) run when this is
//! root and skip with a message otherwise; CI runs as root.

use crate::cmd;

/// Options of `cargo xtask test`.
#[derive(clap::Args)]
pub struct Args {
    /// Skip `cargo xtask setup` (when the machine is known to be ready).
    #[arg(long)]
    pub no_setup: bool,
    /// Extra arguments passed to `cargo test` after `--` (e.g. a test name filter).
    #[arg(last = true)]
    pub rest: Vec<String>,
}

/// Runs `cargo xtask test`.
pub fn run(args: &Args) -> anyhow::Result<()> {
    if !args.no_setup {
        crate::setup::run(&crate::setup::Args::default())?;
    }
    if !cmd::is_root() {
        eprintln!(
            "note: not root: privileged datapath and lab tests will report `skipped: needs root`"
        );
    }
    let mut test = cmd::cargo();
    test.args([
        "test",
        "--workspace",
        "--exclude",
        "probe-ebpf",
        "--features",
        "enforcer/datapath,observer/agent,observe-tests/agent",
    ]);
    // The end-to-end suite (`tests/`) drives the `observe` and `observerd` binaries this
    // build produces, rather than building its own.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| cmd::root().join("target"), std::path::PathBuf::from);
    test.env("OBSERVE_BIN", target.join("debug/observe"));
    test.env("OBSERVERD_BIN", target.join("debug/observerd"));
    if !args.rest.is_empty() {
        test.arg("--").args(&args.rest);
    }
    cmd::run(&mut test)
}
