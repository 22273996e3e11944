//! [`Mirror`]: one watched section's raw items, kept by the store's updates (a resync
//! replaces everything; changes put or delete keys), with the revision they are at. The
//! items are shared, so handing them to the agent copies nothing (a change after the
//! agent let go of them changes them in place).

use std::collections::BTreeMap;
use std::sync::Arc;

use observe_kvstore::Update;

/// A section's items as last seen.
#[derive(Clone, Debug, Default)]
pub struct Mirror {
    /// Key (relative to the section) to value.
    pub items: Arc<BTreeMap<String, Vec<u8>>>,
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
                let changed = !self.synced || *self.items != items;
                self.items = Arc::new(items);
                self.revision = revision;
                self.synced = true;
                changed
            }
            Update::Changes { revision, changes } => {
                self.revision = self.revision.max(revision);
                let mut changed = false;
                let items = Arc::make_mut(&mut self.items);
                for (key, value) in changes {
                    changed |= match value {
                        Some(v) => items.insert(key, v.clone()).as_ref() != Some(&v),
                        None => items.remove(&key).is_some(),
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
