//! Agent health, read at scrape time: the flow ring's occupancy, the event queue, the
//! pipeline's counters, and the datapath maps' occupancy (entries the agent counts in
//! the BPF maps, against their capacity).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `observerd_flows_ring_entries` / `_capacity` | gauge | |
//! | `observerd_event_queue_depth` / `_capacity` | gauge | |
//! | `observerd_events_total` | counter | `outcome` = `seen`, `decoded`, `skipped`, `error` |
//! | `observerd_datapath_map_entries` / `_capacity` | gauge | `map` |

use std::sync::{Arc, Mutex, PoisonError};

use super::Collector;
use super::text::{Encoder, Kind};
use crate::pipeline::ObserverState;

/// The pipeline's gauges and counters.
pub(crate) struct PipelineHealth {
    pub(crate) state: ObserverState,
    pub(crate) queue_capacity: usize,
}

impl Collector for PipelineHealth {
    fn encode(&self, out: &mut Encoder) {
        let ring = &self.state.ring;
        let stats = &self.state.stats;
        gauge(
            out,
            "observerd_flows_ring_entries",
            "Flows (and loss reports) in the flow ring",
            ring.len(),
        );
        gauge(
            out,
            "observerd_flows_ring_capacity",
            "Capacity of the flow ring",
            ring.capacity(),
        );
        gauge(
            out,
            "observerd_event_queue_depth",
            "Events waiting for the decoder when the pipeline last took a batch",
            stats.queue_depth(),
        );
        gauge(
            out,
            "observerd_event_queue_capacity",
            "Capacity of the queue between the ring-buffer reader and the decoder",
            self.queue_capacity,
        );
        let c = stats.counters();
        const EVENTS: &str = "observerd_events_total";
        out.family(
            EVENTS,
            Kind::Counter,
            "Events taken from the queue, by outcome",
        );
        for (outcome, n) in [
            ("seen", c.seen),
            ("decoded", c.decoded),
            ("skipped", c.skipped),
            ("error", c.errors),
        ] {
            out.sample(EVENTS, &[("outcome", outcome)], n);
        }
    }
}

fn gauge(out: &mut Encoder, name: &str, help: &str, value: impl std::fmt::Display) {
    out.family(name, Kind::Gauge, help);
    out.sample(name, &[], value);
}

/// Occupancy of one datapath map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapOccupancy {
    /// The map's name (`endpoints`, `policy`, `ipcache`, `conntrack`).
    pub map: &'static str,
    /// Entries counted.
    pub entries: u64,
    /// The map's maximum entries.
    pub capacity: u64,
}

/// The latest map occupancy, set by whoever can count the maps (the agent, periodically)
/// and read at scrape time.
#[derive(Clone, Debug, Default)]
pub struct MapGauges {
    maps: Arc<Mutex<Vec<MapOccupancy>>>,
}

impl MapGauges {
    /// Replaces the figures.
    pub fn set(&self, maps: Vec<MapOccupancy>) {
        *self.maps.lock().unwrap_or_else(PoisonError::into_inner) = maps;
    }

    fn get(&self) -> Vec<MapOccupancy> {
        self.maps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Collector for MapGauges {
    fn encode(&self, out: &mut Encoder) {
        const ENTRIES: &str = "observerd_datapath_map_entries";
        const CAPACITY: &str = "observerd_datapath_map_capacity";
        let maps = self.get();
        out.family(ENTRIES, Kind::Gauge, "Entries in a datapath BPF map");
        for m in &maps {
            out.sample(ENTRIES, &[("map", m.map)], m.entries);
        }
        out.family(
            CAPACITY,
            Kind::Gauge,
            "Maximum entries of a datapath BPF map",
        );
        for m in &maps {
            out.sample(CAPACITY, &[("map", m.map)], m.capacity);
        }
    }
}
