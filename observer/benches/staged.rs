//! Staged-policy benchmark (no privileges; `cargo xtask bench staged`): the cost of a
//! staged policy set per new connection. The agent's own snapshot (64 pods of 8 apps, one
//! ingress policy each) enriches policy-verdict events into the flow ring's compact
//! records, once with nothing staged and once with a staged set (one rule narrowed, one
//! deny added), taking turns in the same run; reported per event in CPU time of the one
//! thread, and the difference: what evaluating the staged set costs each new connection.

#[path = "support/cpu.rs"]
mod cpu;
#[path = "support/shop.rs"]
mod shop;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use enforcer::cluster::PodKey;
use enforcer::engine::{Engine, EngineConfig};
use observe_proto::flow::Verdict;
use observer::agent::snapshot::{SharedSnapshot, Snapshot};
use observer::agent::staged::Staged;
use observer::decode::{BootClock, Decoder};
use observer::event::MonitorEvent;
use probe_common::event::kind;
use shop::PODS;

const EVENTS: u64 = 200_000;
const RUNS: usize = 7;

/// The staged set: app 1's rule narrowed to port 8000, and a deny of app 3 on 8050.
fn staged() -> String {
    let mut out = shop::app_policy(1, "{port: \"8000\", protocol: TCP}");
    out.push_str("---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: no-8050, namespace: shop}\nspec:\n  endpointSelector: {}\n  ingressDeny:\n  - fromEndpoints: [{matchLabels: {app: app-3}}]\n    toPorts: [{ports: [{port: \"8050\", protocol: TCP}]}]\n");
    out
}

/// A decoder enriching from the agent's snapshot of `engine`, with `staged` staged.
fn decoder(engine: &Engine, staged: Option<&Staged>) -> Decoder {
    let keys: Vec<PodKey> = (0..PODS)
        .map(|n| PodKey::new("shop", &format!("pod-{n}")))
        .collect();
    let local = keys
        .iter()
        .enumerate()
        .map(|(n, k)| (k, n as u16 + 1, n as u32 + 100, "lxc"));
    let mut snapshot = Snapshot::build(engine, local, &[]);
    if let Some(staged) = staged {
        let ids = keys.iter().enumerate().map(|(n, k)| (k, n as u16 + 1));
        snapshot = snapshot.with_staged(staged.engine(), ids);
    }
    let shared = SharedSnapshot::default();
    shared.publish(snapshot);
    Decoder::new(BootClock::new(
        SystemTime::now() - Duration::from_secs(3600),
    ))
    .with_getter_source(Arc::new(shared))
}

/// Event `n`: the policy verdict of a new connection from pod a to pod b, at b's ingress.
fn event(engine: &Engine, n: u64) -> MonitorEvent {
    let identity = |p: u32| {
        let key = PodKey::new("shop", &format!("pod-{p}"));
        engine.endpoint(&key).map_or(0, |e| e.identity)
    };
    shop::connection(n, |ev, src, dst| {
        ev.kind = kind::POLICY_VERDICT;
        ev.dport = 8000 + (n % 100) as u16;
        ev.src_identity = identity(src);
        ev.dst_identity = identity(dst);
    })
}

fn main() {
    let mut engine = Engine::new(EngineConfig::default());
    engine
        .apply(shop::objects(&shop::manifests(
            |_| "{port: \"8000\", endPort: 8099, protocol: TCP}",
        )))
        .expect("cluster applies");
    let staged = Staged::new(&engine, shop::objects(&staged())).expect("stages");
    let events: Vec<MonitorEvent> = (0..EVENTS).map(|n| event(&engine, n)).collect();
    let mut decoders = [decoder(&engine, None), decoder(&engine, Some(&staged))];
    // The staged set does decide: count its verdicts over the events once.
    let staged_drops = events
        .iter()
        .filter_map(|e| decoders[1].decode(e).ok())
        .filter(|f| {
            f.staged
                .as_ref()
                .is_some_and(|s| s.verdict() == Verdict::Dropped)
        })
        .count();
    assert!(staged_drops > 0, "the staged set drops some connections");
    let mut cpu = [0.0f64; 2];
    for _ in 0..RUNS {
        for (decoder, cpu) in decoders.iter_mut().zip(&mut cpu) {
            let started = cpu::thread_cpu_secs();
            for e in &events {
                let _ = std::hint::black_box(decoder.decode_event(e));
            }
            *cpu += cpu::thread_cpu_secs() - started;
        }
    }
    let per_event = |secs: f64| secs * 1e9 / (RUNS as f64 * EVENTS as f64);
    let (plain, with_staged) = (per_event(cpu[0]), per_event(cpu[1]));
    println!(
        "new connections enriched into the flow ring ({EVENTS} policy verdicts x {RUNS}, 64 pods):"
    );
    println!("  nothing staged        {plain:>8.0} ns/connection");
    println!(
        "  a staged set          {with_staged:>8.0} ns/connection ({:.2}x)",
        with_staged / plain
    );
    println!(
        "  staged evaluation     {:>8.0} ns/connection; {staged_drops} of {EVENTS} would be dropped",
        with_staged - plain
    );
}
