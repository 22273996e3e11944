//! The host firewall across two nodes (`--enable-host-firewall --devices ul0`): a host
//! policy that lets other nodes reach node n1 only on TCP 22 and with pings drops the rest
//! of what they and n1's own pods send to n1 itself, shows those drops with n1's host
//! endpoint, and leaves the pods' traffic, n1's own outgoing traffic and the traffic n1
//! forwards alone; a host policy that would cut the agents from etcd is refused.

use std::net::SocketAddr;
use std::time::Duration;

use observe_proto::flow::{FlowFilter, Verdict};

use super::common::reaches;
use super::nodes::{Nodes, PODS, eventually};

const CONVERGE: Duration = Duration::from_secs(15);

/// Nodes labelled role=locked take SSH and pings from other nodes, nothing else.
const SSH_AND_PING: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: locked-nodes}
spec:
  nodeSelector: {matchLabels: {role: locked}}
  ingress:
  - fromEntities: [remote-node]
    toPorts: [{ports: [{port: "22", protocol: TCP}]}]
  - fromEntities: [remote-node]
    icmps: [{fields: [{type: EchoRequest, family: IPv4}]}]
"#;

#[test]
fn a_host_policy_admits_only_ssh_and_ping_from_other_nodes() {
    let Some(mut nodes) = Nodes::with_args("hostfw", 2, |u| {
        let role = if u.name == "n1" {
            "role=locked"
        } else {
            "role=open"
        };
        [
            "--enable-host-firewall",
            "--devices",
            "ul0",
            "--node-label",
            role,
        ]
        .map(String::from)
        .to_vec()
    }) else {
        return;
    };
    // A service host on the underlay, like etcd's: world to the nodes.
    let (svc_netns, svc_ip) = nodes.add_host("svc");
    let _svc = lab::TcpServer::start(
        &svc_netns,
        SocketAddr::new("::".parse().expect("any"), 9000),
    )
    .expect("server on the service host");
    nodes.agent(1).apply(PODS).expect("pods");
    for (k, pod) in [(1, "web"), (2, "client")] {
        eventually(&format!("{pod} runs on n{k}"), CONVERGE, || {
            nodes.agent(k).endpoints().iter().any(|e| e.pod == pod)
        });
    }
    let n1 = &nodes.members[0].underlay;
    let n2 = &nodes.members[1].underlay;
    let any = |port| SocketAddr::new("::".parse().expect("any"), port);
    let _n1_servers: Vec<lab::TcpServer> = [22, 8080]
        .into_iter()
        .map(|p| lab::TcpServer::start(&n1.netns, any(p)).expect("server on n1"))
        .collect();
    let _n2_server = lab::TcpServer::start(&n2.netns, any(8080)).expect("server on n2");
    let _web = nodes.agent(1).serve("web", &[8080], &[]);
    let from_n2 = |port| reaches(&n2.netns, n1.addr.into(), "tcp", port);
    assert!(from_n2(8080), "n1 is open before any host policy");
    let web_netns = nodes.pod_netns(1, "web");
    assert!(
        reaches(&web_netns, n1.addr.into(), "tcp", 8080),
        "and to its pods"
    );

    nodes.agent(2).apply(SSH_AND_PING).expect("host policy");
    eventually("n1 drops TCP 8080 from n2", CONVERGE, || !from_n2(8080));
    assert!(from_n2(22), "SSH from another node is allowed");
    assert!(
        reaches(&n2.netns, n1.addr.into(), "icmp", 0),
        "pings from another node are allowed"
    );
    // n1's own pods are not remote nodes: the host policy denies them too, and says so.
    assert!(!reaches(&web_netns, n1.addr.into(), "tcp", 8080));
    let web_ip = nodes.pod_ip(1, "web");
    let pod_drops = nodes.agent(1).flows(
        FlowFilter {
            source_ip: vec![web_ip.to_string()],
            destination_ip: vec![n1.addr.to_string()],
            verdict: vec![Verdict::Dropped as i32],
            ..Default::default()
        },
        5,
    );
    let pod_drop = pod_drops.last().expect("n1 reports its pod's drop");
    assert_eq!(pod_drop.destination.as_ref().map(|d| d.identity), Some(1));
    assert_eq!(
        pod_drop.source.as_ref().map(|s| s.pod_name.as_str()),
        Some("web")
    );
    assert_eq!(
        pod_drop.traffic_direction,
        observe_proto::flow::TrafficDirection::Ingress as i32,
        "the host's ingress: {pod_drop:?}"
    );
    // n1 still reaches its pod (its egress is not enforced).
    assert!(reaches(&n1.netns, web_ip, "tcp", 8080));
    // n2 is not selected; n1's own connections out are not enforced (no egress rule).
    assert!(reaches(&n1.netns, n2.addr.into(), "tcp", 8080));
    // Pods are unaffected: n1 forwards the client's packets to web.
    assert!(reaches(&nodes.pod_netns(2, "client"), web_ip, "tcp", 8080));
    assert!(reaches(&n2.netns, web_ip, "tcp", 8080));

    let drops = nodes.agent(1).flows(
        FlowFilter {
            source_ip: vec![n2.addr.to_string()],
            destination_ip: vec![n1.addr.to_string()],
            destination_port: vec!["8080".into()],
            verdict: vec![Verdict::Dropped as i32],
            ..Default::default()
        },
        5,
    );
    let drop = drops.last().expect("n1 reports the drop");
    let dst = drop.destination.clone().expect("destination");
    assert_eq!(dst.identity, 1, "{drop:?}");
    assert!(dst.labels.iter().any(|l| l == "reserved:host"), "{dst:?}");
    assert!(dst.labels.iter().any(|l| l == "k8s:role=locked"), "{dst:?}");
    let src = drop.source.clone().expect("source");
    assert!(
        src.labels.iter().any(|l| l == "reserved:remote-node"),
        "{src:?}"
    );
    assert_eq!(drop.node_name, "n1");
    assert_eq!(
        drop.drop_reason_desc,
        observe_proto::flow::DropReason::PolicyDenied as i32
    );
    let attribution = drop.attribution.clone().expect("attribution");
    assert!(
        attribution
            .selecting_policies
            .iter()
            .any(|p| p.name == "locked-nodes"),
        "the default deny names the host policy: {drop:?}"
    );
    assert_eq!(
        drop.interface.as_ref().map(|i| i.name.as_str()),
        Some("ul0")
    );

    let t = nodes.agent(1).trace_targets("node/n2", "node:n1", 6, 8080);
    assert_eq!(t["verdict"], "DENIED", "{t}");
    assert_eq!(t["ingress"]["endpoint"], "node/n1", "{t}");
    let t = nodes.agent(1).trace_targets("node/n2", "node/n1", 6, 22);
    assert_eq!(t["verdict"], "ALLOWED", "{t}");
    assert_eq!(
        t["ingress"]["matched_rules"][0]["name"], "locked-nodes",
        "{t}"
    );
    // The trace lists the agent's own control traffic and why it still flows.
    let etcd = nodes.etcd.client_addr().to_string();
    let t = nodes.agent(1).trace_targets(
        "node/n1",
        &nodes.etcd.client_addr().ip().to_string(),
        6,
        2379,
    );
    let notes = t["egress"]["notes"].to_string();
    assert!(
        notes.contains(&format!("agent control traffic, etcd {etcd}: allowed")),
        "{t}"
    );

    // A host policy whose egress would cut the nodes from etcd is refused, on any node,
    // and changes nothing.
    let refused = nodes.agent(2).apply(EGRESS_TO_NODES_ONLY).unwrap_err();
    assert!(
        refused.contains("would cut an agent from its control traffic"),
        "{refused}"
    );
    assert!(
        refused.contains(&format!("node n1: etcd {etcd}: denied by default deny")),
        "{refused}"
    );
    assert!(refused.contains("--force"), "{refused}");
    assert!(
        reaches(&n1.netns, svc_ip.into(), "tcp", 9000),
        "nothing changed"
    );
    let t = nodes.agent(2).trace_targets(
        "node/n1",
        &nodes.etcd.client_addr().ip().to_string(),
        6,
        2379,
    );
    assert_eq!(t["verdict"], "ALLOWED", "{t}");
    // With the underlay allowed too, it applies; deleting that allowance alone is refused
    // as well, and changes nothing; forced, n1 loses etcd and every service host (it got
    // the change from etcd first).
    nodes
        .agent(2)
        .apply(&format!("{EGRESS_TO_NODES_ONLY}---\n{UNDERLAY_ALLOWED}"))
        .expect("etcd stays allowed");
    assert!(reaches(&n1.netns, svc_ip.into(), "tcp", 9000));
    let refused = nodes
        .agent(2)
        .delete_request(UNDERLAY_ALLOWED, false)
        .unwrap_err();
    assert!(
        refused.contains(&format!("node n1: etcd {etcd}: denied by default deny")),
        "{refused}"
    );
    assert!(
        reaches(&n1.netns, svc_ip.into(), "tcp", 9000),
        "nothing changed"
    );
    nodes
        .agent(2)
        .delete_request(UNDERLAY_ALLOWED, true)
        .expect("forced");
    eventually(
        "n1 is cut from the underlay's service hosts",
        CONVERGE,
        || !reaches(&n1.netns, svc_ip.into(), "tcp", 9000),
    );
    assert!(
        reaches(&n1.netns, n2.addr.into(), "tcp", 8080),
        "other nodes stay reachable"
    );
    // The pinned datapath enforces it while n1's agent is down; an agent started without
    // the host firewall takes it off n1's devices before it dials etcd, and starts.
    let n1_netns = n1.netns.clone();
    let agent = nodes.agent_mut(1);
    agent.stop_agent();
    assert!(!reaches(&n1_netns, svc_ip.into(), "tcp", 9000));
    agent.args.retain(|a| a != "--enable-host-firewall");
    let at = agent
        .args
        .iter()
        .position(|a| a == "--devices")
        .expect("devices");
    agent.args.drain(at..at + 2);
    agent.start_agent();
    assert!(reaches(&n1_netns, svc_ip.into(), "tcp", 9000));
}

/// Locked nodes may talk to the whole underlay (etcd and the service hosts among it).
const UNDERLAY_ALLOWED: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: locked-underlay}
spec:
  nodeSelector: {matchLabels: {role: locked}}
  egress:
  - toCIDR: [10.254.0.0/24]
"#;

/// Locked nodes may only talk to other nodes: etcd (on an underlay host, world) is cut.
const EGRESS_TO_NODES_ONLY: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: locked-egress}
spec:
  nodeSelector: {matchLabels: {role: locked}}
  egress:
  - toEntities: [remote-node]
"#;
