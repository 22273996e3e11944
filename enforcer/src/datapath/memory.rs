//! In-memory maps implementing [`MapOps`]: the reconciler's test double, with a capacity
//! (so "map full" is testable), injectable failures, and an optional journal shared by
//! several maps that records every write in order (so write ordering is testable).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use probe_common::endpoint::EndpointInfo;
use probe_common::ipcache::{IpCacheEntry, IpCacheKey};
use probe_common::maps as names;
use probe_common::policy::{PolicyEntry, PolicyKey};

use super::error::MapError;
use super::maps::MapOps;

/// One write, as recorded in a [`Journal`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Write {
    /// Map name.
    pub map: &'static str,
    /// `insert` or `remove`.
    pub op: &'static str,
    /// The key, formatted with `{:?}`.
    pub key: String,
}

/// A write log shared by several maps.
pub type Journal = Arc<Mutex<Vec<Write>>>;

/// An in-memory map.
#[derive(Debug)]
pub struct MemoryMap<K, V> {
    name: &'static str,
    capacity: usize,
    entries: BTreeMap<K, V>,
    journal: Option<Journal>,
    fail_writes: bool,
}

/// In-memory `OBS_POLICY`.
pub type MemoryPolicyMap = MemoryMap<(PolicyKey, u32), PolicyEntry>;
/// In-memory `OBS_ENDPOINTS`.
pub type MemoryEndpointMap = MemoryMap<u32, EndpointInfo>;
/// In-memory `OBS_IPCACHE`.
pub type MemoryIpCache = MemoryMap<(IpCacheKey, u32), IpCacheEntry>;

impl<K, V> MemoryMap<K, V> {
    /// An empty map named `name` holding at most `capacity` entries.
    pub fn new(name: &'static str, capacity: usize) -> Self {
        Self {
            name,
            capacity,
            entries: BTreeMap::new(),
            journal: None,
            fail_writes: false,
        }
    }

    /// Records every write in `journal`.
    pub fn with_journal(mut self, journal: Journal) -> Self {
        self.journal = Some(journal);
        self
    }

    /// Makes every later write fail (as a kernel error would).
    pub fn fail_writes(&mut self, fail: bool) {
        self.fail_writes = fail;
    }

    /// The current contents.
    pub fn contents(&self) -> &BTreeMap<K, V> {
        &self.entries
    }
}

impl MemoryPolicyMap {
    /// An empty policy map with the datapath's capacity.
    pub fn policy() -> Self {
        Self::new(names::POLICY, names::POLICY_MAX_ENTRIES as usize)
    }
}

impl MemoryEndpointMap {
    /// An empty endpoints map with the datapath's capacity.
    pub fn endpoints() -> Self {
        Self::new(names::ENDPOINTS, names::ENDPOINTS_MAX_ENTRIES as usize)
    }
}

impl MemoryIpCache {
    /// An empty ipcache with the datapath's capacity.
    pub fn ipcache() -> Self {
        Self::new(names::IPCACHE, names::IPCACHE_MAX_ENTRIES as usize)
    }
}

impl<K: Ord + Copy + Debug, V: Eq + Copy + Debug> MemoryMap<K, V> {
    fn record(&self, op: &'static str, key: &K) -> Result<(), MapError> {
        if self.fail_writes {
            let source = Box::new(io::Error::other("injected failure"));
            return Err(MapError::Op {
                map: self.name,
                op,
                key: format!("{key:?}"),
                source,
            });
        }
        if let Some(journal) = &self.journal {
            let mut log = journal.lock().unwrap_or_else(PoisonError::into_inner);
            log.push(Write {
                map: self.name,
                op,
                key: format!("{key:?}"),
            });
        }
        Ok(())
    }
}

impl<K: Ord + Copy + Debug, V: Eq + Copy + Debug> MapOps for MemoryMap<K, V> {
    type Key = K;
    type Value = V;

    fn name(&self) -> &'static str {
        self.name
    }

    fn insert(&mut self, key: &K, value: &V) -> Result<(), MapError> {
        if !self.entries.contains_key(key) && self.entries.len() >= self.capacity {
            return Err(MapError::Full {
                map: self.name,
                capacity: self.capacity,
                key: format!("{key:?}"),
            });
        }
        self.record("insert", key)?;
        self.entries.insert(*key, *value);
        Ok(())
    }

    fn remove(&mut self, key: &K) -> Result<(), MapError> {
        self.record("remove", key)?;
        self.entries.remove(key);
        Ok(())
    }

    fn entries(&self) -> Result<BTreeMap<K, V>, MapError> {
        Ok(self.entries.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_and_failures_are_reported_with_the_map_name() {
        let mut m: MemoryMap<u32, u32> = MemoryMap::new("OBS_TEST", 1);
        m.insert(&1, &10).expect("room");
        m.insert(&1, &11).expect("replacing needs no room");
        let full = m.insert(&2, &20).expect_err("full");
        assert_eq!(
            full.to_string(),
            "map OBS_TEST is full (1 entries): cannot insert 2"
        );
        m.fail_writes(true);
        let failed = m.remove(&1).expect_err("injected");
        assert!(
            failed
                .to_string()
                .starts_with("map OBS_TEST: cannot remove 1")
        );
        assert_eq!(m.contents().get(&1), Some(&11));
    }

    #[test]
    fn the_journal_records_writes_in_order() {
        let journal = Journal::default();
        let mut a: MemoryMap<u32, u32> = MemoryMap::new("A", 10).with_journal(journal.clone());
        let mut b: MemoryMap<u32, u32> = MemoryMap::new("B", 10).with_journal(journal.clone());
        a.insert(&1, &1).expect("ok");
        b.remove(&2).expect("ok");
        let log = journal.lock().expect("not poisoned");
        let got: Vec<(&str, &str)> = log.iter().map(|w| (w.map, w.op)).collect();
        assert_eq!(got, vec![("A", "insert"), ("B", "remove")]);
    }
}
