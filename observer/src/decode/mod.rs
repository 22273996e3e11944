//! Turning a datapath [`FlowEvent`] into a Hubble [`Flow`], enriched with endpoint,
//! identity, interface and policy names from the injected getters (set one by one, or
//! loaded once per flow from a [`GetterSource`]).
//!
//! A datapath event is decoded in two steps: when it arrives, the getters are asked what
//! the event needs ([`lookups`]) and the event is kept with the answers
//! ([`StoredFlow`]); when it is read, the flow is built from them ([`StoredFlow::to_flow`]),
//! a flat list of `decode_*` helpers (one per flow field or group of fields, in the
//! submodules), so each field's rule can be read and tested alone, or, for a stream, its
//! response is written from them without building the flow ([`wire`]); an aggregated trace
//! event's connection counters are kept as their flow field ([`connection`]). Decoding never
//! panics: every byte pattern maps to some flow or to a [`ParseError`].

mod clock;
mod connection;
mod dns;
mod endpoint_encodings;
mod endpoints;
mod error;
mod header;
mod http;
mod l7;
mod layers;
mod lookups;
mod names;
mod policy;
mod staged;
mod stored;
mod summary;
mod wire;

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;

use observe_proto::flow::Flow;
use probe_common::event::{ConnectionCounters, FlowEvent};

pub use clock::BootClock;
pub use endpoint_encodings::EndpointEncodings;
pub use error::ParseError;
pub use l7::L7_EVENT_TYPE;
pub use stored::{Detail, StoredFlow};
pub(crate) use summary::icmp_type_name;
pub use wire::WireBuffers;

use crate::event::{DecodedEvent, MonitorEvent, Payload};
use crate::getters::{
    EndpointGetter, GetterSource, Getters, IdentityGetter, LinkGetter, PolicyGetter,
};
use endpoints::EndpointSources;
use lookups::Lookups;

/// Decodes datapath events into flows.
pub struct Decoder {
    clock: BootClock,
    /// The getters set one by one, used when there is no source.
    getters: Getters,
    source: Option<Arc<dyn GetterSource>>,
    uuids: UuidSource,
}

impl Decoder {
    /// A decoder without getters: flows carry what the event says and nothing more.
    pub fn new(clock: BootClock) -> Self {
        Self {
            clock,
            getters: Getters::default(),
            source: None,
            uuids: UuidSource::new(),
        }
    }

    /// Loads the getters from `source` once per flow, instead of the ones set one by one:
    /// for state that changes while flows are decoded, so that no flow mixes two
    /// versions of it.
    pub fn with_getter_source(mut self, source: Arc<dyn GetterSource>) -> Self {
        self.source = Some(source);
        self
    }

    /// Uses `getter` for endpoint names and labels.
    pub fn with_endpoints(mut self, getter: Arc<dyn EndpointGetter>) -> Self {
        self.getters.endpoints = getter;
        self
    }

    /// Uses `getter` for identity labels.
    pub fn with_identities(mut self, getter: Arc<dyn IdentityGetter>) -> Self {
        self.getters.identities = getter;
        self
    }

    /// Uses `getter` for policy names.
    pub fn with_policies(mut self, getter: Arc<dyn PolicyGetter>) -> Self {
        self.getters.policies = getter;
        self
    }

    /// Uses `getter` for interface names.
    pub fn with_links(mut self, getter: Arc<dyn LinkGetter>) -> Self {
        self.getters.links = getter;
        self
    }

    /// Decodes a monitor event carrying a datapath event or an L7 record into a flow.
    ///
    /// # Errors
    ///
    /// As [`Decoder::decode_event`].
    pub fn decode(&mut self, event: &MonitorEvent) -> Result<Flow, ParseError> {
        match self.decode_event(event)? {
            DecodedEvent::Datapath(stored) => Ok(stored.to_flow()),
            DecodedEvent::Flow(flow) => Ok(*flow),
            DecodedEvent::Lost(_) => Err(ParseError::NotAFlow),
        }
    }

    /// Decodes a monitor event into what the flow ring keeps: a datapath event with its
    /// enrichment ([`StoredFlow`], built into a flow when read), or an L7 flow.
    ///
    /// # Errors
    ///
    /// [`ParseError::NotAFlow`] for loss reports, [`ParseError::UnknownEventKind`] for
    /// event kinds that do not become flows, [`ParseError::Truncated`] for a ring-buffer
    /// record too short to be an event.
    pub fn decode_event(&mut self, event: &MonitorEvent) -> Result<DecodedEvent, ParseError> {
        match &event.payload {
            Payload::Flow(ev) => self
                .store_flow_event(ev, &event.node_name)
                .map(DecodedEvent::Datapath),
            Payload::Counted(ev, counters) => self
                .store_flow_event(ev, &event.node_name)
                .map(|stored| DecodedEvent::Datapath(self.with_counters(stored, counters))),
            Payload::Dns(record) => Ok(DecodedEvent::Flow(Box::new(
                self.decode_dns(record, &event.node_name),
            ))),
            Payload::Http(record) => Ok(DecodedEvent::Flow(Box::new(
                self.decode_http(record, &event.node_name),
            ))),
            Payload::Malformed { len, need } => Err(ParseError::Truncated {
                need: *need,
                got: *len,
            }),
            Payload::Lost { .. } => Err(ParseError::NotAFlow),
        }
    }

    /// Decodes one datapath event observed on `node_name` into a flow.
    ///
    /// # Errors
    ///
    /// [`ParseError::UnknownEventKind`] for event kinds that do not become flows.
    pub fn decode_flow_event(
        &mut self,
        ev: &FlowEvent,
        node_name: &str,
    ) -> Result<Flow, ParseError> {
        Ok(self.store_flow_event(ev, &Arc::from(node_name))?.to_flow())
    }

    /// Decodes one datapath event observed on `node_name` into its stored form: the
    /// getters are asked now, the flow is built when read.
    ///
    /// # Errors
    ///
    /// [`ParseError::UnknownEventKind`] for event kinds that do not become flows.
    pub fn store_flow_event(
        &mut self,
        ev: &FlowEvent,
        node_name: &Arc<str>,
    ) -> Result<StoredFlow, ParseError> {
        let header = stored::header(ev)?;
        let getters = match &self.source {
            Some(source) => Cow::Owned(source.load()),
            None => Cow::Borrowed(&self.getters),
        };
        Ok(StoredFlow {
            event: *ev,
            verdict: header.verdict,
            time: self.clock.wall_time(ev.timestamp_ns),
            uuid: self.uuids.next_bytes(),
            node_name: Arc::clone(node_name),
            lookups: Lookups::look_up(ev, &header, &getters),
            connection: None,
        })
    }
}

impl Decoder {
    /// `stored` with its connection's counters, their first-seen time on the wall clock.
    fn with_counters(&self, mut stored: StoredFlow, counters: &ConnectionCounters) -> StoredFlow {
        let first_seen = self.clock.wall_time(counters.first_seen_ns);
        stored.connection = Some(Box::new(connection::counters(counters, first_seen)));
        stored
    }

    /// Decodes one HTTP proxy record observed on `node_name` (an L7 flow; never fails).
    pub fn decode_http(&mut self, record: &crate::l7::HttpRecord, node_name: &str) -> Flow {
        let getters = match &self.source {
            Some(source) => Cow::Owned(source.load()),
            None => Cow::Borrowed(&self.getters),
        };
        Flow {
            uuid: self.uuids.next(),
            ..http::http_flow(record, node_name, &getters)
        }
    }

    /// Decodes one DNS proxy record observed on `node_name` (an L7 flow; never fails).
    pub fn decode_dns(&mut self, record: &crate::l7::DnsRecord, node_name: &str) -> Flow {
        let getters = match &self.source {
            Some(source) => Cow::Owned(source.load()),
            None => Cow::Borrowed(&self.getters),
        };
        Flow {
            uuid: self.uuids.next(),
            ..dns::dns_flow(record, node_name, &getters)
        }
    }
}

fn endpoint_sources(getters: &Getters) -> EndpointSources<'_> {
    EndpointSources {
        endpoints: getters.endpoints.as_ref(),
        identities: getters.identities.as_ref(),
    }
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// Random (version 4) UUIDs from a fast generator seeded once from the OS: flow ids need
/// to be unique, not unpredictable, and a system call per flow would cost more than the
/// rest of decoding.
struct UuidSource {
    state: u64,
}

impl UuidSource {
    fn new() -> Self {
        // RandomState is seeded from the OS's random source.
        let seed = RandomState::new().hash_one(std::time::SystemTime::now());
        Self { state: seed }
    }

    /// SplitMix64: a full-period generator over u64 with good bit mixing.
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// The random bytes of the next UUID.
    fn next_bytes(&mut self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes
    }

    /// The next UUID, formatted.
    fn next(&mut self) -> String {
        uuid_text(self.next_bytes())
    }
}

/// The version-4 UUID of `random` bytes, hyphenated.
fn uuid_text(random: [u8; 16]) -> String {
    let mut text = String::new();
    write_uuid(random, &mut text);
    text
}

/// Writes the UUID of `random` bytes into `out` (emptied), not through the formatter
/// (which grew the string as it wrote, for every flow sent).
fn write_uuid(random: [u8; 16], out: &mut String) {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let uuid = uuid::Builder::from_random_bytes(random).into_uuid();
    out.clear();
    out.push_str(uuid.hyphenated().encode_lower(&mut text));
}

#[cfg(test)]
mod tests;
