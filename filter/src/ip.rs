//! `source_ip` / `destination_ip` / `source_ip_xlated`: addresses, exact ("10.0.0.1") or
//! CIDR ("10.0.0.0/8"; host bits may be set, "10.0.0.1/8" means the same).

use std::net::IpAddr;

use ipnet::IpNet;
use observe_proto::flow::{Flow, FlowFilter};

use super::{FilterBuilder, FilterError, FilterFn};

/// Builds the address filters.
pub struct IpFilter;

impl FilterBuilder for IpFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        let fields: [(&'static str, &[String], AddressOf); 3] = [
            ("source_ip", &filter.source_ip, |f| {
                f.ip.as_ref().map(|ip| ip.source.as_str())
            }),
            ("destination_ip", &filter.destination_ip, |f| {
                f.ip.as_ref().map(|ip| ip.destination.as_str())
            }),
            ("source_ip_xlated", &filter.source_ip_xlated, |f| {
                f.ip.as_ref().map(|ip| ip.source_xlated.as_str())
            }),
        ];
        let mut out = Vec::new();
        for (field, values, address) in fields {
            if !values.is_empty() {
                let cidrs = parse_all(field, values)?;
                out.push(by_address(cidrs, address));
            }
        }
        Ok(out)
    }
}

/// Reads one address of a flow.
type AddressOf = fn(&Flow) -> Option<&str>;

fn parse_all(field: &'static str, values: &[String]) -> Result<Vec<IpNet>, FilterError> {
    values
        .iter()
        .map(|v| parse_cidr(v).map_err(|reason| FilterError::invalid(field, v, reason)))
        .collect()
}

fn by_address(cidrs: Vec<IpNet>, address: AddressOf) -> FilterFn {
    Box::new(move |flow| {
        // Flows carry addresses as text; an empty or unparsable one matches nothing.
        let Some(ip) = address(flow).and_then(|a| a.parse::<IpAddr>().ok()) else {
            return false;
        };
        cidrs.iter().any(|c| c.contains(&ip))
    })
}

/// Parses `a.b.c.d`, `a.b.c.d/n`, or the IPv6 forms; an exact address is a full-length
/// prefix, and host bits are dropped (`10.0.0.1/8` is `10.0.0.0/8`).
pub(crate) fn parse_cidr(text: &str) -> Result<IpNet, String> {
    let (addr, len) = match text.split_once('/') {
        Some((addr, len)) => (addr, Some(len)),
        None => (text, None),
    };
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| "not an IP address or CIDR".to_string())?;
    let Some(len) = len else {
        return Ok(IpNet::from(addr));
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix_error = || format!("prefix length must be 0 to {max}");
    let len = match len.parse::<u8>() {
        Ok(n) if !len.starts_with('+') => n,
        _ => return Err(prefix_error()),
    };
    let net = IpNet::new(addr, len).map_err(|_| prefix_error())?;
    Ok(net.trunc())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    #[test]
    fn exact_and_cidr_matches() {
        let filter = FlowFilter {
            source_ip: vec![
                "10.0.0.1".into(),
                "192.168.0.0/16".into(),
                "fd00::/8".into(),
            ],
            ..Default::default()
        };
        check(
            filter,
            &[
                ("exact", with_ips(forwarded(), "10.0.0.1", "1.1.1.1"), true),
                (
                    "in cidr",
                    with_ips(forwarded(), "192.168.7.9", "1.1.1.1"),
                    true,
                ),
                ("v6 in cidr", with_ips(forwarded(), "fd12::1", "::1"), true),
                (
                    "outside",
                    with_ips(forwarded(), "10.0.0.2", "10.0.0.1"),
                    false,
                ),
                ("no ip", forwarded(), false),
            ],
        );
        let destination = FlowFilter {
            destination_ip: vec!["10.0.0.1/8".into()],
            ..Default::default()
        };
        check(
            destination,
            &[(
                "host bits set",
                with_ips(forwarded(), "1.1.1.1", "10.200.0.1"),
                true,
            )],
        );
    }

    #[test]
    fn xlated_source_is_separate() {
        let mut flow = with_ips(forwarded(), "10.0.0.1", "10.0.0.2");
        flow.ip.as_mut().unwrap().source_xlated = "172.16.0.1".into();
        let filter = FlowFilter {
            source_ip_xlated: vec!["172.16.0.0/12".into()],
            ..Default::default()
        };
        check(
            filter,
            &[
                ("translated", flow, true),
                (
                    "untranslated",
                    with_ips(forwarded(), "172.16.0.1", "x"),
                    false,
                ),
            ],
        );
    }

    #[test]
    fn invalid_addresses_and_prefixes_are_rejected() {
        for bad in [
            "10.0.0.256",
            "10.0.0.0/33",
            "fd00::/129",
            "10.0.0.0/",
            "pod-a",
            "",
        ] {
            let err = build_err(FlowFilter {
                destination_ip: vec![bad.into()],
                ..Default::default()
            });
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn zero_length_prefix_matches_its_family_only() {
        let any4 = parse_cidr("0.0.0.0/0").unwrap();
        assert!(any4.contains(&"203.0.113.1".parse::<IpAddr>().unwrap()));
        assert!(!any4.contains(&"::1".parse::<IpAddr>().unwrap()));
    }
}
