//! What-if benchmark (no privileges; `cargo xtask bench whatif`): `observe policy whatif`
//! over a full 1,048,575-event flow ring (policy verdicts and drops between 64 pods, 8
//! apps, 100 ports), with a candidate that narrows one allow rule. Reported: the time to
//! read the ring into distinct connections, and to trace them through the live engine and
//! the candidate, against the time the same ring takes to be read with every flow built
//! (what a `GetFlows` reader of the whole ring pays), in the same run.

#[path = "support/shop.rs"]
mod shop;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use enforcer::engine::{Engine, EngineConfig};
use observer::agent::whatif;
use observer::decode::{BootClock, Decoder};
use observer::event::{DecodedEvent, MonitorEvent};
use observer::getters::{EndpointInfo, FakeEndpointGetter};
use observer::ring::{Capacity, Read, Ring};
use probe_common::drop_reason;
use probe_common::event::kind;
use shop::{PODS, pod_ip};

const RING: usize = 1_048_575;
const RUNS: usize = 3;

/// The shop; the candidate narrows app 1's rule to port 8000.
fn manifests(candidate: bool) -> String {
    shop::manifests(|app| {
        if candidate && app == 1 {
            "{port: \"8000\", protocol: TCP}"
        } else {
            "{port: \"8000\", endPort: 8099, protocol: TCP}"
        }
    })
}

fn engine(text: &str) -> Engine {
    let mut engine = Engine::new(EngineConfig::default());
    engine.apply(shop::objects(text)).expect("apply");
    engine
}

fn decoder() -> Decoder {
    let info = |n: u32| {
        Arc::new(EndpointInfo {
            id: n + 1,
            identity: 10_000 + n % 8,
            namespace: "shop".into(),
            pod_name: format!("pod-{n}"),
            labels: vec![format!("k8s:app=app-{}", n % 8)],
            node_name: "node-1".into(),
        })
    };
    let by_ip: std::collections::HashMap<IpAddr, Arc<EndpointInfo>> = (0..PODS)
        .map(|n| (IpAddr::V4(pod_ip(n)), info(n)))
        .collect();
    let by_id: std::collections::HashMap<u32, Arc<EndpointInfo>> =
        (0..PODS).map(|n| (n + 1, info(n))).collect();
    let endpoints = FakeEndpointGetter {
        on_endpoint_by_id: Some(Box::new(move |id| by_id.get(&id).cloned())),
        on_endpoint_by_ip: Some(Box::new(move |ip| by_ip.get(&ip).cloned())),
    };
    Decoder::new(BootClock::new(
        SystemTime::now() - Duration::from_secs(3600),
    ))
    .with_endpoints(Arc::new(endpoints))
}

/// Event `n`: a policy verdict (every 10th a default-deny drop) from pod a to pod b.
fn event(n: u64) -> MonitorEvent {
    shop::connection(n, |ev, src, dst| {
        let drop = n.is_multiple_of(10);
        ev.kind = if drop {
            kind::DROP
        } else {
            kind::POLICY_VERDICT
        };
        ev.subtype = if drop { drop_reason::POLICY_DENIED } else { 0 };
        ev.reason = if drop { drop_reason::POLICY_DENIED } else { 0 };
        ev.dport = 8000 + (n % 100) as u16;
        ev.src_identity = 10_000 + src % 8;
        ev.dst_identity = 10_000 + dst % 8;
    })
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn main() {
    let (ring, mut writer) = Ring::new(Capacity::new(RING).expect("capacity"));
    let mut decoder = decoder();
    for n in 0..RING as u64 {
        let DecodedEvent::Datapath(stored) = decoder.decode_event(&event(n)).expect("decodes")
        else {
            panic!("a datapath event");
        };
        writer.append(Arc::new(DecodedEvent::Datapath(stored)));
    }
    writer.publish();
    let now = engine(&manifests(false));
    let candidate = engine(&manifests(true));

    let mut read = Vec::new();
    let mut traced = Vec::new();
    let mut built = Vec::new();
    let mut changed = 0;
    let mut connections = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        let (recorded, events, _) = whatif::recorded(&ring, None, None);
        read.push(t.elapsed());
        assert_eq!(events, RING as u64);
        connections = recorded.len();
        let t = Instant::now();
        changed = whatif::changes(&now, &candidate, &recorded).len();
        traced.push(t.elapsed());

        let t = Instant::now();
        let mut flows = 0u64;
        for p in ring.oldest_position()..ring.write_position() {
            if let Read::Entry(e, _) = ring.read(p)
                && e.to_flow().is_some()
            {
                flows += 1;
            }
        }
        assert_eq!(flows, RING as u64);
        built.push(t.elapsed());
    }
    let (read, traced, built) = (median(read), median(traced), median(built));
    let total = read + traced;
    println!(
        "whatif: {RING} recorded flows, {connections} distinct connections, {changed} would change; median of {RUNS}"
    );
    println!(
        "  read the ring into connections: {:>7.0} ms ({:.2}x building every flow: {:.0} ms)",
        read.as_secs_f64() * 1e3,
        read.as_secs_f64() / built.as_secs_f64(),
        built.as_secs_f64() * 1e3
    );
    println!(
        "  trace each connection twice:    {:>7.1} ms ({:.1} us per connection)",
        traced.as_secs_f64() * 1e3,
        traced.as_secs_f64() * 1e6 / connections.max(1) as f64
    );
    println!(
        "  what-if over the whole ring:    {:>7.0} ms",
        total.as_secs_f64() * 1e3
    );
}
