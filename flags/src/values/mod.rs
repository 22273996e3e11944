//! Value parsers of the filter flags: each turns what the user typed into the typed value
//! a `FlowFilter` field holds, or into a one-line reason naming what is accepted. clap
//! calls them while parsing (low args: validate, build nothing), so a bad value is
//! reported with the flag that carried it.
//!
//! Names are accepted in any case where Hubble requires exact enum names (`dropped` as
//! well as `DROPPED`); everything Hubble accepts is accepted here too.

mod event_type;

use std::net::IpAddr;

use observe_proto::flow::{DropReason, IpVersion, TcpFlags, TrafficDirection, Verdict, Workload};

use crate::names::{RESERVED_IDENTITIES, VERDICTS, reserved_identity};
pub use event_type::event_type;

/// `--verdict`: a `Verdict` enum name.
pub fn verdict(text: &str) -> Result<Verdict, String> {
    Verdict::from_str_name(&text.to_ascii_uppercase())
        .ok_or_else(|| format!("expected one of {}", VERDICTS.join(", ")))
}

/// `--drop-reason-desc`: a `DropReason` enum name.
pub fn drop_reason_desc(text: &str) -> Result<DropReason, String> {
    DropReason::from_str_name(&text.to_ascii_uppercase())
        .ok_or_else(|| "expected a drop reason name, e.g. POLICY_DENIED or POLICY_DENY".into())
}

/// `--drop-reason`: a numeric code (`133`) or a `DropReason` name (`POLICY_DENIED`).
pub fn drop_reason_code(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(0) => Err("drop reason codes start at 1".into()),
        Ok(code) => Ok(code),
        Err(_) => drop_reason_desc(text)
            .map(|reason| reason as u32)
            .map_err(|_| "expected a drop reason code or name, e.g. 133 or POLICY_DENIED".into()),
    }
}

/// `--identity` and friends: a number or a reserved identity name (`world`, `host`, ...).
pub fn identity(text: &str) -> Result<u32, String> {
    text.parse::<u32>()
        .ok()
        .or_else(|| reserved_identity(text))
        .ok_or_else(|| {
            let names: Vec<&str> = RESERVED_IDENTITIES.iter().map(|(_, n)| *n).collect();
            format!(
                "expected a numeric security identity or one of {}",
                names.join(", ")
            )
        })
}

/// `--ip` and friends: an address (`10.0.0.1`) or a CIDR (`10.0.0.0/8`).
pub fn ip(text: &str) -> Result<String, String> {
    let bad = || "expected an IP address or CIDR, e.g. 10.0.0.1 or 10.0.0.0/8".to_string();
    let (addr, prefix) = match text.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (text, None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if let Some(prefix) = prefix {
        match prefix.parse::<u8>() {
            Ok(bits) if bits <= max => {}
            _ => return Err(bad()),
        }
    }
    Ok(text.to_string())
}

/// `--port` and friends: a port number, kept as the decimal string the filter holds.
pub fn port(text: &str) -> Result<String, String> {
    text.parse::<u16>()
        .map(|p| p.to_string())
        .map_err(|_| "expected a port number from 0 to 65535".into())
}

/// `--tcp-flags`: comma-separated flag names, all of which must be set (`syn,ack`).
pub fn tcp_flags(text: &str) -> Result<TcpFlags, String> {
    let mut flags = TcpFlags::default();
    for name in text.split(',') {
        let bit = match name.trim().to_ascii_uppercase().as_str() {
            "SYN" => &mut flags.syn,
            "FIN" => &mut flags.fin,
            "RST" => &mut flags.rst,
            "PSH" => &mut flags.psh,
            "ACK" => &mut flags.ack,
            "URG" => &mut flags.urg,
            "ECE" => &mut flags.ece,
            "CWR" => &mut flags.cwr,
            "NS" => &mut flags.ns,
            _ => {
                return Err(format!(
                    "unknown TCP flag {name:?}: expected SYN, FIN, RST, PSH, ACK, URG, ECE, CWR or NS"
                ));
            }
        };
        *bit = true;
    }
    Ok(flags)
}

/// `--ip-version`: `none`, `v4` or `v6` (also `4`, `ipv4`, `ip4`, ...).
pub fn ip_version(text: &str) -> Result<IpVersion, String> {
    match text.to_ascii_lowercase().as_str() {
        "4" | "v4" | "ipv4" | "ip4" => Ok(IpVersion::IPv4),
        "6" | "v6" | "ipv6" | "ip6" => Ok(IpVersion::IPv6),
        "none" => Ok(IpVersion::IpNotUsed),
        _ => Err("expected none, v4 or v6".into()),
    }
}

/// `--traffic-direction`: `ingress` or `egress`.
pub fn traffic_direction(text: &str) -> Result<TrafficDirection, String> {
    match text.to_ascii_lowercase().as_str() {
        "ingress" => Ok(TrafficDirection::Ingress),
        "egress" => Ok(TrafficDirection::Egress),
        _ => Err("expected ingress or egress".into()),
    }
}

/// `--protocol`: an L4 or L7 protocol name, lower-cased as the filter expects it.
pub fn protocol(text: &str) -> Result<String, String> {
    const KNOWN: &[&str] = &[
        "tcp", "udp", "sctp", "icmp", "icmpv4", "icmpv6", "vrrp", "igmp", "dns", "http", "kafka",
    ];
    let lower = text.to_ascii_lowercase();
    if KNOWN.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(format!("expected one of {}", KNOWN.join(", ")))
    }
}

/// `--workload` and friends: `[KIND/]NAME`; an empty part matches any.
pub fn workload(text: &str) -> Result<Workload, String> {
    let (kind, name) = text.split_once('/').unwrap_or(("", text));
    if name.contains('/') || (kind.is_empty() && name.is_empty()) {
        return Err("expected [KIND/]NAME, e.g. Deployment/frontend or frontend".into());
    }
    Ok(Workload {
        kind: kind.into(),
        name: name.into(),
    })
}

/// `--pod`, `--service` and friends: `[NAMESPACE/]NAME-PREFIX`; `NAMESPACE/` is the whole
/// namespace, `/PREFIX` any namespace, a bare prefix the `default` namespace.
pub fn namespaced(text: &str) -> Result<String, String> {
    if text.is_empty() || text.matches('/').count() > 1 {
        return Err(
            "expected [NAMESPACE/]NAME-PREFIX, e.g. shop/frontend, shop/ or frontend".into(),
        );
    }
    Ok(text.to_string())
}

/// `--policy`, `--allowed-by`, `--denied-by`: `NAMESPACE/NAME`, or `NAME` for a
/// cluster-wide policy.
pub fn policy_name(text: &str) -> Result<String, String> {
    let (namespace, name) = text.split_once('/').unwrap_or(("-", text));
    if name.is_empty() || namespace.is_empty() || name.contains('/') {
        return Err(
            "expected NAMESPACE/NAME, or NAME for a cluster-wide policy, e.g. shop/db-ingress"
                .into(),
        );
    }
    Ok(text.to_string())
}

/// `--policy-kind`: full or short kind names, returned as the kind flows carry.
pub fn policy_kind(text: &str) -> Result<String, String> {
    let kind = match text.to_ascii_lowercase().as_str() {
        "ciliumnetworkpolicy" | "cnp" => "CiliumNetworkPolicy",
        "ciliumclusterwidenetworkpolicy" | "ccnp" => "CiliumClusterwideNetworkPolicy",
        "networkpolicy" | "knp" | "netpol" => "NetworkPolicy",
        _ => {
            return Err(
                "expected CiliumNetworkPolicy (CNP), CiliumClusterwideNetworkPolicy (CCNP) or NetworkPolicy (KNP)"
                    .into(),
            );
        }
    };
    Ok(kind.to_string())
}

/// `--ip-trace-id`: a positive number.
pub fn ip_trace_id(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(0) | Err(_) => Err("expected a number greater than 0".into()),
        Ok(id) => Ok(id),
    }
}

/// Flags whose value is free text (names, globs, selectors): anything but empty.
pub fn non_empty(text: &str) -> Result<String, String> {
    if text.is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(text.to_string())
    }
}

#[cfg(test)]
mod tests;

/// `--http-status`: a status code (`403`) or a class (`4+`, `5+`), as Hubble takes it.
pub fn http_status(text: &str) -> Result<String, String> {
    let digits = text.strip_suffix('+').unwrap_or(text);
    let ok = match (digits.len(), text.ends_with('+')) {
        (3, false) => digits.parse::<u16>().is_ok_and(|c| (100..600).contains(&c)),
        (1..=2, true) => digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0'),
        _ => false,
    };
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "invalid HTTP status {text:?}: expected a code 100-599 or a class such as 5+"
        ))
    }
}

/// `--http-header`: `KEY:VALUE`.
pub fn http_header(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!("invalid HTTP header {text:?}: expected KEY:VALUE")),
    }
}
