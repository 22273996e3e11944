//! Lost events per source, with what each loss means and which setting changes it (the
//! gap G7 in Hubble: `EVENTS LOST: HUBBLE_RING_BUFFER CPU(0) 1` explains nothing).
//!
//! Totals come from `ServerStatus.lost_events` (since the agent started) and from
//! `LostEvent`s in the stream; the larger one is shown, and the per-second rate is the
//! change between two ticks. Flows this TUI skipped because its own queue was full are a
//! fourth source. Through a relay every node reports its own losses; the stream's counts
//! are also kept per node, so the header can say which node lost.

use std::collections::BTreeMap;

use observe_proto::flow::{LostEvent, LostEventSource};

/// Where events were lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossSource {
    /// The datapath's BPF ring buffer was full (Hubble's `PERF_EVENT_RING_BUFFER`).
    KernelRing,
    /// observerd's decoder queue was full (`OBSERVER_EVENTS_QUEUE`).
    EventQueue,
    /// A reader of the flow history was overtaken by the writer (`HUBBLE_RING_BUFFER`).
    ReaderOvertaken,
    /// This TUI's own queue was full during a flood; the rows were skipped.
    Tui,
}

impl LossSource {
    /// Every source, in display order.
    pub const ALL: [LossSource; 4] = [
        Self::KernelRing,
        Self::EventQueue,
        Self::ReaderOvertaken,
        Self::Tui,
    ];

    /// The short label of the header.
    pub fn label(self) -> &'static str {
        match self {
            Self::KernelRing => "kernel ring",
            Self::EventQueue => "event queue",
            Self::ReaderOvertaken => "reader overtaken",
            Self::Tui => "skipped by tui",
        }
    }

    /// What happened, and what to change (one line of the header).
    pub fn advice(self) -> String {
        match self {
            Self::KernelRing => observe_describe::advice::lost_events(LostEventSource::PerfEventRingBuffer),
            Self::EventQueue => observe_describe::advice::lost_events(LostEventSource::ObserverEventsQueue),
            Self::ReaderOvertaken => observe_describe::advice::lost_events(LostEventSource::HubbleRingBuffer),
            Self::Tui => "skipped by this TUI during a flood (rows, not the app): narrow the filter (/) to see every flow".into(),
        }
    }

    fn from_proto(source: i32) -> Option<Self> {
        match LostEventSource::try_from(source).ok()? {
            LostEventSource::PerfEventRingBuffer => Some(Self::KernelRing),
            LostEventSource::ObserverEventsQueue => Some(Self::EventQueue),
            LostEventSource::HubbleRingBuffer => Some(Self::ReaderOvertaken),
            LostEventSource::UnknownLostEventSource => None,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Counts of one source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LossCount {
    status_total: Option<u64>,
    stream_total: u64,
    at_last_tick: u64,
    /// Lost in the last second.
    pub per_second: u64,
}

impl LossCount {
    /// Lost in total (the agent's count since it started, or what this view saw).
    pub fn total(&self) -> u64 {
        self.status_total.unwrap_or(0).max(self.stream_total)
    }
}

/// Loss counters of every source.
#[derive(Clone, Debug, Default)]
pub struct Losses {
    counts: [LossCount; 4],
    /// The stream's counts per source and node.
    by_node: [BTreeMap<String, u64>; 4],
}

impl Losses {
    /// The counts of `source`.
    pub fn get(&self, source: LossSource) -> LossCount {
        self.counts[source.index()]
    }

    /// Sources that lost anything, in display order.
    pub fn lossy(&self) -> impl Iterator<Item = (LossSource, LossCount)> + '_ {
        LossSource::ALL
            .into_iter()
            .map(|s| (s, self.get(s)))
            .filter(|(_, c)| c.total() > 0)
    }

    /// A `LostEvent` from the stream, reported by `node`.
    pub fn on_stream_event(&mut self, node: &str, event: &LostEvent) {
        if let Some(source) = LossSource::from_proto(event.source) {
            let c = &mut self.counts[source.index()];
            c.stream_total = c.stream_total.saturating_add(event.num_events_lost);
            let n = self.by_node[source.index()]
                .entry(observe_describe::sanitize::cleaned(node))
                .or_default();
            *n = n.saturating_add(event.num_events_lost);
        }
    }

    /// What the stream reported lost from `source`, per node.
    pub fn by_node(&self, source: LossSource) -> &BTreeMap<String, u64> {
        &self.by_node[source.index()]
    }

    /// Flows this TUI skipped.
    pub fn on_skipped(&mut self, n: u64) {
        let c = &mut self.counts[LossSource::Tui.index()];
        c.stream_total = c.stream_total.saturating_add(n);
    }

    /// The agent's totals from `ServerStatus`.
    pub fn on_status(&mut self, totals: &[LostEvent]) {
        for source in [
            LossSource::KernelRing,
            LossSource::EventQueue,
            LossSource::ReaderOvertaken,
        ] {
            let total = totals
                .iter()
                .filter(|e| LossSource::from_proto(e.source) == Some(source))
                .map(|e| e.num_events_lost)
                .sum();
            let c = &mut self.counts[source.index()];
            // The first report (or one after an agent restart) is a baseline, not a burst.
            let baseline = c.status_total.is_none_or(|old| total < old);
            c.status_total = Some(total);
            if baseline {
                c.at_last_tick = c.total();
            }
        }
    }

    /// Closes the current second.
    pub fn tick(&mut self) {
        for c in &mut self.counts {
            let total = c.total();
            c.per_second = total.saturating_sub(c.at_last_tick);
            c.at_last_tick = total;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lost(source: LostEventSource, n: u64) -> LostEvent {
        LostEvent {
            source: source.into(),
            num_events_lost: n,
            ..Default::default()
        }
    }

    #[test]
    fn losses_from_status_and_stream_are_merged_per_source_with_a_rate() {
        let mut l = Losses::default();
        l.on_status(&[lost(LostEventSource::PerfEventRingBuffer, 100)]);
        l.tick();
        assert_eq!(
            l.get(LossSource::KernelRing).per_second,
            0,
            "the first report is a baseline"
        );
        l.on_status(&[lost(LostEventSource::PerfEventRingBuffer, 130)]);
        l.on_stream_event("n1", &lost(LostEventSource::HubbleRingBuffer, 5));
        l.on_stream_event("n2", &lost(LostEventSource::HubbleRingBuffer, 2));
        l.on_skipped(3);
        l.tick();
        assert_eq!(l.get(LossSource::KernelRing).total(), 130);
        assert_eq!(l.get(LossSource::KernelRing).per_second, 30);
        assert_eq!(l.get(LossSource::ReaderOvertaken).per_second, 7);
        let by_node: Vec<_> = l.by_node(LossSource::ReaderOvertaken).iter().collect();
        assert_eq!(by_node, [(&"n1".to_string(), &5), (&"n2".to_string(), &2)]);
        let lossy: Vec<_> = l.lossy().map(|(s, _)| s).collect();
        assert_eq!(
            lossy,
            vec![
                LossSource::KernelRing,
                LossSource::ReaderOvertaken,
                LossSource::Tui
            ]
        );
    }

    #[test]
    fn every_source_says_which_setting_to_change() {
        use observe_describe::advice::flags;
        assert!(LossSource::KernelRing.advice().contains(flags::TRACE));
        assert!(
            LossSource::ReaderOvertaken
                .advice()
                .contains(flags::MAX_FLOWS)
        );
        assert!(
            LossSource::EventQueue
                .advice()
                .contains(flags::EVENT_QUEUE_SIZE)
        );
        assert!(LossSource::Tui.advice().contains("filter"));
    }
}
