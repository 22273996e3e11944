//! A partial resolution, for patching endpoints: only some peer identities (and the
//! wildcard) are resolved. The selections do not change while endpoints are patched, so
//! a peers clause with the same folded requirements resolves the same for every endpoint
//! whose rules contain it (a cluster-wide policy, a namespace's policies): each is
//! resolved once and remembered, and so is each entity (the same keys everywhere).

use std::collections::{BTreeSet, HashMap};

use super::entries::PeerSet;
use crate::labels::Selector;
use crate::policy::entity::Entity;
use crate::policy::model::Peers;

/// The identities to resolve, and the peers resolved so far.
pub struct Partial {
    /// The peer identities to resolve.
    pub only: BTreeSet<u32>,
    /// Peers clause (by address: the policies do not change meanwhile) → the folded
    /// requirements it was resolved with → its peers among `only`.
    peers: HashMap<*const Peers, Vec<(Selector, PeerSet)>>,
    /// Entity → the identities of `only` it selects.
    entities: HashMap<Entity, BTreeSet<u32>>,
}

impl Partial {
    /// A partial resolution of `only`.
    pub fn new(only: BTreeSet<u32>) -> Self {
        Self {
            only,
            peers: HashMap::new(),
            entities: HashMap::new(),
        }
    }

    /// The identities of `only` that `entity` selects, if remembered.
    pub fn entity(&self, entity: Entity) -> Option<&BTreeSet<u32>> {
        self.entities.get(&entity)
    }

    /// Remembers the identities of `only` that `entity` selects.
    pub fn remember_entity(&mut self, entity: Entity, ids: BTreeSet<u32>) {
        self.entities.insert(entity, ids);
    }

    /// The peers `peers` resolved to with `requires`, if remembered.
    pub fn remembered(&self, peers: &Peers, requires: &Selector) -> Option<&PeerSet> {
        let resolved = self.peers.get(&std::ptr::from_ref(peers))?;
        resolved
            .iter()
            .find(|(r, _)| r == requires)
            .map(|(_, set)| set)
    }

    /// Remembers what `peers` resolved to with `requires`.
    pub fn remember(&mut self, peers: &Peers, requires: &Selector, set: PeerSet) {
        self.peers
            .entry(std::ptr::from_ref(peers))
            .or_default()
            .push((requires.clone(), set));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::{Requirement, SelKey};

    #[test]
    fn peers_are_remembered_per_clause_and_requirements() {
        let (a, b) = (Peers::Any, Peers::Any);
        let mut p = Partial::new(BTreeSet::from([300]));
        let ids = PeerSet::Ids(BTreeSet::from([300]));
        p.remember(&a, &Selector::all(), ids.clone());
        assert_eq!(p.remembered(&a, &Selector::all()), Some(&ids));
        assert_eq!(p.remembered(&b, &Selector::all()), None);
        let front = Selector::all().with(Requirement::equals(SelKey::k8s("tier"), "front"));
        assert_eq!(p.remembered(&a, &front), None);
    }
}
