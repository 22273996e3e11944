//! A second, read-only view of the pinned conntrack and endpoint maps, opened from their
//! pins: what the agent's aggregation flusher walks every interval without holding the
//! handle (and the lock) the rest of the agent writes through.

use std::collections::BTreeMap;

use aya::maps::{HashMap, Map, MapData};
use probe_common::conntrack::{CtEntry, CtKey};
use probe_common::endpoint::EndpointInfo;
use probe_common::maps as names;

use super::error::MapError;
use super::kernel_maps::{ConntrackMap, EndpointMap};
use super::loader::PinPaths;
use super::maps::MapOps;

/// The conntrack and endpoint maps of one node's pinned datapath, read through the maps'
/// own wrappers.
pub struct Connections {
    conntrack: ConntrackMap,
    endpoints: EndpointMap,
}

impl Connections {
    /// Opens the pins of `paths`' node.
    ///
    /// # Errors
    ///
    /// [`MapError::Op`] when a pin cannot be opened or is not the map it should be.
    pub fn open(paths: &PinPaths) -> Result<Self, MapError> {
        Ok(Self {
            conntrack: ConntrackMap(open(paths, names::CONNTRACK)?),
            endpoints: EndpointMap(open(paths, names::ENDPOINTS)?),
        })
    }

    /// Every entry of the conntrack map, live or expired.
    ///
    /// # Errors
    ///
    /// [`MapError::Op`] when the kernel refuses the walk.
    pub fn entries(&self) -> Result<Vec<(CtKey, CtEntry)>, MapError> {
        self.conntrack.entries()
    }

    /// Every registered endpoint, by its endpoint id, with the interface it is on (the
    /// host endpoint: its first device).
    ///
    /// # Errors
    ///
    /// [`MapError::Op`] when the kernel refuses the walk.
    pub fn endpoints(&self) -> Result<BTreeMap<u16, (u32, EndpointInfo)>, MapError> {
        let mut out = BTreeMap::new();
        for (ifindex, info) in self.endpoints.entries()? {
            out.entry(info.endpoint_id).or_insert((ifindex, info));
        }
        Ok(out)
    }
}

fn open<K: aya::Pod, V: aya::Pod>(
    paths: &PinPaths,
    name: &'static str,
) -> Result<HashMap<MapData, K, V>, MapError> {
    let fail = |e: Box<dyn std::error::Error + Send + Sync>| MapError::Op {
        map: name,
        op: "open",
        key: paths.map(name).display().to_string(),
        source: e,
    };
    let data = MapData::from_pin(paths.map(name)).map_err(|e| fail(Box::new(e)))?;
    let map = Map::from_map_data(data).map_err(|e| fail(Box::new(e)))?;
    HashMap::try_from(map).map_err(|e| fail(Box::new(e)))
}
