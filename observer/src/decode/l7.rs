//! What every L7 proxy record becomes in a flow, whatever the protocol: Hubble's `Type:
//! L7` with its event type, the two ends (the client and the server, swapped for a
//! reply), their endpoints, the transport and the summary. The DNS and HTTP modules add
//! their `l7` record and their policy attribution.

use std::net::SocketAddr;
use std::time::SystemTime;

use observe_proto::Timestamp;
use observe_proto::flow::{
    CiliumEventType, Flow, FlowType, Layer4, Layer7, Tcp, TrafficDirection, Udp, Verdict, layer4,
};

use super::endpoint_sources;
use super::endpoints::endpoint_at;
use super::layers::ip_layer;
use crate::getters::Getters;

/// Hubble's event type for L7 records (Cilium's access-log message type).
pub const L7_EVENT_TYPE: i32 = 129;

/// One end of a proxied exchange.
#[derive(Clone, Copy)]
pub(super) struct End {
    /// Its address and port.
    pub addr: SocketAddr,
    /// Its security identity.
    pub identity: u32,
}

/// What an L7 record says, as the flow needs it.
pub(super) struct L7Parts {
    pub time: SystemTime,
    pub verdict: Verdict,
    pub client: End,
    pub server: End,
    /// The server's half (a response or an answer): it goes server → client.
    pub reply: bool,
    /// TCP rather than UDP.
    pub tcp: bool,
    pub direction: TrafficDirection,
    pub l7: Layer7,
    pub summary: String,
}

/// The flow of `parts` observed on `node_name`.
pub(super) fn l7_flow(parts: L7Parts, node_name: &str, getters: &Getters) -> Flow {
    let (from, to) = if parts.reply {
        (parts.server, parts.client)
    } else {
        (parts.client, parts.server)
    };
    let sources = endpoint_sources(getters);
    let mut flow = Flow {
        time: Some(Timestamp::from(parts.time)),
        verdict: parts.verdict.into(),
        ip: Some(ip_layer(from.addr.ip(), to.addr.ip())),
        l4: Some(l4(from.addr, to.addr, parts.tcp)),
        source: Some(endpoint_at(from.addr.ip(), from.identity, &sources)),
        destination: Some(endpoint_at(to.addr.ip(), to.identity, &sources)),
        r#type: FlowType::L7.into(),
        node_name: node_name.to_string(),
        is_reply: Some(parts.reply.into()),
        event_type: Some(CiliumEventType {
            r#type: L7_EVENT_TYPE,
            sub_type: 0,
        }),
        traffic_direction: parts.direction.into(),
        l7: Some(parts.l7),
        ..Default::default()
    };
    #[allow(
        deprecated,
        reason = "Hubble still fills Summary, and its printer shows it"
    )]
    {
        flow.summary = parts.summary;
    }
    flow
}

fn l4(from: SocketAddr, to: SocketAddr, tcp: bool) -> Layer4 {
    let (source_port, destination_port) = (u32::from(from.port()), u32::from(to.port()));
    let protocol = if tcp {
        layer4::Protocol::Tcp(Tcp {
            source_port,
            destination_port,
            flags: None,
        })
    } else {
        layer4::Protocol::Udp(Udp {
            source_port,
            destination_port,
        })
    };
    Layer4 {
        protocol: Some(protocol),
    }
}
