//! What flows through the pipeline: [`MonitorEvent`]s in (from the kernel's ring buffer),
//! and [`DecodedEvent`]s out (into the flow ring). A ring-buffer record becomes a payload
//! with [`Payload::from_record`], malformed or not: the pipeline decides what a record
//! that is not an event is worth, as for every other decode error.
//!
//! Decoding itself lives in [`crate::decode`]; this module only defines the envelopes.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use observe_proto::Timestamp;
use observe_proto::flow::{self, LostEventSource};
use probe_common::event::{ConnectionCounters, CountedEvent, FlowEvent, event_flags};

/// One event handed to the pipeline.
#[derive(Clone, Debug, PartialEq)]
pub struct MonitorEvent {
    /// When userspace received the event (wall clock). Flows take their time from the
    /// kernel timestamp instead; this stamps loss reports.
    pub timestamp: SystemTime,
    /// Node that observed the event.
    pub node_name: Arc<str>,
    /// The event itself.
    pub payload: Payload,
}

/// The content of a [`MonitorEvent`].
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    /// A datapath event (drop, trace or policy verdict).
    Flow(FlowEvent),
    /// A trace event with its connection's counters (aggregation mode: the event has
    /// `event_flags::COUNTED`). Boxed: such events are few by design, and every other
    /// payload stays small.
    Counted(FlowEvent, Box<ConnectionCounters>),
    /// A DNS query or answer the DNS proxy judged.
    Dns(Box<crate::l7::DnsRecord>),
    /// An HTTP request or response the HTTP proxy handled.
    Http(Box<crate::l7::HttpRecord>),
    /// A ring-buffer record too short to be a datapath event (the datapath and userspace
    /// disagree on the layout); the pipeline counts it as a decode error.
    Malformed {
        /// The record's length in bytes.
        len: usize,
        /// The length its kind needs ([`FlowEvent`], or [`CountedEvent`] when it says it
        /// carries counters).
        need: usize,
    },
    /// Events lost before they reached the pipeline.
    Lost {
        /// Where they were lost.
        source: LostSource,
        /// How many, since the previous report from the same source.
        count: u64,
        /// CPU the loss was counted on, when the source counts per CPU.
        cpu: Option<i32>,
    },
}

impl Payload {
    /// The payload of one ring-buffer record as the kernel wrote it: a [`FlowEvent`]
    /// ([`FlowEvent::from_bytes`]: trailing bytes are ignored), with its connection's
    /// counters when it says it carries them, or [`Payload::Malformed`] for a record that
    /// is too short for what it says it is. Never panics.
    pub fn from_record(record: &[u8]) -> Self {
        let malformed = |need| Self::Malformed {
            len: record.len(),
            need,
        };
        let Some(event) = FlowEvent::from_bytes(record) else {
            return malformed(size_of::<FlowEvent>());
        };
        if event.flags & event_flags::COUNTED == 0 {
            return Self::Flow(event);
        }
        match ConnectionCounters::from_record(&event, record) {
            Some(counters) => Self::Counted(event, Box::new(counters)),
            None => malformed(size_of::<CountedEvent>()),
        }
    }
}

/// Where events get lost, each mapped to Hubble's `LostEventSource`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LostSource {
    /// The datapath could not write to the BPF ring buffer (`bpf_ringbuf_output` failed
    /// because userspace did not drain it in time); counted in the kernel per CPU.
    /// Hubble's `PERF_EVENT_RING_BUFFER`.
    KernelRing,
    /// The bounded queue between the ring-buffer source and the decoder was full, so the
    /// source dropped the event. Hubble's `OBSERVER_EVENTS_QUEUE`.
    EventQueue,
    /// A reader of the flow history was overtaken by the writer: the flows between its
    /// position and the oldest retained flow were overwritten before it read them.
    /// Hubble's `HUBBLE_RING_BUFFER`.
    FlowRing,
}

impl LostSource {
    /// Every source, in report order.
    pub const ALL: [LostSource; 3] = [Self::KernelRing, Self::EventQueue, Self::FlowRing];

    /// The proto enum value.
    pub fn to_proto(self) -> LostEventSource {
        match self {
            Self::KernelRing => LostEventSource::PerfEventRingBuffer,
            Self::EventQueue => LostEventSource::ObserverEventsQueue,
            Self::FlowRing => LostEventSource::HubbleRingBuffer,
        }
    }

    /// Index into per-source arrays (the order of [`LostSource::ALL`]).
    pub(crate) fn index(self) -> usize {
        match self {
            Self::KernelRing => 0,
            Self::EventQueue => 1,
            Self::FlowRing => 2,
        }
    }
}

/// What the pipeline stores in the flow ring and streams to clients.
#[derive(Clone, Debug, PartialEq)]
pub enum DecodedEvent {
    /// A datapath event with its enrichment; its flow is built when read.
    Datapath(crate::decode::StoredFlow),
    /// A flow built already: an L7 flow from a proxy, or one read back from history.
    Flow(Box<flow::Flow>),
    /// A loss report (kernel ring or event queue).
    Lost(flow::LostEvent),
}

/// A flow is one event; a loss notice stands for the events it reports lost.
impl crate::ring::Weight for std::sync::Arc<DecodedEvent> {
    fn weight(&self) -> u64 {
        match self.as_ref() {
            DecodedEvent::Datapath(_) | DecodedEvent::Flow(_) => 1,
            DecodedEvent::Lost(lost) => lost.num_events_lost.max(1),
        }
    }
}

impl DecodedEvent {
    /// A flow built already.
    pub fn flow(flow: flow::Flow) -> Self {
        Self::Flow(Box::new(flow))
    }

    /// The event's time: the flow's time, or the time of the last loss reported.
    pub fn time(&self) -> Option<Timestamp> {
        match self {
            Self::Datapath(stored) => Some(stored.time()),
            Self::Flow(flow) => flow.time,
            Self::Lost(lost) => lost.last.or(lost.first),
        }
    }

    /// Whether this is a flow (and not a loss report).
    pub fn is_flow(&self) -> bool {
        !matches!(self, Self::Lost(_))
    }

    /// The flow, if this is one: built from a stored datapath event, or borrowed.
    pub fn to_flow(&self) -> Option<Cow<'_, flow::Flow>> {
        match self {
            Self::Datapath(stored) => Some(Cow::Owned(stored.to_flow())),
            Self::Flow(flow) => Some(Cow::Borrowed(flow)),
            Self::Lost(_) => None,
        }
    }

    /// Namespaces of a flow's two sides, where known.
    pub fn namespaces(&self) -> impl Iterator<Item = &str> {
        let (stored, built) = match self {
            Self::Datapath(stored) => (Some(stored), None),
            Self::Flow(flow) => (None, Some(flow)),
            Self::Lost(_) => (None, None),
        };
        let built = built.into_iter().flat_map(|f| {
            [f.source.as_ref(), f.destination.as_ref()]
                .into_iter()
                .flatten()
                .map(|e| e.namespace.as_str())
        });
        stored.into_iter().flat_map(|s| s.namespaces()).chain(built)
    }

    /// The node that observed the flow, if it says.
    pub fn node_name(&self) -> Option<&str> {
        match self {
            Self::Datapath(stored) => Some(stored.node_name()),
            Self::Flow(flow) => Some(flow.node_name.as_str()),
            Self::Lost(_) => None,
        }
        .filter(|n| !n.is_empty())
    }
}

/// One event as the pipeline's hooks see it: the event, and its flow built at most once
/// however many hooks read it (metrics, history and the exporter each want the flow of a
/// stored datapath event).
pub struct EventView<'a> {
    event: &'a DecodedEvent,
    flow: std::cell::OnceCell<Option<Cow<'a, flow::Flow>>>,
}

impl<'a> EventView<'a> {
    /// A view of `event`; nothing is built yet.
    pub fn new(event: &'a DecodedEvent) -> Self {
        Self {
            event,
            flow: std::cell::OnceCell::new(),
        }
    }

    /// The event.
    pub fn event(&self) -> &'a DecodedEvent {
        self.event
    }

    /// The event's flow, if it is one, built on the first call.
    pub fn flow(&self) -> Option<&flow::Flow> {
        self.flow.get_or_init(|| self.event.to_flow()).as_deref()
    }

    /// Whether the flow was built (for tests of hooks that must not build it).
    #[cfg(test)]
    pub(crate) fn is_built(&self) -> bool {
        self.flow.get().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of `event` as the kernel writes them.
    pub(crate) fn bytes_of(event: &FlowEvent) -> Vec<u8> {
        let mut out = Vec::with_capacity(size_of::<FlowEvent>());
        out.extend(event.timestamp_ns.to_ne_bytes());
        out.extend([event.kind, event.subtype, event.direction, event.family]);
        out.extend([
            event.protocol,
            event.tcp_flags,
            event.ct_state,
            event.match_type,
        ]);
        out.extend(event.endpoint_id.to_ne_bytes());
        out.extend(event.sport.to_ne_bytes());
        out.extend(event.dport.to_ne_bytes());
        out.extend([event.icmp_type, event.icmp_code]);
        for word in [
            event.ifindex,
            event.src_identity,
            event.dst_identity,
            event.cookie,
            event.pkt_len,
        ] {
            out.extend(word.to_ne_bytes());
        }
        out.extend([event.verdict, event.flags, event.reason, event.pad]);
        out.extend(event.saddr);
        out.extend(event.daddr);
        out
    }

    fn sample() -> FlowEvent {
        FlowEvent {
            timestamp_ns: 0x0102_0304_0506_0708,
            kind: 1,
            subtype: 133,
            direction: 1,
            family: 4,
            protocol: 6,
            tcp_flags: 0x02,
            ct_state: 1,
            match_type: 0,
            endpoint_id: 0x1234,
            sport: 42704,
            dport: 80,
            icmp_type: 0,
            icmp_code: 0,
            ifindex: 7,
            src_identity: 27863,
            dst_identity: 45219,
            cookie: 9,
            pkt_len: 60,
            verdict: 1,
            flags: 4,
            reason: 133,
            pad: 0,
            saddr: [10, 0, 1, 23, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            daddr: [10, 0, 2, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        }
    }

    #[test]
    fn records_parse_field_by_field() {
        let event = sample();
        let bytes = bytes_of(&event);
        assert_eq!(bytes.len(), size_of::<FlowEvent>());
        assert_eq!(Payload::from_record(&bytes), Payload::Flow(event));
    }

    #[test]
    fn trailing_bytes_are_ignored_and_short_records_are_malformed() {
        let mut bytes = bytes_of(&sample());
        bytes.extend([0xff; 8]);
        assert_eq!(Payload::from_record(&bytes), Payload::Flow(sample()));
        assert_eq!(
            Payload::from_record(&bytes[..79]),
            Payload::Malformed { len: 79, need: 80 }
        );
        assert_eq!(
            Payload::from_record(&[]),
            Payload::Malformed { len: 0, need: 80 }
        );
    }

    #[test]
    fn counted_records_carry_their_counters_and_short_ones_are_malformed() {
        let event = FlowEvent {
            flags: event_flags::COUNTED,
            ..sample()
        };
        let counters = ConnectionCounters {
            packets_fwd: 10,
            packets_rev: 9,
            bytes_fwd: 800,
            bytes_rev: 12_000,
            first_seen_ns: 5,
            tcp_flags_seen: 0x1212,
            pad: [0; 6],
        };
        let mut bytes = bytes_of(&event);
        // SAFETY: viewing a repr(C) plain-data value as bytes.
        bytes.extend_from_slice(unsafe {
            std::slice::from_raw_parts(
                (&raw const counters).cast::<u8>(),
                size_of::<ConnectionCounters>(),
            )
        });
        assert_eq!(
            Payload::from_record(&bytes),
            Payload::Counted(event, Box::new(counters))
        );
        assert_eq!(
            Payload::from_record(&bytes[..100]),
            Payload::Malformed {
                len: 100,
                need: 128
            }
        );
    }

    #[test]
    fn lost_sources_map_to_hubble_values() {
        assert_eq!(LostSource::KernelRing.to_proto() as i32, 1);
        assert_eq!(LostSource::EventQueue.to_proto() as i32, 2);
        assert_eq!(LostSource::FlowRing.to_proto() as i32, 3);
    }
}
