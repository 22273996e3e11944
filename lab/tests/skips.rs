//! The root guard's skip path (bug 8): a privileged test run without root is not a silent
//! pass. Each test here runs [`privileged_probe`] (ignored otherwise) as a separate, non-root
//! process: as `nobody` when this runs as root, as the current user when it does not.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Mutex;

/// The uid and gid of `nobody`.
const NOBODY: u32 = 65534;

/// Serialises the copy-then-exec below: while one test holds its fresh copy open for writing,
/// a child forked by the other test inherits that descriptor until it execs, and exec of the
/// copy then fails with ETXTBSY ("Text file busy").
static EXEC_LOCK: Mutex<()> = Mutex::new(());

/// Stands for any privileged test: the guard, then work that needs root.
#[test]
#[ignore = "run as a non-root child process by the other tests in this file"]
fn privileged_probe() {
    if !lab::require_root() {
        return;
    }
    assert!(lab::is_root(), "past the guard only as root");
}

/// Runs [`privileged_probe`] without root, from a copy of this test binary in `dir` (the
/// original may sit under a home directory `nobody` cannot enter), with `ci` as `CI` and
/// `log` as the skip log.
fn run_probe_without_root(dir: &Path, ci: Option<&str>, log: Option<&Path>) -> Output {
    let _serial = EXEC_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
    let exe = dir.join("probe");
    std::fs::copy(std::env::current_exe().expect("test binary"), &exe).expect("copy binary");
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mut cmd = Command::new(&exe);
    cmd.args(["--ignored", "--exact", "privileged_probe", "--nocapture"])
        .current_dir(dir)
        .env_remove("CI")
        .env_remove(lab::SKIP_LOG_ENV);
    if let Some(ci) = ci {
        cmd.env("CI", ci);
    }
    if let Some(log) = log {
        cmd.env(lab::SKIP_LOG_ENV, log);
    }
    if lab::is_root() {
        // std drops the supplementary groups too when it changes the uid.
        cmd.uid(NOBODY).gid(NOBODY);
    }
    cmd.output().expect("run the probe")
}

#[test]
fn a_privileged_test_without_root_fails_when_ci_is_true() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run_probe_without_root(dir.path(), Some("true"), None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the skipped probe passed under CI=true: {out:?}"
    );
    assert!(
        stderr.contains("needs root") && stderr.contains("CI=true"),
        "the failure names the reason: {stderr}"
    );
}

#[test]
fn a_privileged_test_without_root_is_skipped_and_counted_outside_ci() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("skips.log");
    // Created here, writable by the non-root child.
    std::fs::write(&log, "").expect("create log");
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o666)).expect("chmod log");
    let out = run_probe_without_root(dir.path(), None, Some(&log));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the probe is skipped: {out:?}");
    assert!(stderr.contains("skipped: needs root"), "{stderr}");
    let recorded = std::fs::read_to_string(&log).expect("log");
    let lines: Vec<&str> = recorded.lines().collect();
    assert_eq!(lines.len(), 1, "one line per skip: {recorded:?}");
    assert!(
        lines[0].ends_with(" privileged_probe"),
        "the line names the test: {recorded:?}"
    );
}
