//! `GetFlows`: choosing where in the history to start, then streaming matching flows.
//! The request semantics are documented on the parent module.

use std::sync::Arc;
use std::time::SystemTime;

use observe_proto::Timestamp;
use observe_proto::flow::{Flow, LostEvent, LostEventSource};
use observe_proto::observer::{
    GetFlowsRequest, GetFlowsResponse, get_flows_response::ResponseTypes,
};
use tokio::sync::mpsc;
use tonic::Status;

use super::field_mask::FieldMask;
use crate::event::{DecodedEvent, LostSource};
use crate::filter::{self, Compiled, FilterError};
use crate::pipeline::ObserverState;
use crate::ring_reader::{Item, RingReader};

/// Where responses go; closed when the client is gone.
pub(crate) type Responses = mpsc::Sender<Result<GetFlowsResponse, Status>>;

/// A validated request.
pub(crate) struct FlowQuery {
    filters: Compiled,
    mask: Option<FieldMask>,
    number: u64,
    first: bool,
    follow: bool,
    since: Option<i128>,
    until: Option<i128>,
}

impl FlowQuery {
    /// Compiles filters and field mask once for the whole stream.
    ///
    /// # Errors
    ///
    /// `INVALID_ARGUMENT` for bad filters, field mask paths or time bounds;
    /// `UNIMPLEMENTED` for filters this server cannot evaluate.
    pub(crate) fn new(req: &GetFlowsRequest) -> Result<Self, Status> {
        let filters = filter::build(&req.whitelist, &req.blacklist).map_err(|e| match e {
            FilterError::Unsupported { .. } => Status::unimplemented(e.to_string()),
            FilterError::Invalid { .. } => Status::invalid_argument(e.to_string()),
        })?;
        let paths = req
            .field_mask
            .as_ref()
            .map_or(&[][..], |m| m.paths.as_slice());
        let mask = FieldMask::new(paths).map_err(Status::invalid_argument)?;
        let since = req.since.map(|t| t.unix_nanos());
        let until = req.until.map(|t| t.unix_nanos());
        if let (Some(s), Some(u)) = (since, until)
            && s > u
        {
            return Err(Status::invalid_argument("since must not be after until"));
        }
        Ok(Self {
            filters,
            mask,
            number: req.number,
            first: req.first,
            follow: req.follow,
            since,
            until,
        })
    }
}

/// Streams the query's responses into `tx` until done or the client leaves.
pub(crate) async fn run(state: ObserverState, query: FlowQuery, tx: Responses) {
    let (mut reader, history_cut) = start(&state, &query);
    if history_cut
        && let Some(notice) = history_notice(&state)
        && tx.send(Ok(notice)).await.is_err()
    {
        return;
    }
    let mut sent = 0u64;
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
            Item::Lost { count } => on_overtaken(&state, count),
            Item::Entry(event) => on_event(&state, &query, &event),
        };
        let response = match step {
            Step::Skip => continue,
            Step::Stop => return,
            Step::Lost(response) => response,
            Step::Flow(response) => {
                sent += 1;
                response
            }
        };
        if tx.send(Ok(response)).await.is_err() {
            return;
        }
        if !query.follow && query.number > 0 && sent >= query.number {
            return;
        }
    }
}

/// What one ring item becomes.
enum Step {
    Skip,
    Stop,
    Lost(GetFlowsResponse),
    Flow(GetFlowsResponse),
}

fn on_overtaken(state: &ObserverState, count: u64) -> Step {
    let now = SystemTime::now();
    state
        .stats
        .losses
        .record(LostSource::FlowRing, count, None, now, false);
    let now = Timestamp::from(now);
    let lost = LostEvent {
        source: LostEventSource::HubbleRingBuffer.into(),
        num_events_lost: count,
        cpu: None,
        first: Some(now),
        last: Some(now),
    };
    Step::Lost(response(state, ResponseTypes::LostEvents(lost), Some(now)))
}

fn on_event(state: &ObserverState, query: &FlowQuery, event: &Arc<DecodedEvent>) -> Step {
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
        DecodedEvent::Flow(flow) if query.filters.matches(flow) => {
            let body = match &query.mask {
                Some(mask) => mask.apply(flow),
                None => flow.clone(),
            };
            Step::Flow(flow_response(state, flow, body))
        }
        DecodedEvent::Flow(_) => Step::Skip,
    }
}

/// Positions a reader for the query; also says whether the request reaches past
/// history that was already overwritten.
fn start(state: &ObserverState, query: &FlowQuery) -> (RingReader<Arc<DecodedEvent>>, bool) {
    let ring = &state.ring;
    let evicted = ring.evicted() > 0;
    if query.first {
        let reader = ring.reader_at_oldest();
        let covered = query
            .since
            .is_some_and(|since| oldest_time(&reader).is_some_and(|t| since >= t));
        return (reader, evicted && !covered);
    }
    if query.number == 0 && query.since.is_none() {
        return if query.follow {
            (ring.reader_at_end(), false)
        } else {
            (ring.reader_at_oldest(), evicted)
        };
    }
    scan_back(state, query)
}

/// Walks back from the newest entry until `number` flows matched or a flow older than
/// `since` appears; the reader is left on the earliest entry to send.
fn scan_back(state: &ObserverState, query: &FlowQuery) -> (RingReader<Arc<DecodedEvent>>, bool) {
    let mut reader = state.ring.reader_at_end();
    let mut matched = 0u64;
    loop {
        let Some(event) = reader.prev() else {
            // Reached the oldest retained entry without satisfying the request.
            return (reader, state.ring.evicted() > 0);
        };
        let Some(flow) = event.as_flow() else {
            continue;
        };
        let time = flow.time.map(|t| t.unix_nanos());
        if query.since.zip(time).is_some_and(|(since, t)| t < since) {
            return (reader, false);
        }
        if query.until.zip(time).is_some_and(|(until, t)| t > until) {
            continue;
        }
        if query.filters.matches(flow) {
            matched += 1;
            if query.number > 0 && matched >= query.number {
                return (reader, false);
            }
        }
    }
}

fn oldest_time(reader: &RingReader<Arc<DecodedEvent>>) -> Option<i128> {
    let ring = reader.ring();
    match ring.read(ring.oldest_position()) {
        crate::ring::Read::Entry(e) => e.time().map(|t| t.unix_nanos()),
        _ => None,
    }
}

/// The leading notice of a request that reaches past overwritten history.
fn history_notice(state: &ObserverState) -> Option<GetFlowsResponse> {
    let ring = &state.ring;
    let evicted = ring.evicted();
    if evicted == 0 {
        return None;
    }
    let time_of = |e: Option<Arc<DecodedEvent>>| e.and_then(|e| e.time());
    let lost = LostEvent {
        source: LostEventSource::HubbleRingBuffer.into(),
        num_events_lost: evicted,
        cpu: None,
        first: time_of(ring.first_written()),
        last: time_of(ring.last_evicted()),
    };
    let history_start = match ring.read(ring.oldest_position()) {
        crate::ring::Read::Entry(e) => e.time(),
        _ => None,
    };
    Some(response(
        state,
        ResponseTypes::LostEvents(lost),
        history_start,
    ))
}

fn flow_response(state: &ObserverState, original: &Flow, body: Flow) -> GetFlowsResponse {
    let mut r = response(state, ResponseTypes::Flow(body), original.time);
    if !original.node_name.is_empty() {
        r.node_name.clone_from(&original.node_name);
    }
    r
}

fn response(
    state: &ObserverState,
    body: ResponseTypes,
    time: Option<Timestamp>,
) -> GetFlowsResponse {
    GetFlowsResponse {
        response_types: Some(body),
        node_name: state.node_name.to_string(),
        time,
    }
}
