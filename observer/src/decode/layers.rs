//! Network and transport layer fields: addresses and IP version, ports, TCP flags, ICMP
//! type and code. The datapath parsed the packet already; these only reformat.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use observe_proto::flow::{
    IcmPv4, IcmPv6, Igmp, Ip, IpVersion, Layer4, Sctp, Tcp, TcpFlags, Udp, Vrrp, layer4,
};
use probe_common::event::FlowEvent;
use probe_common::ipcache::{FAMILY_V4, FAMILY_V6};

/// IP protocol numbers the decoder knows.
mod proto {
    pub const ICMP: u8 = 1;
    pub const IGMP: u8 = 2;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const ICMPV6: u8 = 58;
    pub const VRRP: u8 = 112;
    pub const SCTP: u8 = 132;
}

/// The event's source and destination addresses, if it is an IP packet.
pub(super) fn addresses(ev: &FlowEvent) -> Option<(IpAddr, IpAddr)> {
    match ev.family {
        FAMILY_V4 => Some((v4(&ev.saddr).into(), v4(&ev.daddr).into())),
        FAMILY_V6 => Some((
            Ipv6Addr::from(ev.saddr).into(),
            Ipv6Addr::from(ev.daddr).into(),
        )),
        _ => None,
    }
}

fn v4(addr: &[u8; 16]) -> Ipv4Addr {
    Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3])
}

/// The IP layer; `None` for non-IP packets. The address texts are written into
/// `buffers` (emptied; their allocations reused).
pub(super) fn decode_ip(ev: &FlowEvent, buffers: [String; 2]) -> Option<Ip> {
    let (source, destination) = addresses(ev)?;
    Some(ip_layer_into(source, destination, buffers))
}

/// The IP layer of a packet between two addresses (of one family).
pub(super) fn ip_layer(source: IpAddr, destination: IpAddr) -> Ip {
    ip_layer_into(source, destination, Default::default())
}

fn ip_layer_into(
    source: IpAddr,
    destination: IpAddr,
    [mut source_text, mut destination_text]: [String; 2],
) -> Ip {
    let version = if source.is_ipv4() {
        IpVersion::IPv4
    } else {
        IpVersion::IPv6
    };
    write_address(source, &mut source_text);
    write_address(destination, &mut destination_text);
    Ip {
        source: source_text,
        destination: destination_text,
        ip_version: version.into(),
        ..Default::default()
    }
}

/// Writes `addr` into `out` (emptied) as `Display` writes it; IPv4 without the
/// formatting machinery, which costs more than the rest of a flow's header (every flow
/// has two addresses).
pub(super) fn write_address(addr: IpAddr, out: &mut String) {
    out.clear();
    let IpAddr::V4(v4) = addr else {
        use std::fmt::Write;
        let _ = write!(out, "{addr}");
        return;
    };
    out.reserve(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if octet >= 100 {
            out.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            out.push(char::from(b'0' + octet / 10 % 10));
        }
        out.push(char::from(b'0' + octet % 10));
    }
}

/// The transport layer; `None` for protocols without one we know. ICMP counts only with
/// the matching IP version (ICMPv4 over IPv6 is not a thing), IGMP only over IPv4. VRRP and
/// IGMP are named without their fields (type, router id, priority, group): the datapath
/// does not read them.
pub(super) fn decode_l4(ev: &FlowEvent) -> Option<Layer4> {
    let (sport, dport) = (u32::from(ev.sport), u32::from(ev.dport));
    let protocol = match (ev.protocol, ev.family) {
        (proto::TCP, _) => layer4::Protocol::Tcp(Tcp {
            source_port: sport,
            destination_port: dport,
            flags: Some(decode_tcp_flags(ev.tcp_flags)),
        }),
        (proto::UDP, _) => layer4::Protocol::Udp(Udp {
            source_port: sport,
            destination_port: dport,
        }),
        (proto::SCTP, _) => layer4::Protocol::Sctp(Sctp {
            source_port: sport,
            destination_port: dport,
        }),
        (proto::ICMP, FAMILY_V4) => layer4::Protocol::IcmPv4(IcmPv4 {
            r#type: u32::from(ev.icmp_type),
            code: u32::from(ev.icmp_code),
        }),
        (proto::ICMPV6, FAMILY_V6) => layer4::Protocol::IcmPv6(IcmPv6 {
            r#type: u32::from(ev.icmp_type),
            code: u32::from(ev.icmp_code),
        }),
        (proto::VRRP, _) => layer4::Protocol::Vrrp(Vrrp::default()),
        (proto::IGMP, FAMILY_V4) => layer4::Protocol::Igmp(Igmp::default()),
        _ => return None,
    };
    Some(Layer4 {
        protocol: Some(protocol),
    })
}

/// The TCP flags byte as the proto message (NS lives outside that byte and is never set).
pub(super) fn decode_tcp_flags(flags: u8) -> TcpFlags {
    let bit = |b: u8| flags & b != 0;
    TcpFlags {
        fin: bit(0x01),
        syn: bit(0x02),
        rst: bit(0x04),
        psh: bit(0x08),
        ack: bit(0x10),
        urg: bit(0x20),
        ece: bit(0x40),
        cwr: bit(0x80),
        ns: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `addr` as [`write_address`] writes it into a new string.
    fn address_text(addr: IpAddr) -> String {
        let mut out = String::new();
        write_address(addr, &mut out);
        out
    }

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for v in 0..=255u8 {
            for octets in [
                [v, 0, 9, 1],
                [10, v, 100, 255],
                [1, 22, v, 45],
                [v, v, v, v],
            ] {
                let addr = IpAddr::from(octets);
                assert_eq!(address_text(addr), addr.to_string());
            }
        }
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(address_text(v6), "2001:db8::1");
    }

    fn ev(family: u8, protocol: u8) -> FlowEvent {
        let mut saddr = [0u8; 16];
        let mut daddr = [0u8; 16];
        if family == FAMILY_V4 {
            saddr[..4].copy_from_slice(&[10, 0, 0, 1]);
            daddr[..4].copy_from_slice(&[10, 0, 0, 2]);
        } else {
            saddr = "fd00::1".parse::<Ipv6Addr>().unwrap().octets();
            daddr = "fd00::2".parse::<Ipv6Addr>().unwrap().octets();
        }
        FlowEvent {
            family,
            protocol,
            saddr,
            daddr,
            sport: 1234,
            dport: 80,
            tcp_flags: 0x12,
            icmp_type: 8,
            ..FlowEvent::default()
        }
    }

    #[test]
    fn addresses_follow_the_family() {
        let ip = decode_ip(&ev(FAMILY_V4, proto::TCP), Default::default()).unwrap();
        assert_eq!(
            (ip.source.as_str(), ip.destination.as_str()),
            ("10.0.0.1", "10.0.0.2")
        );
        assert_eq!(ip.ip_version(), IpVersion::IPv4);
        let ip6 = decode_ip(&ev(FAMILY_V6, proto::TCP), Default::default()).unwrap();
        assert_eq!(
            (ip6.source.as_str(), ip6.ip_version()),
            ("fd00::1", IpVersion::IPv6)
        );
        assert_eq!(decode_ip(&ev(0, 0), Default::default()), None);
        // Buffers that held longer addresses are emptied first.
        let earlier = [String::from("2001:db8::dead:beef"), String::from("fd00::2")];
        assert_eq!(decode_ip(&ev(FAMILY_V4, proto::TCP), earlier), Some(ip));
    }

    #[test]
    fn transport_layers_carry_ports_flags_and_icmp_fields() {
        let Some(layer4::Protocol::Tcp(tcp)) =
            decode_l4(&ev(FAMILY_V4, proto::TCP)).unwrap().protocol
        else {
            panic!("tcp");
        };
        assert_eq!((tcp.source_port, tcp.destination_port), (1234, 80));
        let flags = tcp.flags.unwrap();
        assert!(flags.syn && flags.ack && !flags.fin);
        let udp = decode_l4(&ev(FAMILY_V4, proto::UDP)).unwrap().protocol;
        assert!(matches!(
            udp,
            Some(layer4::Protocol::Udp(Udp {
                destination_port: 80,
                ..
            }))
        ));
        let icmp = decode_l4(&ev(FAMILY_V4, proto::ICMP)).unwrap().protocol;
        assert!(matches!(
            icmp,
            Some(layer4::Protocol::IcmPv4(IcmPv4 { r#type: 8, code: 0 }))
        ));
        let icmp6 = decode_l4(&ev(FAMILY_V6, proto::ICMPV6)).unwrap().protocol;
        assert!(matches!(icmp6, Some(layer4::Protocol::IcmPv6(_))));
        assert_eq!(decode_l4(&ev(FAMILY_V6, proto::ICMP)), None);
        assert_eq!(decode_l4(&ev(FAMILY_V4, 47)), None);
    }

    #[test]
    fn vrrp_and_igmp_are_named_and_igmp_only_over_ipv4() {
        let l4 = |family, p| decode_l4(&ev(family, p)).and_then(|l| l.protocol);
        assert!(matches!(
            l4(FAMILY_V4, proto::VRRP),
            Some(layer4::Protocol::Vrrp(_))
        ));
        assert!(matches!(
            l4(FAMILY_V6, proto::VRRP),
            Some(layer4::Protocol::Vrrp(_))
        ));
        assert!(matches!(
            l4(FAMILY_V4, proto::IGMP),
            Some(layer4::Protocol::Igmp(_))
        ));
        assert_eq!(l4(FAMILY_V6, proto::IGMP), None);
    }
}
