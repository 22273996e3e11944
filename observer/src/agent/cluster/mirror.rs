//! [`Mirror`]: one watched section's raw items, kept by the store's updates (a resync
//! replaces everything; changes put or delete keys), with the revision they are at.

use std::collections::BTreeMap;

use observe_kvstore::Update;

/// A section's items as last seen.
#[derive(Clone, Debug, Default)]
pub struct Mirror {
    /// Key (relative to the section) to value.
    pub items: BTreeMap<String, Vec<u8>>,
    /// The store's revision they are at (0: never listed).
    pub revision: i64,
    /// Whether a listing arrived since the watcher started.
    pub synced: bool,
}

impl Mirror {
    /// Takes an update; returns whether the items changed.
    pub fn apply(&mut self, update: Update) -> bool {
        match update {
            Update::Resync { revision, items } => {
                let changed = !self.synced || self.items != items;
                self.items = items;
                self.revision = revision;
                self.synced = true;
                changed
            }
            Update::Changes { revision, changes } => {
                self.revision = self.revision.max(revision);
                let mut changed = false;
                for (key, value) in changes {
                    changed |= match value {
                        Some(v) => self.items.insert(key, v.clone()).as_ref() != Some(&v),
                        None => self.items.remove(&key).is_some(),
                    };
                }
                changed
            }
            Update::Down { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resync_replaces_and_changes_put_or_delete() {
        let mut m = Mirror::default();
        let items = BTreeMap::from([("a".to_string(), b"1".to_vec())]);
        assert!(m.apply(Update::Resync {
            revision: 5,
            items: items.clone()
        }));
        assert!(
            !m.apply(Update::Resync { revision: 6, items }),
            "same items"
        );
        assert!(m.apply(Update::Changes {
            revision: 7,
            changes: vec![("b".into(), Some(b"2".to_vec())), ("a".into(), None)],
        }));
        assert_eq!(m.items.keys().collect::<Vec<_>>(), ["b"]);
        assert_eq!(m.revision, 7);
        assert!(!m.apply(Update::Down { error: "x".into() }));
    }
}
