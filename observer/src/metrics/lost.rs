//! `hubble_lost_events_total{source}`: events lost per source since start, with Hubble's
//! source names: `perf_event_ring_buffer` (the kernel could not write to the BPF ring
//! buffer), `observer_events_queue` (the queue to the decoder was full),
//! `hubble_ring_buffer` (a `GetFlows` reader was overtaken by the ring writer).

use std::sync::Arc;

use super::Collector;
use super::text::{Encoder, Kind};
use crate::event::LostSource;
use crate::stats::Stats;

/// Reads the loss totals at scrape time.
pub(crate) struct LostEvents {
    pub(crate) stats: Arc<Stats>,
}

impl Collector for LostEvents {
    fn encode(&self, out: &mut Encoder) {
        const NAME: &str = "hubble_lost_events_total";
        out.family(NAME, Kind::Counter, "Number of lost events");
        for source in LostSource::ALL {
            let name = source.to_proto().as_str_name().to_ascii_lowercase();
            let total = self.stats.losses.total(source);
            out.sample(NAME, &[("source", &name)], total);
        }
    }
}
