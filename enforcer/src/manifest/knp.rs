//! `networking.k8s.io/v1` NetworkPolicy, translated the way Cilium does
//! (`pkg/k8s/network_policy.go`): `k8s:` selectors, every rule default-deny, an empty
//! `from`/`to` selects every peer (world and host included), `ipBlock` matches only world
//! and CIDR identities.

use std::sync::Arc;

use super::cilium::read_cidr;
use super::cursor::{Cursor, MapCursor};
use super::meta::{policy_origin, read_audit_mode, read_meta};
use super::selector::{KeyStyle, read_selector};
use crate::labels::{Operator, Requirement, SelKey, Selector, keys};
use crate::mapstate::PortRange;
use crate::policy::Direction;
use crate::policy::model::{L4, Peer, PeerRule, Peers, Policy, PortSel, PortSpec, Rule, Subject};
use crate::policy::origin::{PolicyKind, PolicyRef, RuleRef};
use crate::policy::ports::{is_service_name, parse_port_protocol};

/// Reads a KNP. Every part is read even after an error in another, so all errors are
/// reported.
pub fn read_network_policy(doc: &MapCursor<'_>) -> Option<Policy> {
    let meta = read_meta(doc, true);
    let origin = policy_origin(doc, PolicyKind::NetworkPolicy, meta.as_ref());
    doc.ignore(&["status"]);
    let Some(spec_c) = doc.get("spec") else {
        doc.cursor().error("missing field \"spec\"");
        return None;
    };
    let spec = spec_c.map()?;
    let ns = origin.namespace.clone();
    let subject = match spec.get("podSelector") {
        Some(c) => read_selector(&c, KeyStyle::Kubernetes),
        None => Some(Selector::all()),
    };
    let ingress_c = spec.get("ingress");
    let egress_c = spec.get("egress");
    // With invalid policyTypes, both directions are still read for their own errors.
    let types = read_policy_types(&spec, egress_c.as_ref());
    let (has_ingress_type, has_egress_type) = types.unwrap_or((true, true));
    let section = |c: &Option<Cursor<'_>>, direction: Direction, enabled: bool| {
        read_direction(c.as_ref(), direction, enabled, &origin, &ns)
    };
    let ingress = section(&ingress_c, Direction::Ingress, has_ingress_type);
    let egress = section(&egress_c, Direction::Egress, has_egress_type);
    spec.finish();
    let audit = read_audit_mode(doc);
    let (_, subject, _, ingress, egress, audit) =
        (meta?, subject?, types?, ingress?, egress?, audit?);
    let subject = subject.with(Requirement::equals(SelKey::k8s(keys::POD_NAMESPACE), &ns));
    let rule = Rule {
        path: "spec".into(),
        subject: Subject::Endpoints(subject),
        default_deny_ingress: true,
        default_deny_egress: true,
        ingress,
        ingress_deny: Vec::new(),
        egress,
        egress_deny: Vec::new(),
    };
    Some(Policy {
        origin,
        rules: vec![rule],
        audit,
    })
}

/// `policyTypes`, defaulted like the API server: Ingress, plus Egress when `egress` has
/// rules.
fn read_policy_types(spec: &MapCursor<'_>, egress: Option<&Cursor<'_>>) -> Option<(bool, bool)> {
    let Some(types) = spec.get("policyTypes") else {
        let has_egress_rules = egress.is_some_and(|e| matches!(e.seq(), Some(v) if !v.is_empty()));
        return Some((true, has_egress_rules));
    };
    let (mut ingress, mut egress) = (false, false);
    types.each(|t| {
        match t.string()? {
            "Ingress" => ingress = true,
            "Egress" => egress = true,
            _ => {
                t.invalid("Ingress or Egress");
                return None;
            }
        }
        Some(())
    })?;
    Some((ingress, egress))
}

fn read_direction(
    c: Option<&Cursor<'_>>,
    direction: Direction,
    enabled: bool,
    origin: &Arc<PolicyRef>,
    ns: &str,
) -> Option<Vec<PeerRule>> {
    // The peer field of each rule, and the direction's name in `policyTypes`.
    let (peer_field, policy_type) = match direction {
        Direction::Ingress => ("from", "Ingress"),
        Direction::Egress => ("to", "Egress"),
    };
    let items = match c {
        Some(c) => c.seq()?,
        None => Vec::new(),
    };
    if !enabled {
        if let Some(c) = c.filter(|_| !items.is_empty()) {
            c.warn(format!(
                "ignored: policyTypes does not include {policy_type}"
            ));
        }
        return Some(Vec::new());
    }
    if items.is_empty() {
        // Isolated with no rules: one section that allows nothing turns on default deny.
        let rule = RuleRef {
            policy: origin.clone(),
            path: "spec.policyTypes".into(),
        };
        return Some(vec![PeerRule {
            rule,
            peers: Peers::List(Vec::new()),
            requires: Vec::new(),
            l4: L4::Any,
        }]);
    }
    let mut out = Vec::new();
    let mut ok = true;
    for item in items {
        match read_rule(&item, peer_field, origin, ns) {
            Some(r) => out.push(r),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn read_rule(
    c: &Cursor<'_>,
    peer_field: &str,
    origin: &Arc<PolicyRef>,
    ns: &str,
) -> Option<PeerRule> {
    let m = c.map()?;
    let peers_c = m.get(peer_field);
    let ports_c = m.get("ports");
    m.finish();
    // An absent or empty list means "every peer" and "every port".
    let peers = match &peers_c {
        None => Some(Peers::Any),
        Some(p) => p.each(|item| read_peer(item, ns)).map(|list| {
            if list.is_empty() {
                Peers::Any
            } else {
                Peers::List(list)
            }
        }),
    };
    let l4 = match &ports_c {
        None => Some(L4::Any),
        Some(p) => p.each(read_port).map(|list| {
            if list.is_empty() {
                L4::Any
            } else {
                L4::Ports(list)
            }
        }),
    };
    let (peers, l4) = (peers?, l4?);
    let rule = RuleRef {
        policy: origin.clone(),
        path: c.path().into(),
    };
    Some(PeerRule {
        rule,
        peers,
        requires: Vec::new(),
        l4,
    })
}

fn read_peer(c: &Cursor<'_>, ns: &str) -> Option<Peer> {
    let m = c.map()?;
    let pod = m.get("podSelector");
    let namespace = m.get("namespaceSelector");
    let ip_block = m.get("ipBlock");
    m.finish();
    if let Some(ib) = ip_block {
        if pod.is_some() || namespace.is_some() {
            c.error("a peer with ipBlock cannot also have podSelector or namespaceSelector");
            read_ip_block(&ib);
            return None;
        }
        return read_ip_block(&ib);
    }
    let pod_sel = match &pod {
        Some(p) => read_selector(p, KeyStyle::Kubernetes),
        None => Some(Selector::all()),
    };
    let Some(ns_c) = namespace else {
        if pod.is_none() {
            c.error("a peer needs podSelector, namespaceSelector or ipBlock");
            return None;
        }
        return Some(Peer::Endpoints(
            pod_sel?.with(Requirement::equals(SelKey::k8s(keys::POD_NAMESPACE), ns)),
        ));
    };
    let ns_sel = read_selector(&ns_c, KeyStyle::Kubernetes);
    Some(Peer::Endpoints(
        pod_sel?.and(&namespace_labels_selector(&ns_sel?)),
    ))
}

/// Re-keys a namespace selector onto the pod labels Cilium derives from namespace labels;
/// an empty one means "any namespace" (any pod, never a reserved identity).
fn namespace_labels_selector(ns_sel: &Selector) -> Selector {
    if ns_sel.is_all() {
        return Selector::new([Requirement::new(
            SelKey::k8s(keys::POD_NAMESPACE),
            Operator::Exists,
            [],
        )]);
    }
    Selector::new(ns_sel.requirements().iter().map(|r| {
        let key = SelKey::k8s(&format!("{}{}", keys::NAMESPACE_LABELS_PREFIX, r.key.key));
        Requirement::new(key, r.op, r.values.clone())
    }))
}

fn read_ip_block(c: &Cursor<'_>) -> Option<Peer> {
    let m = c.map()?;
    let cidr_c = m.get("cidr");
    let except_c = m.get("except");
    m.finish();
    let Some(cidr_c) = cidr_c else {
        c.error("missing field \"cidr\"");
        return None;
    };
    let cidr = read_cidr(&cidr_c);
    let except = match &except_c {
        None => Some(Vec::new()),
        Some(list) => list.each(|e| {
            let x = read_cidr(e)?;
            if let Some(cidr) = cidr
                && (!cidr.contains(&x) || x == cidr)
            {
                e.error(format!("except {x} must be strictly inside cidr {cidr}"));
                return None;
            }
            Some(x)
        }),
    };
    Some(Peer::Cidr {
        cidr: cidr?,
        except: except?,
    })
}

fn read_port(c: &Cursor<'_>) -> Option<PortSpec> {
    let m = c.map()?;
    let proto = m.get("protocol");
    let port = m.get("port");
    let end = m.get("endPort");
    m.finish();
    let protocols = match proto {
        None => parse_port_protocol("TCP"),
        Some(p) => match p.string().map(|s| (s, parse_port_protocol(s))) {
            Some((_, Some(v))) if v.len() == 1 => Some(v),
            Some(_) => {
                p.invalid("TCP, UDP or SCTP");
                None
            }
            None => None,
        },
    };
    let sel = read_port_sel(port.as_ref(), end.as_ref());
    Some(PortSpec {
        port: sel?,
        protocols: protocols?,
        l7: None,
    })
}

fn read_port_sel(port: Option<&Cursor<'_>>, end: Option<&Cursor<'_>>) -> Option<PortSel> {
    match (port, end) {
        (None, Some(e)) => {
            e.error("endPort requires port");
            None
        }
        (None, None) => Some(PortSel::Range(PortRange::ALL)),
        (Some(p), end) if p.is_number() => read_numeric(p, end),
        (Some(p), None) => {
            let name = p.string()?.to_ascii_lowercase();
            if !is_service_name(&name) {
                p.invalid("a port number 1-65535 or a named port");
                return None;
            }
            Some(PortSel::Named(name))
        }
        (Some(_), Some(e)) => {
            e.error("endPort requires a numeric port");
            None
        }
    }
}

fn read_numeric(p: &Cursor<'_>, end: Option<&Cursor<'_>>) -> Option<PortSel> {
    let lo = match p.int(false) {
        Some(n @ 1..=65535) => u16::try_from(n).ok()?,
        _ => {
            p.invalid("a port number 1-65535");
            return None;
        }
    };
    let hi = match end {
        None => lo,
        Some(e) => match e.int(false) {
            Some(n) if (i64::from(lo)..=65535).contains(&n) => u16::try_from(n).ok()?,
            _ => {
                e.invalid(&format!(
                    "a port number {lo}-65535 (endPort must not be below port)"
                ));
                return None;
            }
        },
    };
    Some(PortSel::Range(PortRange::new(lo, hi)))
}
