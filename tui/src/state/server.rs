//! What `ServerStatus` (polled every second) says about the agent: ring occupancy, the
//! agent-wide flow rate and version, or why the status is unavailable.

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
}

impl ServerView {
    /// A successful poll.
    pub fn on_status(&mut self, status: &ServerStatusResponse) {
        self.num_flows = status.num_flows;
        self.max_flows = status.max_flows;
        self.flows_rate = status.flows_rate;
        self.version = cleaned(&status.version);
        self.known = true;
        self.error = None;
    }

    /// A failed poll; the last numbers stay, marked stale.
    pub fn on_error(&mut self, reason: String) {
        self.error = Some(reason);
    }
}
