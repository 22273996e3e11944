//! Datapath map occupancy for the metrics: counts the entries of the endpoint, policy,
//! ipcache and conntrack maps every so often (walking a BPF map costs a syscall per
//! entry, so not per scrape) and publishes them with the maps' capacities.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use enforcer::datapath::maps::MapOps;
use probe_common::maps::{
    CONNTRACK_MAX_ENTRIES, ENDPOINTS_MAX_ENTRIES, IPCACHE_MAX_ENTRIES, POLICY_MAX_ENTRIES,
};

use super::Agent;
use crate::metrics::{MapGauges, MapOccupancy};

/// Counts the maps every `interval` until the task is dropped.
pub async fn report_occupancy(agent: Arc<Mutex<Agent>>, gauges: MapGauges, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let agent = Arc::clone(&agent);
        let counted =
            tokio::task::spawn_blocking(move || agent.lock().ok().map(|mut a| count(&mut a)));
        if let Ok(Some(maps)) = counted.await {
            gauges.set(maps);
        }
    }
}

/// One figure per map; a map that cannot be read is left out rather than reported as
/// empty.
fn count(agent: &mut Agent) -> Vec<MapOccupancy> {
    let datapath = agent.datapath();
    let figure = |map, entries: Option<usize>, capacity: u32| {
        entries.map(|n| MapOccupancy {
            map,
            entries: n as u64,
            capacity: u64::from(capacity),
        })
    };
    [
        figure(
            "endpoints",
            datapath.endpoint_map().entries().ok().map(|m| m.len()),
            ENDPOINTS_MAX_ENTRIES,
        ),
        figure(
            "policy",
            datapath.policy_map().entries().ok().map(|m| m.len()),
            POLICY_MAX_ENTRIES,
        ),
        figure(
            "ipcache",
            datapath.ipcache_map().entries().ok().map(|m| m.len()),
            IPCACHE_MAX_ENTRIES,
        ),
        figure(
            "conntrack",
            datapath.conntrack_map().entries().ok().map(|m| m.len()),
            CONNTRACK_MAX_ENTRIES,
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}
