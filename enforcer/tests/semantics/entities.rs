//! Entities: world, cluster, host, remote-node, all, and the reserved identities.

use crate::common::*;

fn ingress_from(entities: &str) -> enforcer::engine::Engine {
    engine(&cnp(
        "shop",
        "p",
        &format!(
            "  endpointSelector: {{matchLabels: {{app: api}}}}\n  ingress:\n  - fromEntities: [{entities}]\n"
        ),
    ))
}

#[test]
fn world_is_outside_the_cluster_only() {
    let e = ingress_from("world");
    assert_eq!(tcp(&e, "203.0.113.10", "shop/api", 80), OK);
    assert_eq!(tcp(&e, "2001:db8::10", "shop/api", 80), OK);
    assert_eq!(tcp(&e, "shop/web", "shop/api", 80), DEFAULT_DENY);
    assert_eq!(tcp(&e, "node/n2", "shop/api", 80), DEFAULT_DENY);
}

#[test]
fn cluster_is_every_pod_and_node_but_not_the_world() {
    let e = ingress_from("cluster");
    assert_eq!(tcp(&e, "ops/monitor", "shop/api", 80), OK);
    assert_eq!(tcp(&e, "node/n2", "shop/api", 80), OK);
    assert_eq!(tcp(&e, "203.0.113.10", "shop/api", 80), DEFAULT_DENY);
}

#[test]
fn host_is_the_local_node_and_remote_node_the_others() {
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: api}}\n  egress:\n  - toEntities: [host]\n",
    ));
    // api runs on n1: n1 is its host, n2 a remote node.
    assert_eq!(tcp(&e, "shop/api", "node/n1", 10250), OK);
    assert_eq!(tcp(&e, "shop/api", "10.10.0.1", 10250), OK);
    assert_eq!(tcp(&e, "shop/api", "node/n2", 10250), DEFAULT_DENY);
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: api}}\n  egress:\n  - toEntities: [remote-node]\n",
    ));
    assert_eq!(tcp(&e, "shop/api", "node/n2", 10250), OK);
    assert_eq!(tcp(&e, "shop/api", "node/n1", 10250), DEFAULT_DENY);
}

#[test]
fn all_is_everything() {
    let e = ingress_from("all");
    for from in ["203.0.113.10", "ops/monitor", "node/n2"] {
        assert_eq!(tcp(&e, from, "shop/api", 80), OK, "{from}");
    }
}

#[test]
fn local_host_may_always_reach_its_endpoints() {
    let e = engine(&cnp(
        "shop",
        "deny",
        "  endpointSelector: {}\n  ingress:\n  - {}\n",
    ));
    assert_eq!(
        tcp(&e, "node/n1", "shop/api", 8080),
        OK,
        "kubelet probes on the local node"
    );
    assert_eq!(tcp(&e, "node/n2", "shop/api", 8080), DEFAULT_DENY);
    let t = trace(&e, "node/n1", "shop/api", 6, 8080);
    assert!(
        t.ingress
            .notes
            .iter()
            .any(|n| n.contains("allow-localhost")),
        "{:?}",
        t.ingress.notes
    );
    assert_eq!(
        t.egress.notes.len(),
        1,
        "a node has no policy of its own here"
    );
}

#[test]
fn the_endpoint_gateway_is_the_local_host() {
    let e = engine(&cnp(
        "shop",
        "deny",
        "  endpointSelector: {}\n  ingress:\n  - {}\n",
    ));
    for gateway in ["169.254.1.1", "fe80::1"] {
        let t = trace(&e, gateway, "shop/api", 58, 0);
        assert_eq!(t.ingress.peer_identity, 1, "{gateway} is host");
        assert_eq!(tcp(&e, gateway, "shop/api", 8080), OK, "{gateway}");
    }
    assert_eq!(tcp(&e, "fe80::2", "shop/api", 8080), DEFAULT_DENY);
    let ipcache = e.ipcache("n1");
    assert!(
        ipcache
            .iter()
            .any(|c| c.cidr.to_string() == "fe80::1/128" && c.identity == 1),
        "{ipcache:?}"
    );
}

#[test]
fn unknown_reserved_entities_select_nothing_here() {
    let e = ingress_from("health, kube-apiserver, init, unmanaged, ingress, none");
    assert_eq!(tcp(&e, "203.0.113.10", "shop/api", 80), DEFAULT_DENY);
    assert_eq!(tcp(&e, "shop/web", "shop/api", 80), DEFAULT_DENY);
}
