//! A node in a cluster: its kvstore link, read at scrape time, so an etcd outage shows in
//! the metrics as well as in `observe get nodes`.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `observerd_kvstore_connected` | gauge | |
//! | `observerd_kvstore_revision` | gauge | |
//! | `observerd_kvstore_outages_total` | counter | |
//! | `observerd_kvstore_nodes` | gauge | |

use std::sync::Arc;

use super::Collector;
use super::text::{Encoder, Kind};

/// The link's state as the collector reads it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KvstoreReading {
    /// Whether every watch is up.
    pub connected: bool,
    /// The objects revision the node enforces.
    pub revision: i64,
    /// Times the store became unreachable.
    pub outages: u64,
    /// Registered nodes the node sees (itself included).
    pub nodes: u64,
}

/// Reads the link of a running agent.
pub type ReadKvstore = Arc<dyn Fn() -> KvstoreReading + Send + Sync>;

pub(crate) struct KvstoreMetrics(pub(crate) ReadKvstore);

impl Collector for KvstoreMetrics {
    fn encode(&self, out: &mut Encoder) {
        let r = (self.0)();
        let revision = u64::try_from(r.revision).unwrap_or(0);
        for (name, kind, help, n) in [
            (
                "observerd_kvstore_connected",
                Kind::Gauge,
                "1 while every watch on the kvstore is up; 0 while the node enforces its last-known state",
                u64::from(r.connected),
            ),
            (
                "observerd_kvstore_revision",
                Kind::Gauge,
                "The kvstore objects revision this node enforces",
                revision,
            ),
            (
                "observerd_kvstore_outages_total",
                Kind::Counter,
                "Times the kvstore became unreachable",
                r.outages,
            ),
            (
                "observerd_kvstore_nodes",
                Kind::Gauge,
                "Nodes registered in the kvstore, as this node sees them",
                r.nodes,
            ),
        ] {
            out.family(name, kind, help);
            out.sample(name, &[], n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_reads_as_disconnected_with_the_last_revision() {
        let read: ReadKvstore = Arc::new(|| KvstoreReading {
            connected: false,
            revision: 42,
            outages: 1,
            nodes: 3,
        });
        let mut out = Encoder::new();
        KvstoreMetrics(read).encode(&mut out);
        let text = out.finish();
        for line in [
            "observerd_kvstore_connected 0",
            "observerd_kvstore_revision 42",
            "observerd_kvstore_outages_total 1",
            "observerd_kvstore_nodes 3",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
    }
}
