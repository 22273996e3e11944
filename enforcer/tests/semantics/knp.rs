//! Kubernetes NetworkPolicy as Cilium enforces it.

use crate::common::*;

#[test]
fn namespace_and_pod_selector_in_one_peer_are_anded() {
    let e = engine(&knp(
        "shop",
        "p",
        "  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {team: b}}\n      podSelector: {matchLabels: {app: monitor}}\n",
    ));
    assert_eq!(tcp(&e, "ops/monitor", "shop/db", 9090), OK);
    assert_eq!(tcp(&e, "shop/web", "shop/db", 9090), DEFAULT_DENY);
}

#[test]
fn namespace_and_pod_selectors_in_two_peers_are_ored() {
    let e = engine(&knp(
        "shop",
        "p",
        "  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {team: b}}\n    - podSelector: {matchLabels: {app: web}}\n",
    ));
    assert_eq!(tcp(&e, "ops/monitor", "shop/db", 1), OK);
    assert_eq!(tcp(&e, "shop/web", "shop/db", 1), OK);
    assert_eq!(tcp(&e, "shop/api", "shop/db", 1), DEFAULT_DENY);
}

#[test]
fn empty_namespace_selector_is_every_pod_but_not_the_world() {
    let e = engine(&knp(
        "shop",
        "p",
        "  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from: [{namespaceSelector: {}}]\n",
    ));
    assert_eq!(tcp(&e, "ops/monitor", "shop/db", 1), OK);
    assert_eq!(tcp(&e, "203.0.113.10", "shop/db", 1), DEFAULT_DENY);
}

#[test]
fn ip_block_never_matches_pod_addresses() {
    let e = engine(&knp(
        "shop",
        "p",
        "  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/8, except: [10.99.0.0/16]}\n",
    ));
    assert_eq!(
        tcp(&e, "shop/web", "shop/db", 1),
        DEFAULT_DENY,
        "10.0.1.1 is a pod"
    );
    assert_eq!(tcp(&e, "10.50.0.1", "shop/db", 1), OK);
    assert_eq!(tcp(&e, "10.99.0.1", "shop/db", 1), DEFAULT_DENY, "excepted");
}

#[test]
fn ports_default_to_tcp_and_named_ports_resolve() {
    let e = engine(&knp(
        "shop",
        "p",
        "  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - ports:\n    - port: http\n    - {port: 5353, protocol: UDP}\n    - {port: 7000, endPort: 7002}\n",
    ));
    assert_eq!(
        tcp(&e, "203.0.113.10", "shop/api", 8080),
        OK,
        "no `from`: every peer"
    );
    assert_eq!(
        trace(&e, "shop/web", "shop/api", 17, 5353).verdict,
        "ALLOWED"
    );
    assert_eq!(
        trace(&e, "shop/web", "shop/api", 17, 8080).verdict,
        "DENIED"
    );
    assert_eq!(tcp(&e, "shop/web", "shop/api", 7002), OK);
    assert_eq!(tcp(&e, "shop/web", "shop/api", 7003), DEFAULT_DENY);
}

#[test]
fn egress_policy_type_isolates_egress() {
    let e = engine(&knp(
        "shop",
        "p",
        "  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Egress]\n  egress:\n  - to: [{podSelector: {matchLabels: {app: api}}}]\n",
    ));
    assert_eq!(tcp(&e, "shop/web", "shop/api", 1), OK);
    assert_eq!(tcp(&e, "shop/web", "shop/db", 1), DEFAULT_DENY);
    assert_eq!(
        tcp(&e, "shop/db", "shop/web", 1),
        OK,
        "ingress not isolated"
    );
}
