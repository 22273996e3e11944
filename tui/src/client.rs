//! The network side: tasks that talk to the agent and turn what they hear into [`Msg`]s.
//! None of them ever blocks the UI, and the UI never waits for them.
//!
//! - The flow stream ([`FlowStream`]): `GetFlows` with `follow` and the filter's
//!   whitelist/blacklist (filtering happens on the agent). Flows go through a bounded
//!   queue with `try_send`: when the UI is behind, the task skips the flow and counts it,
//!   and the count reaches the UI as [`Msg::Skipped`] once there is room. A broken stream
//!   is retried with exponential backoff, resuming after the last flow received; the UI
//!   is told `Disconnected(reason)` and `Connected`. A filter the agent rejects ends the
//!   task with [`Msg::FilterRejected`].
//! - The pollers ([`spawn_pollers`]): `ServerStatus` every second, the control API's
//!   endpoints every five seconds (an agent without it is fine: the panel says so).

use std::time::Duration;

use observe_proto::Timestamp;
use observe_proto::control::GetEndpointsRequest;
use observe_proto::control::control_client::ControlClient;
use observe_proto::observer::get_flows_response::ResponseTypes;
use observe_proto::observer::observer_client::ObserverClient;
use observe_proto::observer::{GetFlowsRequest, GetFlowsResponse, ServerStatusRequest};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic::{Code, Status, Streaming};

use crate::filter::FilterSpec;
use crate::msg::Msg;

/// Messages the flow stream may queue for the UI before it skips flows.
pub const STREAM_QUEUE: usize = 4096;
/// First retry delay after a failure; doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(200);
/// Longest retry delay.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often a pending skip count is pushed when no flow arrives to carry it.
const SKIP_FLUSH: Duration = Duration::from_millis(250);
const STATUS_EVERY: Duration = Duration::from_secs(1);
const ENDPOINTS_EVERY: Duration = Duration::from_secs(5);
const POLL_TIMEOUT: Duration = Duration::from_secs(2);

/// What the flow stream asks for.
#[derive(Clone, Debug)]
pub struct StreamRequest {
    /// The filter, applied by the agent.
    pub filter: FilterSpec,
    /// Flows of history to send before following (0: only new flows).
    pub history: u64,
}

/// A running flow stream and the queue it fills; dropping it stops the task.
#[derive(Debug)]
pub struct FlowStream {
    /// Messages from the stream.
    pub rx: mpsc::Receiver<Msg>,
    task: JoinHandle<()>,
}

impl FlowStream {
    /// Starts streaming on `channel`.
    pub fn spawn(channel: Channel, request: StreamRequest) -> Self {
        let (tx, rx) = mpsc::channel(STREAM_QUEUE);
        let task = tokio::spawn(stream_loop(ObserverClient::new(channel), request, tx));
        Self { rx, task }
    }
}

impl Drop for FlowStream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How one attempt ended.
enum Attempt {
    /// The UI dropped the queue: stop.
    UiGone,
    /// The agent rejected the request: stop and say why.
    Rejected(String),
    /// The stream could not open or broke: retry.
    Failed { reason: String, was_open: bool },
}

async fn stream_loop(
    mut client: ObserverClient<Channel>,
    request: StreamRequest,
    tx: mpsc::Sender<Msg>,
) {
    let mut resume_after: Option<Timestamp> = None;
    let mut backoff = MIN_BACKOFF;
    loop {
        let req = flows_request(&request, resume_after);
        match attempt(&mut client, req, &tx, &mut resume_after).await {
            Attempt::UiGone => return,
            Attempt::Rejected(reason) => {
                let _ = tx.send(Msg::FilterRejected(reason)).await;
                return;
            }
            Attempt::Failed { reason, was_open } => {
                if was_open {
                    backoff = MIN_BACKOFF;
                }
                if tx.send(Msg::Disconnected(reason)).await.is_err() {
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// The first request loads `history` flows; a retry resumes after the last flow seen.
fn flows_request(request: &StreamRequest, resume_after: Option<Timestamp>) -> GetFlowsRequest {
    let filters = &request.filter.filters;
    GetFlowsRequest {
        follow: true,
        number: if resume_after.is_some() {
            0
        } else {
            request.history
        },
        since: resume_after,
        whitelist: filters.whitelist.clone(),
        blacklist: filters.blacklist.clone(),
        ..Default::default()
    }
}

async fn attempt(
    client: &mut ObserverClient<Channel>,
    request: GetFlowsRequest,
    tx: &mpsc::Sender<Msg>,
    resume_after: &mut Option<Timestamp>,
) -> Attempt {
    let stream = match client.get_flows(request).await {
        Ok(response) => response.into_inner(),
        Err(status) if status.code() == Code::InvalidArgument => {
            return Attempt::Rejected(status.message().to_string());
        }
        Err(status) => {
            return Attempt::Failed {
                reason: describe(&status),
                was_open: false,
            };
        }
    };
    if tx.send(Msg::Connected).await.is_err() {
        return Attempt::UiGone;
    }
    relay(stream, tx, resume_after).await
}

/// Forwards responses until the stream ends or the UI goes away.
async fn relay(
    mut stream: Streaming<GetFlowsResponse>,
    tx: &mpsc::Sender<Msg>,
    resume_after: &mut Option<Timestamp>,
) -> Attempt {
    let mut skipped = 0u64;
    let mut flush = tokio::time::interval(SKIP_FLUSH);
    loop {
        let next = tokio::select! {
            next = stream.message() => next,
            _ = flush.tick() => {
                if flush_skipped(tx, &mut skipped).is_err() {
                    return Attempt::UiGone;
                }
                continue;
            }
        };
        let response = match next {
            Ok(Some(response)) => response,
            Ok(None) => {
                return Attempt::Failed {
                    reason: "the agent ended the stream".into(),
                    was_open: true,
                };
            }
            Err(status) => {
                return Attempt::Failed {
                    reason: describe(&status),
                    was_open: true,
                };
            }
        };
        if deliver(response, tx, &mut skipped, resume_after)
            .await
            .is_err()
        {
            return Attempt::UiGone;
        }
    }
}

/// The UI's queue is closed.
struct Gone;

async fn deliver(
    response: GetFlowsResponse,
    tx: &mpsc::Sender<Msg>,
    skipped: &mut u64,
    resume_after: &mut Option<Timestamp>,
) -> Result<(), Gone> {
    match response.response_types {
        Some(ResponseTypes::Flow(flow)) => {
            if let Some(time) = flow.time {
                *resume_after = Some(Timestamp::from_unix_nanos(time.unix_nanos() + 1));
            }
            flush_skipped(tx, skipped)?;
            match tx.try_send(Msg::Flow(Box::new(flow))) {
                Ok(()) => Ok(()),
                Err(TrySendError::Full(_)) => {
                    *skipped += 1;
                    Ok(())
                }
                Err(TrySendError::Closed(_)) => Err(Gone),
            }
        }
        // Loss reports are rare and must not be skipped themselves: wait for room.
        Some(ResponseTypes::LostEvents(lost)) => tx
            .send(Msg::Lost(response.node_name, lost))
            .await
            .map_err(|_| Gone),
        Some(ResponseTypes::NodeStatus(_)) | None => Ok(()),
    }
}

/// Sends the pending skip count if there is one and room for it.
fn flush_skipped(tx: &mpsc::Sender<Msg>, skipped: &mut u64) -> Result<(), Gone> {
    if *skipped == 0 {
        return Ok(());
    }
    match tx.try_send(Msg::Skipped(*skipped)) {
        Ok(()) => {
            *skipped = 0;
            Ok(())
        }
        Err(TrySendError::Full(_)) => Ok(()),
        Err(TrySendError::Closed(_)) => Err(Gone),
    }
}

/// Starts the status and endpoint pollers; they stop when `tx` closes (or when aborted).
pub fn spawn_pollers(channel: Channel, tx: mpsc::Sender<Msg>) -> Vec<JoinHandle<()>> {
    vec![
        tokio::spawn(poll_status(
            ObserverClient::new(channel.clone()),
            tx.clone(),
        )),
        tokio::spawn(poll_endpoints(ControlClient::new(channel), tx)),
    ]
}

async fn poll_status(mut client: ObserverClient<Channel>, tx: mpsc::Sender<Msg>) {
    let mut every = tokio::time::interval(STATUS_EVERY);
    loop {
        every.tick().await;
        let answer =
            tokio::time::timeout(POLL_TIMEOUT, client.server_status(ServerStatusRequest {})).await;
        let msg = match answer {
            Ok(Ok(response)) => Msg::Status(Box::new(response.into_inner())),
            Ok(Err(status)) => Msg::StatusUnavailable(describe(&status)),
            Err(_) => {
                Msg::StatusUnavailable(format!("no answer within {}s", POLL_TIMEOUT.as_secs()))
            }
        };
        if tx.send(msg).await.is_err() {
            return;
        }
    }
}

async fn poll_endpoints(mut client: ControlClient<Channel>, tx: mpsc::Sender<Msg>) {
    let mut every = tokio::time::interval(ENDPOINTS_EVERY);
    loop {
        every.tick().await;
        let answer =
            tokio::time::timeout(POLL_TIMEOUT, client.get_endpoints(GetEndpointsRequest {})).await;
        let result = match answer {
            Ok(Ok(response)) => Ok(response.into_inner().endpoints),
            Ok(Err(status)) if status.code() == Code::Unimplemented => {
                Err("the agent does not serve the control API".to_string())
            }
            Ok(Err(status)) => Err(describe(&status)),
            Err(_) => Err(format!("no answer within {}s", POLL_TIMEOUT.as_secs())),
        };
        if tx.send(Msg::Endpoints(result)).await.is_err() {
            return;
        }
    }
}

/// A status in one line: the code, the message, and the root cause of a transport error
/// (`Unavailable: transport error (Connection refused (os error 111))`).
pub fn describe(status: &Status) -> String {
    let mut text = format!("{:?}", status.code());
    if !status.message().is_empty() {
        text.push_str(&format!(": {}", status.message()));
    }
    let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(status);
    let mut root = None;
    while let Some(c) = cause {
        root = Some(c);
        cause = c.source();
    }
    if let Some(root) = root {
        let root = root.to_string();
        if !text.contains(&root) {
            text.push_str(&format!(" ({root})"));
        }
    }
    text
}
