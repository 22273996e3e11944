//! Pipeline counters (events seen, flows decoded, events skipped or undecodable) and the
//! flow rate over the last minute, shared with the server for `ServerStatus`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::losses::Losses;

/// Seconds in the rate window.
const WINDOW_SECS: u64 = 60;

/// Counters of the pipeline; every field only grows.
#[derive(Debug)]
pub struct Stats {
    seen: AtomicU64,
    decoded: AtomicU64,
    skipped: AtomicU64,
    errors: AtomicU64,
    queue_depth: AtomicU64,
    /// Losses per source.
    pub losses: Losses,
    rate: RateWindow,
    started: Instant,
}

/// A copy of the counters at one point in time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Events taken from the queue.
    pub seen: u64,
    /// Flows decoded and stored.
    pub decoded: u64,
    /// Events skipped on purpose (kinds we do not decode, loss reports).
    pub skipped: u64,
    /// Events that failed to decode.
    pub errors: u64,
    /// Lost in the kernel ring buffer.
    pub lost_kernel_ring: u64,
    /// Lost because the event queue was full.
    pub lost_event_queue: u64,
    /// Lost by history readers that were overtaken.
    pub lost_flow_ring: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    /// Fresh counters; uptime starts now.
    pub fn new() -> Self {
        Self {
            seen: AtomicU64::new(0),
            decoded: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            queue_depth: AtomicU64::new(0),
            losses: Losses::default(),
            rate: RateWindow::new(),
            started: Instant::now(),
        }
    }

    pub(crate) fn add_seen(&self, n: u64) {
        self.seen.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_decoded(&self, n: u64) {
        self.decoded.fetch_add(n, Ordering::Relaxed);
        self.rate.record(self.started.elapsed().as_secs(), n);
    }

    pub(crate) fn add_skipped(&self) {
        self.skipped.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn set_queue_depth(&self, n: u64) {
        self.queue_depth.store(n, Ordering::Relaxed);
    }

    /// Events waiting in the queue when the pipeline last took a batch: near the queue's
    /// size means the decoder is falling behind (and `EventQueue` losses follow).
    pub fn queue_depth(&self) -> u64 {
        self.queue_depth.load(Ordering::Relaxed)
    }

    /// The counters now.
    pub fn counters(&self) -> Counters {
        use crate::event::LostSource;
        Counters {
            seen: self.seen.load(Ordering::Relaxed),
            decoded: self.decoded.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            lost_kernel_ring: self.losses.total(LostSource::KernelRing),
            lost_event_queue: self.losses.total(LostSource::EventQueue),
            lost_flow_ring: self.losses.total(LostSource::FlowRing),
        }
    }

    /// Flows per second over the last minute (over the uptime while it is shorter).
    pub fn flows_rate(&self) -> f64 {
        self.rate.rate(self.started.elapsed().as_secs_f64())
    }

    /// Time since the pipeline started.
    pub fn uptime(&self) -> std::time::Duration {
        self.started.elapsed()
    }
}

/// Flows per second of uptime, in one-second buckets over the last minute. Only the
/// pipeline records, so a bucket is reset without races between writers; readers may see
/// a bucket mid-reset, which makes the rate approximate, as documented in the API.
#[derive(Debug)]
struct RateWindow {
    counts: [AtomicU64; WINDOW_SECS as usize],
    seconds: [AtomicU64; WINDOW_SECS as usize],
}

impl RateWindow {
    fn new() -> Self {
        Self {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            // u64::MAX: never written.
            seconds: std::array::from_fn(|_| AtomicU64::new(u64::MAX)),
        }
    }

    fn record(&self, second: u64, n: u64) {
        let i = (second % WINDOW_SECS) as usize;
        if self.seconds[i].load(Ordering::Acquire) != second {
            self.counts[i].store(0, Ordering::Relaxed);
            self.seconds[i].store(second, Ordering::Release);
        }
        self.counts[i].fetch_add(n, Ordering::Relaxed);
    }

    /// The rate at `uptime` seconds: flows in the last 60 whole seconds plus the current
    /// one, divided by the time they cover.
    fn rate(&self, uptime: f64) -> f64 {
        let now = uptime as u64;
        let oldest = now.saturating_sub(WINDOW_SECS - 1);
        let total: u64 = (0..WINDOW_SECS as usize)
            .filter(|&i| {
                let s = self.seconds[i].load(Ordering::Acquire);
                s != u64::MAX && s >= oldest && s <= now
            })
            .map(|i| self.counts[i].load(Ordering::Relaxed))
            .sum();
        let span = uptime.clamp(1.0, WINDOW_SECS as f64);
        total as f64 / span
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_covers_the_last_minute() {
        let w = RateWindow::new();
        w.record(0, 30);
        w.record(1, 30);
        assert_eq!(w.rate(2.0), 30.0, "60 flows in 2 s");
        w.record(70, 120);
        assert_eq!(w.rate(70.5), 2.0, "old buckets age out: 120 flows / 60 s");
        w.record(130, 6);
        assert_eq!(w.rate(130.0), 0.1, "bucket 10 was reused for second 130");
    }

    #[test]
    fn counters_snapshot() {
        let stats = Stats::new();
        stats.add_seen(3);
        stats.add_decoded(2);
        stats.add_skipped();
        let c = stats.counters();
        assert_eq!((c.seen, c.decoded, c.skipped, c.errors), (3, 2, 1, 0));
        assert!(stats.flows_rate() > 0.0);
    }
}
