//! The agent's HTTP proxy, read at scrape time: how every request and connection ended,
//! and the proxy's own losses, so they are data rather than silence.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `observerd_http_proxy_requests_total` | counter | `outcome` = `forwarded`, `denied`, `upstream_error` |
//! | `observerd_http_proxy_received_total` | counter | |
//! | `observerd_http_proxy_connections_total` | counter | |
//! | `observerd_http_proxy_connection_errors_total` | counter | `reason` = `parse`, `header_timeout` |
//! | `observerd_http_proxy_reports_lost_total` | counter | |
//!
//! `received = sum(requests_total)` once every request in flight has ended.

use std::sync::Arc;

use super::Collector;
use super::text::{Encoder, Kind};

/// The proxy's counters as the collector reads them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HttpProxyCounters {
    /// Connections accepted.
    pub connections: u64,
    /// Requests read.
    pub requests: u64,
    /// Forwarded and answered upstream.
    pub forwarded: u64,
    /// Denied by policy (403).
    pub denied: u64,
    /// Allowed, upstream failed (503).
    pub upstream_errors: u64,
    /// Connections closed on an unparsable or oversized head.
    pub parse_errors: u64,
    /// Connections closed on a slow head.
    pub header_timeouts: u64,
    /// Flow reports the proxy could not hand to the pipeline.
    pub reports_lost: u64,
}

/// Reads the counters of a running proxy.
pub type ReadHttpCounters = Arc<dyn Fn() -> HttpProxyCounters + Send + Sync>;

pub(crate) struct HttpProxyMetrics(pub(crate) ReadHttpCounters);

impl Collector for HttpProxyMetrics {
    fn encode(&self, out: &mut Encoder) {
        let c = (self.0)();
        const REQUESTS: &str = "observerd_http_proxy_requests_total";
        out.family(
            REQUESTS,
            Kind::Counter,
            "HTTP requests the proxy handled, by how they ended",
        );
        for (outcome, n) in [
            ("forwarded", c.forwarded),
            ("denied", c.denied),
            ("upstream_error", c.upstream_errors),
        ] {
            out.sample(REQUESTS, &[("outcome", outcome)], n);
        }
        const ERRORS: &str = "observerd_http_proxy_connection_errors_total";
        out.family(
            ERRORS,
            Kind::Counter,
            "Connections the proxy closed on a bad or slow request head",
        );
        out.sample(ERRORS, &[("reason", "parse")], c.parse_errors);
        out.sample(ERRORS, &[("reason", "header_timeout")], c.header_timeouts);
        for (name, help, n) in [
            (
                "observerd_http_proxy_received_total",
                "HTTP requests the proxy read",
                c.requests,
            ),
            (
                "observerd_http_proxy_connections_total",
                "Connections the proxy accepted",
                c.connections,
            ),
            (
                "observerd_http_proxy_reports_lost_total",
                "HTTP flow reports lost between the proxy and the pipeline",
                c.reports_lost,
            ),
        ] {
            out.family(name, Kind::Counter, help);
            out.sample(name, &[], n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_is_a_sample() {
        let read: ReadHttpCounters = Arc::new(|| HttpProxyCounters {
            requests: 6,
            forwarded: 3,
            denied: 2,
            upstream_errors: 1,
            parse_errors: 4,
            ..HttpProxyCounters::default()
        });
        let mut out = Encoder::new();
        HttpProxyMetrics(read).encode(&mut out);
        let text = out.finish();
        for line in [
            "observerd_http_proxy_requests_total{outcome=\"forwarded\"} 3",
            "observerd_http_proxy_requests_total{outcome=\"denied\"} 2",
            "observerd_http_proxy_requests_total{outcome=\"upstream_error\"} 1",
            "observerd_http_proxy_received_total 6",
            "observerd_http_proxy_connection_errors_total{reason=\"parse\"} 4",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }
}
