//! `observe status`: the agent's `ServerStatus` as `hubble status` prints it
//! (`Current/Max Flows: 92/4,095 (2.25%)`, `Flows/s: 12.60`, ...), plus uptime, flows
//! seen, version, the node's IP forwarding, the node, and the events lost per source with
//! what each loss means.

use observe_describe::numbers::thousands;
use observe_proto::flow::LostEvent;
use observe_proto::observer::{Node, NodeForwarding, ServerStatusResponse};

use super::flows::lost;
use super::flows::time::TimeFormat;

/// The status report, one fact per line.
pub fn render(status: &ServerStatusResponse, nodes: &[Node]) -> String {
    let mut out = format!(
        "Current/Max Flows: {}/{}{}\n",
        thousands(status.num_flows),
        thousands(status.max_flows),
        ratio(status.num_flows, status.max_flows)
    );
    out.push_str(&format!("Flows/s: {}\n", flows_per_second(status)));
    out.push_str(&format!("Seen Flows: {}\n", thousands(status.seen_flows)));
    out.push_str(&format!("Uptime: {}\n", duration(status.uptime_ns)));
    if !status.version.is_empty() {
        out.push_str(&format!("Version: {}\n", status.version));
    }
    if let Some(f) = &status.forwarding {
        out.push_str(&forwarding(f));
    }
    out.push_str(&connected_nodes(status, nodes));
    out.push_str(&lost_events(&status.lost_events));
    out
}

fn ratio(num: u64, max: u64) -> String {
    if max == 0 {
        return String::new();
    }
    format!(" ({:.2}%)", num as f64 / max as f64 * 100.0)
}

/// The server's rate, else the average since start, else `N/A` (as Hubble).
fn flows_per_second(status: &ServerStatusResponse) -> String {
    let uptime = status.uptime_ns as f64 / 1e9;
    if status.flows_rate > 0.0 {
        format!("{:.2}", status.flows_rate)
    } else if uptime > 0.0 {
        format!("{:.2}", status.seen_flows as f64 / uptime)
    } else {
        "N/A".into()
    }
}

/// `IP Forwarding: IPv4 on, IPv6 on`, what the agent turned on at start, and what a switch
/// that is off means.
fn forwarding(f: &NodeForwarding) -> String {
    let word = |on: bool| if on { "on" } else { "off" };
    let mut out = format!(
        "IP Forwarding: IPv4 {}, IPv6 {}",
        word(f.ipv4),
        f.ipv6.map_or("unavailable", word)
    );
    if !f.enabled_at_start.is_empty() {
        out.push_str(&format!(
            " (turned on at start: {})",
            f.enabled_at_start.join(", ")
        ));
    }
    out.push('\n');
    if !f.ipv4 || f.ipv6 == Some(false) {
        out.push_str(
            "  the node drops what endpoints send beyond it; restarting observerd turns forwarding on\n",
        );
    }
    out
}

/// Relay counts when present, then the nodes `GetNodes` named.
fn connected_nodes(status: &ServerStatusResponse, nodes: &[Node]) -> String {
    let mut out = String::new();
    if let Some(connected) = status.num_connected_nodes {
        let total = status
            .num_unavailable_nodes
            .map(|u| format!("/{}", u.value + connected.value))
            .unwrap_or_default();
        out.push_str(&format!("Connected Nodes: {}{total}\n", connected.value));
    }
    if let Some(unavailable) = status.num_unavailable_nodes.filter(|u| u.value > 0) {
        out.push_str(&format!("Unavailable Nodes: {}\n", unavailable.value));
        for name in &status.unavailable_nodes {
            out.push_str(&format!("  - {name}\n"));
        }
    }
    for node in nodes {
        out.push_str(&format!(
            "Node: {} ({}, {}/{} flows)\n",
            node.name,
            node.state().as_str_name(),
            thousands(node.num_flows),
            thousands(node.max_flows)
        ));
    }
    out
}

fn lost_events(lost: &[LostEvent]) -> String {
    let lost: Vec<&LostEvent> = lost.iter().filter(|l| l.num_events_lost > 0).collect();
    if lost.is_empty() {
        return "Lost Events: none\n".into();
    }
    let mut out = String::from("Lost Events:\n");
    for l in lost {
        out.push_str(&format!(
            "  {}: {}{}\n    {}\n",
            l.source().as_str_name(),
            thousands(l.num_events_lost),
            lost::range(l, TimeFormat::Rfc3339),
            lost::hint(l.source())
        ));
    }
    out
}

/// Whole seconds as `1h2m3s` (Go's style), `0s` for nothing.
/// An uptime as `1h2m3s` (Hubble's style).
pub fn duration(nanos: u64) -> String {
    let secs = nanos / 1_000_000_000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use observe_proto::flow::LostEventSource;

    #[test]
    fn like_hubble_status_with_losses() {
        let status = ServerStatusResponse {
            num_flows: 92,
            max_flows: 4095,
            seen_flows: 12_345,
            uptime_ns: 3_723_000_000_000,
            version: "0.1.0".into(),
            flows_rate: 12.6,
            lost_events: vec![
                LostEvent {
                    source: LostEventSource::ObserverEventsQueue.into(),
                    num_events_lost: 1500,
                    ..Default::default()
                },
                LostEvent {
                    source: LostEventSource::PerfEventRingBuffer.into(),
                    num_events_lost: 0,
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let text = render(&status, &[]);
        assert!(
            text.starts_with("Current/Max Flows: 92/4,095 (2.25%)\nFlows/s: 12.60\n"),
            "{text}"
        );
        assert!(
            text.contains("Seen Flows: 12,345\nUptime: 1h2m3s\nVersion: 0.1.0\n"),
            "{text}"
        );
        assert!(
            text.contains("  OBSERVER_EVENTS_QUEUE: 1,500\n    event queue full"),
            "{text}"
        );
        assert!(!text.contains("PERF_EVENT_RING_BUFFER"), "{text}");
    }

    #[test]
    fn the_status_tells_the_nodes_ip_forwarding_and_what_the_agent_turned_on() {
        let mut status = ServerStatusResponse {
            version: "0.1.0".into(),
            forwarding: Some(NodeForwarding {
                ipv4: true,
                ipv6: Some(true),
                enabled_at_start: vec!["net.ipv4.ip_forward".into()],
            }),
            ..Default::default()
        };
        let text = render(&status, &[]);
        assert!(
            text.contains(
                "Version: 0.1.0\nIP Forwarding: IPv4 on, IPv6 on (turned on at start: net.ipv4.ip_forward)\n"
            ),
            "{text}"
        );
        assert!(!text.contains("drops"), "{text}");

        status.forwarding = Some(NodeForwarding {
            ipv4: false,
            ipv6: None,
            enabled_at_start: vec![],
        });
        let text = render(&status, &[]);
        assert!(
            text.contains("IP Forwarding: IPv4 off, IPv6 unavailable\n  the node drops what endpoints send beyond it"),
            "{text}"
        );

        status.forwarding = None;
        assert!(
            !render(&status, &[]).contains("Forwarding"),
            "a server that routes nothing reports no forwarding"
        );
    }

    #[test]
    fn numbers_and_durations() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(duration(59_000_000_000), "59s");
        assert_eq!(duration(61_000_000_000), "1m1s");
        let idle = ServerStatusResponse::default();
        assert!(render(&idle, &[]).contains("Flows/s: N/A\n"));
        assert!(render(&idle, &[]).contains("Lost Events: none\n"));
    }
}
