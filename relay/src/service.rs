//! The relay's `observer.Observer`: `GetFlows` merged from every node ([`get_flows`]),
//! `ServerStatus` summed over the connected nodes with the unavailable ones named,
//! `GetNodes` with each node's state, TLS and ring figures, and `GetNamespaces` as the
//! union of the nodes' lists. Agent and debug events are not relayed (`UNIMPLEMENTED`,
//! as on the nodes).
//!
//! `GetFlows` is routed around the generated server ([`RelayRouter`], a
//! [`observe_proto::raw_route::RawRouter`]) so that flows pass through as the nodes encoded them;
//! every other method goes to the generated server.
//!
//! [`get_flows`]: crate::get_flows

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use observe_proto::flow::LostEvent;
use observe_proto::observer::observer_client::ObserverClient;
use observe_proto::observer::observer_server::Observer;
use observe_proto::observer::{
    GetAgentEventsRequest, GetAgentEventsResponse, GetDebugEventsRequest, GetDebugEventsResponse,
    GetFlowsRequest, GetFlowsResponse, GetNamespacesRequest, GetNamespacesResponse,
    GetNodesRequest, GetNodesResponse, Namespace, Node, ServerStatusRequest, ServerStatusResponse,
    Tls,
};
use observe_proto::pbjson_types::UInt32Value;
use observe_proto::relay::NodeState;
use observer::server::ResponseStream;
use tokio::task::JoinSet;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use crate::get_flows::{self, FlowStream, MergeConfig};
use crate::metrics::RelayMetrics;
use crate::peers::{PeerState, PeerView, Peers};
use observe_proto::raw_route::{RawGetFlows, RawRouter};

/// Unavailable nodes named in `ServerStatus` at most (Hubble Relay's limit).
const MAX_UNAVAILABLE_LISTED: usize = 10;
/// How long a node may take to answer a status, namespaces or nodes call.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// The relay's service state.
#[derive(Clone)]
pub struct RelayService {
    peers: Peers,
    merge: MergeConfig,
    metrics: Arc<RelayMetrics>,
    started: Instant,
}

impl RelayService {
    /// A relay over `peers`.
    pub fn new(peers: Peers, merge: MergeConfig, metrics: Arc<RelayMetrics>) -> Self {
        Self {
            peers,
            merge,
            metrics,
            started: Instant::now(),
        }
    }

    /// The service as a router entry: the generated server with `GetFlows` taken over.
    pub fn into_router(self) -> RelayRouter {
        RawRouter::new(self.clone(), self)
    }

    fn uptime_ns(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Asks every connected node `call`, at once, each within [`CALL_TIMEOUT`]; the answers
    /// by node name (an `Err` for a node that failed or is not connected).
    async fn ask<T, F, Fut>(&self, call: F) -> Vec<(PeerView, Result<T, String>)>
    where
        T: Send + 'static,
        F: Fn(ObserverClient<Channel>) -> Fut,
        Fut: Future<Output = Result<Response<T>, Status>> + Send + 'static,
    {
        let mut calls = JoinSet::new();
        let mut answers = BTreeMap::new();
        for peer in self.peers.snapshot() {
            let Some(channel) = peer.channel.clone() else {
                let why = match &peer.state {
                    PeerState::Unavailable(e) => e.clone(),
                    _ => "not connected yet".into(),
                };
                answers.insert(peer.name.clone(), (peer, Err(why)));
                continue;
            };
            let fut = call(ObserverClient::new(channel));
            calls.spawn(async move {
                let answer = match tokio::time::timeout(CALL_TIMEOUT, fut).await {
                    Ok(Ok(r)) => Ok(r.into_inner()),
                    Ok(Err(status)) => Err(status.message().to_string()),
                    Err(_) => Err(format!("no answer in {CALL_TIMEOUT:?}")),
                };
                (peer, answer)
            });
        }
        while let Some(done) = calls.join_next().await {
            if let Ok((peer, answer)) = done {
                answers.insert(peer.name.clone(), (peer, answer));
            }
        }
        answers.into_values().collect()
    }
}

#[tonic::async_trait]
impl Observer for RelayService {
    type GetFlowsStream = ResponseStream<GetFlowsResponse>;
    type GetAgentEventsStream = ResponseStream<GetAgentEventsResponse>;
    type GetDebugEventsStream = ResponseStream<GetDebugEventsResponse>;

    async fn get_flows(
        &self,
        _: Request<GetFlowsRequest>,
    ) -> Result<Response<Self::GetFlowsStream>, Status> {
        // RawRouter serves GetFlows itself; this method is never routed to.
        Err(Status::internal(
            "GetFlows is served by the relay's own route",
        ))
    }

    async fn get_agent_events(
        &self,
        _: Request<GetAgentEventsRequest>,
    ) -> Result<Response<Self::GetAgentEventsStream>, Status> {
        Err(Status::unimplemented("agent events are not relayed"))
    }

    async fn get_debug_events(
        &self,
        _: Request<GetDebugEventsRequest>,
    ) -> Result<Response<Self::GetDebugEventsStream>, Status> {
        Err(Status::unimplemented("debug events are not relayed"))
    }

    async fn get_nodes(
        &self,
        _: Request<GetNodesRequest>,
    ) -> Result<Response<GetNodesResponse>, Status> {
        let answers = self
            .ask(|mut c| async move { c.server_status(ServerStatusRequest {}).await })
            .await;
        let nodes = answers
            .into_iter()
            .map(|(peer, answer)| node_of(&peer, answer.ok()))
            .collect();
        Ok(Response::new(GetNodesResponse { nodes }))
    }

    async fn get_namespaces(
        &self,
        _: Request<GetNamespacesRequest>,
    ) -> Result<Response<GetNamespacesResponse>, Status> {
        let answers = self
            .ask(|mut c| async move { c.get_namespaces(GetNamespacesRequest {}).await })
            .await;
        let all: BTreeSet<(String, String)> = answers
            .into_iter()
            .filter_map(|(_, a)| a.ok())
            .flat_map(|r| r.namespaces)
            .map(|n| (n.cluster, n.namespace))
            .collect();
        let namespaces = all
            .into_iter()
            .map(|(cluster, namespace)| Namespace { cluster, namespace })
            .collect();
        Ok(Response::new(GetNamespacesResponse { namespaces }))
    }

    async fn server_status(
        &self,
        _: Request<ServerStatusRequest>,
    ) -> Result<Response<ServerStatusResponse>, Status> {
        let answers = self
            .ask(|mut c| async move { c.server_status(ServerStatusRequest {}).await })
            .await;
        let mut status = sum_statuses(answers);
        status.uptime_ns = self.uptime_ns();
        status.version = format!("observe-relay {}", env!("CARGO_PKG_VERSION"));
        Ok(Response::new(status))
    }
}

/// The nodes' statuses summed, with the unavailable ones counted and named.
fn sum_statuses(
    answers: Vec<(PeerView, Result<ServerStatusResponse, String>)>,
) -> ServerStatusResponse {
    let mut total = ServerStatusResponse::default();
    let (mut connected, mut unavailable) = (0u32, Vec::new());
    let mut lost: BTreeMap<i32, u64> = BTreeMap::new();
    for (peer, answer) in answers {
        let Ok(s) = answer else {
            unavailable.push(peer.name);
            continue;
        };
        connected += 1;
        total.num_flows += s.num_flows;
        total.max_flows += s.max_flows;
        total.seen_flows += s.seen_flows;
        total.flows_rate += s.flows_rate;
        for l in s.lost_events {
            *lost.entry(l.source).or_default() += l.num_events_lost;
        }
    }
    total.num_connected_nodes = Some(UInt32Value { value: connected });
    total.num_unavailable_nodes = Some(UInt32Value {
        value: u32::try_from(unavailable.len()).unwrap_or(u32::MAX),
    });
    unavailable.truncate(MAX_UNAVAILABLE_LISTED);
    total.unavailable_nodes = unavailable;
    total.lost_events = lost
        .into_iter()
        .map(|(source, num_events_lost)| LostEvent {
            source,
            num_events_lost,
            ..Default::default()
        })
        .collect();
    total
}

fn node_of(peer: &PeerView, status: Option<ServerStatusResponse>) -> Node {
    let state = match (&peer.state, &status) {
        (PeerState::Connected, Some(_)) => NodeState::NodeConnected,
        _ => NodeState::NodeUnavailable,
    };
    let s = status.unwrap_or_default();
    Node {
        name: peer.name.clone(),
        version: s.version,
        address: peer.address.clone(),
        state: state.into(),
        tls: Some(Tls {
            enabled: peer.tls,
            server_name: String::new(),
        }),
        uptime_ns: s.uptime_ns,
        num_flows: s.num_flows,
        max_flows: s.max_flows,
        seen_flows: s.seen_flows,
    }
}

/// The relay's observer as a router entry: `GetFlows` merged from the nodes, raw.
pub type RelayRouter = RawRouter<RelayService, RelayService>;

impl RawGetFlows for RelayService {
    type Stream = FlowStream;

    fn get_flows(&self, request: GetFlowsRequest) -> Result<FlowStream, Status> {
        get_flows::start(
            self.peers.clone(),
            self.merge.clone(),
            self.metrics.clone(),
            request,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(name: &str, state: PeerState) -> PeerView {
        PeerView {
            name: name.into(),
            address: format!("{name}:4244"),
            tls: true,
            state,
            channel: None,
        }
    }

    #[test]
    fn statuses_add_up_and_name_the_unavailable() {
        let up = ServerStatusResponse {
            num_flows: 10,
            max_flows: 100,
            seen_flows: 20,
            flows_rate: 1.5,
            lost_events: vec![LostEvent {
                source: 3,
                num_events_lost: 4,
                ..Default::default()
            }],
            ..Default::default()
        };
        let answers = vec![
            (peer("n1", PeerState::Connected), Ok(up.clone())),
            (peer("n2", PeerState::Connected), Ok(up)),
            (
                peer("n3", PeerState::Unavailable("refused".into())),
                Err("refused".into()),
            ),
        ];
        let s = sum_statuses(answers);
        assert_eq!((s.num_flows, s.max_flows, s.seen_flows), (20, 200, 40));
        assert!((s.flows_rate - 3.0).abs() < 1e-9);
        assert_eq!(s.num_connected_nodes.unwrap().value, 2);
        assert_eq!(s.num_unavailable_nodes.unwrap().value, 1);
        assert_eq!(s.unavailable_nodes, ["n3"]);
        assert_eq!(s.lost_events[0].num_events_lost, 8);
        let n = node_of(&peer("n3", PeerState::Unavailable("x".into())), None);
        assert_eq!(n.state(), NodeState::NodeUnavailable);
        assert_eq!(n.address, "n3:4244");
    }
}
