//! `protocol`: L4 protocols (tcp, udp, sctp, icmp = either ICMP version, icmpv4, icmpv6,
//! vrrp, igmp) or L7 ones (dns, http, kafka), case-insensitive.

use observe_proto::flow::{Flow, FlowFilter, layer4, layer7};

use super::{FilterBuilder, FilterError, FilterFn};

/// Builds the `protocol` filter.
pub struct ProtocolFilter;

/// A protocol a flow can be checked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    Tcp,
    Udp,
    Sctp,
    Icmp,
    Icmpv4,
    Icmpv6,
    Vrrp,
    Igmp,
    Dns,
    Http,
    Kafka,
}

impl ProtocolFilter {
    fn parse(name: &str) -> Result<Protocol, FilterError> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "sctp" => Protocol::Sctp,
            "icmp" => Protocol::Icmp,
            "icmpv4" => Protocol::Icmpv4,
            "icmpv6" => Protocol::Icmpv6,
            "vrrp" => Protocol::Vrrp,
            "igmp" => Protocol::Igmp,
            "dns" => Protocol::Dns,
            "http" => Protocol::Http,
            "kafka" => Protocol::Kafka,
            _ => return Err(FilterError::invalid("protocol", name, "unknown protocol")),
        })
    }
}

impl FilterBuilder for ProtocolFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        if filter.protocol.is_empty() {
            return Ok(vec![]);
        }
        let wanted = filter
            .protocol
            .iter()
            .map(|p| Self::parse(p))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(vec![Box::new(move |flow: &Flow| {
            wanted.iter().any(|&p| is(flow, p))
        })])
    }
}

fn is(flow: &Flow, protocol: Protocol) -> bool {
    use layer4::Protocol as L4;
    use layer7::Record as L7;
    let l4 = flow.l4.as_ref().and_then(|l| l.protocol.as_ref());
    let l7 = flow.l7.as_ref().and_then(|l| l.record.as_ref());
    match protocol {
        Protocol::Tcp => matches!(l4, Some(L4::Tcp(_))),
        Protocol::Udp => matches!(l4, Some(L4::Udp(_))),
        Protocol::Sctp => matches!(l4, Some(L4::Sctp(_))),
        Protocol::Icmp => matches!(l4, Some(L4::IcmPv4(_) | L4::IcmPv6(_))),
        Protocol::Icmpv4 => matches!(l4, Some(L4::IcmPv4(_))),
        Protocol::Icmpv6 => matches!(l4, Some(L4::IcmPv6(_))),
        Protocol::Vrrp => matches!(l4, Some(L4::Vrrp(_))),
        Protocol::Igmp => matches!(l4, Some(L4::Igmp(_))),
        Protocol::Dns => matches!(l7, Some(L7::Dns(_))),
        Protocol::Http => matches!(l7, Some(L7::Http(_))),
        #[allow(deprecated, reason = "Kafka records still exist in Hubble's schema")]
        Protocol::Kafka => matches!(l7, Some(L7::Kafka(_))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::{FlowFilter, IcmPv6, Igmp, Layer4, TcpFlags, Vrrp, layer4};

    fn filter(names: &[&str]) -> FlowFilter {
        FlowFilter {
            protocol: names.iter().map(|n| n.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn matches_l4_protocols_case_insensitively() {
        let mut icmp6 = forwarded();
        icmp6.l4 = Some(Layer4 {
            protocol: Some(layer4::Protocol::IcmPv6(IcmPv6::default())),
        });
        let tcp = with_tcp(forwarded(), 1, 2, TcpFlags::default());
        check(
            filter(&["TCP"]),
            &[
                ("tcp", tcp.clone(), true),
                ("udp", with_udp(forwarded(), 1, 2), false),
            ],
        );
        check(
            filter(&["icmp"]),
            &[
                ("icmpv6 is icmp", icmp6.clone(), true),
                ("tcp", tcp.clone(), false),
            ],
        );
        check(
            filter(&["icmpv4", "udp"]),
            &[
                ("icmpv6", icmp6, false),
                ("udp", with_udp(forwarded(), 1, 2), true),
            ],
        );
        check(
            filter(&["http"]),
            &[("l3/l4 flow", tcp, false), ("nothing", forwarded(), false)],
        );
    }

    #[test]
    fn vrrp_and_igmp_are_their_own_protocols() {
        let with = |protocol| {
            let mut flow = forwarded();
            flow.l4 = Some(Layer4 {
                protocol: Some(protocol),
            });
            flow
        };
        let vrrp = with(layer4::Protocol::Vrrp(Vrrp::default()));
        let igmp = with(layer4::Protocol::Igmp(Igmp::default()));
        check(
            filter(&["VRRP"]),
            &[
                ("vrrp", vrrp.clone(), true),
                ("igmp", igmp.clone(), false),
                ("udp", with_udp(forwarded(), 1, 2), false),
            ],
        );
        check(
            filter(&["igmp"]),
            &[("igmp", igmp, true), ("vrrp", vrrp, false)],
        );
    }

    #[test]
    fn unknown_protocols_are_rejected() {
        let err = build_err(filter(&["tcp", "gre"]));
        assert_eq!(
            err.to_string(),
            "invalid protocol filter \"gre\": unknown protocol"
        );
    }
}
