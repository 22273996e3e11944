//! `cargo xtask bench`: the benchmarks, in release mode, printing their figures.
//!
//! - `policy`: policy compile time (1,000 policies over 5,000 pods, full and incremental)
//!   and trace latency; no privileges needed.
//! - `datapath`: the probe's ns/packet against an empty program and against each path's
//!   floor (the same map operations and nothing else), and events/s to userspace,
//!   measured with BPF_PROG_TEST_RUN in the same run; needs root.
//! - `pipeline`: kernel → `GetFlows` follower latency (p50/p99) and events/s through the
//!   whole agent pipeline with zero loss, in a lab with a real `observerd`; then the agent
//!   offered up to 2M events/s by its own program under `BPF_PROG_TEST_RUN`, with what it
//!   saw, what it counted lost, and whether that balances; needs root.
//! - `service`: decode+enrich+filter flows/s on one core, `GetFlows` over a full
//!   65,535-flow ring with a selective filter, and the ring's memory; no privileges.
//! - `dns_agent`: the DNS proxy inside a real agent in a lab: query latency when the
//!   answer brings a new address (held until the datapath has it) against a known one, so
//!   answer-to-datapath time, and how long DNS is unanswered across an agent restart;
//!   needs root.
//! - `cluster`: three real agents sharing a real etcd: identity allocation against a
//!   single-key put, policy apply → enforced on every node against an agent alone, pod add →
//!   known on the other nodes, agent memory per 1,000 remote endpoints, and 10/100/1,000
//!   simulated nodes (publisher + reflector each) with ipcache propagation and etcd's RSS;
//!   needs root.
//! - `proxy`: the DNS proxy's added latency (p50/p99 at 1,000 queries/s) and its
//!   queries/s on one core, each against direct DNS to the same server in the same run;
//!   no privileges.
//! - `replay`: `observe flows --input-file` over 200,010 Hubble-format lines, filtered and
//!   printed, in flows/s against reading the same lines in the same run; no privileges.
//! - `relay`: `observe-relay` merging 1M flows from 1, 3 and 8 node streams in flows/s
//!   against one node read directly in the same run, the relay's peak memory, and the
//!   node-to-client delay of a following client at a busy and a quiet rate against the
//!   sort buffer's drain timeout; no privileges.
//! - `whatif`: `observe policy whatif` over a full 1,048,575-event ring (read into distinct
//!   connections, each traced through the live engine and the candidate) against
//!   building every flow of the same ring in the same run; no privileges.
//! - `staged`: a staged policy set's cost per new connection: policy verdicts enriched
//!   into the flow ring with a staged set against nothing staged, in the same run; no
//!   privileges.
//! - `adoption` (root): an agent restarted with 5,000 endpoints to adopt, to serving its
//!   API and to every endpoint ready, against the same agent restarted with none.
//! - `tui`: the dashboard's render cost per frame with 10,000 buffered flows, and the flow
//!   rate its state update absorbs; no privileges.

use crate::cmd;

/// Options of `cargo xtask bench`.
#[derive(clap::Args)]
pub struct Args {
    /// Only run the benchmarks whose name is given (policy, datapath, pipeline, dns_agent,
    /// cluster, service, proxy, replay, relay, whatif, staged, adoption, tui).
    pub only: Vec<String>,
}

/// Runs `cargo xtask bench`.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let wanted = |name: &str| args.only.is_empty() || args.only.iter().any(|o| o == name);
    if wanted("policy") {
        bench("enforcer", None, "policy")?;
    }
    let privileged = [
        ("datapath", "enforcer", "datapath"),
        ("pipeline", "observer", "agent"),
        ("dns_agent", "observer", "agent"),
        ("cluster", "observer", "agent"),
        ("adoption", "observer", "agent"),
    ];
    let mut set_up = false;
    for (name, package, feature) in privileged.into_iter().filter(|(b, _, _)| wanted(b)) {
        if !lab::is_root() {
            eprintln!("skipped {name} benchmark: needs root");
            continue;
        }
        if !set_up {
            crate::setup::run(&crate::setup::Args::default())?;
            set_up = true;
        }
        bench(package, Some(feature), name)?;
    }
    let unprivileged = [
        ("service", "observer", None, "service"),
        ("proxy", "observe-proxy", None, "dns"),
        ("proxy", "observe-proxy", None, "http"),
        ("replay", "observe-cli", None, "replay"),
        ("whatif", "observer", Some("agent"), "whatif"),
        ("staged", "observer", Some("agent"), "staged"),
        ("relay", "observe-relay", None, "relay"),
        ("tui", "observe-tui", None, "frame"),
    ];
    for (name, package, feature, target) in unprivileged {
        if wanted(name) {
            bench(package, feature, target)?;
        }
    }
    Ok(())
}

/// `cargo bench -q -p PACKAGE [--features FEATURE] --bench TARGET`.
fn bench(package: &str, feature: Option<&str>, target: &str) -> anyhow::Result<()> {
    let mut cargo = cmd::cargo();
    cargo.args(["bench", "-q", "-p", package]);
    if let Some(feature) = feature {
        cargo.args(["--features", feature]);
    }
    cmd::run(cargo.args(["--bench", target]))
}
