//! [`require_root`]: the one guard privileged tests (and the datapath bench) call first, and
//! [`is_root`], the check behind it that the project's tools share.
//!
//! Without root a privileged test is skipped, not passed silently: the guard says so on
//! stderr, records the skip as one line in the file named by [`SKIP_LOG_ENV`] (which
//! `cargo xtask test` clears before the run and counts after it), and in CI (`CI=true`)
//! panics instead, so that a CI run without root fails rather than testing nothing.

use std::io::Write;

/// The environment variable naming the file each skip is appended to (one line per
/// skipped test); unset, skips are not recorded.
pub const SKIP_LOG_ENV: &str = "OBSERVE_SKIP_LOG";

/// Whether this process runs as root (effective uid 0).
pub fn is_root() -> bool {
    // SAFETY: `geteuid` has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Returns `true` when running as root; otherwise prints `skipped: needs root` to stderr,
/// records the skip (see the module doc) and returns `false`, for the test to return early.
///
/// # Panics
///
/// When not root and `CI` is `true` (or `1`): a skipped privileged test fails in CI.
pub fn require_root() -> bool {
    if is_root() {
        return true;
    }
    let test = current_test();
    if in_ci(std::env::var("CI").ok().as_deref()) {
        panic!(
            "{test}: privileged test cannot run: needs root, and CI=true forbids skipping it \
             (run the suite as root, or unset CI to skip locally)"
        );
    }
    eprintln!("skipped: needs root");
    if let Some(log) = std::env::var_os(SKIP_LOG_ENV) {
        record_skip(std::path::Path::new(&log), &test);
    }
    false
}

/// Whether the value of `CI` asks for a strict run: `true` or `1`, as CI services set it.
fn in_ci(ci: Option<&str>) -> bool {
    ci.is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The running test, as `binary test::path` (libtest names each test's thread after it;
/// a bench or other `main` is named by its binary alone).
fn current_test() -> String {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "?".into());
    match std::thread::current().name() {
        Some(name) if name != "main" => format!("{binary} {name}"),
        _ => binary,
    }
}

/// Appends one line naming `test` to `log`. Best effort: the skip was already reported on
/// stderr, so a log that cannot be written only warns. One `write` of one short line to a
/// file opened for appending, so concurrent tests' lines do not interleave.
fn record_skip(log: &std::path::Path, test: &str) {
    let line = format!("{test}\n");
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        eprintln!("warning: cannot record the skip in {}: {e}", log.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_is_strict_only_when_it_says_true() {
        assert!(in_ci(Some("true")));
        assert!(in_ci(Some("TRUE")));
        assert!(in_ci(Some("1")));
        assert!(!in_ci(None));
        assert!(!in_ci(Some("")));
        assert!(!in_ci(Some("false")));
        assert!(!in_ci(Some("0")));
    }

    #[test]
    fn a_recorded_skip_is_one_line_naming_the_test() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("skips.log");
        record_skip(&log, "bin a::b");
        record_skip(&log, "bin c");
        let text = std::fs::read_to_string(&log).expect("log");
        assert_eq!(text, "bin a::b\nbin c\n");
    }
}
