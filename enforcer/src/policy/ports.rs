//! Protocols, ports, named ports and ICMP type names as policies write them.

/// TCP.
pub const TCP: u8 = 6;
/// UDP.
pub const UDP: u8 = 17;
/// SCTP.
pub const SCTP: u8 = 132;
/// ICMP.
pub const ICMP: u8 = 1;
/// ICMPv6.
pub const ICMPV6: u8 = 58;
/// IGMP (IPv4 only: IPv6 manages multicast groups with MLD, which is ICMPv6).
pub const IGMP: u8 = 2;
/// VRRP.
pub const VRRP: u8 = 112;

/// Protocols `ANY` (or an empty protocol) expands to: not ICMP, and not the protocols
/// without ports (VRRP, IGMP), as in Cilium.
pub const ANY_PROTOCOLS: [u8; 3] = [TCP, UDP, SCTP];

/// Protocols a Cilium `toPorts` entry may name that have no ports: its port must be `0` or
/// absent, and it matches every packet of the protocol.
pub const PORTLESS_PROTOCOLS: [u8; 2] = [VRRP, IGMP];

/// Parses a port protocol as Kubernetes knows them (case-insensitive): TCP, UDP, SCTP, or
/// ANY/empty (which callers that follow Kubernetes reject: it is Cilium's).
pub fn parse_port_protocol(s: &str) -> Option<Vec<u8>> {
    Some(match s.to_ascii_uppercase().as_str() {
        "TCP" => vec![TCP],
        "UDP" => vec![UDP],
        "SCTP" => vec![SCTP],
        "ANY" | "" => ANY_PROTOCOLS.to_vec(),
        _ => return None,
    })
}

/// Parses a Cilium `toPorts` protocol (case-insensitive): the CRD's enum TCP, UDP, SCTP,
/// VRRP, IGMP, or ANY/empty.
pub fn parse_cilium_port_protocol(s: &str) -> Option<Vec<u8>> {
    match s.to_ascii_uppercase().as_str() {
        "VRRP" => Some(vec![VRRP]),
        "IGMP" => Some(vec![IGMP]),
        _ => parse_port_protocol(s),
    }
}

/// Whether `protocol` is one of [`PORTLESS_PROTOCOLS`].
pub fn is_portless(protocol: u8) -> bool {
    PORTLESS_PROTOCOLS.contains(&protocol)
}

/// The name of an IP protocol number, for output.
pub fn protocol_name(p: u8) -> String {
    match p {
        0 => "ANY".into(),
        TCP => "TCP".into(),
        UDP => "UDP".into(),
        SCTP => "SCTP".into(),
        ICMP => "ICMP".into(),
        ICMPV6 => "ICMPv6".into(),
        VRRP => "VRRP".into(),
        IGMP => "IGMP".into(),
        other => format!("proto-{other}"),
    }
}

/// Parses a protocol as the CLI accepts it: a name (case-insensitive) or a number.
pub fn parse_protocol_name(s: &str) -> Option<u8> {
    match s.to_ascii_uppercase().as_str() {
        "TCP" => Some(TCP),
        "UDP" => Some(UDP),
        "SCTP" => Some(SCTP),
        "ICMP" | "ICMPV4" => Some(ICMP),
        "ICMPV6" => Some(ICMPV6),
        "VRRP" => Some(VRRP),
        "IGMP" => Some(IGMP),
        other => other.parse().ok(),
    }
}

/// Whether `s` is a valid IANA service name (what a named port may be): 1-15 characters of
/// lowercase letters, digits and non-consecutive, non-edge hyphens, with at least one
/// letter. Callers lowercase first, as Cilium does.
pub fn is_service_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 15
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && b.iter().any(|c| c.is_ascii_lowercase())
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && !s.contains("--")
}

const ICMPV4_TYPES: &[(&str, u8)] = &[
    ("EchoReply", 0),
    ("DestinationUnreachable", 3),
    ("Redirect", 5),
    ("Echo", 8),
    ("EchoRequest", 8),
    ("RouterAdvertisement", 9),
    ("RouterSelection", 10),
    ("TimeExceeded", 11),
    ("ParameterProblem", 12),
    ("Timestamp", 13),
    ("TimestampReply", 14),
    ("Photuris", 40),
    ("ExtendedEchoRequest", 42),
    ("ExtendedEchoReply", 43),
];

const ICMPV6_TYPES: &[(&str, u8)] = &[
    ("DestinationUnreachable", 1),
    ("PacketTooBig", 2),
    ("TimeExceeded", 3),
    ("ParameterProblem", 4),
    ("EchoRequest", 128),
    ("EchoReply", 129),
    ("MulticastListenerQuery", 130),
    ("MulticastListenerReport", 131),
    ("MulticastListenerDone", 132),
    ("RouterSolicitation", 133),
    ("RouterAdvertisement", 134),
    ("NeighborSolicitation", 135),
    ("NeighborAdvertisement", 136),
    ("RedirectMessage", 137),
    ("RouterRenumbering", 138),
    ("ICMPNodeInformationQuery", 139),
    ("ICMPNodeInformationResponse", 140),
    ("InverseNeighborDiscoverySolicitation", 141),
    ("InverseNeighborDiscoveryAdvertisement", 142),
    ("HomeAgentAddressDiscoveryRequest", 144),
    ("HomeAgentAddressDiscoveryReply", 145),
    ("MobilePrefixSolicitation", 146),
    ("MobilePrefixAdvertisement", 147),
    ("DuplicateAddressRequestCodeSuffix", 157),
    ("DuplicateAddressConfirmationCodeSuffix", 158),
    ("ExtendedEchoRequest", 160),
    ("ExtendedEchoReply", 161),
];

/// Parses an ICMP type: a number 0-255 or a name of the family's table.
pub fn parse_icmp_type(s: &str, v6: bool) -> Option<u8> {
    if let Ok(n) = s.parse::<u8>() {
        return Some(n);
    }
    let table = if v6 { ICMPV6_TYPES } else { ICMPV4_TYPES };
    table.iter().find(|(n, _)| *n == s).map(|(_, t)| *t)
}

/// The name of an ICMP type, for output (`EchoRequest`), or its number.
pub fn icmp_type_name(t: u8, v6: bool) -> String {
    let table = if v6 { ICMPV6_TYPES } else { ICMPV4_TYPES };
    table
        .iter()
        .filter(|(n, _)| *n != "Echo")
        .find(|(_, x)| *x == t)
        .map_or_else(|| t.to_string(), |(n, _)| (*n).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_is_tcp_udp_sctp_not_icmp() {
        assert_eq!(parse_port_protocol("any"), Some(vec![TCP, UDP, SCTP]));
        assert_eq!(parse_port_protocol(""), Some(vec![TCP, UDP, SCTP]));
        assert_eq!(parse_port_protocol("ICMP"), None);
    }

    #[test]
    fn cilium_port_protocols_add_vrrp_and_igmp_which_any_does_not_cover() {
        assert_eq!(parse_cilium_port_protocol("VRRP"), Some(vec![VRRP]));
        assert_eq!(parse_cilium_port_protocol("igmp"), Some(vec![IGMP]));
        assert_eq!(
            parse_cilium_port_protocol("ANY"),
            Some(vec![TCP, UDP, SCTP])
        );
        assert_eq!(parse_cilium_port_protocol("GRE"), None);
        assert_eq!(parse_port_protocol("VRRP"), None, "Kubernetes has no VRRP");
        assert!(is_portless(VRRP) && is_portless(IGMP) && !is_portless(UDP));
    }

    #[test]
    fn protocol_names_include_vrrp_and_igmp_both_ways() {
        assert_eq!(protocol_name(112), "VRRP");
        assert_eq!(protocol_name(2), "IGMP");
        assert_eq!(parse_protocol_name("vrrp"), Some(112));
        assert_eq!(parse_protocol_name("IGMP"), Some(2));
        assert_eq!(parse_protocol_name("47"), Some(47));
        assert_eq!(protocol_name(47), "proto-47");
    }

    #[test]
    fn service_names_follow_iana_syntax() {
        for ok in ["http", "http-alt", "dns-tcp", "h2c", "metrics9"] {
            assert!(is_service_name(ok), "{ok}");
        }
        for bad in [
            "",
            "-http",
            "http-",
            "ht--tp",
            "1234",
            "a-very-long-port-name",
            "HTTP",
        ] {
            assert!(!is_service_name(bad), "{bad}");
        }
    }

    #[test]
    fn icmp_types_by_number_or_name() {
        assert_eq!(parse_icmp_type("8", false), Some(8));
        assert_eq!(parse_icmp_type("EchoRequest", false), Some(8));
        assert_eq!(parse_icmp_type("EchoRequest", true), Some(128));
        assert_eq!(parse_icmp_type("Bogus", false), None);
        assert_eq!(icmp_type_name(8, false), "EchoRequest");
        assert_eq!(icmp_type_name(200, false), "200");
    }
}
