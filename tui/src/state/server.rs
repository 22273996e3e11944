//! What `ServerStatus` (polled every second) says about the agent: ring occupancy, the
//! agent-wide flow rate and version, or why the status is unavailable. A relay also says
//! how many nodes it reads and which are unavailable ([`NodesView`]).

use observe_proto::observer::ServerStatusResponse;

use observe_describe::sanitize::cleaned;

/// The agent's status.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServerView {
    /// Flows in the agent's ring.
    pub num_flows: u64,
    /// Capacity of the agent's ring.
    pub max_flows: u64,
    /// Flows/s over the last minute, agent-wide.
    pub flows_rate: f64,
    /// Agent version (sanitized).
    pub version: String,
    /// Whether a status has been received.
    pub known: bool,
    /// Why the last poll failed, if it did.
    pub error: Option<String>,
    /// The nodes behind the server, when it is a relay.
    pub nodes: Option<NodesView>,
}

/// A relay's nodes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodesView {
    /// Nodes it reads from.
    pub connected: u32,
    /// Nodes it cannot reach.
    pub unavailable: u32,
    /// The unreachable ones by name (a relay may list only some).
    pub unavailable_names: Vec<String>,
}

impl ServerView {
    /// A successful poll.
    pub fn on_status(&mut self, status: &ServerStatusResponse) {
        self.num_flows = status.num_flows;
        self.max_flows = status.max_flows;
        self.flows_rate = status.flows_rate;
        self.version = cleaned(&status.version);
        self.nodes = status.num_connected_nodes.map(|c| NodesView {
            connected: c.value,
            unavailable: status.num_unavailable_nodes.map_or(0, |u| u.value),
            unavailable_names: status
                .unavailable_nodes
                .iter()
                .map(|n| cleaned(n))
                .collect(),
        });
        self.known = true;
        self.error = None;
    }

    /// A failed poll; the last numbers stay, marked stale.
    pub fn on_error(&mut self, reason: String) {
        self.error = Some(reason);
    }
}

impl ServerView {
    /// Whether the server reads several nodes (a relay): flows and losses then name theirs.
    pub fn is_relay(&self) -> bool {
        self.nodes.is_some()
    }
}

#[cfg(test)]
mod tests {
    use observe_proto::pbjson_types::UInt32Value;

    use super::*;

    #[test]
    fn a_relay_status_counts_its_nodes() {
        let mut v = ServerView::default();
        v.on_status(&ServerStatusResponse::default());
        assert!(!v.is_relay(), "an agent does not report nodes");
        v.on_status(&ServerStatusResponse {
            num_connected_nodes: Some(UInt32Value { value: 2 }),
            num_unavailable_nodes: Some(UInt32Value { value: 1 }),
            unavailable_nodes: vec!["n2\u{1b}[31m".into()],
            ..Default::default()
        });
        let nodes = v.nodes.clone().unwrap();
        assert_eq!((nodes.connected, nodes.unavailable), (2, 1));
        assert_eq!(nodes.unavailable_names, [cleaned("n2\u{1b}[31m")]);
        assert!(v.is_relay());
    }
}
