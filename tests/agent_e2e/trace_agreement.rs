//! For a sample of flows, what the datapath does to real traffic equals what
//! `observe policy trace` (the agent's Trace call) predicts.

use crate::common::*;

#[test]
fn the_datapath_agrees_with_policy_trace() {
    let Some(c) = Cluster::new("e2etrace") else {
        return;
    };
    c.apply(POLICIES).expect("policies");
    let _s = c.serve("server", &[7070, 8080, 9090], &[5353, 5354]);
    let _c = c.serve("client", &[8080], &[]);
    let _i = c.serve("intruder", &[8080], &[5353]);
    let cases = [
        ("client", "server", "tcp", 8080),
        ("client", "server", "tcp", 9090),
        ("client", "server", "udp", 5353),
        ("client", "server", "udp", 5354),
        ("client", "server", "icmp", 0),
        ("intruder", "server", "tcp", 7070),
        ("intruder", "server", "tcp", 8080),
        ("server", "client", "tcp", 8080),
        ("client", "intruder", "tcp", 8080),
        ("server", "intruder", "udp", 5353),
        ("intruder", "client", "icmp", 0),
    ];
    for (from, to, proto, port) in cases {
        let (protocol, dport) = match proto {
            "tcp" => (6, u32::from(port)),
            "udp" => (17, u32::from(port)),
            _ => (1, 8),
        };
        let predicted = c.trace(from, to, protocol, dport)["verdict"] == "ALLOWED";
        let real = c.reaches(from, to, proto, port, false);
        assert_eq!(
            real, predicted,
            "{from} -> {to} {proto}/{port}: datapath {real}, trace {predicted}"
        );
    }
}

/// A KNP port range (at its edges) and a CIDR set with an exception, against world hosts
/// in the lab.
const RANGES_AND_CIDRS: &str = r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: range, namespace: e2e}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: 8080, endPort: 8090}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: egress-cidr, namespace: e2e}
spec:
  endpointSelector: {matchLabels: {app: client}}
  egress:
  - toCIDRSet: [{cidr: 203.0.113.0/24, except: [203.0.113.128/25]}]
    toPorts: [{ports: [{port: "443", protocol: TCP}]}]
  - toEndpoints: [{}]
"#;

#[test]
fn port_ranges_and_cidr_exceptions_agree_with_policy_trace() {
    let Some(mut c) = Cluster::new("e2erange") else {
        return;
    };
    c.apply(RANGES_AND_CIDRS).expect("policies");
    let node = c.node.clone();
    let near = c
        .lab
        .add_world_host(&node, "near", "203.0.113.10".parse().expect("ip"), None)
        .expect("world host");
    let far = c
        .lab
        .add_world_host(&node, "far", "203.0.113.200".parse().expect("ip"), None)
        .expect("world host");
    let any = |port| std::net::SocketAddr::new("0.0.0.0".parse().expect("any"), port);
    let _worlds: Vec<lab::TcpServer> = [(&near, 443), (&near, 80), (&far, 443)]
        .iter()
        .map(|(h, p)| lab::TcpServer::start(&h.netns, any(*p)).expect("world server"))
        .collect();
    let _s = c.serve("server", &[8079, 8080, 8085, 8090, 8091], &[]);
    let client = c.endpoint("client").netns;
    let intruder = c.endpoint("intruder").netns;
    let cases: [(&str, &str, &str, u16); 9] = [
        ("client", "e2e/server", "10.77.0.2", 8079),
        ("client", "e2e/server", "10.77.0.2", 8080),
        ("client", "e2e/server", "10.77.0.2", 8085),
        ("client", "e2e/server", "10.77.0.2", 8090),
        ("client", "e2e/server", "10.77.0.2", 8091),
        ("intruder", "e2e/server", "10.77.0.2", 8080),
        ("client", "203.0.113.10", "203.0.113.10", 443),
        ("client", "203.0.113.10", "203.0.113.10", 80),
        ("client", "203.0.113.200", "203.0.113.200", 443),
    ];
    let mut allowed = 0;
    for (from, to, ip, port) in cases {
        let predicted =
            c.trace_targets(&format!("e2e/{from}"), to, 6, u32::from(port))["verdict"] == "ALLOWED";
        let netns = if from == "client" { &client } else { &intruder };
        let real = reaches(netns, ip.parse().expect("ip"), "tcp", port);
        assert_eq!(
            real, predicted,
            "{from} -> {to}:{port}: datapath {real}, trace {predicted}"
        );
        allowed += usize::from(real);
    }
    assert_eq!(
        allowed, 4,
        "8080, 8085, 8090 and the world host outside the exception"
    );
}
