//! `hubble_port_distribution_total{protocol,port}`: forwarded (or redirected) flows that
//! are known not to be replies, by destination port, as Hubble's `port-distribution`
//! metric (ICMP counts under port 0).

use observe_proto::flow::{Flow, Verdict, layer4};

use super::series::CounterVec;
use super::text::Encoder;
use super::{Handler, Plugin};

/// The plugin.
pub(super) const PLUGIN: Plugin = Plugin {
    name: "port-distribution",
    new: || Box::new(PortHandler::default()),
};

#[derive(Default)]
struct PortHandler {
    ports: CounterVec<(&'static str, u32)>,
}

impl Handler for PortHandler {
    fn process_flow(&mut self, flow: &Flow) {
        if !matches!(flow.verdict(), Verdict::Forwarded | Verdict::Redirected) {
            return;
        }
        // Hubble skips replies and flows whose reply state is unknown: their destination
        // port is a client's ephemeral port.
        if flow.is_reply.map(|r| r.value) != Some(false) {
            return;
        }
        let key = match flow.l4.as_ref().and_then(|l4| l4.protocol.as_ref()) {
            Some(layer4::Protocol::Tcp(tcp)) => ("TCP", tcp.destination_port),
            Some(layer4::Protocol::Udp(udp)) => ("UDP", udp.destination_port),
            Some(layer4::Protocol::Sctp(sctp)) => ("SCTP", sctp.destination_port),
            Some(layer4::Protocol::IcmPv4(_)) => ("ICMPv4", 0),
            Some(layer4::Protocol::IcmPv6(_)) => ("ICMPv6", 0),
            Some(layer4::Protocol::Vrrp(_)) => ("VRRP", 0),
            Some(layer4::Protocol::Igmp(_)) => ("IGMP", 0),
            None => return,
        };
        self.ports.inc(key);
    }

    fn encode(&self, out: &mut Encoder) {
        self.ports.encode(
            out,
            (
                "hubble_port_distribution_total",
                "Numbers of packets distributed by destination port",
            ),
            ["protocol", "port"],
            |(protocol, port)| [protocol.to_string(), port.to_string()],
        );
    }
}
