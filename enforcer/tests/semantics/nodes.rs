//! fromNodes/toNodes and node placement.

use crate::common::*;

#[test]
fn from_nodes_selects_remote_nodes_by_label() {
    let e = engine(&ccnp(
        "p",
        "  endpointSelector: {matchLabels: {app: api}}\n  ingress:\n  - fromNodes: [{matchLabels: {zone: west}}]\n",
    ));
    assert_eq!(tcp(&e, "node/n2", "shop/api", 1), OK);
    assert_eq!(tcp(&e, "10.10.0.2", "shop/api", 1), OK);
    assert_eq!(tcp(&e, "ops/monitor", "shop/api", 1), DEFAULT_DENY);
}

#[test]
fn node_identity_depends_on_where_the_pod_runs() {
    let e = engine("");
    let t = trace(&e, "node/n1", "shop/api", 6, 1);
    assert_eq!(t.ingress.peer_identity, 1, "n1 is api's own node: host");
    let t = trace(&e, "node/n1", "shop/db", 6, 1);
    assert_ne!(
        t.ingress.peer_identity, 1,
        "db runs on n2: n1 is a remote node"
    );
}

#[test]
fn unknown_targets_are_errors() {
    let e = engine("");
    let req = enforcer::engine::trace::TraceRequest {
        from: target("shop/nope"),
        to: target("shop/db"),
        protocol: 6,
        dport: 1,
        reply: false,
    };
    assert!(e.trace(&req).unwrap_err().to_string().contains("shop/nope"));
    let req = enforcer::engine::trace::TraceRequest {
        from: target("node/n9"),
        ..req
    };
    assert!(e.trace(&req).is_err());
}
