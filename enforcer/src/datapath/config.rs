//! The datapath's run-time configuration (`OBS_CONFIG`, one [`ProbeConfig`]): which events
//! it emits, changeable while it runs (e.g. `trace_mode`).

use aya::maps::{Array, MapData};
use probe_common::config::ProbeConfig;
use probe_common::maps as names;

use super::error::MapError;

/// `OBS_CONFIG`.
pub struct ConfigMap(pub(crate) Array<MapData, ProbeConfig>);

impl ConfigMap {
    /// The configuration the datapath uses now.
    pub fn get(&self) -> Result<ProbeConfig, MapError> {
        self.0.get(&0, 0).map_err(|e| MapError::Op {
            map: names::CONFIG,
            op: "read",
            key: "0".into(),
            source: Box::new(e),
        })
    }

    /// Replaces the configuration; the next packet sees it.
    pub fn set(&mut self, config: &ProbeConfig) -> Result<(), MapError> {
        self.0.set(0, config, 0).map_err(|e| MapError::Op {
            map: names::CONFIG,
            op: "insert",
            key: "0".into(),
            source: Box::new(e),
        })
    }

    /// Changes what `change` changes of the current configuration, the rest as it is.
    pub fn update(&mut self, change: impl FnOnce(&mut ProbeConfig)) -> Result<(), MapError> {
        let mut config = self.get()?;
        change(&mut config);
        self.set(&config)
    }

    /// Changes only the trace mode ([`probe_common::event::trace_mode`]).
    pub fn set_trace_mode(&mut self, trace_mode: u32) -> Result<(), MapError> {
        self.update(|c| c.trace_mode = trace_mode)
    }
}

impl std::fmt::Debug for ConfigMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OBS_CONFIG")
    }
}
