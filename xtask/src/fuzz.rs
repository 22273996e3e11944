//! `cargo xtask fuzz`: runs the cargo-fuzz targets in `fuzz/` for a bounded time, with the
//! examples and golden fixtures as seed corpus. Not part of CI. Needs the nightly
//! toolchain (installed on these machines) and installs cargo-fuzz when missing.

use std::path::Path;
use std::process::Command;

use anyhow::Context;

use crate::cmd;

/// Options of `cargo xtask fuzz`.
#[derive(clap::Args)]
pub struct Args {
    /// Seconds to fuzz each target.
    #[arg(long, default_value_t = 600)]
    pub seconds: u64,
    /// Target to run (default: every target).
    pub target: Option<String>,
}

const TARGETS: &[&str] = &["manifest"];

/// Runs `cargo xtask fuzz`.
pub fn run(args: &Args) -> anyhow::Result<()> {
    ensure_cargo_fuzz()?;
    let targets: Vec<&str> = match &args.target {
        Some(t) => vec![t.as_str()],
        None => TARGETS.to_vec(),
    };
    for target in targets {
        let corpus = seed_corpus(target)?;
        let mut fuzz = Command::new("cargo");
        fuzz.args(["+nightly", "fuzz", "run", target, &corpus, "--"])
            .arg(format!("-max_total_time={}", args.seconds))
            .arg("-max_len=16384")
            .current_dir(cmd::root().join("fuzz"));
        cmd::run(&mut fuzz)?;
    }
    Ok(())
}

fn ensure_cargo_fuzz() -> anyhow::Result<()> {
    let installed = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        cmd::run(cmd::cargo().args(["install", "cargo-fuzz", "--locked"]))?;
    }
    Ok(())
}

/// Copies the examples and golden fixtures into the target's corpus directory.
fn seed_corpus(target: &str) -> anyhow::Result<String> {
    let root = cmd::root();
    let corpus = root.join("fuzz/corpus").join(target);
    std::fs::create_dir_all(&corpus)
        .with_context(|| format!("cannot create {}", corpus.display()))?;
    for dir in ["examples", "enforcer/tests/golden"] {
        for entry in std::fs::read_dir(root.join(dir))?.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let name = format!(
                    "seed-{}",
                    path.file_name().unwrap_or_default().to_string_lossy()
                );
                std::fs::copy(&path, corpus.join(Path::new(&name)))?;
            }
        }
    }
    Ok(corpus.display().to_string())
}
