//! The selector cache: for every peer selector in use, the identities it selects, kept up
//! to date as identities come and go (Cilium's `SelectorCache`).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::fqdn::FQDN_SOURCE;
use crate::identity::{Identity, IdentityTable};
use crate::labels::{Selector, Source};
use crate::net::Cidr;

/// A peer clause as the cache knows it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeerKey {
    /// Identities whose labels match.
    Labels(Selector),
    /// World and CIDR identities inside `cidr` and outside every `except`.
    Cidr {
        /// The prefix.
        cidr: Cidr,
        /// Excluded sub-prefixes.
        except: Vec<Cidr>,
    },
    /// Identities of learned addresses labelled with this `toFQDNs` selector
    /// (`fqdn:<selector>`).
    Fqdn(String),
}

impl PeerKey {
    /// Whether the key selects `identity`.
    pub fn matches(&self, identity: &Identity) -> bool {
        match self {
            Self::Labels(sel) => sel.matches(&identity.labels),
            // Only world and CIDR identities carry a prefix: pods and nodes never match a
            // CIDR rule (Cilium's default policy-cidr-match-mode).
            Self::Cidr { cidr, except } => identity
                .cidr
                .is_some_and(|c| cidr.contains(&c) && !except.iter().any(|e| e.contains(&c))),
            Self::Fqdn(selector) => identity
                .labels
                .get(&Source::Other(FQDN_SOURCE.into()), selector)
                .is_some(),
        }
    }
}

/// Selected identities of a key.
pub type Selection = Arc<BTreeSet<u32>>;

/// The cache.
#[derive(Clone, Default)]
pub struct SelectorCache {
    entries: HashMap<PeerKey, Selection>,
}

impl SelectorCache {
    /// The identities `key` selects, computing and caching them on first use.
    pub fn select(&mut self, key: &PeerKey, identities: &IdentityTable) -> Selection {
        if let Some(s) = self.entries.get(key) {
            return s.clone();
        }
        let set: BTreeSet<u32> = identities
            .iter()
            .filter(|i| key.matches(i))
            .map(|i| i.id)
            .collect();
        let set = Arc::new(set);
        self.entries.insert(key.clone(), set.clone());
        set
    }

    /// Adds a new identity to every selection that matches it; returns the keys whose
    /// selection changed.
    pub fn identity_added(&mut self, identity: &Identity) -> Vec<PeerKey> {
        let mut changed = Vec::new();
        for (key, set) in self.entries.iter_mut() {
            if key.matches(identity) {
                Arc::make_mut(set).insert(identity.id);
                changed.push(key.clone());
            }
        }
        changed
    }

    /// Removes an identity from every selection; returns the keys whose selection changed.
    pub fn identity_removed(&mut self, id: u32) -> Vec<PeerKey> {
        let mut changed = Vec::new();
        for (key, set) in self.entries.iter_mut() {
            if set.contains(&id) {
                Arc::make_mut(set).remove(&id);
                changed.push(key.clone());
            }
        }
        changed
    }

    /// Forgets a key nobody uses any more.
    pub fn remove(&mut self, key: &PeerKey) {
        self.entries.remove(key);
    }

    /// Every cached key and its selection.
    #[cfg(test)]
    pub fn entries(&self) -> impl Iterator<Item = (PeerKey, Selection)> + '_ {
        self.entries.iter().map(|(k, s)| (k.clone(), s.clone()))
    }
}
