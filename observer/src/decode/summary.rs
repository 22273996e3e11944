//! The one-line `Summary` that compact output prints in parentheses: `TCP Flags: SYN`,
//! `UDP`, `ICMPv4 EchoRequest`, `ICMPv6 DestinationUnreachable(PortUnreachable)`.
//!
//! The ICMP names are the ones Hubble prints (gopacket's type/code names), so output can
//! be compared line by line.

use observe_proto::flow::{IpVersion, Layer4, layer4};

/// The summary of a flow's L3/L4 layers: its transport layer, or else the version of its
/// IP layer (`None` without one).
pub(super) fn summary(ip: Option<IpVersion>, l4: Option<&Layer4>) -> String {
    match l4.and_then(|l4| l4.protocol.as_ref()) {
        Some(layer4::Protocol::Tcp(tcp)) => {
            format!(
                "TCP Flags: {}",
                observe_describe::tcp_flags::text(&tcp.flags.unwrap_or_default())
            )
        }
        Some(layer4::Protocol::Udp(_)) => "UDP".into(),
        Some(layer4::Protocol::Sctp(_)) => "SCTP".into(),
        Some(layer4::Protocol::IcmPv4(icmp)) => {
            format!("ICMPv4 {}", icmp_name(ICMPV4, icmp.r#type, icmp.code))
        }
        Some(layer4::Protocol::IcmPv6(icmp)) => {
            format!("ICMPv6 {}", icmp_name(ICMPV6, icmp.r#type, icmp.code))
        }
        Some(layer4::Protocol::Vrrp(_)) => "VRRP".into(),
        Some(layer4::Protocol::Igmp(_)) => "IGMP".into(),
        None => match ip {
            Some(IpVersion::IPv4) => "IPv4".into(),
            Some(IpVersion::IPv6) => "IPv6".into(),
            _ => "Ethernet".into(),
        },
    }
}

/// A type with its name and, if it uses the code field, its code names.
type IcmpType = (u32, &'static str, &'static [(u32, &'static str)]);

const UNREACH4: &[(u32, &str)] = &[
    (0, "Net"),
    (1, "Host"),
    (2, "Protocol"),
    (3, "Port"),
    (4, "FragmentationNeeded"),
    (5, "SourceRoutingFailed"),
    (6, "NetUnknown"),
    (7, "HostUnknown"),
    (8, "SourceIsolated"),
    (9, "NetAdminProhibited"),
    (10, "HostAdminProhibited"),
    (11, "NetTOS"),
    (12, "HostTOS"),
    (13, "CommAdminProhibited"),
    (14, "HostPrecedence"),
    (15, "PrecedenceCutoff"),
];
const TIME_EXCEEDED4: &[(u32, &str)] = &[(0, "TTLExceeded"), (1, "FragmentReassemblyTimeExceeded")];
const PARAM4: &[(u32, &str)] = &[
    (0, "PointerIndicatesError"),
    (1, "MissingOption"),
    (2, "BadLength"),
];
const REDIRECT4: &[(u32, &str)] = &[(0, "Net"), (1, "Host"), (2, "TOS+Net"), (3, "TOS+Host")];

const ICMPV4: &[IcmpType] = &[
    (0, "EchoReply", &[]),
    (3, "DestinationUnreachable", UNREACH4),
    (4, "SourceQuench", &[]),
    (5, "Redirect", REDIRECT4),
    (8, "EchoRequest", &[]),
    (9, "RouterAdvertisement", &[]),
    (10, "RouterSolicitation", &[]),
    (11, "TimeExceeded", TIME_EXCEEDED4),
    (12, "ParameterProblem", PARAM4),
    (13, "TimestampRequest", &[]),
    (14, "TimestampReply", &[]),
    (15, "InfoRequest", &[]),
    (16, "InfoReply", &[]),
    (17, "AddressMaskRequest", &[]),
    (18, "AddressMaskReply", &[]),
];

const UNREACH6: &[(u32, &str)] = &[
    (0, "NoRouteToDst"),
    (1, "AdminProhibited"),
    (2, "BeyondScopeOfSrc"),
    (3, "AddressUnreachable"),
    (4, "PortUnreachable"),
    (5, "SrcAddressFailedPolicy"),
    (6, "RejectRouteToDst"),
];
const TIME_EXCEEDED6: &[(u32, &str)] = &[
    (0, "HopLimitExceeded"),
    (1, "FragmentReassemblyTimeExceeded"),
];
const PARAM6: &[(u32, &str)] = &[
    (0, "ErroneousHeaderField"),
    (1, "UnrecognizedNextHeader"),
    (2, "UnrecognizedIPv6Option"),
];

const ICMPV6: &[IcmpType] = &[
    (1, "DestinationUnreachable", UNREACH6),
    (2, "PacketTooBig", &[]),
    (3, "TimeExceeded", TIME_EXCEEDED6),
    (4, "ParameterProblem", PARAM6),
    (128, "EchoRequest", &[]),
    (129, "EchoReply", &[]),
    (133, "RouterSolicitation", &[]),
    (134, "RouterAdvertisement", &[]),
    (135, "NeighborSolicitation", &[]),
    (136, "NeighborAdvertisement", &[]),
    (137, "Redirect", &[]),
];

/// The ICMP type and code as Hubble names them (`EchoRequest`,
/// `DestinationUnreachable(Port)`): the summary's text, and the `type` label of
/// `hubble_icmp_total`.
pub(crate) fn icmp_type_name(v6: bool, ty: u32, code: u32) -> String {
    icmp_name(if v6 { ICMPV6 } else { ICMPV4 }, ty, code)
}

/// `Name`, `Name(CodeName)`, `Name(Code: n)` or `type(code)` for unknown types.
fn icmp_name(table: &[IcmpType], ty: u32, code: u32) -> String {
    let Some((_, name, codes)) = table.iter().find(|(t, _, _)| *t == ty) else {
        return format!("{ty}({code})");
    };
    if codes.is_empty() && code == 0 {
        return (*name).to_string();
    }
    match codes.iter().find(|(c, _)| *c == code) {
        Some((_, code_name)) => format!("{name}({code_name})"),
        None => format!("{name}(Code: {code})"),
    }
}

#[cfg(test)]
mod tests {
    use observe_proto::flow::TcpFlags;

    use super::*;
    use observe_proto::flow::{IcmPv4, IcmPv6, Tcp, Udp};

    fn l4(protocol: layer4::Protocol) -> Layer4 {
        Layer4 {
            protocol: Some(protocol),
        }
    }

    #[test]
    fn tcp_lists_flags_in_hubble_order() {
        let flags = TcpFlags {
            ack: true,
            psh: true,
            ..Default::default()
        };
        let tcp = l4(layer4::Protocol::Tcp(Tcp {
            flags: Some(flags),
            ..Default::default()
        }));
        assert_eq!(summary(None, Some(&tcp)), "TCP Flags: ACK, PSH");
        let udp = l4(layer4::Protocol::Udp(Udp::default()));
        assert_eq!(summary(None, Some(&udp)), "UDP");
    }

    #[test]
    fn icmp_names_match_hubble() {
        let v4 = |t, c| {
            summary(
                None,
                Some(&l4(layer4::Protocol::IcmPv4(IcmPv4 { r#type: t, code: c }))),
            )
        };
        assert_eq!(v4(8, 0), "ICMPv4 EchoRequest");
        assert_eq!(v4(3, 3), "ICMPv4 DestinationUnreachable(Port)");
        assert_eq!(v4(3, 99), "ICMPv4 DestinationUnreachable(Code: 99)");
        assert_eq!(v4(0, 5), "ICMPv4 EchoReply(Code: 5)");
        assert_eq!(v4(200, 1), "ICMPv4 200(1)");
        let v6 = |t, c| {
            summary(
                None,
                Some(&l4(layer4::Protocol::IcmPv6(IcmPv6 { r#type: t, code: c }))),
            )
        };
        assert_eq!(v6(128, 0), "ICMPv6 EchoRequest");
        assert_eq!(v6(1, 4), "ICMPv6 DestinationUnreachable(PortUnreachable)");
    }

    #[test]
    fn without_transport_the_ip_version_is_named() {
        assert_eq!(summary(Some(IpVersion::IPv6), None), "IPv6");
        assert_eq!(summary(None, None), "Ethernet");
    }
}
