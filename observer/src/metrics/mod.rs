//! Prometheus metrics in Hubble's families and labels, plus the agent's health, served
//! as text by [`page`].
//!
//! Like Cilium's `pkg/hubble/metrics`, each flow metric is a plugin (a name, as
//! `--metrics` takes it, and a constructor) whose handler sees every decoded flow through
//! one pipeline hook ([`MetricsHook`]) and writes its family at scrape time:
//!
//! | plugin | family | labels |
//! |---|---|---|
//! | `drop` | `hubble_drop_total` | `reason`, `protocol`, `policy`* |
//! | `flow` | `hubble_flows_processed_total` | `protocol`, `type`, `subtype`, `verdict` |
//! | `policy` | `hubble_policy_verdicts_total` | `direction`, `match`, `action`, `policy`* |
//! | `port-distribution` | `hubble_port_distribution_total` | `protocol`, `port` |
//! | `tcp` | `hubble_tcp_flags_total` | `flag`, `family` |
//! | `icmp` | `hubble_icmp_total` | `family`, `type` |
//! | `dns` | `hubble_dns_queries_total`, `hubble_dns_responses_total` | `rcode`, `qtypes`, `ips_returned` |
//! | | `hubble_dns_response_types_total` | `type`, `qtypes` |
//! | `http` | `hubble_http_requests_total` | `method`, `protocol`, `reporter` |
//! | | `hubble_http_responses_total` | `method`, `protocol`, `status`, `reporter` |
//! | | `hubble_http_request_duration_seconds` (histogram) | `method`, `reporter` |
//!
//! \* Our extension: the deciding policies (`namespace/name`, comma-joined; for a
//! default deny the policies selecting the endpoint), at most [`POLICY_LABEL_LIMIT`]
//! distinct values, then `other`. Every family keeps at most 4,096 label sets
//! (`series::SERIES_LIMIT`), then counts in an all-`other` series.
//!
//! Always present, read at scrape time rather than per flow: `hubble_lost_events_total`
//! (`lost`), the pipeline latency histogram (`latency`, fed by the same hook), and the
//! agent's health (`agent`: ring, queue, pipeline counters, datapath maps).
//!
//! Why no Prometheus client crate: the text format is a few lines ([`text`]), the
//! families are fixed, and the hot path is one mutex and a few hash-map increments per
//! flow.

mod agent;
mod dns;
mod dns_proxy;
mod drop;
mod flow;
mod http_flows;
mod http_proxy;
mod icmp;
mod kvstore;
mod labels;
mod latency;
mod lost;
pub mod page;
mod policy;
mod port_distribution;
mod rule_hits;
mod series;
mod tcp;
pub mod text;

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use observe_proto::flow::Flow;

pub use agent::{MapGauges, MapOccupancy};
pub use dns_proxy::{DnsProxyCounters, ReadCounters};
pub use http_proxy::{HttpProxyCounters, ReadHttpCounters};
pub use kvstore::{KvstoreReading, ReadKvstore};
use text::Encoder;

use crate::pipeline::{ObserverState, OnDecodedFlow};

/// Distinct values of the `policy` label per family.
pub const POLICY_LABEL_LIMIT: usize = 256;

/// A flow metric: counts what it sees in flows, writes its family on scrape.
pub(crate) trait Handler: Send {
    /// Sees one decoded flow.
    fn process_flow(&mut self, flow: &Flow);
    /// Writes the family.
    fn encode(&self, out: &mut Encoder);
}

/// A metric read at scrape time from state someone else keeps.
pub(crate) trait Collector: Send + Sync {
    /// Writes the family.
    fn encode(&self, out: &mut Encoder);
}

/// A flow metric by name.
pub(crate) struct Plugin {
    /// The name `--metrics` takes (Hubble's).
    pub name: &'static str,
    /// A fresh handler.
    pub new: fn() -> Box<dyn Handler>,
}

/// Every flow metric, in scrape order.
const PLUGINS: [Plugin; 8] = [
    drop::PLUGIN,
    flow::PLUGIN,
    policy::PLUGIN,
    port_distribution::PLUGIN,
    tcp::PLUGIN,
    icmp::PLUGIN,
    dns::PLUGIN,
    http_flows::PLUGIN,
];

/// The names of every flow metric.
pub fn plugin_names() -> Vec<&'static str> {
    PLUGINS.iter().map(|p| p.name).collect()
}

/// A metric name that is not one of [`plugin_names`].
#[derive(Debug, thiserror::Error)]
#[error("unknown metric {name:?}: expected one of {known}", known = plugin_names().join(", "))]
pub struct UnknownMetric {
    /// The name given.
    pub name: String,
}

/// The handlers the hook feeds, behind one lock (one acquisition per flow).
struct FlowHandlers {
    handlers: Vec<Box<dyn Handler>>,
}

/// The registry: flow handlers plus collectors.
pub struct Metrics {
    flows: Arc<Mutex<FlowHandlers>>,
    collectors: Vec<Box<dyn Collector>>,
}

impl Metrics {
    /// The flow metrics named in `names` (all of them when empty) and the pipeline
    /// latency histogram.
    ///
    /// # Errors
    ///
    /// [`UnknownMetric`] for a name that is not a plugin.
    pub fn new(names: &[String]) -> Result<Self, UnknownMetric> {
        let mut handlers: Vec<Box<dyn Handler>> = Vec::new();
        for plugin in &PLUGINS {
            if names.is_empty() || names.iter().any(|n| n == plugin.name) {
                handlers.push((plugin.new)());
            }
        }
        if let Some(name) = names
            .iter()
            .find(|n| !PLUGINS.iter().any(|p| p.name == n.as_str()))
        {
            return Err(UnknownMetric { name: name.clone() });
        }
        handlers.push(Box::new(latency::Latency::default()));
        Ok(Self {
            flows: Arc::new(Mutex::new(FlowHandlers { handlers })),
            collectors: Vec::new(),
        })
    }

    /// Adds the pipeline's metrics: lost events per source, ring and queue occupancy,
    /// pipeline counters.
    pub fn with_pipeline(mut self, state: &ObserverState, queue_capacity: usize) -> Self {
        self.collectors.push(Box::new(lost::LostEvents {
            stats: Arc::clone(&state.stats),
        }));
        self.collectors.push(Box::new(agent::PipelineHealth {
            state: state.clone(),
            queue_capacity,
        }));
        self
    }

    /// Adds the DNS proxy's counters, read with `read` at scrape time.
    pub fn with_dns_proxy(mut self, read: ReadCounters) -> Self {
        self.collectors
            .push(Box::new(dns_proxy::DnsProxyMetrics(read)));
        self
    }

    /// Adds the HTTP proxy's counters, read at scrape time through `read`.
    pub fn with_http_proxy(mut self, read: ReadHttpCounters) -> Self {
        self.collectors
            .push(Box::new(http_proxy::HttpProxyMetrics(read)));
        self
    }

    /// Adds the per-rule hits (`observerd_policy_rule_hits_total`).
    pub fn with_rule_hits(mut self, hits: std::sync::Arc<crate::rule_hits::RuleHits>) -> Self {
        self.collectors
            .push(Box::new(rule_hits::RuleHitsMetrics(hits)));
        self
    }

    /// Adds the kvstore link of a node in a cluster, read at scrape time through `read`.
    pub fn with_kvstore(mut self, read: ReadKvstore) -> Self {
        self.collectors
            .push(Box::new(kvstore::KvstoreMetrics(read)));
        self
    }

    /// Adds the datapath map occupancy that `maps` is kept up to date with.
    pub fn with_maps(mut self, maps: MapGauges) -> Self {
        self.collectors.push(Box::new(maps));
        self
    }

    /// The pipeline hook that feeds the flow metrics.
    pub fn hook(&self) -> MetricsHook {
        MetricsHook {
            flows: Arc::clone(&self.flows),
        }
    }

    /// The text format page of every metric.
    pub fn render(&self) -> String {
        let mut out = Encoder::new();
        for handler in &lock(&self.flows).handlers {
            handler.encode(&mut out);
        }
        for collector in &self.collectors {
            collector.encode(&mut out);
        }
        out.finish()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("handlers", &lock(&self.flows).handlers.len())
            .field("collectors", &self.collectors.len())
            .finish()
    }
}

/// Feeds every decoded flow to the flow metrics; never drops a flow.
pub struct MetricsHook {
    flows: Arc<Mutex<FlowHandlers>>,
}

impl OnDecodedFlow for MetricsHook {
    fn on_decoded_flow(&mut self, flow: &Flow) -> ControlFlow<()> {
        for handler in &mut lock(&self.flows).handlers {
            handler.process_flow(flow);
        }
        ControlFlow::Continue(())
    }
}

impl std::fmt::Debug for MetricsHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsHook").finish_non_exhaustive()
    }
}

/// Handlers only add to counters, so a panic elsewhere cannot leave them inconsistent.
fn lock(flows: &Mutex<FlowHandlers>) -> MutexGuard<'_, FlowHandlers> {
    flows.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
