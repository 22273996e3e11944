//! Fuzzes the relay's reading of a node's `GetFlowsResponse` (`observe_proto::raw`): any
//! bytes must parse or be refused, never panic; and whatever prost decodes as a response
//! must give the kind and time the relay reads without decoding the flow.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use observe_proto::observer::GetFlowsResponse;
use observe_proto::observer::get_flows_response::ResponseTypes;
use observe_proto::raw::{Kind, RawResponse, nanos};
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let raw = RawResponse::parse(Bytes::copy_from_slice(data));
    let Ok(decoded) = GetFlowsResponse::decode(data) else {
        return;
    };
    // prost accepts what the relay's reader accepts, at least.
    let raw = raw.expect("a response prost decodes parses");
    let kind = match decoded.response_types {
        Some(ResponseTypes::Flow(_)) => Kind::Flow,
        Some(ResponseTypes::NodeStatus(_)) => Kind::NodeStatus,
        Some(ResponseTypes::LostEvents(_)) => Kind::LostEvents,
        None => Kind::Other,
    };
    assert_eq!(raw.kind, kind);
    assert_eq!(raw.time, decoded.time.map(|t| nanos(t.seconds, t.nanos)));
});
