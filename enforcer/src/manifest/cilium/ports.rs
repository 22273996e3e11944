//! `toPorts` (ports, ranges, named ports, protocols, L7) and `icmps` of a section.

use super::l7::read_l7;
use super::section::SectionKind;
use crate::manifest::cursor::{Cursor, MapCursor};
use crate::mapstate::PortRange;
use crate::policy::model::{IcmpSpec, L4, L7, PortSel, PortSpec};
use crate::policy::ports::{
    TCP, is_portless, is_service_name, parse_cilium_port_protocol, parse_icmp_type, protocol_name,
};

/// Most entries Cilium allows in one `ports` or `fields` list.
const MAX_ENTRIES: usize = 40;

/// Reads the L4 part of a section (`toPorts` or `icmps`, never both).
pub fn read_l4(m: &MapCursor<'_>, kind: SectionKind) -> Option<L4> {
    match (m.get("toPorts"), m.get("icmps")) {
        (Some(p), Some(i)) => {
            i.error("the icmps block may only be present without toPorts: define a separate rule to use toPorts");
            // Both are still checked, so their own errors are reported too.
            read_to_ports(&p, kind);
            read_icmps(&i);
            None
        }
        (Some(p), None) => read_to_ports(&p, kind).map(L4::Ports),
        (None, Some(i)) => read_icmps(&i).map(L4::Icmps),
        (None, None) => Some(L4::Any),
    }
}

fn read_to_ports(c: &Cursor<'_>, kind: SectionKind) -> Option<Vec<PortSpec>> {
    let rules = c.each(|rule| read_port_rule(rule, kind))?;
    Some(rules.into_iter().flatten().collect())
}

fn read_port_rule(c: &Cursor<'_>, kind: SectionKind) -> Option<Vec<PortSpec>> {
    let m = c.map()?;
    for field in [
        "serverNames",
        "terminatingTLS",
        "originatingTLS",
        "listener",
    ] {
        if let Some(f) = m.get(field) {
            f.error(format!(
                "{field} is not supported by this enforcer (it needs the L7 proxy)"
            ));
        }
    }
    // `None` when `rules` is absent, `Some(None)` when it is invalid.
    let l7 = match m.get("rules") {
        Some(r) if kind.deny => {
            r.error("deny rules cannot have L7 rules");
            Some(None)
        }
        Some(r) => Some(read_l7(&r, kind.direction)),
        None => None,
    };
    let Some(ports) = m.get("ports") else {
        m.finish();
        c.error("a toPorts entry needs \"ports\"");
        return None;
    };
    m.finish();
    let items = ports.seq()?;
    if items.is_empty() {
        ports.error("\"ports\" must not be empty");
        return None;
    }
    if items.len() > MAX_ENTRIES {
        ports.error(format!(
            "at most {MAX_ENTRIES} ports per toPorts entry, found {}",
            items.len()
        ));
        return None;
    }
    let l7_ok = !matches!(l7, Some(None));
    let l7 = l7.flatten();
    let specs = ports.each(|p| read_port(p, l7.as_ref()))?;
    l7_ok.then_some(specs)
}

fn read_port(c: &Cursor<'_>, l7: Option<&L7>) -> Option<PortSpec> {
    let m = c.map()?;
    let port = m.get("port");
    let end = m.get("endPort");
    let proto = m.get("protocol");
    m.finish();
    let protocols = match &proto {
        None => parse_cilium_port_protocol("ANY"),
        Some(p) => read_protocol(p),
    };
    if let Some([p]) = protocols.as_deref()
        && is_portless(*p)
    {
        return read_portless(c, port.as_ref(), end.as_ref(), *p, l7);
    }
    let sel = match port {
        Some(port_c) => read_port_sel(&port_c, end.as_ref()),
        None => {
            c.error("missing field \"port\" (use \"0\" for every port)");
            None
        }
    };
    let (protocols, sel) = (protocols?, sel?);
    if let Some(l7) = l7 {
        check_l7_port(c, l7, &sel, &protocols)?;
    }
    Some(PortSpec {
        port: sel,
        protocols,
        l7: l7.cloned(),
    })
}

fn read_protocol(p: &Cursor<'_>) -> Option<Vec<u8>> {
    let s = p.string()?;
    let parsed = parse_cilium_port_protocol(s);
    if parsed.is_none() {
        let hint = if s.eq_ignore_ascii_case("icmp") || s.eq_ignore_ascii_case("icmpv6") {
            " (ICMP goes in icmps)"
        } else {
            ""
        };
        p.invalid(&format!("TCP, UDP, SCTP, VRRP, IGMP or ANY{hint}"));
    }
    parsed
}

/// A port entry of a protocol without ports (VRRP, IGMP): as in Cilium, its port must be
/// absent, empty or `0`, and it matches every packet of the protocol. L7 rules need a port.
fn read_portless(
    c: &Cursor<'_>,
    port: Option<&Cursor<'_>>,
    end: Option<&Cursor<'_>>,
    protocol: u8,
    l7: Option<&L7>,
) -> Option<PortSpec> {
    let name = protocol_name(protocol);
    if let Some(p) = port
        && !matches!(p.scalar()?, "0" | "")
    {
        p.invalid(&format!("\"0\" or no port ({name} has no ports)"));
        return None;
    }
    if let Some(e) = end
        && e.int(false)? != 0
    {
        e.invalid(&format!("0 or no endPort ({name} has no ports)"));
        return None;
    }
    if l7.is_some() {
        c.error(format!(
            "L7 rules can not be used with {name}, which has no ports"
        ));
        return None;
    }
    Some(PortSpec {
        port: PortSel::Range(PortRange::ALL),
        protocols: vec![protocol],
        l7: None,
    })
}

fn read_port_sel(c: &Cursor<'_>, end: Option<&Cursor<'_>>) -> Option<PortSel> {
    let text = c.scalar()?;
    if let Ok(n) = text.parse::<u32>() {
        let Ok(lo) = u16::try_from(n) else {
            c.invalid("a port number 0-65535 or a named port");
            return None;
        };
        let hi = match end {
            None => lo,
            Some(e) => match e.int(false) {
                Some(v) if (0..=65535).contains(&v) => u16::try_from(v).ok()?,
                Some(_) => {
                    e.invalid("a port number 0-65535");
                    return None;
                }
                None => return None,
            },
        };
        // `port: 0` means every port; `endPort <= port` means the single port.
        let range = if lo == 0 && (hi == 0 || hi == u16::MAX) {
            PortRange::ALL
        } else {
            PortRange::new(lo, hi)
        };
        return Some(PortSel::Range(range));
    }
    let name = text.to_ascii_lowercase();
    if !is_service_name(&name) {
        c.invalid("a port number 0-65535 or a named port (an IANA service name such as \"http\")");
        return None;
    }
    if let Some(e) = end {
        e.error("endPort cannot be used with a named port");
        return None;
    }
    Some(PortSel::Named(name))
}

fn check_l7_port(c: &Cursor<'_>, l7: &L7, port: &PortSel, protocols: &[u8]) -> Option<()> {
    match (l7, port) {
        (L7::Dns(_), PortSel::Range(r)) if r.lo != r.hi => {
            c.error("DNS rules do not support port ranges");
            None
        }
        // The datapath steers the standard DNS port to the proxy, as Cilium's does.
        (L7::Dns(_), PortSel::Range(r)) if r.lo != 53 => {
            c.error(format!(
                "DNS rules apply to port 53 only, found port {}",
                r.lo
            ));
            None
        }
        (L7::Dns(_), PortSel::Named(name)) => {
            c.error(format!(
                "DNS rules apply to port 53 only, given as a number, found named port {name:?}"
            ));
            None
        }
        (L7::Http(_), _) if protocols != [TCP] => {
            c.error("L7 rules can only apply to TCP (not UDP, SCTP or ANY) except for DNS rules");
            None
        }
        (_, PortSel::Range(r)) if r.is_all() => {
            c.error("L7 rules can not be used when a port is 0");
            None
        }
        _ => Some(()),
    }
}

fn read_icmps(c: &Cursor<'_>) -> Option<Vec<IcmpSpec>> {
    let rules = c.each(read_icmp_rule)?;
    Some(rules.into_iter().flatten().collect())
}

fn read_icmp_rule(rule: &Cursor<'_>) -> Option<Vec<IcmpSpec>> {
    let m = rule.map()?;
    let fields = m.get("fields");
    m.finish();
    let Some(fields) = fields else {
        rule.error("missing field \"fields\"");
        return None;
    };
    let specs = fields.each(read_icmp_field)?;
    if specs.len() > MAX_ENTRIES {
        fields.error(format!(
            "at most {MAX_ENTRIES} ICMP fields, found {}",
            specs.len()
        ));
        return None;
    }
    Some(specs)
}

fn read_icmp_field(c: &Cursor<'_>) -> Option<IcmpSpec> {
    let m = c.map()?;
    let family = m.get("family");
    let ty = m.get("type");
    m.finish();
    let v6 = match family.as_ref().map(|f| (f, f.string())) {
        None => Some(false),
        Some((_, Some("IPv4"))) => Some(false),
        Some((_, Some("IPv6"))) => Some(true),
        Some((f, _)) => {
            f.invalid("IPv4 or IPv6");
            None
        }
    };
    let Some(t) = ty else {
        c.error("missing field \"type\"");
        return None;
    };
    let v6 = v6?;
    let text = t.scalar()?;
    let Some(icmp_type) = parse_icmp_type(text, v6) else {
        t.invalid(if v6 {
            "an ICMPv6 type 0-255 or name such as EchoRequest"
        } else {
            "an ICMP type 0-255 or name such as EchoRequest"
        });
        return None;
    };
    Some(IcmpSpec { v6, icmp_type })
}
