//! `cargo xtask fuzz`: runs every cargo-fuzz target in `fuzz/` (or one) for a bounded
//! time, each seeded from the repository's own examples and fixtures. Not part of CI.
//! Needs the nightly toolchain (installed on these machines) and installs cargo-fuzz when
//! missing.

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

/// A fuzz target and where its seed corpus comes from.
struct Target {
    /// The `[[bin]]` name in `fuzz/Cargo.toml`.
    name: &'static str,
    /// Directories whose files ending in `extension` are seeds.
    dirs: &'static [&'static str],
    extension: &'static str,
    /// Seeds written out as they are.
    inline: &'static [&'static [u8]],
}

/// A trace event (kind 4 at byte 8) flagged `COUNTED` (0x20 at byte 45, the event's
/// flags), followed by its 48 bytes of connection counters.
const COUNTED_TRACE: [u8; 128] = {
    let mut record = [0u8; 128];
    record[8] = 4;
    record[45] = 0x20;
    record
};

const TARGETS: &[Target] = &[
    Target {
        name: "manifest",
        dirs: &["examples", "examples/services", "enforcer/tests/golden"],
        extension: "yaml",
        inline: &[],
    },
    Target {
        name: "decoder",
        dirs: &[],
        extension: "",
        // One record of the event's size (80 bytes), so the fuzzer starts past the length
        // check, and one trace event with its connection counters (128 bytes).
        inline: &[&[0; 80], &COUNTED_TRACE],
    },
    Target {
        name: "filter_flags",
        dirs: &[],
        extension: "",
        inline: &[
            b"--verdict DROPPED --from-pod shop/frontend",
            b"--ip 10.0.0.0/8 --not --port 53 --protocol udp",
            b"--to-label 'k8s:app in (db, cache)' --to-fqdn '*.example.com' --traffic-direction ingress",
            b"-n shop --type trace:to-endpoint --identity 1000 --denied-by shop/deny-all",
            br#"--allowlist '{"source_pod":["shop/"],"verdict":["DROPPED"]}'"#,
        ],
    },
    Target {
        name: "dns_message",
        dirs: &[],
        extension: "",
        // A query for api.partner.com (A, IN, recursion desired), and its answer:
        // 203.0.113.10 with TTL 60.
        inline: &[
            b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03api\x07partner\x03com\x00\x00\x01\x00\x01",
            b"\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00\x03api\x07partner\x03com\x00\x00\x01\x00\x01\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xcb\x00\x71\x0a",
        ],
    },
    Target {
        name: "http_request",
        dirs: &[],
        extension: "",
        // Keep-alive requests: one allowed (then failing upstream), one denied, one
        // chunked body.
        inline: &[
            b"GET /api/items HTTP/1.1\r\nHost: api:8080\r\nX-Token: s3cret\r\n\r\nPOST /admin HTTP/1.1\r\nContent-Length: 2\r\n\r\nok",
            b"POST /api/x HTTP/1.1\r\nX-Token: s3cret\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
        ],
    },
    Target {
        name: "relay_response",
        dirs: &[],
        extension: "",
        // A flow response (uuid "u", time 1.5 s, node "n1") and a loss report.
        inline: &[
            b"\x0a\x03\x22\x01\x75\xc2\x3e\x02\x6e\x31\xca\x3e\x06\x08\x01\x10\x80\xca\xb5\xee\x01",
            b"\x1a\x04\x08\x03\x10\x07",
        ],
    },
    Target {
        name: "input_line",
        dirs: &["cli/tests/fixtures"],
        extension: "jsonl",
        inline: &[],
    },
];

/// Runs `cargo xtask fuzz`.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let targets: Vec<&Target> = match &args.target {
        Some(name) => vec![TARGETS.iter().find(|t| t.name == name).with_context(|| {
            let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
            format!(
                "unknown fuzz target {name:?}: expected one of {}",
                names.join(", ")
            )
        })?],
        None => TARGETS.iter().collect(),
    };
    ensure_cargo_fuzz()?;
    for target in targets {
        let corpus = seed_corpus(target)?;
        let mut fuzz = Command::new("cargo");
        fuzz.args(["+nightly", "fuzz", "run", target.name, &corpus, "--"])
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

/// Fills the target's corpus directory with its seeds.
fn seed_corpus(target: &Target) -> anyhow::Result<String> {
    seed_corpus_in(target, &cmd::root().join("fuzz/corpus"))
}

/// Writes `target`'s seeds into `base/<name>` and returns that directory.
fn seed_corpus_in(target: &Target, base: &Path) -> anyhow::Result<String> {
    let root = cmd::root();
    let corpus = base.join(target.name);
    std::fs::create_dir_all(&corpus)
        .with_context(|| format!("cannot create {}", corpus.display()))?;
    for dir in target.dirs {
        for entry in std::fs::read_dir(root.join(dir))?.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == target.extension) {
                // Named after the directory too: examples/ and examples/services/ both
                // have a cluster.yaml.
                let name = format!(
                    "seed-{}-{}",
                    dir.replace('/', "-"),
                    path.file_name().unwrap_or_default().to_string_lossy()
                );
                std::fs::copy(&path, corpus.join(Path::new(&name)))?;
            }
        }
    }
    for (i, seed) in target.inline.iter().enumerate() {
        std::fs::write(corpus.join(format!("seed-{i}")), seed)?;
    }
    Ok(corpus.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `[[bin]]` names in `fuzz/Cargo.toml`.
    fn declared_bins() -> Vec<String> {
        let manifest = std::fs::read_to_string(cmd::root().join("fuzz/Cargo.toml")).unwrap();
        let mut names = Vec::new();
        let mut in_bin = false;
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                in_bin = line == "[[bin]]";
            } else if let Some(value) = line.strip_prefix("name = ").filter(|_| in_bin) {
                names.push(value.trim_matches('"').to_string());
            }
        }
        names
    }

    #[test]
    fn every_fuzz_target_is_declared_run_and_seeded() {
        // Bug 7: the README promised a decoder target that did not exist.
        let mut declared = declared_bins();
        declared.sort();
        let mut run: Vec<String> = TARGETS.iter().map(|t| t.name.to_string()).collect();
        run.sort();
        assert_eq!(
            declared, run,
            "fuzz/Cargo.toml and `cargo xtask fuzz` agree"
        );
        for name in [
            "manifest",
            "decoder",
            "filter_flags",
            "input_line",
            "dns_message",
            "relay_response",
        ] {
            assert!(run.iter().any(|r| r == name), "a fuzz target for {name}");
        }
        for target in TARGETS {
            let source = cmd::root().join(format!("fuzz/fuzz_targets/{}.rs", target.name));
            assert!(source.is_file(), "{} exists", source.display());
            let dir = tempfile::tempdir().unwrap();
            let corpus = seed_corpus_in(target, dir.path()).unwrap();
            let seeds = std::fs::read_dir(&corpus).unwrap().count();
            assert!(seeds > 0, "{} starts from seeds", target.name);
        }
    }
}
