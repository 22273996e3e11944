//! The relay's test rig: nodes that are the real observer service over a ring the test
//! fills (each on its own runtime thread, so killing one closes its connections as a dead
//! process would), a relay served in-process on a unix socket, and a client.

#![allow(dead_code, reason = "each test binary uses a different part")]

pub mod freezer;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use observe_proto::Timestamp;
use observe_proto::flow::{Endpoint, Flow, Verdict};
use observe_proto::observer::get_flows_response::ResponseTypes;
use observe_proto::observer::observer_client::ObserverClient;
use observe_proto::observer::{GetFlowsRequest, GetFlowsResponse};
use observe_proto::relay::{NodeState, NodeStatusEvent};
use observe_relay::get_flows::MergeConfig;
use observe_relay::metrics::RelayMetrics;
use observe_relay::options::Options;
use observe_relay::peers::{Dialer, Peers};
use observe_relay::serve::{Bound, serve};
use observe_relay::service::RelayService;
use observer::event::DecodedEvent;
use observer::listen::TlsFiles;
use observer::namespaces::Namespaces;
use observer::pipeline::ObserverState;
use observer::ring::{Capacity, Ring, RingWriter};
use observer::server::ObserverService;
use observer::stats::Stats;
use tonic::Streaming;
use tonic::transport::Channel;

/// Seconds of the first flow time.
pub const T0: i64 = 1_800_000_000;

/// A node: the observer service over a ring, on a unix socket or TCP.
pub struct TestNode {
    pub name: String,
    /// What the relay dials.
    pub address: String,
    writer: RingWriter<Arc<DecodedEvent>>,
    runtime: Option<tokio::runtime::Runtime>,
}

/// Where a node listens.
pub enum At {
    Unix(PathBuf),
    Tls(TlsFiles),
}

impl TestNode {
    /// Starts `name` with a ring of `capacity` flows.
    pub fn start(name: &str, at: At, capacity: usize) -> Self {
        let (ring, writer) = Ring::new(Capacity::new(capacity).unwrap());
        let namespaces = Arc::new(Namespaces::default());
        namespaces.observe(["default", &format!("ns-{name}")], Instant::now());
        let state = ObserverState {
            ring,
            stats: Arc::new(Stats::new()),
            namespaces,
            node_name: name.into(),
        };
        let service = ObserverService::new(state)
            .with_version("node-test")
            .into_server();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        // Bound and served on the node's own runtime (a test's runtime cannot block on
        // another one); the test thread only waits for the address.
        let (tx, rx) = std::sync::mpsc::channel();
        runtime.spawn(async move {
            match at {
                At::Unix(path) => {
                    let listener = observer::server::bind_unix(&path).expect("bind node socket");
                    let _ = tx.send(format!("unix://{}", path.display()));
                    let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener);
                    let router = tonic::transport::Server::builder().add_service(service);
                    let _ = router.serve_with_incoming(incoming).await;
                }
                At::Tls(files) => {
                    let incoming =
                        tonic::transport::server::TcpIncoming::bind("127.0.0.1:0".parse().unwrap())
                            .unwrap();
                    let port = incoming.local_addr().unwrap().port();
                    let router = tonic::transport::Server::builder()
                        .tls_config(files.load().unwrap())
                        .unwrap()
                        .add_service(service);
                    let _ = tx.send(format!("tls://localhost:{port}"));
                    let _ = router.serve_with_incoming(incoming).await;
                }
            }
        });
        let address = rx.recv().expect("the node binds");
        Self {
            name: name.to_string(),
            address,
            writer,
            runtime: Some(runtime),
        }
    }

    /// Writes a flow at `T0 + ms` milliseconds with `verdict`.
    pub fn write(&mut self, ms: i64, verdict: Verdict) {
        self.writer
            .write(Arc::new(DecodedEvent::flow(flow(&self.name, ms, verdict))));
    }

    /// Writes flows without waking followers for each (a burst).
    pub fn append(&mut self, ms: i64) {
        self.writer.append(Arc::new(DecodedEvent::flow(flow(
            &self.name,
            ms,
            Verdict::Forwarded,
        ))));
    }

    /// Wakes followers after [`TestNode::append`]s.
    pub fn publish(&self) {
        self.writer.publish();
    }

    /// Stops the node as a crash would: its runtime and every connection go at once.
    pub fn kill(mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// A flow of `node` at `T0 + ms`, from `default/client` in the node's namespace.
pub fn flow(node: &str, ms: i64, verdict: Verdict) -> Flow {
    Flow {
        time: Some(at(ms)),
        uuid: format!("{node}-{ms}"),
        verdict: verdict.into(),
        node_name: node.into(),
        source: Some(Endpoint {
            namespace: format!("ns-{node}"),
            pod_name: "client".into(),
            identity: 1000,
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_nanos(i128::from(T0) * 1_000_000_000 + i128::from(ms) * 1_000_000)
}

/// A relay served in-process on a unix socket.
pub struct TestRelay {
    pub address: String,
    pub peers: Peers,
    pub metrics: Arc<RelayMetrics>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Quick dials and checks, for tests that kill nodes.
pub fn quick_dialer(tls: Option<observe_proto::client::TlsOptions>) -> Dialer {
    Dialer {
        tls,
        dial_timeout: Duration::from_secs(2),
        retry_timeout: Duration::from_millis(300),
        health_interval: Duration::from_millis(200),
    }
}

impl TestRelay {
    /// A relay over `nodes` (name, address) on a socket in `dir`, with `dialer`.
    pub async fn start(dir: &std::path::Path, nodes: &[(&str, &str)], dialer: Dialer) -> Self {
        let path = dir.join("relay.sock");
        let opts = Options {
            listen_address: format!("unix://{}", path.display()),
            ..options()
        };
        Self::start_with(&opts, nodes, dialer).await
    }

    /// A relay with `opts`' listener over `nodes`.
    pub async fn start_with(opts: &Options, nodes: &[(&str, &str)], dialer: Dialer) -> Self {
        let peers = Peers::new(dialer);
        let members = nodes
            .iter()
            .map(|(n, a)| (n.to_string(), a.to_string()))
            .collect();
        peers.set_members(&members);
        let metrics = Arc::new(RelayMetrics::new(Some(peers.clone())));
        let merge = MergeConfig {
            sort_max: opts.sort_buffer_len_max,
            sort_timeout: opts.sort_buffer_drain_timeout,
            relay_name: "relay".into(),
        };
        let service = RelayService::new(peers.clone(), merge, metrics.clone());
        let bound = Bound::bind(opts).expect("bind relay");
        let address = bound.address();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            serve(service, bound, async {
                let _ = stopped.await;
            })
            .await
            .expect("relay serves");
        });
        Self {
            address,
            peers,
            metrics,
            stop: Some(stop),
        }
    }

    /// Waits until `n` nodes are connected.
    pub async fn connected(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let up = self
                .peers
                .snapshot()
                .iter()
                .filter(|p| p.channel.is_some())
                .count();
            if up == n {
                return;
            }
            assert!(Instant::now() < deadline, "{up} of {n} nodes connected");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A plaintext client of the relay.
    pub async fn client(&self) -> ObserverClient<Channel> {
        let channel = observe_proto::client::connect(&self.address, Duration::from_secs(5))
            .await
            .expect("connect to the relay");
        ObserverClient::new(channel)
    }
}

impl Drop for TestRelay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.peers.shutdown();
    }
}

/// Options as the binary's defaults, with a listener to be set.
pub fn options() -> Options {
    use clap::Parser;
    Options::try_parse_from([
        "observe-relay",
        "--peer",
        "x=unix:///x",
        "--disable-server-tls",
    ])
    .unwrap()
}

/// What a stream sent, in order.
#[derive(Debug, PartialEq, Eq, Clone)]
pub enum Item {
    Flow {
        node: String,
        uuid: String,
        ms: i64,
    },
    Status {
        state: NodeState,
        nodes: Vec<String>,
    },
    Lost {
        node: String,
        count: u64,
    },
}

pub fn item(r: GetFlowsResponse) -> Item {
    match r.response_types {
        Some(ResponseTypes::Flow(f)) => Item::Flow {
            node: r.node_name,
            uuid: f.uuid,
            ms: f.time.map_or(0, |t| {
                ((t.unix_nanos() / 1_000_000) - i128::from(T0) * 1000) as i64
            }),
        },
        Some(ResponseTypes::NodeStatus(NodeStatusEvent {
            state_change,
            node_names,
            ..
        })) => Item::Status {
            state: NodeState::try_from(state_change).unwrap(),
            nodes: node_names,
        },
        Some(ResponseTypes::LostEvents(l)) => Item::Lost {
            node: r.node_name,
            count: l.num_events_lost,
        },
        None => panic!("empty response"),
    }
}

/// Every item of a finite stream.
pub async fn collect(client: &mut ObserverClient<Channel>, req: GetFlowsRequest) -> Vec<Item> {
    let mut stream = client.get_flows(req).await.expect("accepted").into_inner();
    let mut out = Vec::new();
    let deadline = Duration::from_secs(10);
    while let Some(r) = tokio::time::timeout(deadline, stream.message())
        .await
        .expect("stream ends in time")
        .expect("stream ok")
    {
        out.push(item(r));
    }
    out
}

/// The next item of a stream, within 5 s.
pub async fn next(stream: &mut Streaming<GetFlowsResponse>) -> Item {
    let r = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("an item in time")
        .expect("stream ok")
        .expect("stream open");
    item(r)
}

/// Reads until `pred` matches an item (within 10 s); returns what came before it too.
pub async fn until(
    stream: &mut Streaming<GetFlowsResponse>,
    mut pred: impl FnMut(&Item) -> bool,
) -> Vec<Item> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    loop {
        assert!(Instant::now() < deadline, "not seen; got {seen:?}");
        let i = next(stream).await;
        let done = pred(&i);
        seen.push(i);
        if done {
            return seen;
        }
    }
}

/// A follow-only stream from `client`.
pub async fn follow(client: &mut ObserverClient<Channel>) -> Streaming<GetFlowsResponse> {
    let request = GetFlowsRequest {
        follow: true,
        ..Default::default()
    };
    client
        .get_flows(request)
        .await
        .expect("accepted")
        .into_inner()
}

/// Reads until a node status event of `state`; returns what came before it too.
pub async fn until_state(stream: &mut Streaming<GetFlowsResponse>, state: NodeState) -> Vec<Item> {
    until(
        stream,
        |i| matches!(i, Item::Status { state: s, .. } if *s == state),
    )
    .await
}

/// The flows among `items`.
pub fn flows(items: &[Item]) -> Vec<(String, i64)> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Flow { node, ms, .. } => Some((node.clone(), *ms)),
            _ => None,
        })
        .collect()
}
