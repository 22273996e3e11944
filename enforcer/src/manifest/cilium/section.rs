//! One `ingress`/`ingressDeny`/`egress`/`egressDeny` entry: its peers (endpoints, nodes,
//! entities, CIDRs, FQDNs, services), requirements, and ports or ICMP types.

use super::dns::read_dns_selector;
use super::ports::read_l4;
use super::rule::RuleContext;
use super::services::read_services;
use crate::labels::{Operator, Requirement, SelKey, Selector};
use crate::manifest::cursor::{Cursor, MapCursor};
use crate::manifest::selector::{KeyStyle, read_selector};
use crate::net::{Cidr, CidrError};
use crate::policy::Direction;
use crate::policy::entity::{ENTITIES, Entity};
use crate::policy::model::{L4, Peer, PeerRule, Peers};
use crate::policy::namespacing;
use crate::policy::origin::RuleRef;

/// Direction and allow/deny of a section.
#[derive(Clone, Copy)]
pub struct SectionKind {
    /// The direction: `ingress`/`ingressDeny` or `egress`/`egressDeny`.
    pub direction: Direction,
    /// A deny section.
    pub deny: bool,
}

impl SectionKind {
    /// An allow section.
    pub fn allow(direction: Direction) -> Self {
        Self {
            direction,
            deny: false,
        }
    }

    /// A deny section.
    pub fn deny(direction: Direction) -> Self {
        Self {
            direction,
            deny: true,
        }
    }

    fn field(&self, ingress: &'static str, egress: &'static str) -> &'static str {
        if self.direction == Direction::Ingress {
            ingress
        } else {
            egress
        }
    }
}

/// Fields naming peers of different kinds; a section may use only one kind.
const INGRESS_PEER_KINDS: &[&str] = &[
    "fromEndpoints",
    "fromCIDR",
    "fromCIDRSet",
    "fromEntities",
    "fromNodes",
    "fromGroups",
];
const EGRESS_PEER_KINDS: &[&str] = &[
    "toEndpoints",
    "toCIDR",
    "toCIDRSet",
    "toEntities",
    "toServices",
    "toGroups",
    "toNodes",
    "toFQDNs",
];

/// Fields Cilium has that this enforcer cannot honour: refusing them beats ignoring them
/// (an ignored allow is merely stricter, but an ignored deny or authentication is not).
const UNSUPPORTED: &[(&str, &str)] = &[
    ("fromGroups", "cloud provider groups are not supported"),
    ("toGroups", "cloud provider groups are not supported"),
];

/// Reads and validates a section.
pub fn read_section(
    c: &Cursor<'_>,
    kind: SectionKind,
    ctx: &RuleContext,
    subject: &Selector,
) -> Option<PeerRule> {
    let m = c.map()?;
    let kinds_ok = check_peer_kinds(c, &m, kind);
    let mut ok = check_unsupported(&m, kind) && kinds_ok;
    let mut peers: Option<Vec<Peer>> = None;
    let mut add = |list: Option<Vec<Peer>>| match list {
        Some(p) => peers.get_or_insert_with(Vec::new).extend(p),
        None => ok = false,
    };
    let endpoints = kind.field("fromEndpoints", "toEndpoints");
    if let Some(e) = m.get(endpoints) {
        add(read_endpoint_peers(&e, ctx, subject));
    }
    if let Some(e) = m.get(kind.field("fromNodes", "toNodes")) {
        add(read_node_peers(&e));
    }
    if let Some(e) = m.get(kind.field("fromEntities", "toEntities")) {
        add(read_entities(&e));
    }
    if let Some(e) = m.get(kind.field("fromCIDR", "toCIDR")) {
        add(read_cidrs(&e));
    }
    if let Some(e) = m.get(kind.field("fromCIDRSet", "toCIDRSet")) {
        add(read_cidr_set(&e));
    }
    if kind.direction == Direction::Egress
        && !kind.deny
        && let Some(e) = m.get("toFQDNs")
    {
        add(read_fqdns(&e));
    }
    if kind.direction == Direction::Egress
        && let Some(e) = m.get("toServices")
        && !e.is_empty_list()
    {
        add(read_services(&e));
    }
    let requires = match m.get(kind.field("fromRequires", "toRequires")) {
        Some(r) => read_requires(&r, ctx, subject, kind),
        None => Some(Vec::new()),
    };
    let l4 = read_l4(&m, kind);
    check_authentication(&m, kind);
    m.finish();
    let (requires, l4) = (requires?, l4?);
    if !ok || c.ctx().has_errors() {
        return None;
    }
    let peers = match peers {
        // A field written as an empty list (`fromEndpoints: []`) selects nothing.
        Some(list) => Peers::List(list),
        // No peer field at all: ports-only sections apply to every peer; an empty section
        // (`ingress: [{}]`) allows nothing (it only turns on default deny).
        None if l4 != L4::Any => Peers::Any,
        None => Peers::List(Vec::new()),
    };
    let rule = RuleRef {
        policy: ctx.origin.clone(),
        path: c.path().into(),
    };
    Some(PeerRule {
        rule,
        peers,
        requires,
        l4,
    })
}

fn peer_fields(kind: SectionKind) -> &'static [&'static str] {
    if kind.direction == Direction::Ingress {
        INGRESS_PEER_KINDS
    } else {
        EGRESS_PEER_KINDS
    }
}

fn check_peer_kinds(c: &Cursor<'_>, m: &MapCursor<'_>, kind: SectionKind) -> bool {
    let present: Vec<&str> = peer_fields(kind)
        .iter()
        .copied()
        .filter(|f| m.has(f) && !means_nothing(m, f))
        .collect();
    if present.len() > 1 {
        c.error(format!(
            "combining {} and {} is not supported: use separate rules",
            present[0], present[1]
        ));
        return false;
    }
    if kind.deny && m.has("toFQDNs") {
        c.error("toFQDNs is not allowed in egressDeny");
        return false;
    }
    true
}

/// `toServices: []` selects nothing and adds nothing in Cilium (it neither counts as a
/// peer kind nor stops wildcarding): accepted as if absent.
fn means_nothing(m: &MapCursor<'_>, field: &str) -> bool {
    field == "toServices" && m.get(field).is_some_and(|c| c.is_empty_list())
}

fn check_unsupported(m: &MapCursor<'_>, kind: SectionKind) -> bool {
    let mut ok = true;
    for (field, why) in UNSUPPORTED {
        if let Some(f) = m.get(field) {
            f.error(format!("{field} is not supported by this enforcer: {why}"));
            ok = false;
        }
    }
    if kind.deny && m.has("authentication") {
        if let Some(a) = m.get("authentication") {
            a.error("authentication is not allowed in deny rules");
        }
        ok = false;
    }
    ok
}

fn check_authentication(m: &MapCursor<'_>, kind: SectionKind) {
    if kind.deny {
        return;
    }
    let Some(a) = m.get("authentication") else {
        return;
    };
    let Some(am) = a.map() else { return };
    if let Some(mode) = am.get("mode") {
        match mode.string() {
            Some("disabled") => {}
            Some("required" | "test-always-fail") => mode
                .error("authentication mode is not supported by this enforcer (only \"disabled\")"),
            Some(_) => mode.invalid("one of disabled, required, test-always-fail"),
            None => {}
        }
    }
    am.finish();
}

fn read_endpoint_peers(c: &Cursor<'_>, ctx: &RuleContext, subject: &Selector) -> Option<Vec<Peer>> {
    c.each(|item| {
        let sel = read_selector(item, KeyStyle::Cilium)?;
        Some(Peer::Endpoints(namespacing::peer(
            sel,
            &ctx.namespace,
            subject,
        )))
    })
}

fn read_node_peers(c: &Cursor<'_>) -> Option<Vec<Peer>> {
    let remote = Requirement::new(SelKey::reserved("remote-node"), Operator::Exists, []);
    c.each(|item| {
        Some(Peer::Nodes(
            read_selector(item, KeyStyle::Cilium)?.with(remote.clone()),
        ))
    })
}

fn read_entities(c: &Cursor<'_>) -> Option<Vec<Peer>> {
    c.each(|item| {
        let name = item.string()?;
        let Some(e) = Entity::parse(name) else {
            let valid: Vec<&str> = ENTITIES.iter().map(|(n, _)| *n).collect();
            item.invalid(&format!("one of {}", valid.join(", ")));
            return None;
        };
        Some(Peer::Entity(e))
    })
}

fn read_cidrs(c: &Cursor<'_>) -> Option<Vec<Peer>> {
    c.each(|item| {
        Some(Peer::Cidr {
            cidr: read_cidr(item)?,
            except: Vec::new(),
        })
    })
}

fn read_cidr_set(c: &Cursor<'_>) -> Option<Vec<Peer>> {
    c.each(read_cidr_rule)
}

fn read_cidr_rule(item: &Cursor<'_>) -> Option<Peer> {
    let m = item.map()?;
    for (field, what) in [
        ("cidrGroupRef", "CiliumCIDRGroup references"),
        ("cidrGroupSelector", "CiliumCIDRGroup selectors"),
    ] {
        if let Some(f) = m.get(field) {
            f.error(format!(
                "{what} are not supported by this enforcer; write the CIDRs in \"cidr\""
            ));
        }
    }
    let cidr = match m.get("cidr") {
        Some(x) => read_cidr(&x),
        None => {
            item.error("missing field \"cidr\"");
            None
        }
    };
    let except = m
        .get("except")
        .map(|e| read_excepts(&e, cidr))
        .unwrap_or(Some(Vec::new()));
    m.finish();
    Some(Peer::Cidr {
        cidr: cidr?,
        except: except?,
    })
}

fn read_excepts(c: &Cursor<'_>, cidr: Option<Cidr>) -> Option<Vec<Cidr>> {
    c.each(|item| {
        let e = read_cidr(item)?;
        if let Some(parent) = cidr
            && !parent.contains(&e)
        {
            item.error(format!("except {e} is not inside cidr {parent}"));
            return None;
        }
        Some(e)
    })
}

/// Reads a CIDR or bare address. Host bits are cleared with a warning, as Cilium accepts
/// them.
pub fn read_cidr(c: &Cursor<'_>) -> Option<Cidr> {
    let s = c.string()?;
    match Cidr::parse_strict(s) {
        Ok(cidr) => Some(cidr),
        Err(CidrError::HostBits(_, masked)) => {
            c.warn(format!("{s:?} has host bits set; using {masked}"));
            Some(masked)
        }
        Err(e) => {
            c.error(format!("invalid CIDR {s:?}: {e}"));
            None
        }
    }
}

fn read_fqdns(c: &Cursor<'_>) -> Option<Vec<Peer>> {
    c.each(|item| {
        read_dns_selector(item, "a toFQDNs entry")
            .map(|(kind, text)| Peer::Fqdn(format!("{}: {text}", kind.field())))
    })
}

/// Reads `fromRequires`/`toRequires`: deprecated by Cilium but honoured here (ignoring a
/// requirement would widen the policy), with a warning that says so.
fn read_requires(
    c: &Cursor<'_>,
    ctx: &RuleContext,
    subject: &Selector,
    kind: SectionKind,
) -> Option<Vec<Selector>> {
    let (field, peers) = (
        kind.field("fromRequires", "toRequires"),
        kind.field("fromEndpoints", "toEndpoints"),
    );
    c.warn(format!(
        "{field} is deprecated in Cilium 1.17 and removed in 1.19; it is honoured here: its \
         selectors are ANDed into every {peers} peer of the rules selecting the same endpoints"
    ));
    c.each(|item| {
        let sel = read_selector(item, KeyStyle::Cilium)?;
        Some(namespacing::requirement_selector(
            sel,
            &ctx.namespace,
            subject,
        ))
    })
}
