//! `observerd_pipeline_latency_seconds`: the time from the kernel's timestamp of an event
//! to its decoded flow reaching the pipeline hooks (ring buffer, reader, queue, decode).
//!
//! Recorded in an HDR histogram (microseconds, two significant digits: a few KiB for any
//! range up to ten minutes) and exposed as a real Prometheus histogram: the cumulative
//! count at each bucket bound is read from the HDR histogram at scrape time, so the
//! buckets can change without touching the hot path.

use std::time::SystemTime;

use hdrhistogram::Histogram;
use observe_proto::flow::Flow;

use super::Handler;
use super::text::{Encoder, Kind};

/// Bucket bounds in seconds.
const BUCKETS: [f64; 16] = [
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];
/// Largest latency recorded exactly (10 minutes, in µs); larger ones saturate.
const MAX_MICROS: u64 = 600_000_000;

/// The latency histogram.
pub(crate) struct Latency {
    micros: Option<Histogram<u64>>,
    sum_seconds: f64,
}

impl Default for Latency {
    fn default() -> Self {
        Self {
            // Valid constant bounds: cannot fail; None would only disable the metric.
            micros: Histogram::new_with_bounds(1, MAX_MICROS, 2).ok(),
            sum_seconds: 0.0,
        }
    }
}

impl Latency {
    /// Records the latency of an event with kernel time `time` seen at `now`.
    pub(crate) fn record(&mut self, time: SystemTime, now: SystemTime) {
        let Some(h) = &mut self.micros else {
            return;
        };
        // A clock step can put the kernel time after now: that is zero latency.
        let latency = now.duration_since(time).unwrap_or_default();
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        h.saturating_record(micros.clamp(1, MAX_MICROS));
        self.sum_seconds += latency.as_secs_f64();
    }
}

impl Handler for Latency {
    fn process_flow(&mut self, flow: &Flow) {
        if let Some(time) = flow.time {
            self.record(time.into(), SystemTime::now());
        }
    }

    fn encode(&self, out: &mut Encoder) {
        const NAME: &str = "observerd_pipeline_latency_seconds";
        out.family(
            NAME,
            Kind::Histogram,
            "Time from the kernel event timestamp to the decoded flow",
        );
        let Some(h) = &self.micros else {
            return;
        };
        let buckets: Vec<(f64, u64)> = BUCKETS
            .iter()
            .map(|&le| {
                let bound = (le * 1e6) as u64;
                (le, h.count_between(0, bound))
            })
            .collect();
        out.histogram(NAME, &[], &buckets, self.sum_seconds, h.len());
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn buckets_are_cumulative_and_end_with_the_count() {
        let mut l = Latency::default();
        let now = SystemTime::now();
        for ms in [0.05, 0.3, 2.0, 2.0, 40.0, 3000.0] {
            l.record(now - Duration::from_secs_f64(ms / 1000.0), now);
        }
        l.record(now + Duration::from_secs(1), now);
        let mut out = Encoder::new();
        l.encode(&mut out);
        let text = out.finish();
        let bucket = |le: &str| {
            let prefix = format!("observerd_pipeline_latency_seconds_bucket{{le=\"{le}\"}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(prefix.as_str()))
                .unwrap_or_else(|| panic!("no bucket {le} in {text}"))
                .parse::<u64>()
                .unwrap()
        };
        assert_eq!(bucket("0.0001"), 2, "50µs and the clock step");
        assert_eq!(bucket("0.0025"), 5);
        assert_eq!(bucket("0.05"), 6);
        assert_eq!(bucket("2.5"), 6);
        assert_eq!(bucket("+Inf"), 7);
        assert!(text.contains("observerd_pipeline_latency_seconds_count 7\n"));
    }
}
