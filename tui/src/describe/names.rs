//! Who talked to whom: endpoint names, addresses, ports and protocols of a flow, as the
//! table, the panels and the reproduce commands print them. Every flow-supplied string is
//! sanitized here.

use observe_proto::flow::{Endpoint, Flow, layer4::Protocol};

use super::sanitize::cleaned;

/// Which end of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The sender.
    Source,
    /// The receiver.
    Destination,
}

/// The endpoint of `side`, if the agent resolved it.
pub fn endpoint(flow: &Flow, side: Side) -> Option<&Endpoint> {
    match side {
        Side::Source => flow.source.as_ref(),
        Side::Destination => flow.destination.as_ref(),
    }
}

/// The IP address of `side`, if the flow has an IP header.
pub fn address(flow: &Flow, side: Side) -> Option<String> {
    let ip = flow.ip.as_ref()?;
    let addr = match side {
        Side::Source => &ip.source,
        Side::Destination => &ip.destination,
    };
    (!addr.is_empty()).then(|| cleaned(addr))
}

/// `namespace/pod` of `side`, if the endpoint is a pod.
pub fn pod(flow: &Flow, side: Side) -> Option<String> {
    let ep = endpoint(flow, side)?;
    (!ep.pod_name.is_empty()).then(|| cleaned(&format!("{}/{}", ep.namespace, ep.pod_name)))
}

/// The best human name of `side`: `ns/pod`, else a DNS name, else a reserved identity
/// name with the address (`world 203.0.113.7`), else the address, else `?`.
pub fn name(flow: &Flow, side: Side) -> String {
    if let Some(pod) = pod(flow, side) {
        return pod;
    }
    let names = match side {
        Side::Source => &flow.source_names,
        Side::Destination => &flow.destination_names,
    };
    if let Some(dns) = names.first() {
        return cleaned(dns);
    }
    let addr = address(flow, side);
    match (reserved(flow, side), addr) {
        (Some(r), Some(a)) => format!("{r} {a}"),
        (Some(r), None) => r,
        (None, Some(a)) => a,
        (None, None) => "?".into(),
    }
}

/// `world`, `host`, ... when the endpoint's labels mark a reserved identity.
fn reserved(flow: &Flow, side: Side) -> Option<String> {
    let ep = endpoint(flow, side)?;
    ep.labels
        .iter()
        .find_map(|l| l.strip_prefix("reserved:"))
        .map(cleaned)
}

/// The security identity of `side` (0 when unknown).
pub fn identity(flow: &Flow, side: Side) -> u32 {
    endpoint(flow, side).map_or(0, |e| e.identity)
}

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
pub fn l4(flow: &Flow) -> L4 {
    let Some(protocol) = flow.l4.as_ref().and_then(|l| l.protocol.as_ref()) else {
        return L4::default();
    };
    match protocol {
        Protocol::Tcp(t) => L4 {
            protocol: "TCP",
            source_port: t.source_port,
            destination_port: t.destination_port,
            flags: t.flags.as_ref().map(tcp_flags).unwrap_or_default(),
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

fn tcp_flags(f: &observe_proto::flow::TcpFlags) -> String {
    let all = [
        (f.syn, "SYN"),
        (f.ack, "ACK"),
        (f.fin, "FIN"),
        (f.rst, "RST"),
        (f.psh, "PSH"),
        (f.urg, "URG"),
        (f.ece, "ECE"),
        (f.cwr, "CWR"),
        (f.ns, "NS"),
    ];
    let set: Vec<&str> = all.iter().filter(|(on, _)| *on).map(|(_, n)| *n).collect();
    set.join(", ")
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
    use observe_proto::flow::{Ip, Layer4, Tcp, TcpFlags};

    fn flow() -> Flow {
        Flow {
            ip: Some(Ip {
                source: "10.0.0.1".into(),
                destination: "203.0.113.7".into(),
                ..Default::default()
            }),
            source: Some(Endpoint {
                namespace: "shop".into(),
                pod_name: "frontend".into(),
                ..Default::default()
            }),
            destination: Some(Endpoint {
                labels: vec!["reserved:world".into()],
                identity: 2,
                ..Default::default()
            }),
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
    fn pods_are_named_by_namespace_and_name_and_world_by_identity_and_address() {
        let f = flow();
        assert_eq!(name(&f, Side::Source), "shop/frontend");
        assert_eq!(name(&f, Side::Destination), "world 203.0.113.7");
        assert_eq!(identity(&f, Side::Destination), 2);
    }

    #[test]
    fn ports_print_as_port_slash_protocol() {
        let l = l4(&flow());
        assert_eq!(
            (l.port_protocol(), l.flags.as_str()),
            ("443/TCP".into(), "SYN")
        );
        assert_eq!(l4(&Flow::default()).port_protocol(), "");
    }

    #[test]
    fn escape_sequences_in_pod_names_are_neutralized() {
        let mut f = flow();
        f.source.as_mut().unwrap().pod_name = "x\u{1b}[31m".into();
        assert_eq!(name(&f, Side::Source), "shop/x^[[31m");
    }
}
