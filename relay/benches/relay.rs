//! Relay benchmarks (no privileges; `cargo xtask bench relay`):
//!
//! - throughput: 1M flows merged from 1, 3 and 8 node streams through a real
//!   `observe-relay` process, in flows/s, against the same client reading one node
//!   directly in the same run; with the relay's peak memory (`VmHWM`) for each;
//! - delay: 3 nodes sending 2,000 flows/s each, live, to a following client: the time
//!   from a node stamping a flow to the client holding it (which includes the sort
//!   buffer's wait), p50/p99, against the 1 s drain timeout.
//!
//! The nodes are in this process and send pre-encoded responses (a flow of a realistic
//! size, 300-odd bytes), so what is measured is the relay and the gRPC path, not the
//! nodes' encoding. The client counts responses without decoding the flows, as the relay
//! passes them; a decoding client (the CLI) costs the same with or without the relay.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use observe_proto::Timestamp;
use observe_proto::flow::{Endpoint, Flow, Ip, Layer4, Tcp, TrafficDirection, Verdict, layer4};
use observe_proto::observer::observer_server::Observer;
use observe_proto::observer::{
    GetAgentEventsRequest, GetAgentEventsResponse, GetDebugEventsRequest, GetDebugEventsResponse,
    GetFlowsRequest, GetFlowsResponse, GetNamespacesRequest, GetNamespacesResponse,
    GetNodesRequest, GetNodesResponse, ServerStatusRequest, ServerStatusResponse,
    get_flows_response::ResponseTypes,
};
use observe_proto::raw::{self, Kind};
use observe_proto::raw_route::{RawGetFlows, RawRouter};
use observer::server::ResponseStream;
use prost::Message;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

const TOTAL: usize = 1_000_000;
const RUNS: usize = 3;
/// Live rates per node: busy (the buffer fills and releases at once) and quiet (every
/// flow waits for the drain timeout).
const LIVE_RATES: [u64; 2] = [2_000, 20];
const LIVE_SECS: u64 = 5;

fn template(node: &str) -> Flow {
    let endpoint = |ns: &str, pod: &str, id: u32| Endpoint {
        id: id * 7,
        identity: id,
        cluster_name: "default".into(),
        namespace: ns.into(),
        labels: vec![
            format!("k8s:app={pod}"),
            format!("k8s:io.kubernetes.pod.namespace={ns}"),
            "k8s:io.cilium.k8s.policy.serviceaccount=default".into(),
        ],
        pod_name: format!("{pod}-7d9c5b-x2x4z"),
        ..Default::default()
    };
    Flow {
        uuid: "a6b1c7de-1b2c-4d5e-8f90-123456789abc".into(),
        verdict: Verdict::Forwarded.into(),
        ip: Some(Ip {
            source: "10.61.1.17".into(),
            destination: "10.61.2.33".into(),
            ip_version: 1,
            ..Default::default()
        }),
        l4: Some(Layer4 {
            protocol: Some(layer4::Protocol::Tcp(Tcp {
                source_port: 43_512,
                destination_port: 8080,
                flags: None,
            })),
        }),
        source: Some(endpoint("shop", "frontend", 12_345)),
        destination: Some(endpoint("shop", "backend", 23_456)),
        node_name: node.into(),
        traffic_direction: TrafficDirection::Egress.into(),
        is_reply: Some(observe_proto::pbjson_types::BoolValue { value: false }),

        ..Default::default()
    }
}

fn encoded(node: &str, time: Timestamp) -> Bytes {
    let mut flow = template(node);
    flow.time = Some(time);
    let response = GetFlowsResponse {
        response_types: Some(ResponseTypes::Flow(flow)),
        node_name: node.into(),
        time: Some(time),
    };
    Bytes::from(response.encode_to_vec())
}

/// A node that answers `GetFlows` with pre-encoded flows: all at once, or live at a rate.
#[derive(Clone)]
struct FakeNode {
    name: String,
    history: Arc<Vec<Bytes>>,
    live_rate: Option<u64>,
}

#[tonic::async_trait]
impl Observer for FakeNode {
    type GetFlowsStream = ResponseStream<GetFlowsResponse>;
    type GetAgentEventsStream = ResponseStream<GetAgentEventsResponse>;
    type GetDebugEventsStream = ResponseStream<GetDebugEventsResponse>;
    async fn get_flows(
        &self,
        _: Request<GetFlowsRequest>,
    ) -> Result<Response<Self::GetFlowsStream>, Status> {
        Err(Status::internal("raw route"))
    }
    async fn get_agent_events(
        &self,
        _: Request<GetAgentEventsRequest>,
    ) -> Result<Response<Self::GetAgentEventsStream>, Status> {
        Err(Status::unimplemented(""))
    }
    async fn get_debug_events(
        &self,
        _: Request<GetDebugEventsRequest>,
    ) -> Result<Response<Self::GetDebugEventsStream>, Status> {
        Err(Status::unimplemented(""))
    }
    async fn get_nodes(
        &self,
        _: Request<GetNodesRequest>,
    ) -> Result<Response<GetNodesResponse>, Status> {
        Ok(Response::new(GetNodesResponse::default()))
    }
    async fn get_namespaces(
        &self,
        _: Request<GetNamespacesRequest>,
    ) -> Result<Response<GetNamespacesResponse>, Status> {
        Ok(Response::new(GetNamespacesResponse::default()))
    }
    async fn server_status(
        &self,
        _: Request<ServerStatusRequest>,
    ) -> Result<Response<ServerStatusResponse>, Status> {
        Ok(Response::new(ServerStatusResponse {
            version: "fake".into(),
            ..Default::default()
        }))
    }
}

type RawStream = std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, Status>> + Send>>;

impl RawGetFlows for FakeNode {
    type Stream = RawStream;

    fn get_flows(&self, _: GetFlowsRequest) -> Result<RawStream, Status> {
        Ok(match self.live_rate {
            None => {
                let h = self.history.clone();
                Box::pin(tokio_stream::iter(
                    (0..h.len()).map(move |i| Ok(h[i].clone())),
                ))
            }
            Some(rate) => live(self.name.clone(), rate),
        })
    }
}

/// `rate` flows per second stamped now, for [`LIVE_SECS`], in ticks of 10 ms.
fn live(name: String, rate: u64) -> RawStream {
    let (tx, rx) = tokio::sync::mpsc::channel(4096);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        for tick_count in 0..LIVE_SECS * 100 {
            tick.tick().await;
            let per_tick = if rate >= 100 {
                rate / 100
            } else {
                u64::from(tick_count.is_multiple_of(100 / rate))
            };
            for _ in 0..per_tick {
                if tx.send(Ok(encoded(&name, Timestamp::now()))).await.is_err() {
                    return;
                }
            }
        }
    });
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}

/// Serves fake nodes on unix sockets in `dir`; their addresses.
fn serve_nodes(
    rt: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    count: usize,
    live_rate: Option<u64>,
) -> Vec<(String, String)> {
    let per_node = TOTAL / count;
    (1..=count)
        .map(|k| {
            let name = format!("n{k}");
            let base = 1_800_000_000_000_000_000i128;
            let history = if live_rate.is_some() {
                Vec::new()
            } else {
                (0..per_node)
                    .map(|i| {
                        encoded(
                            &name,
                            Timestamp::from_unix_nanos(base + (i * count + k) as i128 * 1000),
                        )
                    })
                    .collect()
            };
            let node = FakeNode {
                name: name.clone(),
                history: Arc::new(history),
                live_rate,
            };
            let path = dir.join(format!("{name}-{}.sock", live_rate.unwrap_or(0)));
            let _guard = rt.enter();
            let listener = observer::server::bind_unix(&path).expect("bind");
            let routed = RawRouter::new(node.clone(), node);
            rt.spawn(
                tonic::transport::Server::builder()
                    .add_service(routed)
                    .serve_with_incoming(tokio_stream::wrappers::UnixListenerStream::new(listener)),
            );
            (name, format!("unix://{}", path.display()))
        })
        .collect()
}

struct RelayProcess {
    child: Child,
    address: String,
}

impl RelayProcess {
    fn start(dir: &std::path::Path, tag: &str, nodes: &[(String, String)]) -> Self {
        let sock = dir.join(format!("relay-{tag}.sock"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_observe-relay"));
        cmd.args([
            "--listen-address",
            &format!("unix://{}", sock.display()),
            "--disable-client-tls",
        ]);
        for (name, address) in nodes {
            cmd.args(["--peer", &format!("{name}={address}")]);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the relay");
        Self {
            child,
            address: format!("unix://{}", sock.display()),
        }
    }

    /// Peak resident memory, KiB.
    fn peak_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Opens `GetFlows` on `server` and counts flows until the stream ends (or `limit`); the
/// count, the time taken, and the delays (now − flow time) when `delays`.
async fn read_all(
    server: &str,
    follow: bool,
    limit: usize,
    delays: bool,
) -> (usize, Duration, Vec<Duration>) {
    let channel = loop {
        match observe_proto::client::connect(server, Duration::from_secs(5)).await {
            Ok(c) => break c,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let req = GetFlowsRequest {
        follow,
        ..Default::default()
    };
    let start = Instant::now();
    let mut stream = raw::get_flows(channel, req).await.expect("stream");
    let mut n = 0;
    let mut seen = Vec::new();
    while let Ok(Some(r)) = stream.message().await {
        if r.kind != Kind::Flow {
            continue;
        }
        n += 1;
        if delays && let Some(t) = r.time {
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as i64;
            seen.push(Duration::from_nanos((now - t).max(0) as u64));
        }
        if n >= limit {
            break;
        }
    }
    (n, start.elapsed(), seen)
}

/// Waits until the relay's status says `n` nodes are connected.
async fn connected(server: &str, n: u32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(channel) = observe_proto::client::connect(server, Duration::from_secs(1)).await {
            let mut client = observe_proto::observer::observer_client::ObserverClient::new(channel);
            if let Ok(s) = client.server_status(ServerStatusRequest {}).await
                && s.get_ref()
                    .num_connected_nodes
                    .is_some_and(|c| c.value == n)
            {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the relay did not connect {n} nodes"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

fn main() {
    let dir = tempfile::Builder::new()
        .prefix("relay-bench-")
        .tempdir()
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "relay: {TOTAL} flows of {} bytes, median of {RUNS} runs",
        encoded("n1", Timestamp::now()).len()
    );

    let one = serve_nodes(&rt, dir.path(), 1, None);
    let direct = median(
        (0..RUNS)
            .map(|_| {
                let (n, took, _) = rt.block_on(read_all(&one[0].1, false, usize::MAX, false));
                assert_eq!(n, TOTAL);
                n as f64 / took.as_secs_f64()
            })
            .collect(),
    );
    println!(
        "  direct from one node (baseline): {:>10.0} flows/s",
        direct
    );
    for count in [1usize, 3, 8] {
        let nodes = if count == 1 {
            one.clone()
        } else {
            serve_nodes(&rt, dir.path(), count, None)
        };
        let relay = RelayProcess::start(dir.path(), &count.to_string(), &nodes);
        rt.block_on(connected(&relay.address, count as u32));
        let rates: Vec<f64> = (0..RUNS)
            .map(|_| {
                let (n, took, _) = rt.block_on(read_all(&relay.address, false, usize::MAX, false));
                assert_eq!(n, TOTAL - TOTAL % count, "every flow merged");
                n as f64 / took.as_secs_f64()
            })
            .collect();
        let rate = median(rates);
        println!(
            "  relay, {count} node stream(s):      {:>10.0} flows/s ({:.2}x direct), relay peak RSS {} MiB",
            rate,
            rate / direct,
            relay.peak_kib() / 1024
        );
    }

    for rate in LIVE_RATES {
        live_delay(&rt, dir.path(), rate);
    }
}

/// Three nodes sending `rate` flows/s each to a following client through the relay.
fn live_delay(rt: &tokio::runtime::Runtime, dir: &std::path::Path, rate: u64) {
    let live_nodes = serve_nodes(rt, dir, 3, Some(rate));
    let relay = RelayProcess::start(dir, &format!("live-{rate}"), &live_nodes);
    rt.block_on(connected(&relay.address, 3));
    let expected = (3 * rate * LIVE_SECS) as usize;
    let (n, _, mut delays) = rt.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(LIVE_SECS + 10),
            read_all(&relay.address, true, expected, true),
        )
        .await
        .unwrap_or_default()
    });
    delays.sort();
    if delays.is_empty() {
        println!("  live, {rate} flows/s: no flows arrived");
        return;
    }
    println!(
        "  live, 3 nodes x {rate} flows/s, following: {n} of {expected} flows; node-to-client delay p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (goal p99 <= drain timeout 1000 ms + 50 ms)",
        quantile(&delays, 0.5).as_secs_f64() * 1e3,
        quantile(&delays, 0.99).as_secs_f64() * 1e3,
        delays.last().unwrap().as_secs_f64() * 1e3,
    );
}
