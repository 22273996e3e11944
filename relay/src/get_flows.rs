//! `GetFlows` through the relay: the client's request goes to every connected node as it
//! is (filters, field mask, `number`, `first`, `follow`, `since`/`until`), and the nodes'
//! streams come back merged in time order through a [`SortBuffer`].
//!
//! As with Hubble Relay, `number` N means N per node. Node status events tell the client
//! which nodes the stream reads from, which are unavailable, and, while it follows, which
//! failed, came back (read again from where they left off, so nothing is sent twice) or
//! left the cluster. A node that is slow or hangs never holds the others back: nothing
//! waits in the buffer longer than its timeout. A client that reads slowly slows the
//! nodes' streams down (every queue on the way is bounded); the nodes then report the
//! flows their rings overwrote as `LostEvent`s, which pass through with the node's name.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use observe_proto::Timestamp;
use observe_proto::observer::GetFlowsRequest;
use observe_proto::relay::NodeState;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::{Code, Status};

use crate::metrics::RelayMetrics;
use crate::peers::{PeerState, PeerView, Peers};
use crate::sort_buffer::{Released, SortBuffer};
use crate::status_events::event;
use observe_proto::raw::{self, Kind, RawResponse};

/// Batches queued from all nodes of one stream towards its merge (at most
/// `INPUT_QUEUE * BATCH` responses).
const INPUT_QUEUE: usize = 32;
/// How long after a node's stream failed the stream looks at it again.
const RECHECK: Duration = Duration::from_secs(1);
/// Responses queued from the merge towards the client.
const OUTPUT_QUEUE: usize = 256;

/// How streams are merged.
#[derive(Clone, Debug)]
pub struct MergeConfig {
    /// Responses the sort buffer holds (`--sort-buffer-len-max`).
    pub sort_max: usize,
    /// The longest a response waits in it (`--sort-buffer-drain-timeout`).
    pub sort_timeout: Duration,
    /// The name the relay signs its node status events with.
    pub relay_name: String,
}

/// The response stream of one `GetFlows` call.
pub type FlowStream = ReceiverStream<Result<Bytes, Status>>;

/// Starts merging `request` from the nodes of `peers`.
///
/// # Errors
///
/// `INVALID_ARGUMENT` (or `UNIMPLEMENTED`) for filters, field masks or time bounds the
/// nodes would refuse: checked here once, so the client gets the error and not one per
/// node.
pub fn start(
    peers: Peers,
    config: MergeConfig,
    metrics: Arc<RelayMetrics>,
    request: GetFlowsRequest,
) -> Result<FlowStream, Status> {
    check(&request)?;
    let (out, rx) = mpsc::channel(OUTPUT_QUEUE);
    let (input_tx, input) = mpsc::channel(INPUT_QUEUE);
    let merge = Merge {
        follow: request.follow,
        started: Timestamp::now(),
        request,
        version: peers.subscribe(),
        peers,
        buffer: SortBuffer::new(config.sort_max, config.sort_timeout),
        config,
        metrics,
        streams: Streams::default(),
        announced: BTreeMap::new(),
        last_time: BTreeMap::new(),
        recheck_at: None,
        input_tx,
        input,
        out,
    };
    tokio::spawn(merge.run());
    Ok(ReceiverStream::new(rx))
}

/// Refuses what every node would refuse, with the nodes' message.
fn check(req: &GetFlowsRequest) -> Result<(), Status> {
    match observe_filter::request::compile(req) {
        Ok(_) => Ok(()),
        Err(e) if e.is_unsupported() => Err(Status::unimplemented(e.to_string())),
        Err(e) => Err(Status::invalid_argument(e.to_string())),
    }
}

/// Responses a node's reader hands over at once when more are ready: one wakeup of the
/// merge per batch instead of per response.
const BATCH: usize = 128;

/// What a node's reader tells the merge.
enum Input {
    Responses(Arc<str>, Vec<RawResponse>),
    Ended(Arc<str>),
    Failed(Arc<str>, Status),
}

/// The client went away.
struct ClientGone;

/// The readers of one stream, stopped when it ends.
#[derive(Default)]
struct Streams(BTreeMap<String, JoinHandle<()>>);

impl Drop for Streams {
    fn drop(&mut self) {
        for task in self.0.values() {
            task.abort();
        }
    }
}

struct Merge {
    request: GetFlowsRequest,
    follow: bool,
    started: Timestamp,
    peers: Peers,
    version: watch::Receiver<u64>,
    config: MergeConfig,
    metrics: Arc<RelayMetrics>,
    buffer: SortBuffer<RawResponse>,
    streams: Streams,
    /// The state last told to the client, per node.
    announced: BTreeMap<String, NodeState>,
    /// The newest response time read from each node.
    last_time: BTreeMap<String, i64>,
    /// When to look at the nodes again after a stream failed.
    recheck_at: Option<Instant>,
    input_tx: mpsc::Sender<Input>,
    input: mpsc::Receiver<Input>,
    out: mpsc::Sender<Result<Bytes, Status>>,
}

impl Merge {
    async fn run(mut self) {
        self.metrics.stream_started();
        let _ = self.serve().await;
        self.metrics.stream_ended();
    }

    async fn serve(&mut self) -> Result<(), ClientGone> {
        self.reconcile(true).await?;
        if !self.follow && self.streams.0.is_empty() {
            return Ok(());
        }
        loop {
            let deadline = self.buffer.deadline();
            let recheck = self.recheck_at;
            tokio::select! {
                () = self.out.closed() => return Err(ClientGone),
                input = self.input.recv() => {
                    // The merge holds a sender itself: the queue never closes.
                    let Some(input) = input else { break };
                    if self.take(input).await? {
                        break;
                    }
                }
                () = sleep_until(deadline), if deadline.is_some() => {
                    self.release_expired().await?;
                }
                changed = self.version.changed() => {
                    if changed.is_ok() {
                        self.reconcile(false).await?;
                        if !self.follow && self.streams.0.is_empty() {
                            break;
                        }
                    }
                }
                () = sleep_until(recheck), if recheck.is_some() => {
                    self.recheck_at = None;
                    self.reconcile(false).await?;
                }
            }
        }
        while let Some(released) = self.buffer.pop() {
            self.send(released).await?;
        }
        Ok(())
    }

    /// Handles one input; `true` when the stream is complete.
    async fn take(&mut self, input: Input) -> Result<bool, ClientGone> {
        match input {
            Input::Responses(node, responses) => {
                let now = Instant::now();
                let mut newest = None;
                for response in responses {
                    self.metrics.received(response.kind);
                    match response.time {
                        Some(time) if response.kind != Kind::NodeStatus => {
                            newest = Some(time);
                            if let Some(released) = self.buffer.push(response, time, now) {
                                self.send(released).await?;
                            }
                        }
                        _ => self.send_now(response.bytes).await?,
                    }
                }
                if let Some(time) = newest {
                    self.last_time.insert(node.to_string(), time);
                }
                Ok(false)
            }
            Input::Ended(node) => {
                self.streams.0.remove(&*node);
                Ok(!self.follow && self.streams.0.is_empty())
            }
            Input::Failed(node, status) => {
                if self.streams.0.remove(&*node).is_none() {
                    // Dropped already (the node was found unavailable) and reported.
                    return Ok(false);
                }
                if self.follow {
                    // If the node is fine after all (its state does not change), read it
                    // again without waiting for a state change that will not come.
                    self.recheck_at = Some(Instant::now() + RECHECK);
                }
                if status.code() == Code::DataLoss {
                    self.metrics.malformed();
                }
                self.peers.report_failure(&node);
                let state = if is_connection_loss(&status) {
                    NodeState::NodeUnavailable
                } else {
                    NodeState::NodeError
                };
                tracing::warn!(
                    peer = &*node,
                    error = status.message(),
                    "relay: node stream failed"
                );
                self.announce(state, vec![node.to_string()], status.message())
                    .await?;
                Ok(!self.follow && self.streams.0.is_empty())
            }
        }
    }

    /// Tells the client what changed: reads every connected node not read yet (at the
    /// start, or at any time while following), drops the streams of nodes found
    /// unavailable (a hung node never answers, so its stream would never end).
    async fn reconcile(&mut self, start: bool) -> Result<(), ClientGone> {
        let snapshot = self.peers.snapshot();
        let mut connected = Vec::new();
        let mut unavailable = Vec::new();
        for peer in &snapshot {
            match (&peer.state, &peer.channel) {
                (PeerState::Connected, Some(channel)) => {
                    if !self.streams.0.contains_key(&peer.name) && (start || self.follow) {
                        self.attach(peer, channel.clone());
                        connected.push(peer.name.clone());
                    }
                }
                (state, _) => {
                    let error = match state {
                        PeerState::Unavailable(error) => error.as_str(),
                        _ => "not connected yet",
                    };
                    let dropped = self.streams.0.remove(&peer.name).inspect(JoinHandle::abort);
                    if dropped.is_some()
                        || self.announced.get(&peer.name) != Some(&NodeState::NodeUnavailable)
                    {
                        unavailable.push((peer.name.clone(), error.to_string()));
                    }
                }
            }
        }
        let gone: Vec<String> = self
            .announced
            .keys()
            .filter(|name| !snapshot.iter().any(|p| &p.name == *name))
            .cloned()
            .collect();
        for name in &gone {
            if let Some(task) = self.streams.0.remove(name) {
                task.abort();
            }
            self.announced.remove(name);
        }
        self.announce(NodeState::NodeConnected, connected, "")
            .await?;
        let errors: Vec<String> = unavailable
            .iter()
            .map(|(n, e)| format!("{n}: {e}"))
            .collect();
        let names = unavailable.into_iter().map(|(n, _)| n).collect();
        self.announce(NodeState::NodeUnavailable, names, &errors.join("; "))
            .await?;
        if !gone.is_empty() {
            self.send_now(event(&self.config.relay_name, NodeState::NodeGone, &gone, "").bytes)
                .await?;
        }
        Ok(())
    }

    /// Starts reading `peer`; a node read before is asked only for what came after.
    fn attach(&mut self, peer: &PeerView, channel: Channel) {
        let mut request = self.request.clone();
        let resume = match self.last_time.get(&peer.name) {
            Some(&t) => Some(Timestamp::from_unix_nanos(i128::from(t) + 1)),
            None if self.announced.contains_key(&peer.name) => Some(self.started),
            None => None,
        };
        if let Some(since) = resume {
            request.since = Some(since);
            request.number = 0;
            request.first = false;
        }
        let name: Arc<str> = peer.name.as_str().into();
        let task = tokio::spawn(read_node(name, channel, request, self.input_tx.clone()));
        self.streams.0.insert(peer.name.clone(), task);
    }

    async fn announce(
        &mut self,
        state: NodeState,
        nodes: Vec<String>,
        message: &str,
    ) -> Result<(), ClientGone> {
        if nodes.is_empty() {
            return Ok(());
        }
        for n in &nodes {
            self.announced.insert(n.clone(), state);
        }
        let raw = event(&self.config.relay_name, state, &nodes, message);
        self.send_now(raw.bytes).await
    }

    async fn release_expired(&mut self) -> Result<(), ClientGone> {
        let mut due = Vec::new();
        self.buffer.pop_expired(Instant::now(), |r| due.push(r));
        for released in due {
            self.send(released).await?;
        }
        Ok(())
    }

    async fn send(&mut self, released: Released<RawResponse>) -> Result<(), ClientGone> {
        self.metrics
            .merged(released.item.kind, released.arrived.elapsed());
        self.send_now(released.item.bytes).await
    }

    async fn send_now(&mut self, bytes: Bytes) -> Result<(), ClientGone> {
        self.out.send(Ok(bytes)).await.map_err(|_| ClientGone)
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(at) = deadline {
        tokio::time::sleep_until(at.into()).await;
    }
}

/// Whether a failed stream means the node went away (rather than refusing the request).
fn is_connection_loss(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::Unknown | Code::Cancelled | Code::Internal
    )
}

/// Reads one node's `GetFlows` stream into the merge.
async fn read_node(
    node: Arc<str>,
    channel: Channel,
    request: GetFlowsRequest,
    tx: mpsc::Sender<Input>,
) {
    let end = match stream_node(&node, channel, request, &tx).await {
        Ok(()) => Input::Ended(node),
        Err(status) => Input::Failed(node, status),
    };
    let _ = tx.send(end).await;
}

async fn stream_node(
    node: &Arc<str>,
    channel: Channel,
    request: GetFlowsRequest,
    tx: &mpsc::Sender<Input>,
) -> Result<(), Status> {
    let mut stream = raw::get_flows(channel, request).await?;
    while let Some(first) = stream.message().await? {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match now_or_never(stream.message()) {
                Some(Ok(Some(more))) => batch.push(more),
                Some(Ok(None)) | None => break,
                Some(Err(status)) => {
                    // What came before the error still counts.
                    let _ = tx.send(Input::Responses(node.clone(), batch)).await;
                    return Err(status);
                }
            }
        }
        if tx
            .send(Input::Responses(node.clone(), batch))
            .await
            .is_err()
        {
            break;
        }
    }
    Ok(())
}

/// `fut`'s output if it is ready now. (`Streaming::message` keeps its state in the
/// stream, so dropping the future unfinished loses nothing.)
fn now_or_never<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => Some(out),
        std::task::Poll::Pending => None,
    }
}

#[cfg(test)]
mod tests {
    use observe_proto::flow::FlowFilter;

    use super::*;

    #[test]
    fn requests_every_node_would_refuse_are_refused_once() {
        let bad = GetFlowsRequest {
            whitelist: vec![FlowFilter {
                source_ip: vec!["not-an-ip".into()],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(check(&bad).unwrap_err().code(), Code::InvalidArgument);
        let backwards = GetFlowsRequest {
            since: Some(Timestamp::from_unix_nanos(2_000)),
            until: Some(Timestamp::from_unix_nanos(1_000)),
            ..Default::default()
        };
        assert_eq!(check(&backwards).unwrap_err().code(), Code::InvalidArgument);
        assert!(check(&GetFlowsRequest::default()).is_ok());
    }
}
