//! Running the `observe` binary with a clean environment, and the flow fixture the CLI's
//! own tests replay (`cli/tests/fixtures/flows.jsonl`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The fixture: the CLI's replay fixture, served live here.
pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/tests/fixtures/flows.jsonl")
}

/// `observe` with no config file, no colors forced and no server from the environment.
pub fn observe() -> Command {
    // Found (or built) once per test binary, not once per run.
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    let binary =
        BINARY.get_or_init(|| lab::workspace_binary("OBSERVE_BIN", "observe-cli", "observe"));
    let mut cmd = Command::new(binary);
    for var in [
        "OBSERVE_CONFIG",
        "OBSERVE_SERVER",
        "OBSERVE_TIMEOUT",
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
