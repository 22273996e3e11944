//! The commands that reproduce what the detail pane shows: `observe policy trace` (would
//! this flow be allowed, and by which rule?) and `observe flows` (show me more like it).
//! Arguments are shell-quoted ([`crate::quote`]) so the line can be pasted as is.

use observe_proto::flow::Flow;

use crate::l4;
use crate::names::{self, FlowEnd};
use crate::quote::shell_word;
use crate::verdict;

/// `observe policy trace --from NS/POD --to NS/POD --dport N --protocol P`, or `None`
/// when an end is neither a pod nor an address.
pub fn trace_command(flow: &Flow) -> Option<String> {
    let reply = flow.is_reply.as_ref().is_some_and(|b| b.value);
    // A reply travels server → client; the trace is about the client's connection.
    let (from, to) = if reply {
        (FlowEnd::Destination, FlowEnd::Source)
    } else {
        (FlowEnd::Source, FlowEnd::Destination)
    };
    let l4 = l4::of(flow);
    let mut cmd = format!(
        "observe policy trace --from {} --to {}",
        shell_word(&peer_arg(flow, from)?),
        shell_word(&peer_arg(flow, to)?)
    );
    let dport = if reply {
        l4.source_port
    } else {
        l4.destination_port
    };
    match l4.protocol {
        "" => {}
        "ICMPv4" => cmd.push_str(&format!(
            " --protocol ICMP --icmp-type {}",
            l4.destination_port
        )),
        "ICMPv6" => cmd.push_str(&format!(
            " --protocol ICMPv6 --icmp-type {}",
            l4.destination_port
        )),
        p => cmd.push_str(&format!(" --dport {dport} --protocol {p}")),
    }
    if reply {
        cmd.push_str(" --reply");
    }
    Some(cmd)
}

fn peer_arg(flow: &Flow, end: FlowEnd) -> Option<String> {
    names::pod(flow, end).or_else(|| names::address(flow, end))
}

/// `observe flows --from-pod A --to-pod B --to-port N --protocol tcp --verdict V`.
pub fn flows_command(flow: &Flow) -> String {
    let mut cmd = String::from("observe flows");
    for (end, dir) in [(FlowEnd::Source, "from"), (FlowEnd::Destination, "to")] {
        if let Some(pod) = names::pod(flow, end) {
            cmd.push_str(&format!(" --{dir}-pod {}", shell_word(&pod)));
        } else if let Some(ip) = names::address(flow, end) {
            cmd.push_str(&format!(" --{dir}-ip {}", shell_word(&ip)));
        }
    }
    let l4 = l4::of(flow);
    if !l4.is_icmp() && l4.destination_port != 0 {
        cmd.push_str(&format!(" --to-port {}", l4.destination_port));
    }
    if !l4.protocol.is_empty() {
        cmd.push_str(&format!(" --protocol {}", l4.protocol.to_ascii_lowercase()));
    }
    cmd.push_str(&format!(" --verdict {}", verdict::verdict(flow)));
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;
    use observe_proto::flow::{Endpoint, Ip, Layer4, Udp, Verdict, layer4::Protocol};

    fn flow() -> Flow {
        Flow {
            verdict: Verdict::Dropped.into(),
            ip: Some(Ip {
                source: "10.0.0.1".into(),
                destination: "10.0.0.53".into(),
                ..Default::default()
            }),
            source: Some(Endpoint {
                namespace: "shop".into(),
                pod_name: "frontend".into(),
                ..Default::default()
            }),
            l4: Some(Layer4 {
                protocol: Some(Protocol::Udp(Udp {
                    source_port: 40000,
                    destination_port: 53,
                })),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_trace_command_uses_pods_or_addresses() {
        assert_eq!(
            trace_command(&flow()).unwrap(),
            "observe policy trace --from shop/frontend --to 10.0.0.53 --dport 53 --protocol UDP"
        );
        assert_eq!(trace_command(&Flow::default()), None);
    }

    #[test]
    fn the_flows_command_selects_the_same_pair_port_and_verdict() {
        assert_eq!(
            flows_command(&flow()),
            "observe flows --from-pod shop/frontend --to-ip 10.0.0.53 --to-port 53 --protocol udp --verdict DROPPED"
        );
    }
}
