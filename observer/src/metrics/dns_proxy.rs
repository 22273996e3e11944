//! The agent's DNS proxy, read at scrape time: how every query ended, and the proxy's own
//! losses and delays, so they are data rather than silence.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `observerd_dns_proxy_queries_total` | counter | `outcome` = `answered`, `refused`, `failed`, `malformed`, `unroutable` |
//! | `observerd_dns_proxy_received_total` | counter | |
//! | `observerd_dns_proxy_released_unsettled_total` | counter | |
//! | `observerd_dns_proxy_reports_lost_total` | counter | |
//! | `observerd_dns_proxy_tcp_connections_total` | counter | |
//!
//! `received = sum(queries_total)` once every query in flight has ended.

use std::sync::Arc;

use super::Collector;
use super::text::{Encoder, Kind};

/// The proxy's counters as the collector reads them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DnsProxyCounters {
    /// Queries received.
    pub received: u64,
    /// Forwarded and answered.
    pub answered: u64,
    /// Refused by policy.
    pub refused: u64,
    /// No answer in time, or the forward failed.
    pub failed: u64,
    /// Not a query.
    pub malformed: u64,
    /// No original destination.
    pub unroutable: u64,
    /// Answers sent before the datapath knew their addresses.
    pub released_unsettled: u64,
    /// Flow reports the proxy could not hand to the pipeline.
    pub reports_lost: u64,
    /// TCP connections accepted.
    pub tcp_connections: u64,
}

/// Reads the counters of a running proxy.
pub type ReadCounters = Arc<dyn Fn() -> DnsProxyCounters + Send + Sync>;

pub(crate) struct DnsProxyMetrics(pub(crate) ReadCounters);

impl Collector for DnsProxyMetrics {
    fn encode(&self, out: &mut Encoder) {
        let c = (self.0)();
        const QUERIES: &str = "observerd_dns_proxy_queries_total";
        out.family(
            QUERIES,
            Kind::Counter,
            "DNS queries the proxy handled, by how they ended",
        );
        for (outcome, n) in [
            ("answered", c.answered),
            ("refused", c.refused),
            ("failed", c.failed),
            ("malformed", c.malformed),
            ("unroutable", c.unroutable),
        ] {
            out.sample(QUERIES, &[("outcome", outcome)], n);
        }
        for (name, help, n) in [
            (
                "observerd_dns_proxy_received_total",
                "DNS queries the proxy received",
                c.received,
            ),
            (
                "observerd_dns_proxy_released_unsettled_total",
                "Allowed answers sent before the datapath had their addresses (the hold timed out)",
                c.released_unsettled,
            ),
            (
                "observerd_dns_proxy_reports_lost_total",
                "DNS flow reports lost between the proxy and the pipeline",
                c.reports_lost,
            ),
            (
                "observerd_dns_proxy_tcp_connections_total",
                "DNS-over-TCP connections the proxy accepted",
                c.tcp_connections,
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
        let read: ReadCounters = Arc::new(|| DnsProxyCounters {
            received: 7,
            answered: 4,
            refused: 2,
            failed: 1,
            released_unsettled: 1,
            ..DnsProxyCounters::default()
        });
        let mut out = Encoder::new();
        DnsProxyMetrics(read).encode(&mut out);
        let text = out.finish();
        for line in [
            "observerd_dns_proxy_queries_total{outcome=\"answered\"} 4",
            "observerd_dns_proxy_queries_total{outcome=\"refused\"} 2",
            "observerd_dns_proxy_received_total 7",
            "observerd_dns_proxy_released_unsettled_total 1",
        ] {
            assert!(text.contains(line), "{line} missing in {text}");
        }
    }
}
