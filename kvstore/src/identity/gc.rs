//! [`Store::collect_identities`] and [`UnusedSince`]: the identity collector. A pass reads
//! `id/` and `users/` at one revision; a number without users is remembered with the time it
//! was first seen unused and its mod revision; once unused for longer than the grace period
//! with the same mod revision, `id/<n>` and `labels/<l>` are deleted in one transaction
//! guarded by that mod revision and by `users/<n>/` still being empty. A touch by an
//! allocation (new mod revision) or a new user makes the collector back off.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use etcd_client::{Compare, CompareOp, Txn, TxnOp};

use super::keys::{
    ID_PREFIX, USERS_PREFIX, id_key, labels_key, parse_id_key, parse_user_key, users_of,
};
use crate::error::Error;
use crate::keys::prefix_end;
use crate::section::Section;
use crate::store::Store;

/// What the collector remembers between passes: since when, and at which mod revision,
/// each number has been seen without users. Keep one per collector (typically one node).
#[derive(Debug, Clone, Default)]
pub struct UnusedSince {
    entries: HashMap<u32, Unused>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Unused {
    since: Instant,
    mod_revision: i64,
}

/// One `id/<n>` entry as read.
#[derive(Debug, Clone, PartialEq, Eq)]
struct IdEntry {
    labels: String,
    mod_revision: i64,
}

impl UnusedSince {
    /// Nothing seen yet.
    pub fn new() -> UnusedSince {
        UnusedSince::default()
    }

    /// How many numbers are currently seen unused.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no number is seen unused.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `id` is currently seen unused.
    pub fn contains(&self, id: u32) -> bool {
        self.entries.contains_key(&id)
    }

    /// Records this pass's view and returns the numbers due for deletion: unused for at
    /// least `grace` at an unchanged mod revision. Numbers that are gone or used again are
    /// forgotten; a changed mod revision starts the wait again.
    fn update(
        &mut self,
        ids: &BTreeMap<u32, IdEntry>,
        used: &HashSet<u32>,
        now: Instant,
        grace: Duration,
    ) -> Vec<u32> {
        self.entries
            .retain(|id, _| ids.contains_key(id) && !used.contains(id));
        let mut due = Vec::new();
        for (&id, entry) in ids.iter().filter(|(id, _)| !used.contains(id)) {
            match self.entries.get(&id) {
                Some(seen) if seen.mod_revision == entry.mod_revision => {
                    if now.saturating_duration_since(seen.since) >= grace {
                        due.push(id);
                    }
                }
                _ => {
                    let fresh = Unused {
                        since: now,
                        mod_revision: entry.mod_revision,
                    };
                    self.entries.insert(id, fresh);
                }
            }
        }
        due
    }
}

impl Store {
    /// One collector pass (see the module doc); returns the numbers it deleted.
    ///
    /// # Errors
    ///
    /// [`Error::Etcd`] / [`Error::Timeout`]. `seen` keeps the numbers not yet dealt with;
    /// numbers deleted before the error are not reported (the next pass no longer sees them).
    pub async fn collect_identities(
        &self,
        grace: Duration,
        seen: &mut UnusedSince,
    ) -> Result<Vec<u32>, Error> {
        let (ids, used) = self.identity_usage().await?;
        let due = seen.update(&ids, &used, Instant::now(), grace);
        let mut deleted = Vec::new();
        for id in due {
            let Some(entry) = ids.get(&id) else { continue };
            // Deleted, or changed since read (the next pass looks again): forgotten either way.
            if self.delete_unused(id, entry).await? {
                deleted.push(id);
            }
            seen.entries.remove(&id);
        }
        Ok(deleted)
    }

    /// Every `id/<n>` entry and every number with a user, read at one revision.
    async fn identity_usage(&self) -> Result<(BTreeMap<u32, IdEntry>, HashSet<u32>), Error> {
        let section = Section::Identities;
        let (rev, id_kvs) = self.range(&self.ident_key(ID_PREFIX), None, false).await?;
        let (_, user_kvs) = self
            .range(&self.ident_key(USERS_PREFIX), Some(rev), true)
            .await?;
        let mut ids = BTreeMap::new();
        let mut skipped = 0usize;
        for kv in id_kvs {
            let id = self
                .keys()
                .relative(section, kv.key())
                .and_then(|k| parse_id_key(&k));
            let labels = std::str::from_utf8(kv.value())
                .ok()
                .filter(|l| !l.is_empty());
            match (id, labels) {
                (Some(id), Some(labels)) => {
                    let mod_revision = kv.mod_revision();
                    let labels = labels.to_owned();
                    ids.insert(
                        id,
                        IdEntry {
                            labels,
                            mod_revision,
                        },
                    );
                }
                _ => skipped += 1,
            }
        }
        if skipped > 0 {
            tracing::warn!(
                skipped,
                "kvstore: identity collector skipped malformed id/ entries"
            );
        }
        let used = user_kvs
            .iter()
            .filter_map(|kv| self.keys().relative(section, kv.key()))
            .filter_map(|rel| parse_user_key(&rel))
            .collect();
        Ok((ids, used))
    }

    /// Deletes `id/<id>` (and `labels/<l>` if it still points to `id`) if it is unchanged
    /// and still has no users.
    async fn delete_unused(&self, id: u32, entry: &IdEntry) -> Result<bool, Error> {
        let id_full = self.ident_key(&id_key(id));
        let labels_full = self.ident_key(&labels_key(&entry.labels));
        let users = self.ident_key(&users_of(id));
        let delete_labels = Txn::new()
            .when([Compare::value(
                labels_full.clone(),
                CompareOp::Equal,
                id.to_string(),
            )])
            .and_then([TxnOp::delete(labels_full, None)]);
        let txn = Txn::new()
            .when([
                Compare::mod_revision(id_full.clone(), CompareOp::Equal, entry.mod_revision),
                Compare::version(users.clone(), CompareOp::Equal, 0).with_range(prefix_end(&users)),
            ])
            .and_then([
                TxnOp::delete(id_full.clone(), None),
                TxnOp::txn(delete_labels),
            ]);
        Ok(self
            .txn(|| format!("collect {id_full}"), txn)
            .await?
            .succeeded())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(entries: &[(u32, i64)]) -> BTreeMap<u32, IdEntry> {
        entries
            .iter()
            .map(|&(id, mod_revision)| {
                let labels = format!("l{id}");
                (
                    id,
                    IdEntry {
                        labels,
                        mod_revision,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn due_only_after_grace_at_an_unchanged_revision() {
        let grace = Duration::from_secs(10);
        let t0 = Instant::now();
        let mut seen = UnusedSince::new();
        let used = HashSet::from([2]);
        let view = ids(&[(1, 5), (2, 6), (3, 7)]);
        assert!(seen.update(&view, &used, t0, grace).is_empty());
        assert!(seen.contains(1) && seen.contains(3) && !seen.contains(2));
        assert!(seen.update(&view, &used, t0 + grace / 2, grace).is_empty());
        // 3 was touched (new mod revision): its wait starts again.
        let touched = ids(&[(1, 5), (2, 6), (3, 9)]);
        assert_eq!(seen.update(&touched, &used, t0 + grace, grace), [1]);
        assert_eq!(seen.update(&touched, &used, t0 + grace * 2, grace), [1, 3]);
    }

    #[test]
    fn ids_that_regain_users_or_vanish_are_forgotten() {
        let grace = Duration::from_secs(1);
        let t0 = Instant::now();
        let mut seen = UnusedSince::new();
        seen.update(&ids(&[(1, 5), (2, 6)]), &HashSet::new(), t0, grace);
        assert_eq!(seen.len(), 2);
        let due = seen.update(&ids(&[(1, 5)]), &HashSet::from([1]), t0 + grace, grace);
        assert!(due.is_empty());
        assert!(seen.is_empty());
    }
}
