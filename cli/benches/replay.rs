//! `observe flows --input-file` over 200,010 Hubble-format lines (the test fixture,
//! repeated), filtered (`--verdict DROPPED`) and printed (`-o compact`), in flows/s, each
//! against the floor measured in the same run: reading the same file line by line and
//! doing nothing with the lines. `cargo xtask bench replay`; no privileges.
//!
//! Wall time of the real binary, output to /dev/null, the median of several runs.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Copies of the 15-line fixture.
const COPIES: usize = 13_334;
/// Runs per figure.
const RUNS: usize = 5;

fn fixture() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/flows.jsonl");
    std::fs::read_to_string(path).expect("the fixture")
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

/// Median wall time of `f` over [`RUNS`].
fn timed(mut f: impl FnMut()) -> Duration {
    median(
        (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                f();
                started.elapsed()
            })
            .collect(),
    )
}

/// Reads `file` line by line, as a floor: what any replay pays before parsing.
fn read_lines(file: &Path) -> usize {
    let reader = BufReader::with_capacity(256 << 10, std::fs::File::open(file).expect("open"));
    reader.split(b'\n').map_while(Result::ok).count()
}

/// `observe flows --input-file FILE ARGS` with its output discarded.
fn replay(file: &Path, args: &[&str]) {
    let status = Command::new(env!("CARGO_BIN_EXE_observe"))
        .args(["flows", "--input-file"])
        .arg(file)
        .args(args)
        .env_remove("OBSERVE_CONFIG")
        .env_remove("OBSERVE_SERVER")
        .env("XDG_CONFIG_HOME", "/nonexistent/observe-bench")
        .stdout(Stdio::null())
        .status()
        .expect("observe runs");
    assert!(status.success(), "observe flows {args:?} failed");
}

fn main() {
    let dir = tempfile::Builder::new()
        .prefix("observe-replay-bench-")
        .tempdir()
        .expect("bench dir");
    let file = dir.path().join("flows.jsonl");
    let text = fixture();
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).expect("create"));
    for _ in 0..COPIES {
        out.write_all(text.as_bytes()).expect("write");
    }
    drop(out);
    let lines = read_lines(&file);
    let bytes = std::fs::metadata(&file).map_or(0, |m| m.len());
    let floor = timed(|| {
        std::hint::black_box(read_lines(&file));
    });
    println!(
        "replay benchmark ({lines} Hubble-format lines, {:.0} MB; median of {RUNS})",
        bytes as f64 / 1e6
    );
    let rate = |d: Duration| lines as f64 / d.as_secs_f64();
    println!(
        "  read the lines (floor)              {:>8.3} s  {:>10.0} lines/s",
        floor.as_secs_f64(),
        rate(floor)
    );
    for (what, args) in [
        (
            "--verdict DROPPED",
            &["--verdict", "DROPPED", "-o", "compact"][..],
        ),
        ("-o compact (every flow printed)", &["-o", "compact"][..]),
    ] {
        let took = timed(|| replay(&file, args));
        println!(
            "  {what:<34}  {:>8.3} s  {:>10.0} flows/s  {:>5.1}x the floor",
            took.as_secs_f64(),
            rate(took),
            took.as_secs_f64() / floor.as_secs_f64()
        );
    }
}
