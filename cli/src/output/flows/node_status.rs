//! Node status events a relay interleaves with flows, printed on stderr like Hubble:
//! only the ones that mean missing data (unavailable nodes, errors).

use observe_proto::observer::GetFlowsResponse;
use observe_proto::relay::{NodeState, NodeStatusEvent};

use super::Options;
use super::styled::Styled;
use super::time::format;

/// The stderr line for `status`, or `None` for informational events.
pub fn line(response: &GetFlowsResponse, status: &NodeStatusEvent, o: &Options) -> Option<Styled> {
    let nodes = status.node_names.join(", ");
    let count = status.node_names.len();
    let what = match status.state_change() {
        NodeState::NodeUnavailable => format!("{count} nodes are unavailable: {nodes}"),
        NodeState::NodeError => format!("Error {:?} on {count} nodes: {nodes}", status.message),
        _ => return None,
    };
    let mut s = Styled::new();
    s.plain(format!(
        "{} [{}]: {what}",
        format(response.time.as_ref(), o.time_format),
        response.node_name
    ));
    Some(s)
}
