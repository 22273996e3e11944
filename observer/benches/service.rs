//! Observer service benchmarks (no privileges; `cargo xtask bench service`):
//!
//! - store (enrich from hash-map getters, as the agent's snapshot answers them, and keep
//!   the compact record, which is the pipeline's work per event), and decode + enrich
//!   (building the whole flow) + filter, on one core, in flows/s; also with the metrics
//!   hook and with the history writer, to show what those cost;
//! - `GetFlows` over a full 65,535-flow ring through a unix socket and a generated
//!   client: a selective filter (about 1% of the flows match; all matches, and the latest
//!   20, the CLI's default), `--verdict DROPPED`, and the whole ring to one client in
//!   flows/s, decoding every response, and reading them raw as `observe-relay` reads a
//!   node's (each response's kind; the flow left encoded), where the server's own rate is
//!   the bound;
//! - resident memory of the full ring, and of a full 1,048,575-flow ring.
//!
//! Plain `std::time` and /proc: throughput per second of CPU time of the decoding thread,
//! latency the median of several runs, memory from `VmRSS`.

#[path = "support/cpu.rs"]
mod cpu;
#[path = "support/shop.rs"]
mod shop;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use observe_proto::flow::{FlowFilter, TrafficDirection, Verdict};
use observe_proto::observer::observer_client::ObserverClient;
use observe_proto::observer::{GetFlowsRequest, get_flows_response::ResponseTypes};
use observe_proto::raw::{self, Kind};
use observer::decode::{BootClock, Decoder, Detail};
use observer::event::{DecodedEvent, EventView, MonitorEvent};
use observer::getters::{
    EndpointGetter, EndpointInfo, IdentityGetter, PolicyGetter, PolicyInfo, RuleInfo,
};
use observer::history::{History, HistoryConfig};
use observer::metrics::Metrics;
use observer::namespaces::Namespaces;
use observer::pipeline::{ObserverState, OnDecodedFlow};
use observer::ring::{Capacity, Ring};
use observer::server::{ObserverService, serve_unix};
use observer::stats::Stats;
use probe_common::drop_reason;
use probe_common::event::{kind, obs_point};
use shop::{PODS, pod_ip};

const RING: usize = 65_535;
const DECODE_EVENTS: usize = 200_000;
const RUNS: usize = 7;

/// Endpoints, identities and policies in hash maps, as the agent's snapshot holds them.
struct Cluster {
    by_id: HashMap<u32, Arc<EndpointInfo>>,
    by_ip: HashMap<IpAddr, Arc<EndpointInfo>>,
    labels: HashMap<u32, Arc<[String]>>,
    rules: HashMap<u32, Arc<[RuleInfo]>>,
    selecting: Vec<PolicyInfo>,
}

impl Cluster {
    fn new() -> Self {
        let mut c = Cluster {
            by_id: HashMap::new(),
            by_ip: HashMap::new(),
            labels: HashMap::new(),
            rules: HashMap::new(),
            selecting: vec![policy("shop", "db-ingress")],
        };
        for n in 0..PODS {
            let labels: Arc<[String]> = vec![
                format!("k8s:app=app-{}", n % 8),
                "k8s:io.kubernetes.pod.namespace=shop".to_string(),
            ]
            .into();
            let info = Arc::new(EndpointInfo {
                id: n + 1,
                identity: 10_000 + n % 8,
                namespace: "shop".into(),
                pod_name: format!("pod-{n}"),
                labels: labels.to_vec(),
                node_name: "node-1".into(),
            });
            c.by_id.insert(n + 1, Arc::clone(&info));
            c.by_ip.insert(IpAddr::V4(pod_ip(n)), info);
            c.labels.insert(10_000 + n % 8, labels);
        }
        c.rules.insert(
            1,
            vec![RuleInfo {
                policy: policy("shop", "allow-frontend"),
                path: "spec.ingress[0]".into(),
            }]
            .into(),
        );
        c
    }
}

fn policy(namespace: &str, name: &str) -> PolicyInfo {
    PolicyInfo {
        kind: "CiliumNetworkPolicy".into(),
        namespace: namespace.into(),
        name: name.into(),
        revision: 1,
    }
}

impl EndpointGetter for Cluster {
    fn endpoint_by_id(&self, id: u32) -> Option<Arc<EndpointInfo>> {
        self.by_id.get(&id).cloned()
    }
    fn endpoint_by_ip(&self, ip: IpAddr) -> Option<Arc<EndpointInfo>> {
        self.by_ip.get(&ip).cloned()
    }
}

impl IdentityGetter for Cluster {
    fn identity_labels(&self, identity: u32) -> Option<Arc<[String]>> {
        self.labels.get(&identity).cloned()
    }
}

impl PolicyGetter for Cluster {
    fn rules_by_cookie(&self, cookie: u32) -> Arc<[RuleInfo]> {
        self.rules
            .get(&cookie)
            .cloned()
            .unwrap_or_else(|| Arc::from([]))
    }
    fn auditing_policies(&self, _: u32, _: TrafficDirection) -> Vec<PolicyInfo> {
        Vec::new()
    }
    fn selecting_policies(&self, _: u32, _: TrafficDirection) -> Vec<PolicyInfo> {
        self.selecting.clone()
    }
}

fn decoder() -> Decoder {
    let cluster = Arc::new(Cluster::new());
    Decoder::new(BootClock::new(
        SystemTime::now() - Duration::from_secs(3600),
    ))
    .with_endpoints(cluster.clone())
    .with_identities(cluster.clone())
    .with_policies(cluster)
}

/// Event `n`: mostly forwarded traces; every 100th a default-deny drop to port 5432.
fn event(n: u64) -> MonitorEvent {
    shop::connection(n, |ev, src, dst| {
        let drop = n.is_multiple_of(100);
        ev.kind = if drop { kind::DROP } else { kind::TRACE };
        ev.subtype = if drop {
            drop_reason::POLICY_DENIED
        } else {
            obs_point::TO_ENDPOINT
        };
        ev.reason = if drop { drop_reason::POLICY_DENIED } else { 0 };
        ev.ct_state = 1;
        ev.dport = if drop { 5432 } else { 8080 };
        ev.cookie = u32::from(!drop);
        ev.src_identity = 10_000 + src % 8;
        ev.dst_identity = 10_000 + dst % 8;
    })
}

/// About 1% of [`event`]'s flows: the drops to the database port.
fn selective() -> Vec<FlowFilter> {
    vec![FlowFilter {
        verdict: vec![Verdict::Dropped as i32],
        destination_port: vec!["5432".into()],
        destination_pod: vec!["shop/".into()],
        ..FlowFilter::default()
    }]
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// What runs after each decode.
type Extra<'a> = Box<dyn FnMut(u64, observe_proto::flow::Flow) + 'a>;

/// Flows per second of this thread's CPU time for decode + each variant, over
/// [`RUNS`] × [`DECODE_EVENTS`] events. CPU time, not wall time: on a shared machine
/// other processes take the core away, which stretches wall time but not ours. The
/// variants take turns within each run, so a busy moment does not fall on one only.
fn throughputs(variants: &mut [Extra<'_>]) -> Vec<f64> {
    let mut decoder = decoder();
    let events: Vec<MonitorEvent> = (0..DECODE_EVENTS as u64).map(event).collect();
    let mut cpu = vec![0.0f64; variants.len()];
    for _ in 0..RUNS {
        for (extra, cpu) in variants.iter_mut().zip(&mut cpu) {
            let started = cpu::thread_cpu_secs();
            for (n, e) in events.iter().enumerate() {
                if let Ok(flow) = decoder.decode(e) {
                    extra(n as u64, flow);
                }
            }
            *cpu += cpu::thread_cpu_secs() - started;
        }
    }
    let flows = (RUNS * DECODE_EVENTS) as f64;
    cpu.into_iter().map(|secs| flows / secs.max(1e-9)).collect()
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Milliseconds for each request over a served full ring, median of [`RUNS`]; and the
/// number of flows each returned.
async fn get_flows_ms(state: ObserverState, requests: &[GetFlowsRequest]) -> Vec<(f64, usize)> {
    let dir = tempfile::Builder::new()
        .prefix("observer-bench-")
        .tempdir()
        .expect("bench dir");
    let socket = dir.path().join("observer.sock");
    let server_socket = socket.clone();
    tokio::spawn(async move {
        let _ = serve_unix(
            ObserverService::new(state),
            &server_socket,
            std::future::pending(),
        )
        .await;
    });
    while !socket.exists() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let server = format!("unix://{}", socket.display());
    let channel = observe_proto::client::connect(&server, Duration::from_secs(5))
        .await
        .expect("connect");
    let mut client = ObserverClient::new(channel);
    let mut out = Vec::new();
    for request in requests {
        let mut flows = 0;
        let mut times = Vec::new();
        for _ in 0..RUNS {
            let started = Instant::now();
            let mut stream = client
                .get_flows(request.clone())
                .await
                .expect("accepted")
                .into_inner();
            flows = 0;
            while let Some(r) = stream.message().await.expect("stream") {
                if matches!(r.response_types, Some(ResponseTypes::Flow(_))) {
                    flows += 1;
                }
            }
            times.push(started.elapsed().as_secs_f64() * 1e3);
        }
        out.push((median(times), flows));
    }
    out.push(
        whole_ring_raw_ms(
            observe_proto::client::connect(&server, Duration::from_secs(5))
                .await
                .expect("connect"),
        )
        .await,
    );
    drop(dir);
    out
}

/// The whole ring read by a client that takes each response raw ([`raw::get_flows`]):
/// the median time of [`RUNS`] reads, and the flows of one.
async fn whole_ring_raw_ms(channel: tonic::transport::Channel) -> (f64, usize) {
    let mut flows = 0;
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let mut stream = raw::get_flows(channel.clone(), GetFlowsRequest::default())
            .await
            .expect("accepted");
        flows = 0;
        while let Some(r) = stream.message().await.expect("stream") {
            if r.kind == Kind::Flow {
                flows += 1;
            }
        }
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    (median(times), flows)
}

/// Events stored (enriched, kept compact, as the pipeline does) per CPU-second of one
/// core, into a ring of [`RING`].
fn store_throughput() -> f64 {
    let mut decoder = decoder();
    let events: Vec<MonitorEvent> = (0..DECODE_EVENTS as u64).map(event).collect();
    let (_ring, mut writer) = Ring::new(Capacity::new(RING).expect("capacity"));
    let started = cpu::thread_cpu_secs();
    for _ in 0..RUNS {
        for e in &events {
            if let Ok(decoded) = decoder.decode_event(e) {
                writer.append(Arc::new(decoded));
            }
        }
    }
    (RUNS * DECODE_EVENTS) as f64 / (cpu::thread_cpu_secs() - started)
}

/// CPU nanoseconds to build a stored flow at each detail (what a filtering reader pays
/// per event, and a reader that sends it).
fn build_costs() -> Vec<(Detail, f64)> {
    let mut decoder = decoder();
    let stored: Vec<_> = (0..DECODE_EVENTS as u64)
        .filter_map(|n| match decoder.decode_event(&event(n)) {
            Ok(DecodedEvent::Datapath(s)) => Some(s),
            _ => None,
        })
        .collect();
    [Detail::Header, Detail::Endpoints, Detail::Full]
        .into_iter()
        .map(|detail| {
            let started = cpu::thread_cpu_secs();
            for s in &stored {
                std::hint::black_box(s.build(detail));
            }
            let secs = cpu::thread_cpu_secs() - started;
            (detail, secs * 1e9 / stored.len().max(1) as f64)
        })
        .collect()
}

/// The resident memory of a ring of 1,048,575 stored flows (its capacity, filled).
fn big_ring_rss() -> (usize, f64) {
    const BIG: usize = 1_048_575;
    let mut decoder = decoder();
    let before = rss_mb();
    let (ring, mut writer) = Ring::new(Capacity::new(BIG).expect("capacity"));
    for n in 0..BIG as u64 {
        if let Ok(decoded) = decoder.decode_event(&event(n)) {
            writer.append(Arc::new(decoded));
        }
    }
    let rss = rss_mb() - before;
    drop(ring);
    (BIG, rss)
}

/// The full ring, decoded as the pipeline stores flows, built first so that resident
/// memory before and after measures the ring alone; with the RSS before and after (MB).
fn full_ring() -> (ObserverState, f64, f64) {
    let mut decoder = decoder();
    let rss_before = rss_mb();
    let (ring, mut ring_writer) = Ring::new(Capacity::new(RING).expect("capacity"));
    for n in 0..RING as u64 {
        if let Ok(decoded) = decoder.decode_event(&event(n)) {
            ring_writer.write(Arc::new(decoded));
        }
    }
    let rss_full = rss_mb();
    let state = ObserverState {
        ring,
        stats: Arc::new(Stats::new()),
        namespaces: Arc::new(Namespaces::default()),
        node_name: "node-1".into(),
    };
    (state, rss_before, rss_full)
}

fn main() {
    println!("observer service benchmarks (release, one core for decode)\n");
    let (state, rss_before, rss_full) = full_ring();
    let filters = observe_filter::build(&selective(), &[]).expect("filters");
    let metrics = Metrics::new(&[]).expect("metrics");
    let mut hook = metrics.hook();
    let dir = tempfile::Builder::new()
        .prefix("observer-bench-history-")
        .tempdir()
        .expect("bench dir");
    let (_history, mut writer) =
        History::open(HistoryConfig::new(dir.path(), 256 << 20)).expect("history");
    let mut matched = 0u64;
    let rates = throughputs(&mut [
        Box::new(|_, _| {}),
        Box::new(|_, flow| matched += u64::from(filters.matches(&flow))),
        Box::new(|_, flow| {
            let _ = filters.matches(&flow);
            let _ = hook.on_decoded_flow(&flow);
        }),
        Box::new(|n, flow| {
            let _ = filters.matches(&flow);
            writer.append(n, &EventView::new(&DecodedEvent::flow(flow)));
            if n % 256 == 255 {
                writer.commit();
            }
        }),
    ]);
    let [decode_only, with_filter, with_metrics, with_history] = rates[..] else {
        unreachable!("four variants")
    };
    drop(writer);
    drop(dir);

    let all_matching = GetFlowsRequest {
        whitelist: selective(),
        ..GetFlowsRequest::default()
    };
    let last_20 = GetFlowsRequest {
        number: 20,
        whitelist: selective(),
        ..GetFlowsRequest::default()
    };
    let drops = GetFlowsRequest {
        whitelist: vec![FlowFilter {
            verdict: vec![Verdict::Dropped as i32],
            ..FlowFilter::default()
        }],
        ..GetFlowsRequest::default()
    };
    let everything = GetFlowsRequest::default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let timings = runtime.block_on(get_flows_ms(
        state,
        &[all_matching, last_20, drops, everything],
    ));
    let store_rate = store_throughput();
    let builds = build_costs();
    let (big_ring, big_rss) = big_ring_rss();

    let row = |what: &str, value: String| println!("  {what:<58} {value:>14}");
    row(
        "store: enrich and keep (the pipeline's work per event)",
        format!("{store_rate:.0} events/s"),
    );
    for (detail, ns) in &builds {
        row(
            &format!("  build a stored flow to {detail:?} detail"),
            format!("{ns:.0} ns"),
        );
    }
    row(
        "decode + enrich (per CPU-second of one core)",
        format!("{:.0} flows/s", decode_only),
    );
    row(
        "decode + enrich + filter (per CPU-second of one core)",
        format!("{:.0} flows/s", with_filter),
    );
    row(
        "  ... + metrics hook (all families)",
        format!("{:.0} flows/s", with_metrics),
    );
    row(
        "  ... + history writer (protobuf records, 1 write/256)",
        format!("{:.0} flows/s", with_history),
    );
    row(
        &format!(
            "GetFlows, {RING}-flow ring, selective filter, all ({} flows)",
            timings[0].1
        ),
        format!("{:.1} ms", timings[0].0),
    );
    row(
        &format!(
            "GetFlows, {RING}-flow ring, selective filter, last {}",
            timings[1].1
        ),
        format!("{:.1} ms", timings[1].0),
    );
    row(
        &format!(
            "GetFlows, {RING}-flow ring, --verdict DROPPED ({} flows)",
            timings[2].1
        ),
        format!("{:.1} ms", timings[2].0),
    );
    row(
        &format!(
            "GetFlows, the whole {RING}-flow ring to one client ({} flows)",
            timings[3].1
        ),
        format!("{:.0} flows/s", timings[3].1 as f64 / (timings[3].0 / 1e3)),
    );
    row(
        &format!(
            "  ... read raw, as observe-relay reads a node ({} flows)",
            timings[4].1
        ),
        format!("{:.0} flows/s", timings[4].1 as f64 / (timings[4].0 / 1e3)),
    );
    row(
        &format!("RSS of the full {RING}-flow ring"),
        format!("{:.1} MB", rss_full - rss_before),
    );
    row(
        &format!("RSS of a full {big_ring}-flow ring (--max-flows {big_ring})"),
        format!("{big_rss:.1} MB"),
    );
    row(
        "process RSS with the full ring",
        format!("{rss_full:.1} MB"),
    );
    row(
        "  of which inline per flow (size_of DecodedEvent)",
        format!("{} B", size_of::<DecodedEvent>()),
    );
    println!(
        "  (the selective filter matches {} of every {DECODE_EVENTS} flows)",
        matched / RUNS as u64
    );
}
