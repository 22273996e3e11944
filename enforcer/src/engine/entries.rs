//! From one rule section to map-state entries: resolve the peers to identities through
//! the selector cache, resolve ports (named ports against the destination pod), and
//! produce one raw entry per (identity, protocol, ports).
//!
//! The same code serves policy computation and `policy trace`, so a trace can never
//! disagree with the map state.

use std::collections::{BTreeMap, BTreeSet};

use super::selector_cache::{PeerKey, SelectorCache};
use crate::cluster::Pod;
use crate::identity::IdentityTable;
use crate::labels::Selector;
use crate::mapstate::resolve::RawEntry;
use crate::mapstate::{Action, L7Kind, PortRange};
use crate::policy::Direction;
use crate::policy::entity::Entity;
use crate::policy::model::{L4, L7, Peer, PeerRule, Peers, PortSel};

/// Named container ports of every pod: name → (identity, protocol, port).
pub type NamedPorts = BTreeMap<String, BTreeSet<(u32, u8, u16)>>;

/// What resolving a section needs.
pub struct Resolver<'a> {
    /// All identities.
    pub identities: &'a IdentityTable,
    /// The selector cache (filled on demand).
    pub selectors: &'a mut SelectorCache,
    /// Named ports of every pod, for egress named ports.
    pub named_ports: &'a NamedPorts,
    /// The cluster name (entity `cluster`).
    pub cluster: &'a str,
}

/// Peers as identities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerSet {
    /// Every identity (key identity 0).
    Any,
    /// These identities.
    Ids(BTreeSet<u32>),
}

/// What resolution used, for incremental recomputation.
#[derive(Default)]
pub struct Used {
    /// Selector-cache keys consulted.
    pub keys: Vec<PeerKey>,
    /// Whether egress named ports were resolved against peers.
    pub egress_named_ports: bool,
}

impl Resolver<'_> {
    /// The identities a section's peers select. `requires` (the folded
    /// `fromRequires`/`toRequires` of every rule selecting the endpoint) are ANDed into
    /// every endpoint selector.
    pub fn peers(&mut self, peers: &Peers, requires: &Selector, used: &mut Used) -> PeerSet {
        let list = match peers {
            Peers::Any => return PeerSet::Any,
            Peers::List(list) => list,
        };
        let mut ids = BTreeSet::new();
        for peer in list {
            let keys: Vec<PeerKey> = match peer {
                Peer::Entity(Entity::All) => return PeerSet::Any,
                Peer::Endpoints(sel) => vec![PeerKey::Labels(sel.and(requires))],
                Peer::Nodes(sel) => vec![PeerKey::Labels(sel.clone())],
                Peer::Entity(e) => e
                    .selectors(self.cluster)
                    .into_iter()
                    .map(PeerKey::Labels)
                    .collect(),
                Peer::Cidr { cidr, except } => vec![PeerKey::Cidr {
                    cidr: *cidr,
                    except: except.clone(),
                }],
                Peer::Fqdn(text) => super::fqdn::compile(text)
                    .map(|(label, _)| PeerKey::Fqdn(label))
                    .into_iter()
                    .collect(),
            };
            for key in keys {
                ids.extend(self.selectors.select(&key, self.identities).iter().copied());
                used.keys.push(key);
            }
        }
        PeerSet::Ids(ids)
    }

    /// The raw entries of a section for an endpoint (`pod`), allow or deny, in `direction`:
    /// at ingress named ports resolve against the endpoint, at egress against each peer.
    pub fn entries(
        &mut self,
        section: &PeerRule,
        requires: &Selector,
        action: Action,
        direction: Direction,
        pod: &Pod,
        used: &mut Used,
    ) -> Vec<RawEntry> {
        let peers = self.peers(&section.peers, requires, used);
        let ids: Vec<u32> = match &peers {
            PeerSet::Any => vec![0],
            PeerSet::Ids(ids) => ids.iter().copied().collect(),
        };
        let mut out = Vec::new();
        let mut push = |identity: u32, protocol: u8, ports: PortRange, l7: L7Kind| {
            out.push(RawEntry {
                identity,
                protocol,
                ports,
                action,
                rule: section.rule.clone(),
                l7,
            });
        };
        match &section.l4 {
            L4::Any => ids
                .iter()
                .for_each(|&id| push(id, 0, PortRange::ALL, L7Kind::None)),
            L4::Icmps(icmps) => {
                for icmp in icmps {
                    ids.iter().for_each(|&id| {
                        push(
                            id,
                            icmp.protocol(),
                            PortRange::single(u16::from(icmp.icmp_type)),
                            L7Kind::None,
                        )
                    });
                }
            }
            L4::Ports(specs) => {
                for spec in specs {
                    let l7 = match &spec.l7 {
                        None => L7Kind::None,
                        Some(L7::Http(_)) => L7Kind::Http,
                        Some(L7::Dns(_)) => L7Kind::Dns,
                    };
                    match &spec.port {
                        PortSel::Range(r) => {
                            for &p in &spec.protocols {
                                ids.iter().for_each(|&id| push(id, p, *r, l7));
                            }
                        }
                        PortSel::Named(name) if direction == Direction::Ingress => {
                            // The destination is the endpoint itself.
                            for cp in pod
                                .ports
                                .iter()
                                .filter(|cp| cp.name.as_deref() == Some(name.as_str()))
                            {
                                if spec.protocols.contains(&cp.protocol) {
                                    ids.iter().for_each(|&id| {
                                        push(id, cp.protocol, PortRange::single(cp.port), l7)
                                    });
                                }
                            }
                        }
                        PortSel::Named(name) => {
                            // The destination is each peer: resolve per peer identity.
                            used.egress_named_ports = true;
                            for &(id, proto, port) in
                                self.named_ports.get(name).into_iter().flatten()
                            {
                                let selected = match &peers {
                                    PeerSet::Any => true,
                                    PeerSet::Ids(ids) => ids.contains(&id),
                                };
                                if selected && spec.protocols.contains(&proto) {
                                    push(id, proto, PortRange::single(port), l7);
                                }
                            }
                        }
                    }
                }
            }
        }
        out
    }
}
