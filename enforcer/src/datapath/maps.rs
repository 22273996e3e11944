//! What the reconciler needs from a map: insert, remove and read every entry. The kernel
//! maps (`kernel_maps`, with the `datapath` feature) and the in-memory maps ([`memory`])
//! implement it, so everything above the loader is tested without root.
//!
//! [`memory`]: super::memory

use std::collections::BTreeMap;
use std::fmt::Debug;

use probe_common::endpoint::EndpointInfo;
use probe_common::ipcache::{IpCacheEntry, IpCacheKey};
use probe_common::policy::{PolicyEntry, PolicyKey};

use super::error::MapError;

/// A map of `Key → Value` the reconciler can read and write.
pub trait MapOps {
    /// The key, as the reconciler sees it (LPM maps: data and prefix length).
    type Key: Ord + Copy + Debug;
    /// The value.
    type Value: Eq + Copy + Debug;

    /// The map's name, for errors.
    fn name(&self) -> &'static str;
    /// Inserts or replaces the entry under `key`.
    fn insert(&mut self, key: &Self::Key, value: &Self::Value) -> Result<(), MapError>;
    /// Removes the entry under `key`; removing an absent key is not an error.
    fn remove(&mut self, key: &Self::Key) -> Result<(), MapError>;
    /// Every entry.
    fn entries(&self) -> Result<BTreeMap<Self::Key, Self::Value>, MapError>;
}

/// The policy LPM trie: (key, prefix length) → entry.
pub trait PolicyMapOps: MapOps<Key = (PolicyKey, u32), Value = PolicyEntry> {}
impl<T: MapOps<Key = (PolicyKey, u32), Value = PolicyEntry>> PolicyMapOps for T {}

/// The endpoints hash: host-side ifindex → endpoint.
pub trait EndpointMapOps: MapOps<Key = u32, Value = EndpointInfo> {}
impl<T: MapOps<Key = u32, Value = EndpointInfo>> EndpointMapOps for T {}

/// The ipcache LPM trie: (key, prefix length) → entry.
pub trait IpCacheOps: MapOps<Key = (IpCacheKey, u32), Value = IpCacheEntry> {}
impl<T: MapOps<Key = (IpCacheKey, u32), Value = IpCacheEntry>> IpCacheOps for T {}
