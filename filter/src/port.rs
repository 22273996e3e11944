//! `source_port` / `destination_port`: TCP, UDP and SCTP ports, as decimal strings.

use observe_proto::flow::{Flow, FlowFilter, layer4};

use super::{FilterBuilder, FilterError, FilterFn};

/// Builds the port filters.
pub struct PortFilter;

impl FilterBuilder for PortFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        let mut out = Vec::new();
        if !filter.source_port.is_empty() {
            let ports = parse_ports("source_port", &filter.source_port)?;
            out.push(by_port(ports, |f| ports_of(f).map(|(s, _)| s)));
        }
        if !filter.destination_port.is_empty() {
            let ports = parse_ports("destination_port", &filter.destination_port)?;
            out.push(by_port(ports, |f| ports_of(f).map(|(_, d)| d)));
        }
        Ok(out)
    }
}

fn parse_ports(field: &'static str, values: &[String]) -> Result<Vec<u32>, FilterError> {
    values
        .iter()
        .map(|v| {
            v.parse::<u16>()
                .map(u32::from)
                .map_err(|e| FilterError::invalid(field, v, format!("not a port number: {e}")))
        })
        .collect()
}

fn by_port(ports: Vec<u32>, port: fn(&Flow) -> Option<u32>) -> FilterFn {
    Box::new(move |flow| port(flow).is_some_and(|p| ports.contains(&p)))
}

/// Source and destination port, for protocols that have ports.
fn ports_of(flow: &Flow) -> Option<(u32, u32)> {
    match flow.l4.as_ref()?.protocol.as_ref()? {
        layer4::Protocol::Tcp(t) => Some((t.source_port, t.destination_port)),
        layer4::Protocol::Udp(u) => Some((u.source_port, u.destination_port)),
        layer4::Protocol::Sctp(s) => Some((s.source_port, s.destination_port)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::{FlowFilter, TcpFlags};

    #[test]
    fn matches_ports_of_tcp_and_udp() {
        let filter = FlowFilter {
            destination_port: vec!["80".into(), "53".into()],
            ..Default::default()
        };
        check(
            filter,
            &[
                (
                    "tcp 80",
                    with_tcp(forwarded(), 40000, 80, TcpFlags::default()),
                    true,
                ),
                ("udp 53", with_udp(forwarded(), 40000, 53), true),
                (
                    "source 80 only",
                    with_tcp(forwarded(), 80, 8080, TcpFlags::default()),
                    false,
                ),
                ("no l4", forwarded(), false),
            ],
        );
        let source = FlowFilter {
            source_port: vec!["80".into()],
            ..Default::default()
        };
        check(
            source,
            &[(
                "source 80",
                with_tcp(forwarded(), 80, 8080, TcpFlags::default()),
                true,
            )],
        );
    }

    #[test]
    fn invalid_ports_are_rejected() {
        for bad in ["http", "65536", "-1", ""] {
            let err = build_err(FlowFilter {
                source_port: vec![bad.into()],
                ..Default::default()
            });
            assert!(
                err.to_string().starts_with("invalid source_port filter"),
                "{err}"
            );
        }
    }
}
