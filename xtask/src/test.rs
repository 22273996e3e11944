//! `cargo xtask test`: install prerequisites, then run every test of the workspace with
//! the datapath built in. Privileged tests (BPF_PROG_TEST_RUN, the lab) run when this is
//! root; otherwise each one is skipped by `lab::require_root`, which records it in a log
//! this command clears before the run and counts after it ("N privileged tests skipped").
//! Under `CI=true` a skipped privileged test fails instead; CI runs as root. A full run
//! (no test filter) also checks that the fuzz targets (`fuzz/`) and the benchmarks compile,
//! the benchmarks both with the datapath and agent features and without them (`cargo test`
//! builds neither).

use std::path::{Path, PathBuf};

use anyhow::Context;

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
    if !lab::is_root() {
        eprintln!(
            "note: not root: privileged datapath and lab tests will report `skipped: needs root`"
        );
    }
    let mut test = cmd::cargo();
    test.args(["test"]).args(WORKSPACE).args(FEATURES);
    // The end-to-end suite (`tests/`) drives the `observe` and `observerd` binaries this
    // build produces, rather than building its own.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| cmd::root().join("target"), PathBuf::from);
    let target = std::path::absolute(&target).unwrap_or(target);
    test.env("OBSERVE_BIN", target.join("debug/observe"));
    // Every skipped privileged test appends a line here (see `lab::require_root`).
    let skips = target.join("privileged-skips.log");
    match std::fs::remove_file(&skips) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("cannot clear {}", skips.display()));
        }
        _ => {}
    }
    test.env(lab::SKIP_LOG_ENV, &skips);
    test.env("OBSERVERD_BIN", target.join("debug/observerd"));
    test.env("OBSERVE_RELAY_BIN", target.join("debug/observe-relay"));
    if !args.rest.is_empty() {
        test.arg("--").args(&args.rest);
    }
    let result = cmd::run(&mut test);
    report_skips(&skips);
    result?;
    if args.rest.is_empty() {
        // The fuzz targets are a workspace of their own (cargo-fuzz's layout) that no test
        // builds: check that they still compile against the crates they fuzz.
        cmd::run(cmd::cargo().args(["check", "--manifest-path", "fuzz/Cargo.toml", "--bins"]))?;
        // Benchmarks only `cargo xtask bench` builds: a bench that compiles only with a
        // feature it does not require would otherwise go unnoticed.
        cmd::run(cmd::cargo().args(["check", "--benches"]).args(WORKSPACE))?;
        cmd::run(
            cmd::cargo()
                .args(["check", "--benches"])
                .args(WORKSPACE)
                .args(FEATURES),
        )?;
    }
    Ok(())
}

/// The workspace's packages but the eBPF program (built by the enforcer's build script).
const WORKSPACE: [&str; 3] = ["--workspace", "--exclude", "probe-ebpf"];

/// The features the tests run with: the datapath and the agent built in.
const FEATURES: [&str; 2] = [
    "--features",
    "enforcer/datapath,observer/agent,observe-tests/agent",
];

/// Prints how many privileged tests were skipped (also when there were none), and where
/// their names are.
fn report_skips(log: &Path) {
    let skipped = count_skips(&std::fs::read_to_string(log).unwrap_or_default());
    if skipped == 0 {
        eprintln!("0 privileged tests skipped (not root)");
    } else {
        eprintln!(
            "{skipped} privileged tests skipped (not root): listed in {}",
            log.display()
        );
    }
}

/// The number of skips in the log's text: one non-empty line each.
fn count_skips(log: &str) -> usize {
    log.lines().filter(|l| !l.trim().is_empty()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_of_the_skip_log_is_one_skipped_test() {
        assert_eq!(count_skips(""), 0);
        assert_eq!(count_skips("lab-1 a\ndatapath-2 b\n"), 2);
        assert_eq!(count_skips("lab-1 a\n\n"), 1);
    }
}
