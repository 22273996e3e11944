//! The datapath's per-CPU counters, summed over CPUs into a [`Counters`] snapshot
//! (layout in [`probe_common::counters`]).

use std::collections::BTreeMap;

use aya::maps::{MapData, PerCpuArray};
use probe_common::{counters, maps as names};

use super::error::MapError;
use crate::policy::Direction;

/// A snapshot of the counters, summed over CPUs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Packets passed, to endpoints (ingress).
    pub forwarded_ingress: u64,
    /// Packets passed, from endpoints (egress).
    pub forwarded_egress: u64,
    /// Drops by (direction, drop reason); only non-zero counts.
    pub dropped: BTreeMap<(Direction, u8), u64>,
    /// Events lost because the ring buffer was full.
    pub ringbuf_lost: u64,
    /// Conntrack entries created.
    pub ct_created: u64,
    /// Policy lookups (new and re-decided connections).
    pub policy_lookups: u64,
}

impl Counters {
    /// Drops with `reason` in both directions.
    pub fn dropped_with(&self, reason: u8) -> u64 {
        self.dropped
            .iter()
            .filter(|((_, r), _)| *r == reason)
            .map(|(_, n)| n)
            .sum()
    }

    /// Every drop.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.values().sum()
    }
}

/// `OBS_COUNTERS`.
pub struct CounterMap(pub(crate) PerCpuArray<MapData, u64>);

impl CounterMap {
    /// Reads and sums every slot.
    pub fn read(&self) -> Result<Counters, MapError> {
        let slot = |index: u32| -> Result<u64, MapError> {
            let values = self.0.get(&index, 0).map_err(|e| MapError::Op {
                map: names::COUNTERS,
                op: "read",
                key: index.to_string(),
                source: Box::new(e),
            })?;
            Ok(values.iter().fold(0u64, |sum, v| sum.wrapping_add(*v)))
        };
        let mut out = Counters {
            forwarded_ingress: slot(counters::forwarded(Direction::Ingress.as_wire()))?,
            forwarded_egress: slot(counters::forwarded(Direction::Egress.as_wire()))?,
            ringbuf_lost: slot(counters::RINGBUF_LOST)?,
            ct_created: slot(counters::CT_CREATED)?,
            policy_lookups: slot(counters::POLICY_LOOKUPS)?,
            ..Counters::default()
        };
        for dir in Direction::BOTH {
            // Reason 0 is the forwarded slot; drop reasons are 1..=255.
            for reason in 1..=u8::MAX {
                let n = slot(counters::dropped(dir.as_wire(), reason))?;
                if n != 0 {
                    out.dropped.insert((dir, reason), n);
                }
            }
        }
        Ok(out)
    }
}

impl std::fmt::Debug for CounterMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OBS_COUNTERS")
    }
}
