//! The relay's own metrics, on `--metrics-listen-address` in the Prometheus text format:
//!
//! - `observe_relay_nodes{state}`: nodes by state (connected, unavailable, connecting);
//! - `observe_relay_flows_total`: flows merged and sent to clients (a rate gives flows/s);
//! - `observe_relay_received_total{kind}`: responses read from nodes, by kind;
//! - `observe_relay_merge_delay_seconds`: histogram of the time a response spent in the
//!   relay, from reading it off a node to handing it to the client's stream;
//! - `observe_relay_dropped_total{reason}`: responses the relay could not pass on;
//! - `observe_relay_streams`: `GetFlows` streams open.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use hdrhistogram::Histogram;
use observer::metrics::page::Page;
use observer::metrics::text::{Encoder, Kind as MetricKind};

use crate::peers::{PeerState, Peers};
use observe_proto::raw::Kind;

/// Bucket bounds of the merge delay, in seconds.
const BUCKETS: [f64; 14] = [
    0.000_01, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 1.05, 1.5, 5.0,
];
/// Largest delay recorded exactly (10 minutes, in µs).
const MAX_MICROS: u64 = 600_000_000;

/// Counters shared by every stream.
pub struct RelayMetrics {
    peers: Option<Peers>,
    flows: AtomicU64,
    received: [AtomicU64; 4],
    malformed: AtomicU64,
    streams: AtomicU64,
    delay: Mutex<Delay>,
}

struct Delay {
    micros: Option<Histogram<u64>>,
    sum_seconds: f64,
}

impl RelayMetrics {
    /// Metrics reporting the states of `peers` (none: no node gauges).
    pub fn new(peers: Option<Peers>) -> Self {
        Self {
            peers,
            flows: AtomicU64::new(0),
            received: Default::default(),
            malformed: AtomicU64::new(0),
            streams: AtomicU64::new(0),
            delay: Mutex::new(Delay {
                // Valid constant bounds: cannot fail; None only disables the histogram.
                micros: Histogram::new_with_bounds(1, MAX_MICROS, 2).ok(),
                sum_seconds: 0.0,
            }),
        }
    }

    /// A response of `kind` was read from a node.
    pub fn received(&self, kind: Kind) {
        self.received[kind_index(kind)].fetch_add(1, Relaxed);
    }

    /// A node sent something that does not parse.
    pub fn malformed(&self) {
        self.malformed.fetch_add(1, Relaxed);
    }

    /// A response of `kind` left the sort buffer after `delay`.
    pub fn merged(&self, kind: Kind, delay: Duration) {
        if kind == Kind::Flow {
            self.flows.fetch_add(1, Relaxed);
        }
        let mut d = self
            .delay
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let micros = u64::try_from(delay.as_micros()).unwrap_or(MAX_MICROS);
        if let Some(h) = d.micros.as_mut() {
            h.saturating_record(micros.clamp(1, MAX_MICROS));
        }
        d.sum_seconds += delay.as_secs_f64();
    }

    /// Flows sent to clients so far.
    pub fn flows(&self) -> u64 {
        self.flows.load(Relaxed)
    }

    /// The merge delay at quantile `q` (0..=1), if anything was merged.
    pub fn delay_quantile(&self, q: f64) -> Option<Duration> {
        let d = self
            .delay
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let h = d.micros.as_ref().filter(|h| !h.is_empty())?;
        Some(Duration::from_micros(h.value_at_quantile(q)))
    }

    /// A `GetFlows` stream opened.
    pub fn stream_started(&self) {
        self.streams.fetch_add(1, Relaxed);
    }

    /// A `GetFlows` stream closed.
    pub fn stream_ended(&self) {
        self.streams.fetch_sub(1, Relaxed);
    }

    fn node_counts(&self) -> [(&'static str, u64); 3] {
        let mut counts = [("connected", 0), ("unavailable", 0), ("connecting", 0)];
        for peer in self.peers.iter().flat_map(Peers::snapshot) {
            let i = match peer.state {
                PeerState::Connected => 0,
                PeerState::Unavailable(_) => 1,
                PeerState::Connecting => 2,
            };
            counts[i].1 += 1;
        }
        counts
    }
}

fn kind_index(kind: Kind) -> usize {
    match kind {
        Kind::Flow => 0,
        Kind::LostEvents => 1,
        Kind::NodeStatus => 2,
        Kind::Other => 3,
    }
}

impl Page for RelayMetrics {
    fn render(&self) -> String {
        let mut out = Encoder::new();
        out.family(
            "observe_relay_nodes",
            MetricKind::Gauge,
            "Nodes by connection state",
        );
        for (state, n) in self.node_counts() {
            out.sample("observe_relay_nodes", &[("state", state)], n);
        }
        out.family(
            "observe_relay_flows_total",
            MetricKind::Counter,
            "Flows merged and sent to clients",
        );
        out.sample("observe_relay_flows_total", &[], self.flows());
        out.family(
            "observe_relay_received_total",
            MetricKind::Counter,
            "Responses read from nodes, by kind",
        );
        for (kind, i) in [
            ("flow", 0),
            ("lost_events", 1),
            ("node_status", 2),
            ("other", 3),
        ] {
            let n = self.received[i].load(Relaxed);
            out.sample("observe_relay_received_total", &[("kind", kind)], n);
        }
        out.family(
            "observe_relay_dropped_total",
            MetricKind::Counter,
            "Responses from nodes the relay could not pass on",
        );
        let malformed = self.malformed.load(Relaxed);
        out.sample(
            "observe_relay_dropped_total",
            &[("reason", "malformed")],
            malformed,
        );
        out.family(
            "observe_relay_streams",
            MetricKind::Gauge,
            "GetFlows streams open",
        );
        out.sample("observe_relay_streams", &[], self.streams.load(Relaxed));
        self.render_delay(&mut out);
        out.finish()
    }
}

impl RelayMetrics {
    fn render_delay(&self, out: &mut Encoder) {
        const NAME: &str = "observe_relay_merge_delay_seconds";
        out.family(
            NAME,
            MetricKind::Histogram,
            "Time a response spends in the relay, from a node to the client's stream",
        );
        let d = self
            .delay
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(h) = d.micros.as_ref() else {
            return;
        };
        let buckets: Vec<(f64, u64)> = BUCKETS
            .iter()
            .map(|&le| {
                let micros = (le * 1e6) as u64;
                (le, h.count_between(0, micros))
            })
            .collect();
        out.histogram(NAME, &[], &buckets, d.sum_seconds, h.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_counts_flows_and_delays() {
        let m = RelayMetrics::new(None);
        m.received(Kind::Flow);
        m.merged(Kind::Flow, Duration::from_millis(2));
        m.merged(Kind::LostEvents, Duration::from_millis(900));
        m.malformed();
        let page = m.render();
        assert!(page.contains("observe_relay_flows_total 1\n"), "{page}");
        assert!(page.contains("observe_relay_received_total{kind=\"flow\"} 1\n"));
        assert!(page.contains("observe_relay_dropped_total{reason=\"malformed\"} 1\n"));
        assert!(
            page.contains("observe_relay_merge_delay_seconds_bucket{le=\"0.005\"} 1\n"),
            "{page}"
        );
        assert!(page.contains("observe_relay_merge_delay_seconds_count 2\n"));
        assert!(m.delay_quantile(1.0).unwrap() >= Duration::from_millis(890));
    }
}
