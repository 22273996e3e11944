//! `GetFlows`: choosing where in the history to start, then streaming matching flows.
//! The request semantics are documented on the parent module; reading the on-disk part
//! of the history is in [`super::from_disk`].

use std::borrow::Cow;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use observe_filter::{Compiled, FieldMask};
use observe_proto::Timestamp;
use observe_proto::flow::{Flow, LostEvent, LostEventSource};
use observe_proto::observer::{
    GetFlowsRequest, GetFlowsResponse, get_flows_response::ResponseTypes,
};
use observe_proto::raw;
use tokio::sync::mpsc;
use tonic::Status;

use super::{detail, from_disk};
use crate::decode::{Detail, EndpointEncodings, WireBuffers};
use crate::event::{DecodedEvent, LostSource};
use crate::history::History;
use crate::pipeline::ObserverState;
use crate::ring::Ring;
use crate::ring_reader::{Item, RingReader};

/// Where responses go, encoded; closed when the client is gone.
pub(crate) type Responses = mpsc::Sender<Result<Bytes, Status>>;

/// A validated request.
pub(crate) struct FlowQuery {
    pub(super) filters: Compiled,
    /// How much of a stored flow the filters look at.
    detail: Detail,
    mask: Option<FieldMask>,
    pub(super) number: u64,
    pub(super) first: bool,
    pub(super) follow: bool,
    pub(super) since: Option<i128>,
    pub(super) until: Option<i128>,
}

impl FlowQuery {
    /// Compiles filters and field mask once for the whole stream.
    ///
    /// # Errors
    ///
    /// `INVALID_ARGUMENT` for bad filters, field mask paths or time bounds;
    /// `UNIMPLEMENTED` for filters this server cannot evaluate.
    pub(crate) fn new(req: &GetFlowsRequest) -> Result<Self, Status> {
        let compiled = observe_filter::request::compile(req).map_err(|e| {
            if e.is_unsupported() {
                Status::unimplemented(e.to_string())
            } else {
                Status::invalid_argument(e.to_string())
            }
        })?;
        let (filters, mask) = (compiled.filters, compiled.mask);
        let since = req.since.map(|t| t.unix_nanos());
        let until = req.until.map(|t| t.unix_nanos());
        Ok(Self {
            filters,
            detail: detail::detail_of(&req.whitelist, &req.blacklist),
            mask,
            number: req.number,
            first: req.first,
            follow: req.follow,
            since,
            until,
        })
    }

    /// Whether `sent` flows complete the request.
    pub(super) fn done(&self, sent: u64) -> bool {
        !self.follow && self.number > 0 && sent >= self.number
    }

    /// Whether `event`'s time is inside `since..=until`.
    pub(super) fn in_window(&self, event: &DecodedEvent) -> bool {
        let Some(t) = event.time().map(|t| t.unix_nanos()) else {
            return true;
        };
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u)
    }

    /// The flow of `event` if it is one the filters pass, built whole once it passes.
    fn matching<'a>(&self, event: &'a DecodedEvent) -> Option<Cow<'a, Flow>> {
        match event {
            DecodedEvent::Lost(_) => None,
            DecodedEvent::Flow(flow) => self.filters.matches(flow).then_some(Cow::Borrowed(flow)),
            // Judged on the part the filters look at, completed once it passes.
            DecodedEvent::Datapath(stored) => {
                let mut flow = stored.build(self.detail);
                self.filters.matches(&flow).then(|| {
                    stored.complete(&mut flow, self.detail);
                    Cow::Owned(flow)
                })
            }
        }
    }

    /// Whether `event` is a flow the filters pass. A stored event is judged on a flow
    /// built to the detail the filters look at, into `scratch` (a scan's one flow), and
    /// not built at all without filters.
    pub(super) fn passes(&self, event: &DecodedEvent, scratch: &mut Flow) -> bool {
        match event {
            DecodedEvent::Lost(_) => false,
            _ if self.filters.is_empty() => true,
            DecodedEvent::Datapath(stored) => {
                stored.build_into(self.detail, scratch);
                self.filters.matches(scratch)
            }
            DecodedEvent::Flow(flow) => self.filters.matches(flow),
        }
    }
}

/// Streams the query's responses into `tx` until done or the client leaves.
pub(crate) async fn run(
    state: ObserverState,
    history: Option<Arc<History>>,
    query: FlowQuery,
    tx: Responses,
) {
    let query = Arc::new(query);
    let start = start(&state, &query);
    let mut reader = start.reader;
    let mut reuse = Reuse::default();
    let mut sent = 0u64;
    if start.wants_older {
        let before = match &history {
            Some(history) => {
                let disk = from_disk::Disk::new(history, &state, &query, &tx);
                disk.before_ring(reader.position(), start.matched, sent)
                    .await
            }
            None if state.ring.evicted() > 0 => ring_notice(&state, &tx).await,
            None => ControlFlow::Continue(0),
        };
        match before {
            ControlFlow::Continue(n) => sent = n,
            ControlFlow::Break(()) => return,
        }
    }
    loop {
        let item = if query.follow {
            tokio::select! {
                item = reader.follow() => item,
                () = tx.closed() => return,
            }
        } else {
            match reader.next() {
                Some(item) => item,
                None => return,
            }
        };
        let step = match item {
            Item::Lost { entries, events } => {
                if let Some(history) = &history {
                    // Lapped by the writer: what the ring lost is on disk.
                    let disk = from_disk::Disk::new(history, &state, &query, &tx);
                    match disk.refill(reader.position(), entries, sent).await {
                        ControlFlow::Continue(n) => sent = n,
                        ControlFlow::Break(()) => return,
                    }
                    continue;
                }
                on_overtaken(&state, events)
            }
            Item::Entry(event) => on_event(&state, &query, &mut reuse, &event),
        };
        let response = match deliver(step, &mut sent) {
            ControlFlow::Continue(Some(response)) => response,
            ControlFlow::Continue(None) => continue,
            ControlFlow::Break(()) => return,
        };
        if tx.send(Ok(response)).await.is_err() || query.done(sent) {
            return;
        }
    }
}

/// What one history item becomes.
pub(super) enum Step {
    Skip,
    Stop,
    /// An encoded loss report.
    Lost(Bytes),
    /// An encoded flow.
    Flow(Bytes),
}

/// What to do with a step: `Break` ends the stream, `Continue(None)` skips the item,
/// `Continue(Some(response))` sends it. Flows are counted in `sent` (loss reports do not
/// count towards `number`).
pub(super) fn deliver(step: Step, sent: &mut u64) -> ControlFlow<(), Option<Bytes>> {
    match step {
        Step::Skip => ControlFlow::Continue(None),
        Step::Stop => ControlFlow::Break(()),
        Step::Lost(response) => ControlFlow::Continue(Some(response)),
        Step::Flow(response) => {
            *sent += 1;
            ControlFlow::Continue(Some(response))
        }
    }
}

/// `count` events this stream will never see: counted as `FlowRing` losses and reported
/// to the client.
pub(super) fn on_overtaken(state: &ObserverState, count: u64) -> Step {
    let now = SystemTime::now();
    state
        .stats
        .losses
        .record(LostSource::FlowRing, count, None, now, false);
    let now = Some(Timestamp::from(now));
    Step::Lost(history_notice(state, count, now, now, now))
}

/// What a stream reuses from one flow to the next: its endpoints' encodings, the buffers
/// it writes flows' fields into, and the flow it builds a stored event into for its
/// filters (its strings' allocations).
#[derive(Default)]
pub(super) struct Reuse {
    endpoints: EndpointEncodings,
    wire: WireBuffers,
    flow: Flow,
}

/// What `event` becomes in the stream.
pub(super) fn on_event(
    state: &ObserverState,
    query: &FlowQuery,
    reuse: &mut Reuse,
    event: &Arc<DecodedEvent>,
) -> Step {
    let time = event.time().map(|t| t.unix_nanos());
    if query.until.zip(time).is_some_and(|(until, t)| t > until) {
        return Step::Stop;
    }
    if query.since.zip(time).is_some_and(|(since, t)| t < since) {
        return Step::Skip;
    }
    match event.as_ref() {
        DecodedEvent::Lost(lost) => Step::Lost(response(
            state,
            ResponseTypes::LostEvents(*lost),
            event.time(),
        )),
        DecodedEvent::Datapath(stored) if query.mask.is_none() => {
            if !query.passes(event, &mut reuse.flow) {
                return Step::Skip;
            }
            // Written from the event, its endpoints from the stream's cache.
            let node_name = node_name(state, stored.node_name());
            Step::Flow(stored.encode_response(&mut reuse.endpoints, node_name, &mut reuse.wire))
        }
        DecodedEvent::Datapath(_) | DecodedEvent::Flow(_) => match query.matching(event) {
            Some(flow) => Step::Flow(flow_response(state, &flow, query.mask.as_ref())),
            None => Step::Skip,
        },
    }
}

/// Where a request starts in the ring.
struct Start {
    reader: RingReader<Arc<DecodedEvent>>,
    /// The ring alone does not satisfy the request: it wants events from before the
    /// reader (from disk, or else reported as overwritten if the ring evicted any).
    wants_older: bool,
    /// Flows matched by a backward scan for `number`.
    matched: u64,
}

/// Positions a reader for the query.
fn start(state: &ObserverState, query: &FlowQuery) -> Start {
    let ring = &state.ring;
    let at = |reader, wants_older| Start {
        reader,
        wants_older,
        matched: 0,
    };
    if query.first {
        let reader = ring.reader_at_oldest();
        let covered = query
            .since
            .is_some_and(|since| oldest_time(&reader).is_some_and(|t| since >= t));
        return at(reader, !covered);
    }
    if query.number == 0 && query.since.is_none() {
        return if query.follow {
            at(ring.reader_at_end(), false)
        } else {
            at(ring.reader_at_oldest(), true)
        };
    }
    scan_back(state, query)
}

/// Walks back from the newest entry until `number` flows matched or a flow older than
/// `since` appears; the reader is left on the earliest entry to send.
fn scan_back(state: &ObserverState, query: &FlowQuery) -> Start {
    let mut reader = state.ring.reader_at_end();
    let mut matched = 0u64;
    let mut scratch = Flow::default();
    let satisfied = |reader, matched| Start {
        reader,
        wants_older: false,
        matched,
    };
    loop {
        let Some(event) = reader.prev() else {
            // Reached the oldest retained entry without satisfying the request.
            return Start {
                reader,
                wants_older: true,
                matched,
            };
        };
        if !event.is_flow() {
            continue;
        }
        let time = event.time().map(|t| t.unix_nanos());
        if query.since.zip(time).is_some_and(|(since, t)| t < since) {
            return satisfied(reader, matched);
        }
        if query.until.zip(time).is_some_and(|(until, t)| t > until) {
            continue;
        }
        if query.passes(&event, &mut scratch) {
            matched += 1;
            if query.number > 0 && matched >= query.number {
                return satisfied(reader, matched);
            }
        }
    }
}

fn oldest_time(reader: &RingReader<Arc<DecodedEvent>>) -> Option<i128> {
    oldest_event_time(reader.ring()).map(|t| t.unix_nanos())
}

/// The time of the oldest event the ring still holds.
fn oldest_event_time(ring: &Ring<Arc<DecodedEvent>>) -> Option<Timestamp> {
    match ring.read(ring.oldest_position()) {
        crate::ring::Read::Entry(e, _) => e.time(),
        _ => None,
    }
}

/// Without a disk store: the leading notice of a request that reaches past overwritten
/// history; `Continue` with the flows sent so far (none).
async fn ring_notice(state: &ObserverState, tx: &Responses) -> ControlFlow<(), u64> {
    let Some(notice) = ring_history_notice(state) else {
        return ControlFlow::Continue(0);
    };
    if tx.send(Ok(notice)).await.is_err() {
        return ControlFlow::Break(());
    }
    ControlFlow::Continue(0)
}

fn ring_history_notice(state: &ObserverState) -> Option<Bytes> {
    let ring = &state.ring;
    let evicted = ring.evicted();
    if evicted == 0 {
        return None;
    }
    let time_of = |e: Option<Arc<DecodedEvent>>| e.and_then(|e| e.time());
    Some(history_notice(
        state,
        evicted,
        time_of(ring.first_written()),
        time_of(ring.last_evicted()),
        oldest_event_time(ring),
    ))
}

/// The one convention for "history starts here": a `LostEvent` from
/// `HUBBLE_RING_BUFFER` counting the events no longer retained, `first`/`last` the times
/// of the first and the most recent of them, and the response `time` where the retained
/// history starts. Encoded, as [`response`] makes it.
pub(super) fn history_notice(
    state: &ObserverState,
    gone: u64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    history_start: Option<Timestamp>,
) -> Bytes {
    let lost = LostEvent {
        source: LostEventSource::HubbleRingBuffer.into(),
        num_events_lost: gone,
        cpu: None,
        first,
        last,
    };
    response(state, ResponseTypes::LostEvents(lost), history_start)
}

/// The encoded response carrying `flow`, or the part of it `mask` keeps; the response's
/// node and time are the whole flow's.
fn flow_response(state: &ObserverState, flow: &Flow, mask: Option<&FieldMask>) -> Bytes {
    let masked = mask.map(|mask| mask.apply(flow));
    let body = masked.as_ref().unwrap_or(flow);
    raw::encode_flow_response(body, node_name(state, &flow.node_name), flow.time.as_ref())
}

/// The node a response names: the flow's, `name`, else this server's.
fn node_name<'a>(state: &'a ObserverState, name: &'a str) -> &'a str {
    if name.is_empty() {
        &state.node_name
    } else {
        name
    }
}

/// A response of this server (a loss report) as the stream carries it: encoded once,
/// here, into a buffer of its size, so that bytes, not the struct, move through the
/// channel and tonic's encoder. Flows are encoded by [`flow_response`] and, stored
/// events sent whole, [`crate::decode::StoredFlow::encode_response`].
fn response(state: &ObserverState, body: ResponseTypes, time: Option<Timestamp>) -> Bytes {
    raw::encode_response(&GetFlowsResponse {
        response_types: Some(body),
        node_name: state.node_name.to_string(),
        time,
    })
}
