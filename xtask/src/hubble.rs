//! `cargo xtask hubble`: the real Hubble CLI against a running agent.
//!
//! For each of a set of `hubble observe` filters (the HTTP ones first), runs the real
//! `hubble` binary and `observe flows` with the same flags against the same server, both
//! with `-o jsonpb`, and checks that they print the same flows: same times, verdicts,
//! types, pods and L7 fields (`hubble` re-encodes flows with its own copy of the proto, so
//! fields it does not know are dropped; the comparison keeps to fields every version
//! has). The HTTP filters must find flows. Then it prints `hubble observe`'s compact lines
//! for the HTTP flows.
//!
//! Needs a Hubble CLI (`--hubble`, or `hubble` on `PATH`) and a running agent, by default
//! the demo's (`cargo xtask demo`). CI has no Hubble CLI (none is packaged for this
//! machine, and building one needs its sources), so this is run by hand; the README says
//! how one was built here.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// Options of `cargo xtask hubble`.
#[derive(clap::Args)]
pub struct Args {
    /// The Hubble CLI to run.
    #[arg(long, default_value = "hubble")]
    pub hubble: PathBuf,
    /// The agent (or relay) both CLIs ask; by default the running demo's.
    #[arg(long)]
    pub server: Option<String>,
}

/// One comparison: the flags, and whether they must find flows.
struct Query {
    flags: &'static [&'static str],
    must_find: bool,
}

const QUERIES: &[Query] = &[
    Query {
        flags: &["--type", "l7", "--protocol", "http"],
        must_find: true,
    },
    Query {
        flags: &["--http-method", "POST"],
        must_find: true,
    },
    Query {
        flags: &["--http-status", "403"],
        must_find: true,
    },
    Query {
        flags: &["--http-path", "/admin"],
        must_find: true,
    },
    Query {
        flags: &["--http-status", "200", "--http-method", "GET"],
        must_find: true,
    },
    Query {
        flags: &["--verdict", "DROPPED"],
        must_find: true,
    },
    Query {
        flags: &["--type", "l7", "--protocol", "dns"],
        must_find: false,
    },
    Query {
        flags: &["--type", "policy-verdict", "--from-pod", "shop/frontend"],
        must_find: false,
    },
];

/// Runs `cargo xtask hubble`.
pub fn run(args: &Args) -> Result<()> {
    let server = args
        .server
        .clone()
        .unwrap_or_else(|| format!("unix://{}/observer.sock", crate::demo::DEMO_DIR));
    let version = output(Command::new(&args.hubble).arg("version"))
        .with_context(|| format!("no Hubble CLI at {}", args.hubble.display()))?;
    println!("{}", version.trim());
    let observe = crate::demo::bin("observe");
    let mut failed = 0;
    for query in QUERIES {
        match compare(&args.hubble, &observe, &server, query) {
            Ok(count) => println!("  same {count:>4} flows: {}", query.flags.join(" ")),
            Err(e) => {
                failed += 1;
                println!("  DIFFERENT: {}: {e:#}", query.flags.join(" "));
            }
        }
    }
    let compact = output(
        Command::new(&args.hubble)
            .args(["observe", "--server", &server, "--last", "10"])
            .args(["--type", "l7", "--protocol", "http", "--color", "never"]),
    )?;
    println!("\n$ hubble observe --type l7 --protocol http --last 10\n{compact}");
    if failed > 0 {
        bail!("{failed} of {} filters differ", QUERIES.len());
    }
    Ok(())
}

/// The flows `hubble observe` and `observe flows` print for `query`, compared; their
/// number.
fn compare(hubble: &PathBuf, observe: &PathBuf, server: &str, query: &Query) -> Result<usize> {
    let common = ["--last", "1000", "-o", "jsonpb"];
    let theirs = flows(
        Command::new(hubble)
            .args(["observe", "--server", server])
            .args(common)
            .args(query.flags),
    )?;
    let ours = flows(
        Command::new(observe)
            .args(["--server", server, "flows"])
            .args(common)
            .args(query.flags),
    )?;
    if query.must_find && theirs.is_empty() {
        bail!("hubble found no flows");
    }
    if theirs.len() != ours.len() {
        bail!(
            "hubble printed {} flows, observe {}",
            theirs.len(),
            ours.len()
        );
    }
    if let Some((i, (a, b))) = theirs
        .iter()
        .zip(&ours)
        .enumerate()
        .find(|(_, (a, b))| a != b)
    {
        bail!("flow {i} differs:\n    hubble:  {a}\n    observe: {b}");
    }
    Ok(theirs.len())
}

/// The flows of a `-o jsonpb` listing, each kept to the fields every Hubble version has.
fn flows(cmd: &mut Command) -> Result<Vec<Value>> {
    let text = output(cmd)?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let response: Value = serde_json::from_str(line)
                .with_context(|| format!("not a GetFlowsResponse: {line}"))?;
            Ok(essentials(&response["flow"]))
        })
        .collect()
}

/// The fields compared.
fn essentials(flow: &Value) -> Value {
    let l7 = &flow["l7"];
    serde_json::json!({
        "time": flow["time"],
        "verdict": flow["verdict"],
        "type": flow["Type"],
        "source": [flow["source"]["namespace"], flow["source"]["pod_name"], flow["source"]["identity"]],
        "destination": [flow["destination"]["namespace"], flow["destination"]["pod_name"], flow["destination"]["identity"]],
        "ip": [flow["IP"]["source"], flow["IP"]["destination"]],
        "l7": [l7["type"], l7["http"]["method"], l7["http"]["code"], l7["http"]["url"], l7["dns"]["query"]],
        "drop_reason": flow["drop_reason_desc"],
        "direction": flow["traffic_direction"],
    })
}

/// `cmd`'s standard output; fails unless it exits 0.
fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!(
            "{:?} failed: {}",
            cmd.get_program(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
