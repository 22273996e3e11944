//! The node status events a relay puts in a flow stream (`GetFlowsResponse.node_status`),
//! as Hubble Relay sends them: which nodes the stream reads from when it starts, which
//! are unavailable, and later which failed, came back or left the cluster. The CLI prints
//! the unavailable and failed ones on stderr.

use observe_proto::Timestamp;
use observe_proto::observer::GetFlowsResponse;
use observe_proto::observer::get_flows_response::ResponseTypes;
use observe_proto::relay::{NodeState, NodeStatusEvent};

use observe_proto::raw::RawResponse;

/// One event about `nodes`, stamped now and from the relay (`relay_name`).
pub fn event(relay_name: &str, state: NodeState, nodes: &[String], message: &str) -> RawResponse {
    let response = GetFlowsResponse {
        response_types: Some(ResponseTypes::NodeStatus(NodeStatusEvent {
            state_change: state.into(),
            node_names: nodes.to_vec(),
            message: message.to_string(),
        })),
        node_name: relay_name.to_string(),
        time: Some(Timestamp::now()),
    };
    RawResponse::encode(&response)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use prost::Message;

    use super::*;
    use observe_proto::raw::Kind;

    #[test]
    fn events_name_the_nodes_and_the_relay() {
        let raw = event(
            "relay",
            NodeState::NodeUnavailable,
            &["n2".into()],
            "connection refused",
        );
        assert_eq!(raw.kind, Kind::NodeStatus);
        let back = GetFlowsResponse::decode(Bytes::clone(&raw.bytes)).unwrap();
        assert_eq!(back.node_name, "relay");
        let Some(ResponseTypes::NodeStatus(s)) = back.response_types else {
            panic!("not a node status: {back:?}");
        };
        assert_eq!(s.state_change(), NodeState::NodeUnavailable);
        assert_eq!(
            (s.node_names, s.message.as_str()),
            (vec!["n2".to_string()], "connection refused")
        );
    }
}
