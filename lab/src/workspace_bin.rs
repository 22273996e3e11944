//! Finding a binary of another workspace package from a test: cargo only hands a test the
//! binaries of its own package (`CARGO_BIN_EXE_*`), so tests of the agent and the dashboard
//! locate the `observe` CLI here.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The binary named by the environment variable `env` if set (`cargo xtask test` sets
/// `OBSERVE_BIN`), else `bin` of `package` built with cargo into the calling test's target
/// directory. Panics if the build fails: the test cannot run without it.
pub fn workspace_binary(env: &str, package: &str, bin: &str) -> PathBuf {
    workspace_binary_with_features(env, package, bin, &[])
}

/// Like [`workspace_binary`], building `bin` with `features` of `package` on (`observerd`
/// needs observer's `agent`).
pub fn workspace_binary_with_features(
    env: &str,
    package: &str,
    bin: &str,
    features: &[&str],
) -> PathBuf {
    if let Some(path) = std::env::var_os(env) {
        return path.into();
    }
    // A test runs as <target>/<profile>/deps/<name>-<hash>.
    let exe = std::env::current_exe().expect("test executable");
    let target_dir = exe
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .expect("the test runs from <target>/<profile>/deps");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args([
            "build",
            "--quiet",
            "-p",
            package,
            "--bin",
            bin,
            "--manifest-path",
        ])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir);
    if !features.is_empty() {
        build.arg("--features").arg(features.join(","));
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "building {package} {bin} failed");
    let built = target_dir.join("debug").join(bin);
    assert!(built.exists(), "{} missing", built.display());
    built
}
