//! Agent restart with many endpoints (root; `cargo xtask bench adoption`): an agent in a
//! lab node creates `OBS_BENCH_PODS` endpoints (5,000 by default: a network namespace and a
//! veth each, attached programs, policy), is stopped, and started again. Reported: the
//! time from the start of the process to serving its API, and to every endpoint adopted
//! and ready (`GetEndpoints`), against the same agent restarted with no endpoints in the
//! same run; and, for scale, the time the endpoints took to create.

#[path = "../../tests/agent_e2e/common.rs"]
#[allow(
    dead_code,
    reason = "the shared harness has helpers only the tests use"
)]
mod common;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use common::AgentProcess;
use lab::Lab;

/// The restart figures of one agent.
struct Restart {
    serving: Duration,
    ready: Duration,
}

/// Pods `0..n` of namespace bench, each with an address in 10.80.0.0/16.
fn pods(n: u32) -> String {
    let mut out = String::from("apiVersion: v1\nkind: Namespace\nmetadata: {name: bench}\n");
    for i in 0..n {
        let _ = write!(
            out,
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: pod-{i}, namespace: bench, labels: {{app: app-{}}}}}\nstatus: {{podIP: 10.80.{}.{}}}\n",
            i % 16,
            i / 250,
            i % 250 + 1
        );
    }
    // One policy selecting every pod, so each endpoint has map state to restore.
    out.push_str("---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: same-app, namespace: bench}\nspec:\n  endpointSelector: {}\n  ingress:\n  - fromEndpoints: [{}]\n    toPorts: [{ports: [{port: \"8080\", protocol: TCP}]}]\n");
    out
}

/// Waits until the agent lists `n` endpoints, all ready.
fn wait_ready(agent: &AgentProcess, n: usize, deadline: Instant) {
    loop {
        let eps = agent.endpoints();
        if eps.len() == n && eps.iter().all(|e| e.status == "ready") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "endpoints not ready: {} of {n}",
            eps.len()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops `agent` and starts it again: the time to its API, and to `n` endpoints ready.
fn restart(agent: &mut AgentProcess, n: usize) -> Restart {
    agent.stop_agent();
    let started = Instant::now();
    agent.start_agent_within(Duration::from_secs(600));
    let serving = started.elapsed();
    wait_ready(agent, n, Instant::now() + Duration::from_secs(600));
    Restart {
        serving,
        ready: started.elapsed(),
    }
}

fn main() {
    if !lab::require_root() {
        return;
    }
    let n: u32 = std::env::var("OBS_BENCH_PODS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let mut lab = Lab::new("benchadopt").expect("lab");
    let node = lab.add_node("node").expect("node");
    let args = ["--node-name", "node", "--trace", "off"]
        .map(String::from)
        .to_vec();
    let mut agent = AgentProcess::new(&lab, &node, args);
    agent.start_agent();
    let empty = restart(&mut agent, 0);
    let created = Instant::now();
    agent.apply(&pods(n)).expect("pods apply");
    wait_ready(
        &agent,
        n as usize,
        Instant::now() + Duration::from_secs(1800),
    );
    let create = created.elapsed();
    let full = restart(&mut agent, n as usize);
    println!("agent restart, {n} endpoints adopted against none (same run):");
    println!(
        "  to serving its API      {:>8.2} s  (none: {:.2} s)",
        full.serving.as_secs_f64(),
        empty.serving.as_secs_f64()
    );
    println!(
        "  to every endpoint ready {:>8.2} s  (none: {:.2} s): {:.2} ms per endpoint",
        full.ready.as_secs_f64(),
        empty.ready.as_secs_f64(),
        (full.ready - empty.ready).as_secs_f64() * 1e3 / f64::from(n.max(1))
    );
    println!(
        "  (creating them took {:.1} s: {:.2} ms per endpoint)",
        create.as_secs_f64(),
        create.as_secs_f64() * 1e3 / f64::from(n.max(1))
    );
    agent.stop_agent();
    drop(lab);
}
