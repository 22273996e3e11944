//! From one rule section to map-state entries: resolve the peers to identities through
//! the selector cache, resolve ports (named ports against the destination pod), and
//! produce one raw entry per (identity, protocol, ports).
//!
//! The same code serves policy computation and `policy trace`, so a trace can never
//! disagree with the map state.

use std::collections::{BTreeMap, BTreeSet};

use super::partial::Partial;
use super::selector_cache::{PeerKey, SelectorCache};
use crate::cluster::ContainerPort;
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
    /// For patching: resolve only some peer identities (and the wildcard). `None`
    /// resolves every peer.
    pub partial: Option<&'a mut Partial>,
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
    /// Selector-cache keys consulted (not recorded by a partial resolution, which
    /// consults those of the full one).
    pub keys: Vec<PeerKey>,
    /// Whether egress named ports were resolved against peers.
    pub egress_named_ports: bool,
}

impl Resolver<'_> {
    /// The identities a section's peers select. `requires` (the folded
    /// `fromRequires`/`toRequires` of every rule selecting the endpoint) are ANDed into
    /// every endpoint selector.
    pub fn peers(&mut self, peers: &Peers, requires: &Selector, used: &mut Used) -> PeerSet {
        if let Some(set) = self
            .partial
            .as_deref()
            .and_then(|p| p.remembered(peers, requires))
        {
            return set.clone();
        }
        let set = self.resolve_peers(peers, requires, used);
        if let Some(p) = self.partial.as_deref_mut() {
            p.remember(peers, requires, set.clone());
        }
        set
    }

    fn resolve_peers(&mut self, peers: &Peers, requires: &Selector, used: &mut Used) -> PeerSet {
        let list = match peers {
            Peers::Any => return PeerSet::Any,
            Peers::List(list) => list,
        };
        let mut ids = BTreeSet::new();
        for peer in list {
            match peer {
                Peer::Entity(Entity::All) => return PeerSet::Any,
                Peer::Entity(e) if self.partial.is_some() => ids.extend(self.entity(*e)),
                _ => {
                    let keys = self.peer_keys(peer, requires);
                    self.select_into(keys, &mut ids, used);
                }
            }
        }
        PeerSet::Ids(ids)
    }

    /// The selector-cache keys of a peer (but `all`, which is every identity).
    fn peer_keys(&self, peer: &Peer, requires: &Selector) -> Vec<PeerKey> {
        match peer {
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
            // Resolved into generated sections before the engine computes with a policy.
            Peer::Service(_) => Vec::new(),
        }
    }

    /// Adds what `keys` select to `ids` (in a partial resolution, among its identities).
    fn select_into(&mut self, keys: Vec<PeerKey>, ids: &mut BTreeSet<u32>, used: &mut Used) {
        for key in keys {
            let selection = self.selectors.select(&key, self.identities);
            match self.partial.as_deref() {
                None => ids.extend(selection.iter().copied()),
                Some(p) => ids.extend(p.only.iter().filter(|id| selection.contains(id))),
            }
            if self.partial.is_none() {
                used.keys.push(key);
            }
        }
    }

    /// In a partial resolution, the identities an entity selects, remembered.
    fn entity(&mut self, entity: Entity) -> BTreeSet<u32> {
        if let Some(ids) = self.partial.as_deref().and_then(|p| p.entity(entity)) {
            return ids.clone();
        }
        let mut ids = BTreeSet::new();
        let keys = self.peer_keys(&Peer::Entity(entity), &Selector::all());
        self.select_into(keys, &mut ids, &mut Used::default());
        if let Some(p) = self.partial.as_deref_mut() {
            p.remember_entity(entity, ids.clone());
        }
        ids
    }

    /// The raw entries of a section for an endpoint with container ports `ports`, allow or
    /// deny, in `direction`: at ingress named ports resolve against the endpoint's ports, at
    /// egress against each peer's.
    pub fn entries(
        &mut self,
        section: &PeerRule,
        requires: &Selector,
        action: Action,
        direction: Direction,
        ports: &[ContainerPort],
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
                            for cp in ports
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
                                    PeerSet::Any => {
                                        self.partial.as_deref().is_none_or(|p| p.only.contains(&id))
                                    }
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
