//! The datapath's kernel maps behind the [`MapOps`] traits (what [`apply`] writes through),
//! plus conntrack housekeeping.
//!
//! Each wrapper owns an aya map handle. Errors carry the map's name and the key, and a
//! missing key on removal is not an error (the goal state is reached either way).
//!
//! [`apply`]: super::apply::apply

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::io;

use aya::maps::lpm_trie::{Key, LpmTrie};
use aya::maps::{HashMap, MapData};
use probe_common::conntrack::{CtEntry, CtKey};
use probe_common::endpoint::EndpointInfo;
use probe_common::ipcache::{IpCacheEntry, IpCacheKey};
use probe_common::maps as names;
use probe_common::policy::{PolicyEntry, PolicyKey};

use super::error::MapError;
use super::maps::MapOps;

/// `OBS_POLICY`.
#[derive(Debug)]
pub struct PolicyMap(pub(crate) LpmTrie<MapData, PolicyKey, PolicyEntry>);
/// `OBS_IPCACHE`.
#[derive(Debug)]
pub struct IpCacheMap(pub(crate) LpmTrie<MapData, IpCacheKey, IpCacheEntry>);
/// `OBS_ENDPOINTS`.
#[derive(Debug)]
pub struct EndpointMap(pub(crate) HashMap<MapData, u32, EndpointInfo>);
/// `OBS_CT` (an LRU hash).
#[derive(Debug)]
pub struct ConntrackMap(pub(crate) HashMap<MapData, CtKey, CtEntry>);

fn op_error(
    map: &'static str,
    op: &'static str,
    key: &impl Debug,
    source: aya::maps::MapError,
) -> MapError {
    MapError::Op {
        map,
        op,
        key: format!("{key:?}"),
        source: Box::new(source),
    }
}

/// Whether an aya error is the kernel's ENOENT (key absent).
fn is_not_found(e: &aya::maps::MapError) -> bool {
    match e {
        aya::maps::MapError::KeyNotFound => true,
        aya::maps::MapError::SyscallError(s) => s.io_error.kind() == io::ErrorKind::NotFound,
        _ => false,
    }
}

/// Whether an aya error is the kernel's E2BIG/ENOMEM on insert (the map is full).
fn is_full(e: &aya::maps::MapError) -> bool {
    matches!(e, aya::maps::MapError::SyscallError(s) if matches!(s.io_error.raw_os_error(), Some(libc::E2BIG | libc::ENOMEM)))
}

/// The error of a failed insert: [`MapError::Full`] when the kernel says the map is full.
fn insert_error(
    map: &'static str,
    capacity: u32,
    key: &impl Debug,
    e: aya::maps::MapError,
) -> MapError {
    if is_full(&e) {
        MapError::Full {
            map,
            capacity: capacity as usize,
            key: format!("{key:?}"),
        }
    } else {
        op_error(map, "insert", key, e)
    }
}

/// The result of a removal, where an absent key (already gone) is success.
fn removed(
    map: &'static str,
    key: &impl Debug,
    result: Result<(), aya::maps::MapError>,
) -> Result<(), MapError> {
    match result {
        Err(e) if !is_not_found(&e) => Err(op_error(map, "remove", key, e)),
        _ => Ok(()),
    }
}

/// Implements [`MapOps`] for an LPM-trie wrapper with key data `$k` and value `$v`.
macro_rules! lpm_map_ops {
    ($ty:ty, $k:ty, $v:ty, $name:expr, $capacity:expr) => {
        impl MapOps for $ty {
            type Key = ($k, u32);
            type Value = $v;

            fn name(&self) -> &'static str {
                $name
            }

            fn insert(&mut self, key: &Self::Key, value: &Self::Value) -> Result<(), MapError> {
                let lpm = Key::new(key.1, key.0);
                self.0
                    .insert(&lpm, value, 0)
                    .map_err(|e| insert_error($name, $capacity, key, e))
            }

            fn remove(&mut self, key: &Self::Key) -> Result<(), MapError> {
                removed($name, key, self.0.remove(&Key::new(key.1, key.0)))
            }

            fn entries(&self) -> Result<BTreeMap<Self::Key, Self::Value>, MapError> {
                let mut out = BTreeMap::new();
                for item in self.0.iter() {
                    let (key, value) = item.map_err(|e| op_error($name, "read", &"entries", e))?;
                    out.insert((key.data(), key.prefix_len()), value);
                }
                Ok(out)
            }
        }
    };
}

lpm_map_ops!(
    PolicyMap,
    PolicyKey,
    PolicyEntry,
    names::POLICY,
    names::POLICY_MAX_ENTRIES
);
lpm_map_ops!(
    IpCacheMap,
    IpCacheKey,
    IpCacheEntry,
    names::IPCACHE,
    names::IPCACHE_MAX_ENTRIES
);

impl MapOps for EndpointMap {
    type Key = u32;
    type Value = EndpointInfo;

    fn name(&self) -> &'static str {
        names::ENDPOINTS
    }

    fn insert(&mut self, key: &u32, value: &EndpointInfo) -> Result<(), MapError> {
        self.0
            .insert(key, value, 0)
            .map_err(|e| insert_error(names::ENDPOINTS, names::ENDPOINTS_MAX_ENTRIES, key, e))
    }

    fn remove(&mut self, key: &u32) -> Result<(), MapError> {
        removed(names::ENDPOINTS, key, self.0.remove(key))
    }

    fn entries(&self) -> Result<BTreeMap<u32, EndpointInfo>, MapError> {
        self.0
            .iter()
            .map(|item| item.map_err(|e| op_error(names::ENDPOINTS, "read", &"entries", e)))
            .collect()
    }
}

impl ConntrackMap {
    /// Deletes every entry of the endpoints in `endpoint_ids` (endpoints that went away:
    /// a new endpoint reusing the id and addresses must not inherit their connections).
    /// Returns how many entries went.
    pub fn flush_endpoints(&mut self, endpoint_ids: &BTreeSet<u16>) -> Result<usize, MapError> {
        if endpoint_ids.is_empty() {
            return Ok(0);
        }
        self.remove_where(|key| endpoint_ids.contains(&key.endpoint_id))
    }

    /// Deletes the entries whose key satisfies `doomed`; returns how many.
    fn remove_where(&mut self, doomed: impl Fn(&CtKey) -> bool) -> Result<usize, MapError> {
        // A key can vanish between iteration steps (LRU eviction): skip it.
        let keys: Vec<CtKey> = self
            .0
            .keys()
            .filter_map(Result::ok)
            .filter(|key| doomed(key))
            .collect();
        for key in &keys {
            removed(names::CONNTRACK, key, self.0.remove(key))?;
        }
        Ok(keys.len())
    }

    /// Every live or expired entry (for inspection and tests).
    pub fn entries(&self) -> Result<Vec<(CtKey, CtEntry)>, MapError> {
        self.0
            .iter()
            .map(|item| item.map_err(|e| op_error(names::CONNTRACK, "read", &"entries", e)))
            .collect()
    }

    /// Deletes every entry.
    pub fn clear(&mut self) -> Result<usize, MapError> {
        self.remove_where(|_| true)
    }
}
