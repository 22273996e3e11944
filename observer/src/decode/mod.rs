//! Turning a datapath [`FlowEvent`] into a Hubble [`Flow`], enriched with endpoint,
//! identity, interface and policy names from the injected getters (set one by one, or
//! loaded once per flow from a [`GetterSource`]).
//!
//! [`Decoder::decode`] is a flat list of `decode_*` helpers (one per flow field or group
//! of fields, in the submodules), so each field's rule can be read and tested alone.
//! Decoding never panics: every byte pattern maps to some flow or to a [`ParseError`].

mod clock;
mod dns;
mod endpoints;
mod error;
mod header;
mod http;
mod l7;
mod layers;
mod names;
mod policy;
mod summary;

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;

use observe_proto::flow::{Flow, FlowType, NetworkInterface};
use probe_common::event::FlowEvent;

pub use clock::BootClock;
pub use error::ParseError;
pub use l7::L7_EVENT_TYPE;
pub(crate) use summary::icmp_type_name;

use crate::event::{MonitorEvent, Payload};
use crate::getters::{
    EndpointGetter, GetterSource, Getters, IdentityGetter, LinkGetter, PolicyGetter,
};
use endpoints::EndpointSources;
use header::*;
use layers::{addresses, decode_ip, decode_l4};

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

    /// Decodes a monitor event carrying a datapath event.
    ///
    /// # Errors
    ///
    /// [`ParseError::NotAFlow`] for loss reports, [`ParseError::UnknownEventKind`] for
    /// event kinds that do not become flows, [`ParseError::Truncated`] for a ring-buffer
    /// record too short to be an event.
    pub fn decode(&mut self, event: &MonitorEvent) -> Result<Flow, ParseError> {
        match &event.payload {
            Payload::Flow(ev) => self.decode_flow_event(ev, &event.node_name),
            Payload::Dns(record) => Ok(self.decode_dns(record, &event.node_name)),
            Payload::Http(record) => Ok(self.decode_http(record, &event.node_name)),
            Payload::Malformed { len } => Err(ParseError::Truncated {
                need: size_of::<FlowEvent>(),
                got: *len,
            }),
            Payload::Lost { .. } => Err(ParseError::NotAFlow),
        }
    }

    /// Decodes one datapath event observed on `node_name`.
    ///
    /// # Errors
    ///
    /// [`ParseError::UnknownEventKind`] for event kinds that do not become flows.
    pub fn decode_flow_event(
        &mut self,
        ev: &FlowEvent,
        node_name: &str,
    ) -> Result<Flow, ParseError> {
        let getters = match &self.source {
            Some(source) => Cow::Owned(source.load()),
            None => Cow::Borrowed(&self.getters),
        };
        let verdict = decode_verdict(ev)?;
        let drop_reason = decode_drop_reason(ev, verdict);
        let is_reply = decode_is_reply(ev);
        let addrs = addresses(ev);
        let (source, destination) =
            endpoints::decode_endpoints(ev, addrs, &endpoint_sources(&getters));
        let ip = decode_ip(ev);
        let l4 = decode_l4(ev);
        #[allow(
            deprecated,
            reason = "Hubble still fills drop_reason, reply and Summary"
        )]
        let mut flow = Flow {
            time: Some(self.clock.wall_time(ev.timestamp_ns)),
            uuid: self.uuids.next(),
            verdict: verdict.into(),
            drop_reason,
            drop_reason_desc: decode_drop_reason_desc(drop_reason).into(),
            summary: summary::summary(ip.as_ref(), l4.as_ref()),
            ip,
            l4,
            source: Some(source),
            destination: Some(destination),
            r#type: FlowType::L3L4.into(),
            node_name: node_name.to_string(),
            is_reply: is_reply.map(Into::into),
            reply: is_reply == Some(true),
            event_type: Some(decode_event_type(ev)),
            traffic_direction: decode_traffic_direction(ev, is_reply).into(),
            policy_match_type: decode_policy_match_type(ev),
            trace_observation_point: decode_observation_point(ev).into(),
            trace_reason: decode_trace_reason(ev).into(),
            interface: decode_interface(ev, getters.links.as_ref()),
            ..Default::default()
        };
        policy::decode_policy(ev, &mut flow, getters.policies.as_ref());
        names::decode_names(
            u32::from(ev.endpoint_id),
            addrs,
            &mut flow,
            getters.fqdn.as_ref(),
        );
        Ok(flow)
    }
}

impl Decoder {
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

/// The interface the hook runs on (the endpoint's host-side veth).
fn decode_interface(ev: &FlowEvent, links: &dyn LinkGetter) -> Option<NetworkInterface> {
    (ev.ifindex != 0).then(|| NetworkInterface {
        index: ev.ifindex,
        name: links.link_name(ev.ifindex).unwrap_or_default(),
    })
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

    fn next(&mut self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .to_string()
    }
}

#[cfg(test)]
mod tests;
