//! End-to-end tests of the underlay: nodes joined to one bridge reach each other and each
//! other's pods by their pod CIDRs, service hosts reach every node, late joiners get routes
//! both ways, refusals leave nothing behind, and dropping (or tearing down a persisted) lab
//! removes every namespace and link. Each test needs root and returns early without it.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::panic::{self, AssertUnwindSafe};
use std::process::Command;
use std::time::Duration;

use ipnet::{Ipv4Net, Ipv6Net};
use lab::{
    Lab, LabError, NodeRef, PodRef, TcpServer, UNDERLAY_IFNAME, ping, require_root, tcp_connect,
};

/// Generous for a lab on one machine; failures come back much faster (unreachable).
const TIMEOUT: Duration = Duration::from_secs(2);
/// For probes that are expected to fail.
const SHORT: Duration = Duration::from_millis(300);

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// The pod CIDR `10.61.<k>.0/24` of node `k`.
fn cidr(k: u8) -> Ipv4Net {
    format!("10.61.{k}.0/24").parse().unwrap()
}

/// Output of `ip args…` in the host namespace, or inside `netns`.
fn ip_output(netns: Option<&str>, args: &[&str]) -> String {
    let mut cmd = Command::new("ip");
    if let Some(ns) = netns {
        cmd.args(["-n", ns]);
    }
    let out = cmd.args(args).output().unwrap();
    assert!(out.status.success(), "ip {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Every named namespace carrying `prefix`.
fn namespaces_with(prefix: &str) -> Vec<String> {
    let dir = std::fs::read_dir("/var/run/netns").unwrap();
    dir.filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(&format!("{prefix}-")))
        .collect()
}

fn pings(from: &str, to: impl Into<IpAddr>) -> bool {
    ping(from, to.into(), 1, TIMEOUT).unwrap()
}

/// A lab with nodes `node1..=count`, each joined with pod CIDR `10.61.<k>.0/24`.
fn joined(tag: &str, count: u8) -> (Lab, Vec<NodeRef>) {
    let mut lab = Lab::new(tag).unwrap();
    let nodes: Vec<NodeRef> = (1..=count)
        .map(|k| {
            let node = lab.add_node(&format!("node{k}")).unwrap();
            lab.join_underlay(&node, cidr(k)).unwrap();
            node
        })
        .collect();
    (lab, nodes)
}

/// Pod `pod<k>` at `10.61.<k>.10` on `node`.
fn pod(lab: &mut Lab, node: &NodeRef, k: u8) -> PodRef {
    let addr = v4(&format!("10.61.{k}.10"));
    lab.add_pod(node, &format!("pod{k}"), addr, None).unwrap()
}

/// Ping both ways and TCP from `a` to `b`.
fn assert_pods_reach(a: &PodRef, b: &PodRef) {
    assert!(pings(&a.netns, b.v4), "{} -> {}", a.name, b.name);
    assert!(pings(&b.netns, a.v4), "{} -> {}", b.name, a.name);
    let server = TcpServer::start(&b.netns, SocketAddr::new(b.v4.into(), 8080)).unwrap();
    assert!(tcp_connect(&a.netns, server.local_addr(), TIMEOUT).unwrap());
    assert_eq!(server.accepted(), 1);
}

#[test]
fn three_joined_nodes_and_their_pods_reach_each_other_over_the_underlay() {
    if !require_root() {
        return;
    }
    let (mut lab, nodes) = joined("ul3", 3);
    let members: Vec<_> = nodes
        .iter()
        .map(|n| lab.underlay_node(n).unwrap().clone())
        .collect();
    for (k, m) in (1u8..).zip(&members) {
        assert_eq!(m.addr, Ipv4Addr::new(10, 254, 0, k));
        assert_eq!((m.ifname.as_str(), m.pod_cidr), (UNDERLAY_IFNAME, cidr(k)));
        let shown = ip_output(Some(&m.netns), &["-o", "-4", "addr", "show", "dev", "ul0"]);
        assert!(shown.contains(&format!("{}/24", m.addr)), "{shown}");
    }
    for a in &members {
        for b in members.iter().filter(|b| b.netns != a.netns) {
            assert!(pings(&a.netns, b.addr), "{} -> {}", a.name, b.name);
        }
    }
    let pod1 = pod(&mut lab, &nodes[0], 1);
    let pod2 = pod(&mut lab, &nodes[1], 2);
    assert_eq!(pod1.v4, v4("10.61.1.10"));
    assert_pods_reach(&pod1, &pod2);
    // Only pod CIDRs are routed: an address nobody owns in node2's fails fast.
    assert!(!ping(&pod1.netns, "10.61.2.99".parse().unwrap(), 1, SHORT).unwrap());
}

#[test]
fn dual_stack_pod_cidrs_route_ipv6_via_link_local_next_hops() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("ul6").unwrap();
    let mut pods = Vec::new();
    for k in 1..=2u8 {
        let node = lab.add_node(&format!("node{k}")).unwrap();
        let v6: Ipv6Net = format!("fd00:61:{k}::/64").parse().unwrap();
        let joined = lab.join_underlay_dual_stack(&node, cidr(k), v6).unwrap();
        assert_eq!(joined.pod_cidr_v6, Some(v6));
        let addr: Ipv6Addr = format!("fd00:61:{k}::10").parse().unwrap();
        let p = lab.add_pod(
            &node,
            &format!("pod{k}"),
            v4(&format!("10.61.{k}.10")),
            Some(addr),
        );
        pods.push(p.unwrap());
    }
    for ip in pods[1].ips() {
        assert!(pings(&pods[0].netns, ip), "pod1 -> {ip}");
    }
}

#[test]
fn an_underlay_host_reaches_every_node_and_their_pods() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("ulhost").unwrap();
    let node1 = lab.add_node("node1").unwrap();
    lab.join_underlay(&node1, cidr(1)).unwrap();
    // Added between two joins: it must learn about the later node too.
    let (etcd, addr) = lab.add_underlay_host("etcd").unwrap();
    assert_eq!(etcd, format!("{}-etcd", lab.prefix()));
    assert_eq!(addr, v4("10.254.0.254"));
    let node2 = lab.add_node("node2").unwrap();
    lab.join_underlay(&node2, cidr(2)).unwrap();
    let (_relay, relay_addr) = lab.add_underlay_host("relay").unwrap();
    assert_eq!(relay_addr, v4("10.254.0.253"));
    for node in [&node1, &node2] {
        let member = lab.underlay_node(node).unwrap().clone();
        assert!(pings(&etcd, member.addr), "etcd -> {}", member.name);
        assert!(pings(&member.netns, addr), "{} -> etcd", member.name);
    }
    assert!(pings(&etcd, relay_addr));
    let pod2 = pod(&mut lab, &node2, 2);
    assert!(pings(&etcd, pod2.v4), "etcd -> pod on a later node");
    let server = TcpServer::start(&etcd, SocketAddr::new(addr.into(), 2379)).unwrap();
    assert!(tcp_connect(&pod2.netns, server.local_addr(), TIMEOUT).unwrap());
}

#[test]
fn a_node_joined_after_pods_exist_gets_routes_both_ways() {
    if !require_root() {
        return;
    }
    let (mut lab, nodes) = joined("ullate", 2);
    let (etcd, _) = lab.add_underlay_host("etcd").unwrap();
    let pod1 = pod(&mut lab, &nodes[0], 1);
    let node3 = lab.add_node("node3").unwrap();
    let pod3 = pod(&mut lab, &node3, 3);
    assert!(
        !ping(&pod1.netns, pod3.v4.into(), 1, SHORT).unwrap(),
        "not joined yet"
    );
    let joined = lab.join_underlay(&node3, cidr(3)).unwrap();
    assert_eq!(joined.addr, v4("10.254.0.3"));
    assert_pods_reach(&pod1, &pod3);
    assert!(pings(&etcd, pod3.v4));
    let routes = ip_output(Some(&nodes[1].netns), &["route"]);
    assert!(
        routes.contains("10.61.3.0/24 via 10.254.0.3 dev ul0"),
        "{routes}"
    );
}

#[test]
fn refused_joins_name_the_problem_and_leave_nothing_behind() {
    if !require_root() {
        return;
    }
    let (mut lab, nodes) = joined("ulerr", 1);
    let node2 = lab.add_node("node2").unwrap();
    let before = lab.namespaces().to_vec();
    let stranger = NodeRef {
        name: "stranger".into(),
        netns: "obs-zzzzzz-stranger".into(),
    };
    let refusals = [
        (lab.join_underlay(&stranger, cidr(9)), "does not belong"),
        (lab.join_underlay(&nodes[0], cidr(9)), "already joined"),
        (
            lab.join_underlay(&node2, "10.61.0.0/16".parse().unwrap()),
            "overlaps 10.61.1.0/24 of `node1`",
        ),
        (
            lab.join_underlay(&node2, "10.254.0.0/24".parse().unwrap()),
            "not allowed",
        ),
        (
            lab.join_underlay(&node2, "10.61.2.1/24".parse().unwrap()),
            "host bits",
        ),
    ];
    for (result, wanted) in refusals {
        let err = result.unwrap_err().to_string();
        assert!(err.contains(wanted), "{err:?} should say {wanted:?}");
    }
    assert!(matches!(
        lab.add_node("underlay"),
        Err(LabError::DuplicateName { .. })
    ));
    assert_eq!(lab.namespaces(), before.as_slice());
    assert!(lab.underlay_node(&node2).is_none());
    let links = ip_output(Some(&node2.netns), &["-o", "link"]);
    assert!(!links.contains("ul0"), "{links}");
    // The refusals did not use up addresses.
    assert_eq!(
        lab.join_underlay(&node2, cidr(2)).unwrap().addr,
        v4("10.254.0.2")
    );
}

#[test]
fn dropping_or_panicking_removes_every_underlay_namespace_and_link() {
    if !require_root() {
        return;
    }
    let host_links = || ip_output(None, &["-o", "link"]);
    let host_routes = || ip_output(None, &["route"]);
    let before = (host_links(), host_routes());
    let prefixes: Vec<String> = [false, true]
        .into_iter()
        .map(|panics| {
            let mut prefix = String::new();
            let result = panic::catch_unwind(AssertUnwindSafe(|| {
                let (mut lab, nodes) = joined("uldrop", 2);
                lab.add_underlay_host("etcd").unwrap();
                pod(&mut lab, &nodes[0], 1);
                prefix = lab.prefix().to_owned();
                let live: HashSet<String> = namespaces_with(&prefix).into_iter().collect();
                assert_eq!(live.len(), 5, "{live:?}");
                assert!(live.contains(&format!("{prefix}-underlay")));
                assert_eq!(before, (host_links(), host_routes()), "host untouched");
                if panics {
                    panic!("deliberate panic with a live underlay");
                }
            }));
            assert_eq!(result.is_err(), panics);
            prefix
        })
        .collect();
    for prefix in prefixes {
        assert_eq!(namespaces_with(&prefix), Vec::<String>::new());
    }
    assert_eq!(before, (host_links(), host_routes()));
}

#[test]
fn a_persisted_lab_keeps_its_underlay_until_teardown() {
    if !require_root() {
        return;
    }
    let (mut lab, nodes) = joined("ulpersist", 2);
    let pod1 = pod(&mut lab, &nodes[0], 1);
    let pod2 = pod(&mut lab, &nodes[1], 2);
    let (etcd, _) = lab.add_underlay_host("etcd").unwrap();
    let prefix = lab.persist().unwrap();
    assert!(
        pings(&pod1.netns, pod2.v4),
        "still routed after the guard dropped"
    );
    assert!(pings(&etcd, pod1.v4));
    assert_eq!(lab::teardown(&prefix), 6);
    assert_eq!(namespaces_with(&prefix), Vec::<String>::new());
}
