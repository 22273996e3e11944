//! Which endpoints use which selector-cache keys: the reverse index that turns "these
//! selections changed" into "recompute these endpoints", and tells when a cached selector
//! has no user left.

use std::collections::{BTreeSet, HashMap};

use super::selector_cache::PeerKey;
use crate::cluster::PodKey;

/// Selector-cache key → endpoints whose policy consulted it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DepIndex {
    users: HashMap<PeerKey, BTreeSet<PodKey>>,
}

impl DepIndex {
    /// Records that `pod` now uses `new` instead of `old`; returns the keys nobody uses
    /// any more.
    pub fn replace(&mut self, pod: &PodKey, old: &[PeerKey], new: &[PeerKey]) -> Vec<PeerKey> {
        for key in new {
            self.users
                .entry(key.clone())
                .or_default()
                .insert(pod.clone());
        }
        let mut unused = Vec::new();
        for key in old.iter().filter(|k| !new.contains(k)) {
            if let Some(set) = self.users.get_mut(key) {
                set.remove(pod);
                if set.is_empty() {
                    self.users.remove(key);
                    unused.push(key.clone());
                }
            }
        }
        unused
    }

    /// Endpoints using any of `keys`, sorted, each once.
    pub fn users_of<'a>(&'a self, keys: impl IntoIterator<Item = &'a PeerKey>) -> Vec<PodKey> {
        // Keys share most of their users: deduplicate before cloning.
        let mut users: Vec<&PodKey> = keys
            .into_iter()
            .filter_map(|k| self.users.get(k))
            .flatten()
            .collect();
        users.sort();
        users.dedup();
        users.into_iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::Selector;

    #[test]
    fn keys_without_users_are_reported() {
        let mut d = DepIndex::default();
        let (a, b) = (PodKey::new("ns", "a"), PodKey::new("ns", "b"));
        let k = PeerKey::Labels(Selector::all());
        assert!(d.replace(&a, &[], std::slice::from_ref(&k)).is_empty());
        assert!(d.replace(&b, &[], std::slice::from_ref(&k)).is_empty());
        assert_eq!(d.users_of([&k]), vec![a.clone(), b.clone()]);
        assert!(d.replace(&a, std::slice::from_ref(&k), &[]).is_empty());
        assert_eq!(
            d.replace(&b, std::slice::from_ref(&k), &[]),
            vec![k.clone()]
        );
        assert!(d.users_of([&k]).is_empty());
    }
}
