//! A stored datapath event's `GetFlowsResponse` written straight from the event: the
//! fields of its whole flow ([`StoredFlow::to_flow`]), encoded as prost encodes them,
//! without building the 2 KB `Flow` first and encoding it field by field. A stream sends
//! every stored event it sends whole (no field mask) this way: building and encoding the
//! flow was a third of the agent's CPU with a follower at 500k flows/s.
//!
//! What few events have besides (policy attribution, DNS names, the staged verdict,
//! connection counters) is built as for the flow, into a flow holding only those, and
//! encoded by prost. A test holds the written response to the built one for every kind
//! of event.

use bytes::Bytes;
use observe_proto::flow::{Flow, FlowType, IpVersion, TrafficDirection};
use observe_proto::raw::{EncodedEndpoints, encode_flow_body_response};
use observe_proto::writer::{flow_field as tag, number, number_len, open, pair, text, text_len};
use prost::Message;

use super::header::*;
use super::layers::{addresses, decode_l4, write_address};
use super::stored::StoredFlow;
use super::{EndpointEncodings, summary, write_uuid};

/// What a stream reuses from one flow's writing to the next.
#[derive(Default)]
pub struct WireBuffers {
    /// The flow's fields.
    body: Vec<u8>,
    /// Its addresses' texts.
    addresses: [String; 2],
    /// Its UUID's.
    uuid: String,
}

impl StoredFlow {
    /// The event's response, with its endpoints from the stream's `endpoints`, the
    /// response's node name `node_name` and the event's time.
    pub fn encode_response(
        &self,
        endpoints: &mut EndpointEncodings,
        node_name: &str,
        buffers: &mut WireBuffers,
    ) -> Bytes {
        buffers.body.clear();
        let direction = self.write_fields(buffers);
        self.write_decisions(direction, &mut buffers.body);
        let [source, destination] = &self.lookups.sides;
        let source = endpoints.encoded(source, self.event.src_identity);
        let destination = endpoints.encoded(destination, self.event.dst_identity);
        let endpoints = EncodedEndpoints {
            source: &source,
            destination: &destination,
        };
        encode_flow_body_response(&buffers.body, Some(endpoints), node_name, Some(&self.time))
    }

    /// What few events have (policy attribution, DNS names, the staged verdict,
    /// connection counters), through a flow holding only those, encoded by prost.
    fn write_decisions(&self, direction: TrafficDirection, out: &mut Vec<u8>) {
        if !self.has_decisions() && self.connection.is_none() {
            return;
        }
        let mut flow = Flow {
            traffic_direction: direction.into(),
            connection: self.connection.as_deref().cloned(),
            ..Default::default()
        };
        self.fill_decisions(&mut flow);
        // Written with the other fields already.
        flow.traffic_direction = 0;
        flow.encode_raw(out);
    }

    /// The flow's fields but its endpoints and decisions, as the whole flow's build has
    /// them; the traffic direction written.
    #[allow(
        deprecated,
        reason = "Hubble still fills drop_reason, reply and Summary"
    )]
    fn write_fields(&self, buffers: &mut WireBuffers) -> TrafficDirection {
        let ev = &self.event;
        let out = &mut buffers.body;
        let drop_reason = decode_drop_reason(ev, self.verdict);
        let is_reply = decode_is_reply(ev);
        let l4 = decode_l4(ev);
        pair(tag::TIME, self.time.seconds, self.time.nanos.into(), out);
        number(tag::VERDICT, self.verdict as i32, out);
        number(tag::DROP_REASON, drop_reason, out);
        let version = self.write_ip(&mut buffers.addresses, out);
        if let Some(l4) = &l4 {
            open(tag::L4, l4.encoded_len(), out);
            l4.encode_raw(out);
        }
        number(tag::TYPE, FlowType::L3L4 as i32, out);
        text(tag::NODE_NAME, &self.node_name, out);
        number(tag::REPLY, u32::from(is_reply == Some(true)), out);
        let event_type = decode_event_type(ev);
        let (kind, subtype) = (event_type.r#type, event_type.sub_type);
        pair(tag::EVENT_TYPE, kind.into(), subtype.into(), out);
        let direction = decode_traffic_direction(ev, is_reply);
        number(tag::TRAFFIC_DIRECTION, direction as i32, out);
        number(tag::POLICY_MATCH_TYPE, decode_policy_match_type(ev), out);
        let point = decode_observation_point(ev);
        number(tag::TRACE_OBSERVATION_POINT, point as i32, out);
        let reason = decode_drop_reason_desc(drop_reason);
        number(tag::DROP_REASON_DESC, reason as i32, out);
        if let Some(value) = is_reply {
            // A `BoolValue`, present even when false.
            open(tag::IS_REPLY, number_len(1, value.into()), out);
            number(1, value, out);
        }
        self.write_interface(out);
        write_uuid(self.uuid, &mut buffers.uuid);
        text(tag::UUID, &buffers.uuid, out);
        number(tag::TRACE_REASON, decode_trace_reason(ev) as i32, out);
        let summary = summary::summary(version, l4.as_ref());
        text(tag::SUMMARY, &summary, out);
        direction
    }

    /// The `IP` message (source 1, destination 2, version 3), its texts written into
    /// `texts`; the version written, if any.
    fn write_ip(&self, texts: &mut [String; 2], out: &mut Vec<u8>) -> Option<IpVersion> {
        let (source, destination) = addresses(&self.event)?;
        let version = if source.is_ipv4() {
            IpVersion::IPv4
        } else {
            IpVersion::IPv6
        };
        let [source_text, destination_text] = texts;
        write_address(source, source_text);
        write_address(destination, destination_text);
        let len = text_len(1, source_text)
            + text_len(2, destination_text)
            + number_len(3, version as i64);
        open(tag::IP, len, out);
        text(1, source_text, out);
        text(2, destination_text, out);
        number(3, version as i32, out);
        Some(version)
    }

    /// The `NetworkInterface` message (index 1, name 2), for an event on an interface.
    fn write_interface(&self, out: &mut Vec<u8>) {
        let index = self.event.ifindex;
        if index == 0 {
            return;
        }
        let name = self.lookups.link.as_deref().unwrap_or_default();
        let len = number_len(1, index.into()) + text_len(2, name);
        open(tag::INTERFACE, len, out);
        number(1, index, out);
        text(2, name, out);
    }
}
