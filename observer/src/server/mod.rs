//! The `observer.Observer` gRPC service over the pipeline's state, and a helper to serve
//! it on a unix socket with the standard services next to it, as the agent does.
//!
//! - `GetFlows`: see below.
//! - `ServerStatus`: ring occupancy and capacity, flows seen, uptime, version, the flow
//!   rate over the last minute, and (extensions) the events lost per source and the node's
//!   IP forwarding ([`ObserverService::with_forwarding`]).
//! - `GetNamespaces`: namespaces seen in flows during the last hour.
//! - `GetNodes`: this node (Hubble answers it on relays only; a single agent knows itself).
//! - `GetAgentEvents`, `GetDebugEvents`: `UNIMPLEMENTED`.
//!
//! # GetFlows
//!
//! | request                      | start                                            | stops |
//! |------------------------------|--------------------------------------------------|-------|
//! | `number` N (latest)          | scan back from the newest until N flows matched  | after N flows, unless `follow` |
//! | `first` + `number` N         | the oldest retained flow                         | after N flows, unless `follow` |
//! | `since`                      | scan back until a flow older than `since`        | at the newest flow, unless `follow` |
//! | `follow` alone               | the newest flow (only new ones are sent)         | when the client goes away |
//! | nothing                      | the oldest retained flow (everything)            | at the newest flow |
//!
//! `until` ends the stream at the first flow newer than it. Loss reports (`LostEvent`s)
//! are always sent, never filtered and never counted towards `number`. A stream that falls
//! behind the writer gets one `LostEvent` from `HUBBLE_RING_BUFFER` with the number of
//! flows it missed, then goes on with the oldest retained flow. Filters and the field mask
//! are compiled once per request; invalid ones fail the request with `INVALID_ARGUMENT`
//! (CEL expressions with `UNIMPLEMENTED`).
//!
//! History messaging: when a request reaches back past the oldest retained flow and
//! flows were already overwritten (`first`, `since` older than the history, fewer than N
//! matches in the whole history), the stream starts with a `LostEvent` from
//! `HUBBLE_RING_BUFFER`: `num_events_lost` is the number of flows evicted so far,
//! `first`/`last` the times of the first and the most recently evicted event, and the
//! response's `time` is where the retained history starts. No error: what exists is sent.
//!
//! With an on-disk history ([`ObserverService::with_history`]), "retained" means disk
//! plus ring: the part of a request older than the ring is read from disk first, then
//! the ring, in order and without overlap, and a follower lapped by the ring writer gets
//! the flows it missed from disk instead of a loss report. The notice then counts the
//! events deleted from disk to hold its cap, and its `time` is the oldest stored event.

mod detail;
mod from_disk;
mod get_flows;

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use observe_proto::observer::observer_server::{Observer, SERVICE_NAME as OBSERVER};
use observe_proto::observer::{
    GetAgentEventsRequest, GetAgentEventsResponse, GetDebugEventsRequest, GetDebugEventsResponse,
    GetFlowsRequest, GetFlowsResponse, GetNamespacesRequest, GetNamespacesResponse,
    GetNodesRequest, GetNodesResponse, Namespace, Node, NodeForwarding, ServerStatusRequest,
    ServerStatusResponse, Tls,
};
use observe_proto::raw_route::{RawGetFlows, RawRouter};
use observe_proto::relay::NodeState;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::{ReceiverStream, UnixListenerStream};
use tonic::{Request, Response, Status};

use crate::history::History;
use crate::listen::{StandardServices, add_standard_services};
use crate::pipeline::ObserverState;

/// Responses buffered per `GetFlows` stream before the reader waits for the client; a
/// client slower than that falls behind the ring and gets `LostEvent`s.
const STREAM_BUFFER: usize = 128;

/// A boxed response stream.
pub type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// The Observer service.
#[derive(Clone, Debug)]
pub struct ObserverService {
    state: ObserverState,
    version: String,
    history: Option<Arc<History>>,
    forwarding: Option<ForwardingProbe>,
}

/// Reads the node's IP forwarding for each `ServerStatus`.
#[derive(Clone)]
struct ForwardingProbe(Arc<dyn Fn() -> Option<NodeForwarding> + Send + Sync>);

impl std::fmt::Debug for ForwardingProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ForwardingProbe")
    }
}

impl ObserverService {
    /// A service over the pipeline's state, reporting this crate's version.
    pub fn new(state: ObserverState) -> Self {
        Self {
            state,
            version: env!("CARGO_PKG_VERSION").to_string(),
            history: None,
            forwarding: None,
        }
    }

    /// The on-disk history it serves from, if any.
    pub fn history(&self) -> Option<Arc<History>> {
        self.history.clone()
    }

    /// Serves `GetFlows` from `history` too, for requests older than the ring.
    pub fn with_history(mut self, history: Arc<History>) -> Self {
        self.history = Some(history);
        self
    }

    /// Reports the node's IP forwarding in `ServerStatus`, as `probe` reads it at each request
    /// (`None`: nothing to report).
    pub fn with_forwarding(
        mut self,
        probe: impl Fn() -> Option<NodeForwarding> + Send + Sync + 'static,
    ) -> Self {
        self.forwarding = Some(ForwardingProbe(Arc::new(probe)));
        self
    }

    /// Reports `version` in `ServerStatus` and `GetNodes`.
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// The tonic service, ready for `Server::add_service`: the generated server, with
    /// `GetFlows` served from responses encoded once where the stream builds them
    /// ([`RawGetFlows`]).
    pub fn into_server(self) -> ObserverRouter {
        RawRouter::new(self.clone(), self)
    }

    fn node(&self) -> Node {
        let ring = &self.state.ring;
        Node {
            name: self.state.node_name.to_string(),
            version: self.version.clone(),
            address: String::new(),
            state: NodeState::NodeConnected.into(),
            tls: Some(Tls::default()),
            uptime_ns: self.uptime_ns(),
            num_flows: ring.len(),
            max_flows: ring.capacity(),
            seen_flows: self.state.stats.counters().decoded,
        }
    }

    fn uptime_ns(&self) -> u64 {
        u64::try_from(self.state.stats.uptime().as_nanos()).unwrap_or(u64::MAX)
    }
}

#[tonic::async_trait]
impl Observer for ObserverService {
    type GetFlowsStream = ResponseStream<GetFlowsResponse>;
    type GetAgentEventsStream = ResponseStream<GetAgentEventsResponse>;
    type GetDebugEventsStream = ResponseStream<GetDebugEventsResponse>;

    async fn get_flows(
        &self,
        _: Request<GetFlowsRequest>,
    ) -> Result<Response<Self::GetFlowsStream>, Status> {
        // The router serves GetFlows through RawGetFlows; this method is never routed to.
        Err(Status::internal("GetFlows is served by the encoded route"))
    }

    async fn get_agent_events(
        &self,
        _: Request<GetAgentEventsRequest>,
    ) -> Result<Response<Self::GetAgentEventsStream>, Status> {
        Err(Status::unimplemented("agent events are not available"))
    }

    async fn get_debug_events(
        &self,
        _: Request<GetDebugEventsRequest>,
    ) -> Result<Response<Self::GetDebugEventsStream>, Status> {
        Err(Status::unimplemented("debug events are not available"))
    }

    async fn get_nodes(
        &self,
        _: Request<GetNodesRequest>,
    ) -> Result<Response<GetNodesResponse>, Status> {
        Ok(Response::new(GetNodesResponse {
            nodes: vec![self.node()],
        }))
    }

    async fn get_namespaces(
        &self,
        _: Request<GetNamespacesRequest>,
    ) -> Result<Response<GetNamespacesResponse>, Status> {
        let namespaces = self
            .state
            .namespaces
            .list(Instant::now())
            .into_iter()
            .map(|namespace| Namespace {
                cluster: String::new(),
                namespace,
            })
            .collect();
        Ok(Response::new(GetNamespacesResponse { namespaces }))
    }

    async fn server_status(
        &self,
        _: Request<ServerStatusRequest>,
    ) -> Result<Response<ServerStatusResponse>, Status> {
        let ring = &self.state.ring;
        let stats = &self.state.stats;
        Ok(Response::new(ServerStatusResponse {
            num_flows: ring.len(),
            max_flows: ring.capacity(),
            seen_flows: stats.counters().decoded,
            uptime_ns: self.uptime_ns(),
            version: self.version.clone(),
            flows_rate: stats.flows_rate(),
            lost_events: stats.losses.totals(),
            forwarding: self.forwarding.as_ref().and_then(|probe| (probe.0)()),
            ..Default::default()
        }))
    }
}

/// The agent's observer as a router entry.
pub type ObserverRouter = RawRouter<ObserverService, ObserverService>;

impl RawGetFlows for ObserverService {
    type Stream = ReceiverStream<Result<Bytes, Status>>;

    fn get_flows(&self, request: GetFlowsRequest) -> Result<Self::Stream, Status> {
        let query = get_flows::FlowQuery::new(&request)?;
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let history = self.history.clone();
        tokio::spawn(get_flows::run(self.state.clone(), history, query, tx));
        Ok(ReceiverStream::new(rx))
    }
}

/// Why serving stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The socket could not be prepared.
    #[error("cannot listen on {path}: {source}")]
    Listen {
        /// The socket path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Server reflection could not be set up (a build problem).
    #[error("cannot set up gRPC reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The gRPC server failed.
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves `service` on the unix socket `path` (mode 0660, replacing a stale socket) until
/// `shutdown` resolves, with health (the observer SERVING) and reflection next to it, as
/// the agent serves them ([`crate::listen`]).
///
/// # Errors
///
/// [`ServeError::Listen`] if the socket cannot be created (or `path` exists and is not a
/// socket), [`ServeError::Reflection`] if reflection cannot be set up,
/// [`ServeError::Transport`] if the server fails.
pub async fn serve_unix(
    service: ObserverService,
    path: &Path,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let listener = bind_unix(path).map_err(|source| ServeError::Listen {
        path: path.to_path_buf(),
        source,
    })?;
    let standard = StandardServices::new();
    standard.set_serving(&[OBSERVER]).await;
    let router = tonic::transport::Server::builder().add_service(service.into_server());
    add_standard_services(router, &standard, &[OBSERVER])?
        .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown)
        .await?;
    Ok(())
}

/// Binds the unix socket `path` with mode 0660, replacing a stale socket left by a previous
/// run (and refusing to touch anything else at that path).
///
/// The socket is bound under a temporary name, given its mode, then renamed into place,
/// so there is no moment when `path` accepts connections with the process umask's
/// (wider) permissions.
pub fn bind_unix(path: &Path) -> std::io::Result<tokio::net::UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    // A socket left by a previous run would make the rename fail on some systems and is
    // stale anyway; anything else at that path is not ours to delete.
    remove_stale_socket(path)?;
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "socket path has no file name",
        )
    })?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".{}.tmp", std::process::id()));
    let temp = path.with_file_name(temp_name);
    remove_stale_socket(&temp)?;
    let listener = tokio::net::UnixListener::bind(&temp)?;
    let placed = std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o660))
        .and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    Ok(listener)
}

/// Removes `path` if it is a socket; fails if something else is there.
fn remove_stale_socket(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path),
        Ok(_) => Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "path exists and is not a socket",
        )),
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests;
