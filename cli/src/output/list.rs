//! The tables of `observe list nodes` and `observe list namespaces`, as `hubble list`
//! prints them: a relay's nodes with their state, age, rate and ring, and the namespaces
//! seen in flows.

use observe_proto::observer::{Namespace, Node};
use observe_proto::relay::NodeState;

use super::status::duration;
use super::table;
use observe_describe::numbers::{percent, thousands};
use observe_describe::sanitize::cleaned;

/// `NAME STATUS AGE FLOWS/S CURRENT/MAX-FLOWS`, one line per node.
pub fn nodes(nodes: &[Node]) -> String {
    let rows: Vec<Vec<String>> = nodes
        .iter()
        .map(|n| {
            let uptime = n.uptime_ns as f64 / 1e9;
            let rate = if uptime > 0.0 {
                format!("{:.2}", n.seen_flows as f64 / uptime)
            } else {
                "N/A".into()
            };
            vec![
                cleaned(&n.name),
                state(n.state()).into(),
                duration(n.uptime_ns),
                rate,
                format!(
                    "{}/{} ({}%)",
                    thousands(n.num_flows),
                    thousands(n.max_flows),
                    percent(n.num_flows, n.max_flows)
                ),
            ]
        })
        .collect();
    table::render(
        &["NAME", "STATUS", "AGE", "FLOWS/S", "CURRENT/MAX-FLOWS"],
        &rows,
    )
}

/// `CLUSTER NAMESPACE`, one line per namespace.
pub fn namespaces(namespaces: &[Namespace]) -> String {
    let rows: Vec<Vec<String>> = namespaces
        .iter()
        .map(|n| vec![cleaned(&n.cluster), cleaned(&n.namespace)])
        .collect();
    table::render(&["CLUSTER", "NAMESPACE"], &rows)
}

fn state(s: NodeState) -> &'static str {
    match s {
        NodeState::NodeConnected => "Connected",
        NodeState::NodeUnavailable => "Unavailable",
        NodeState::NodeGone => "Gone",
        NodeState::NodeError => "Error",
        NodeState::UnknownNodeState => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_like_hubble_list_nodes() {
        let up = Node {
            name: "n1".into(),
            state: NodeState::NodeConnected.into(),
            uptime_ns: 3_723_000_000_000,
            seen_flows: 7446,
            num_flows: 92,
            max_flows: 4095,
            ..Default::default()
        };
        let down = Node {
            name: "n2".into(),
            state: NodeState::NodeUnavailable.into(),
            ..Default::default()
        };
        assert_eq!(
            nodes(&[up, down]),
            "NAME   STATUS        AGE      FLOWS/S   CURRENT/MAX-FLOWS\n\
             n1     Connected     1h2m3s   2.00      92/4,095 (2%)\n\
             n2     Unavailable   0s       N/A       0/0 (0%)\n"
        );
        let ns = namespaces(&[Namespace {
            cluster: "default".into(),
            namespace: "shop".into(),
        }]);
        assert_eq!(ns, "CLUSTER   NAMESPACE\ndefault   shop\n");
    }
}
