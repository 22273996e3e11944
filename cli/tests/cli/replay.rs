//! Replays of large files (many chunks, read on several threads) print what reading the
//! file line after line prints: the same lines in the same order, the same stop at the
//! first bad line (with its number), and no error from lines past the first N.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::util::{assert_one_line_error, fixture, observe, stdout};

/// Copies of the fixture, enough for several chunks of input.
const COPIES: usize = 1500;

fn fixture_text() -> String {
    std::fs::read_to_string(fixture()).unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn replay_file(path: &Path, args: &[&str]) -> Output {
    observe()
        .arg("flows")
        .arg("--input-file")
        .arg(path)
        .args(args)
        .output()
        .unwrap()
}

/// A failed run that printed `printed` first, then one error line with `needle`.
fn assert_error_after(output: &Output, printed: &str, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        String::from_utf8_lossy(&output.stdout) == printed,
        "stdout differs"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(
        stderr.starts_with("Error: ") && stderr.contains(needle),
        "{stderr:?}"
    );
}

#[test]
fn a_large_file_prints_each_copy_as_the_fixture_prints() {
    let dir = tempfile::tempdir().unwrap();
    let one = write(dir.path(), "one.jsonl", fixture_text().as_bytes());
    let many = write(
        dir.path(),
        "many.jsonl",
        fixture_text().repeat(COPIES).as_bytes(),
    );
    for args in [
        &[][..],
        &["-o", "jsonpb"],
        &["--verdict", "DROPPED", "--color", "always"],
    ] {
        let once = stdout(&replay_file(&one, args));
        assert_eq!(
            stdout(&replay_file(&many, args)),
            once.repeat(COPIES),
            "{args:?}"
        );
    }
    let blocks = stdout(&replay_file(&one, &["-o", "dict"]));
    let all = stdout(&replay_file(&many, &["-o", "dict"]));
    assert_eq!(all, vec![blocks; COPIES].join("------------\n"));
    for args in [["--last", "5"], ["--first", "7"]] {
        let small = stdout(&replay_file(&one, &args));
        assert_eq!(stdout(&replay_file(&many, &args)), small, "{args:?}");
    }
}

/// A bad line deep in a large file: everything before it is printed, then the error with
/// its line number; `--first N` that stops before it succeeds.
#[test]
fn a_bad_line_stops_the_replay_where_reading_line_by_line_stops() {
    let dir = tempfile::tempdir().unwrap();
    let text = fixture_text().repeat(COPIES);
    let lines: Vec<&str> = text.lines().collect();
    let bad_at = lines.len() * 2 / 3;
    let before = lines[..bad_at].join("\n") + "\n";
    let after = lines[bad_at..].join("\n") + "\n";
    let good = write(dir.path(), "good.jsonl", before.as_bytes());
    let expected = stdout(&replay_file(&good, &[]));

    let broken = write(
        dir.path(),
        "broken.jsonl",
        format!("{before}{{\"flow\": oops}}\n{after}").as_bytes(),
    );
    let needle = format!("{}:{}: not JSON", broken.display(), bad_at + 1);
    assert_error_after(&replay_file(&broken, &[]), &expected, &needle);

    let not_utf8 = write(
        dir.path(),
        "latin1.jsonl",
        &[
            before.as_bytes(),
            b"{\"flow\":{\"uuid\":\"caf\xe9\"}}\n",
            after.as_bytes(),
        ]
        .concat(),
    );
    let needle = format!(
        "cannot read {}: stream did not contain valid UTF-8",
        not_utf8.display()
    );
    assert_error_after(&replay_file(&not_utf8, &[]), &expected, &needle);

    let first = stdout(&replay_file(&broken, &["--first", "3"]));
    assert_eq!(first, stdout(&replay_file(&good, &["--first", "3"])));
    let last = replay_file(&broken, &["--last", "3"]);
    assert_one_line_error(&last, 1, &["not JSON"]);
}

/// The last line may lack its newline; blank lines and CRLF ends are lines too (the line
/// numbers count them).
#[test]
fn line_ends_and_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let text = fixture_text();
    let crlf = text.replace('\n', "\r\n\n");
    let path = write(dir.path(), "crlf.jsonl", crlf.trim_end().as_bytes());
    let once = stdout(&replay_file(&fixture(), &[]));
    assert_eq!(stdout(&replay_file(&path, &[])), once);
    let bad = write(dir.path(), "bad.jsonl", format!("{crlf}[]").as_bytes());
    let lines = crlf.lines().count();
    let needle = format!("{}:{}: expected a JSON object", bad.display(), lines + 1);
    assert_error_after(&replay_file(&bad, &[]), &once, &needle);
}
