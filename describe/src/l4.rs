//! What a flow carried above IP: the transport protocol, its ports (the ICMP type for
//! ICMP) and TCP flags, as the dashboard's table and the reproduce commands print them.

use observe_proto::flow::{Flow, layer4::Protocol};

use crate::tcp_flags;

/// Transport protocol and ports of a flow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct L4 {
    /// `TCP`, `UDP`, `SCTP`, `ICMPv4`, `ICMPv6`, `VRRP`, `IGMP`, or empty when unknown.
    pub protocol: &'static str,
    /// Source port (0 when the protocol has none).
    pub source_port: u32,
    /// Destination port, or the ICMP type for ICMP.
    pub destination_port: u32,
    /// TCP flags as Hubble prints them (`SYN, ACK`), empty otherwise.
    pub flags: String,
}

/// The protocol and destination port (ICMP: type) of `flow`, without allocating: what
/// identifies a kind of flow, for hashing.
pub fn protocol_and_port(flow: &Flow) -> (&'static str, u32) {
    match flow.l4.as_ref().and_then(|l| l.protocol.as_ref()) {
        None => ("", 0),
        Some(Protocol::Tcp(t)) => ("TCP", t.destination_port),
        Some(Protocol::Udp(u)) => ("UDP", u.destination_port),
        Some(Protocol::Sctp(s)) => ("SCTP", s.destination_port),
        Some(Protocol::IcmPv4(i)) => ("ICMPv4", i.r#type),
        Some(Protocol::IcmPv6(i)) => ("ICMPv6", i.r#type),
        Some(Protocol::Vrrp(_)) => ("VRRP", 0),
        Some(Protocol::Igmp(_)) => ("IGMP", 0),
    }
}

/// The L4 part of `flow`.
pub fn of(flow: &Flow) -> L4 {
    let Some(protocol) = flow.l4.as_ref().and_then(|l| l.protocol.as_ref()) else {
        return L4::default();
    };
    match protocol {
        Protocol::Tcp(t) => L4 {
            protocol: "TCP",
            source_port: t.source_port,
            destination_port: t.destination_port,
            flags: t.flags.as_ref().map(tcp_flags::text).unwrap_or_default(),
        },
        Protocol::Udp(u) => ports("UDP", u.source_port, u.destination_port),
        Protocol::Sctp(s) => ports("SCTP", s.source_port, s.destination_port),
        Protocol::IcmPv4(i) => ports("ICMPv4", 0, i.r#type),
        Protocol::IcmPv6(i) => ports("ICMPv6", 0, i.r#type),
        Protocol::Vrrp(_) => ports("VRRP", 0, 0),
        Protocol::Igmp(_) => ports("IGMP", 0, 0),
    }
}

fn ports(protocol: &'static str, source_port: u32, destination_port: u32) -> L4 {
    L4 {
        protocol,
        source_port,
        destination_port,
        flags: String::new(),
    }
}

impl L4 {
    /// Whether the protocol is ICMP (the "port" is a type).
    pub fn is_icmp(&self) -> bool {
        self.protocol.starts_with("ICMP")
    }

    /// `5432/TCP`, `ICMPv4 type 8`, `UDP`, or empty when unknown.
    pub fn port_protocol(&self) -> String {
        match (self.protocol, self.destination_port) {
            ("", _) => String::new(),
            (p, t) if self.is_icmp() => format!("{p} {t}"),
            (p, 0) => p.to_string(),
            (p, port) => format!("{port}/{p}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use observe_proto::flow::{Layer4, Tcp, TcpFlags};

    fn flow() -> Flow {
        Flow {
            l4: Some(Layer4 {
                protocol: Some(Protocol::Tcp(Tcp {
                    source_port: 40000,
                    destination_port: 443,
                    flags: Some(TcpFlags {
                        syn: true,
                        ..Default::default()
                    }),
                })),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn ports_print_as_port_slash_protocol() {
        let l = of(&flow());
        assert_eq!(
            (l.port_protocol(), l.flags.as_str()),
            ("443/TCP".into(), "SYN")
        );
        assert_eq!(of(&Flow::default()).port_protocol(), "");
    }
}
