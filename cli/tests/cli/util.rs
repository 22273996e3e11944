//! Running the binary with a clean environment, comparing with golden files, and the
//! flow fixture.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The fixture every replay test reads.
pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/flows.jsonl")
}

/// `observe` with no config file, no colors forced and no server from the environment.
pub fn observe() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_observe"));
    for var in [
        "OBSERVE_CONFIG",
        "OBSERVE_SERVER",
        "OBSERVE_TIMEOUT",
        "OBSERVE_REQUEST_TIMEOUT",
        "NO_COLOR",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("XDG_CONFIG_HOME", "/nonexistent/observe-tests");
    cmd
}

/// Runs `observe flows --input-file FIXTURE ARGS...`.
pub fn replay(args: &[&str]) -> Output {
    let fixture = fixture();
    let mut cmd = observe();
    cmd.arg("flows")
        .arg("--input-file")
        .arg(&fixture)
        .args(args);
    cmd.output().expect("observe runs")
}

/// Stdout of a successful run; panics with stderr otherwise.
pub fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}, stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

/// Compares `actual` with `tests/golden/NAME`, or writes it with `UPDATE_GOLDEN=1`.
pub fn assert_golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    lab::golden::assert_golden(&path, actual);
}

/// Several replays in one golden file: each case is `$ ARGS` then its output.
pub fn assert_golden_cases(name: &str, cases: &[&[&str]]) {
    let mut text = String::new();
    for args in cases {
        text.push_str(&format!(
            "$ observe flows --input-file flows.jsonl {}\n",
            args.join(" ")
        ));
        text.push_str(&stdout(&replay(args)));
        text.push('\n');
    }
    assert_golden(name, &text);
}

/// Asserts a failed run: exit `code`, nothing on stdout, exactly one line on stderr
/// starting with `Error: ` and containing every `needle`.
pub fn assert_one_line_error(output: &Output, code: i32, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "stderr: {stderr}");
    assert!(
        output.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(stderr.starts_with("Error: "), "{stderr:?}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{stderr:?} should mention {needle:?}"
        );
    }
}

/// `observe policy trace -f MANIFEST ARGS...` on a manifest written to a temporary file:
/// whether it succeeded, its stdout and its stderr.
pub fn trace_manifest(manifest: &str, args: &[&str]) -> (bool, String, String) {
    use std::io::Write;
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(manifest.as_bytes()).expect("written");
    let out = observe()
        .args(["policy", "trace", "-f"])
        .arg(f.path())
        .args(args)
        .output()
        .expect("run observe");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success(), stdout, stderr)
}
