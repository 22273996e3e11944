//! The normalized rule model: what CNP, CCNP and KNP manifests become after parsing,
//! validation and Cilium's translations (namespace injection, `k8s:` prefixes, KNP
//! defaults). The engine only ever sees these types.

use std::sync::Arc;

use super::Direction;
use super::entity::Entity;
use super::origin::{PolicyRef, RuleRef};
use crate::labels::Selector;
use crate::mapstate::PortRange;
use crate::net::Cidr;

/// A policy object with its rules (a CNP/CCNP has one per `spec`/`specs` entry; a KNP has
/// one).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Policy {
    /// The object.
    pub origin: Arc<PolicyRef>,
    /// Its rules.
    pub rules: Vec<Rule>,
    /// Audit mode (annotation `observe.io/mode: audit`): what the policy would deny passes
    /// and is reported with verdict AUDIT; it changes no other policy's enforcement.
    #[serde(default)]
    pub audit: bool,
}

/// Whom a rule applies to.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Subject {
    /// Endpoints (pods) whose identity labels match.
    Endpoints(Selector),
    /// Nodes (host firewall; CCNP `nodeSelector`).
    Nodes(Selector),
}

/// One rule (a `spec`/`specs[i]` entry, or a KNP).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rule {
    /// Path of the rule in its object (`spec`, `specs[1]`).
    pub path: String,
    /// Subject selector, namespace already injected for namespaced kinds.
    pub subject: Subject,
    /// `ingress` sections.
    pub ingress: Vec<PeerRule>,
    /// `ingressDeny` sections.
    pub ingress_deny: Vec<PeerRule>,
    /// `egress` sections.
    pub egress: Vec<PeerRule>,
    /// `egressDeny` sections.
    pub egress_deny: Vec<PeerRule>,
    /// Whether the rule turns on default deny for ingress (if it has ingress sections).
    pub default_deny_ingress: bool,
    /// Whether the rule turns on default deny for egress (if it has egress sections).
    pub default_deny_egress: bool,
}

impl Rule {
    /// Whether the rule has allow or deny sections for ingress.
    pub fn has_ingress(&self) -> bool {
        !self.ingress.is_empty() || !self.ingress_deny.is_empty()
    }

    /// Whether the rule has allow or deny sections for egress.
    pub fn has_egress(&self) -> bool {
        !self.egress.is_empty() || !self.egress_deny.is_empty()
    }

    /// The rule's allow and deny sections in `direction`.
    pub fn sections(&self, direction: Direction) -> (&[PeerRule], &[PeerRule]) {
        match direction {
            Direction::Ingress => (&self.ingress, &self.ingress_deny),
            Direction::Egress => (&self.egress, &self.egress_deny),
        }
    }

    /// Whether the rule turns on default deny in `direction`.
    pub fn default_deny(&self, direction: Direction) -> bool {
        match direction {
            Direction::Ingress => self.default_deny_ingress,
            Direction::Egress => self.default_deny_egress,
        }
    }
}

/// One `ingress[i]` / `egress[i]` / `*Deny[i]` section: peers × ports.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PeerRule {
    /// The rule's identity for attribution (`spec.ingress[0]`).
    pub rule: RuleRef,
    /// Which peers.
    pub peers: Peers,
    /// `fromRequires`/`toRequires` selectors written in this section. Cilium ANDs the
    /// requirements of every rule selecting an endpoint into the endpoint selectors of
    /// every section of the same kind (allow or deny) in that direction.
    pub requires: Vec<Selector>,
    /// Which protocols and ports.
    pub l4: L4,
}

/// The peers of a section.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Peers {
    /// No L3 constraint: every peer, including world and host (a section with only
    /// `toPorts`/`icmps`, a KNP rule without `from`/`to`, or entity `all`).
    Any,
    /// These peers (an empty list selects nothing).
    List(Vec<Peer>),
}

/// One peer clause.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Peer {
    /// `fromEndpoints`/`toEndpoints` entry, KNP pod/namespace selector (namespace already
    /// injected per Cilium's rules).
    Endpoints(Selector),
    /// `fromNodes`/`toNodes` entry: the node selector with `reserved:remote-node` required.
    Nodes(Selector),
    /// `fromEntities`/`toEntities` entry.
    Entity(Entity),
    /// `fromCIDR`, `fromCIDRSet`, KNP `ipBlock`: world and CIDR identities only.
    Cidr {
        /// The prefix.
        cidr: Cidr,
        /// Excluded sub-prefixes.
        except: Vec<Cidr>,
    },
    /// `toFQDNs` entry (`matchName` or `matchPattern`): needs the DNS proxy; until then it
    /// selects no address.
    Fqdn(String),
    /// `toServices` entry: selects nothing itself; the engine computes with a section per
    /// matching Service whose peers are that Service's backends (see
    /// [`super::services`]).
    Service(super::services::ServicePeer),
}

/// Protocols and ports of a section.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum L4 {
    /// No `toPorts`/`icmps`: every protocol and port (including ICMP).
    Any,
    /// `toPorts` (or KNP `ports`).
    Ports(Vec<PortSpec>),
    /// `icmps`.
    Icmps(Vec<IcmpSpec>),
}

/// One port entry of `toPorts[].ports`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PortSpec {
    /// A number or range, or a named port.
    pub port: PortSel,
    /// IP protocol numbers (ANY expands to TCP, UDP and SCTP).
    pub protocols: Vec<u8>,
    /// The L7 rules of the enclosing port rule, if any (parsed, not enforced yet).
    pub l7: Option<L7>,
}

/// A port selection.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PortSel {
    /// Port numbers (`0` means every port).
    Range(PortRange),
    /// A named container port, resolved against the destination pod.
    Named(String),
}

/// One ICMP type of `icmps[].fields`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IcmpSpec {
    /// ICMPv6 (protocol 58) rather than ICMP (1).
    pub v6: bool,
    /// The ICMP type.
    pub icmp_type: u8,
}

impl IcmpSpec {
    /// The IP protocol number.
    pub fn protocol(&self) -> u8 {
        if self.v6 { 58 } else { 1 }
    }
}

/// L7 rules attached to a port rule.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum L7 {
    /// `rules.http`: the request must meet one of these.
    Http(Vec<super::http::HttpRule>),
    /// `rules.dns` with these patterns.
    Dns(Vec<String>),
}

impl std::fmt::Display for L7 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Http(rules) => {
                let shown: Vec<String> = rules.iter().map(super::http::HttpRule::summary).collect();
                write!(f, "HTTP ({})", shown.join("; "))
            }
            Self::Dns(p) => write!(f, "DNS ({})", p.join(", ")),
        }
    }
}
