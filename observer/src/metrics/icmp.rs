//! `hubble_icmp_total{family,type}`: ICMP messages by family and type name
//! (`EchoRequest`, `DestinationUnreachable(Port)`), as Hubble's `icmp` metric.
//!
//! One deliberate difference: Hubble labels ICMPv6 messages `family="IPv4"` (a bug in
//! its handler); here they are `IPv6`.

use observe_proto::flow::{Flow, layer4};

use super::series::CounterVec;
use super::text::Encoder;
use super::{Handler, Plugin};
use crate::decode::icmp_type_name;

/// The plugin.
pub(super) const PLUGIN: Plugin = Plugin {
    name: "icmp",
    new: || Box::new(IcmpHandler::default()),
};

#[derive(Default)]
struct IcmpHandler {
    messages: CounterVec<(&'static str, String)>,
}

impl Handler for IcmpHandler {
    fn process_flow(&mut self, flow: &Flow) {
        let key = match flow.l4.as_ref().and_then(|l| l.protocol.as_ref()) {
            Some(layer4::Protocol::IcmPv4(icmp)) => {
                ("IPv4", icmp_type_name(false, icmp.r#type, icmp.code))
            }
            Some(layer4::Protocol::IcmPv6(icmp)) => {
                ("IPv6", icmp_type_name(true, icmp.r#type, icmp.code))
            }
            _ => return,
        };
        self.messages.inc(key);
    }

    fn encode(&self, out: &mut Encoder) {
        self.messages.encode(
            out,
            ("hubble_icmp_total", "Number of ICMP messages"),
            ["family", "type"],
            |(family, kind)| [family.to_string(), kind.clone()],
        );
    }
}
