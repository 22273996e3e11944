//! Loss accounting per source: totals for `ServerStatus`, and pending counts the
//! pipeline turns into `LostEvent`s in the flow ring at most once per interval, with the
//! times of the first and last loss they cover (one report per burst, not one per event).

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use observe_proto::Timestamp;
use observe_proto::flow::LostEvent;

use crate::event::LostSource;

/// Losses not reported yet, for one source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Pending {
    count: u64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    /// The CPU of every loss in this report, or `None` if unknown or mixed.
    cpu: Option<i32>,
    mixed_cpus: bool,
}

/// State of one source.
#[derive(Debug, Default)]
struct SourceState {
    pending: Pending,
    total: u64,
    first_ever: Option<Timestamp>,
    last_ever: Option<Timestamp>,
    last_report: Option<Instant>,
}

/// Loss counters of every source.
#[derive(Debug, Default)]
pub struct Losses {
    sources: [Mutex<SourceState>; 3],
}

impl Losses {
    /// Records `count` events lost at `source` at time `at`. With `report`, they are also
    /// queued for a `LostEvent` in the flow ring (kernel ring and event queue losses); a
    /// reader's own losses (`FlowRing`) are reported to that reader only, so they count
    /// towards the totals alone.
    pub fn record(
        &self,
        source: LostSource,
        count: u64,
        cpu: Option<i32>,
        at: SystemTime,
        report: bool,
    ) {
        if count == 0 {
            return;
        }
        let at = Timestamp::from(at);
        let mut state = self.lock(source);
        state.total = state.total.saturating_add(count);
        state.first_ever.get_or_insert(at);
        state.last_ever = Some(at);
        if report {
            let p = &mut state.pending;
            if p.count == 0 {
                *p = Pending {
                    first: Some(at),
                    cpu,
                    ..Pending::default()
                };
            } else if p.cpu != cpu {
                p.mixed_cpus = true;
            }
            p.count = p.count.saturating_add(count);
            p.last = Some(at);
        }
    }

    /// The pending report of `source` as a `LostEvent`, if there is one and the last
    /// report is at least `interval` old (`None` interval: report now regardless).
    pub fn take_report(
        &self,
        source: LostSource,
        now: Instant,
        interval: Option<Duration>,
    ) -> Option<LostEvent> {
        let mut state = self.lock(source);
        if state.pending.count == 0 {
            return None;
        }
        let too_soon = match (interval, state.last_report) {
            (Some(interval), Some(last)) => now.saturating_duration_since(last) < interval,
            _ => false,
        };
        if too_soon {
            return None;
        }
        state.last_report = Some(now);
        let p = std::mem::take(&mut state.pending);
        Some(LostEvent {
            source: source.to_proto().into(),
            num_events_lost: p.count,
            cpu: p.cpu.filter(|_| !p.mixed_cpus).map(Into::into),
            first: p.first,
            last: p.last,
        })
    }

    /// Totals since start, one `LostEvent` per source that lost anything: the count, and
    /// the times of the first and the latest loss.
    pub fn totals(&self) -> Vec<LostEvent> {
        LostSource::ALL
            .iter()
            .filter_map(|&source| {
                let state = self.lock(source);
                (state.total > 0).then(|| LostEvent {
                    source: source.to_proto().into(),
                    num_events_lost: state.total,
                    cpu: None,
                    first: state.first_ever,
                    last: state.last_ever,
                })
            })
            .collect()
    }

    /// The total lost at `source` since start.
    pub fn total(&self, source: LostSource) -> u64 {
        self.lock(source).total
    }

    fn lock(&self, source: LostSource) -> MutexGuard<'_, SourceState> {
        self.sources[source.index()]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn reports_aggregate_a_burst_with_first_and_last_times() {
        let losses = Losses::default();
        losses.record(LostSource::EventQueue, 1, None, at(10), true);
        losses.record(LostSource::EventQueue, 4, None, at(12), true);
        let now = Instant::now();
        let report = losses
            .take_report(LostSource::EventQueue, now, Some(Duration::from_secs(1)))
            .unwrap();
        assert_eq!(report.num_events_lost, 5);
        assert_eq!(report.first.unwrap().seconds, 10);
        assert_eq!(report.last.unwrap().seconds, 12);
        assert_eq!(report.source, 2);
        assert_eq!(
            losses.take_report(LostSource::EventQueue, now, None),
            None,
            "nothing pending"
        );
    }

    #[test]
    fn reports_are_rate_limited_but_counts_keep_adding_up() {
        let losses = Losses::default();
        let t0 = Instant::now();
        let second = Some(Duration::from_secs(1));
        losses.record(LostSource::KernelRing, 3, Some(1), at(1), true);
        assert!(
            losses
                .take_report(LostSource::KernelRing, t0, second)
                .is_some()
        );
        losses.record(LostSource::KernelRing, 2, Some(1), at(2), true);
        losses.record(LostSource::KernelRing, 2, Some(0), at(2), true);
        assert_eq!(
            losses.take_report(
                LostSource::KernelRing,
                t0 + Duration::from_millis(500),
                second
            ),
            None
        );
        let later = losses
            .take_report(LostSource::KernelRing, t0 + Duration::from_secs(1), second)
            .unwrap();
        assert_eq!(
            (later.num_events_lost, later.cpu),
            (4, None),
            "mixed CPUs report none"
        );
        assert_eq!(losses.total(LostSource::KernelRing), 7);
    }

    #[test]
    fn reader_losses_count_in_totals_only() {
        let losses = Losses::default();
        losses.record(LostSource::FlowRing, 9, None, at(5), false);
        assert_eq!(
            losses.take_report(LostSource::FlowRing, Instant::now(), None),
            None
        );
        let totals = losses.totals();
        assert_eq!(totals.len(), 1);
        assert_eq!((totals[0].source, totals[0].num_events_lost), (3, 9));
    }
}
