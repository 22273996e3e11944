//! Namespace scoping of CNP, CCNP and KNP selectors.

use crate::common::*;

#[test]
fn cnp_subject_only_selects_its_namespace() {
    let e = engine(&cnp(
        "ops",
        "deny",
        "  endpointSelector: {}\n  ingress:\n  - {}\n",
    ));
    assert_eq!(tcp(&e, "shop/web", "ops/monitor", 80), DEFAULT_DENY);
    assert_eq!(tcp(&e, "ops/monitor", "shop/web", 80), OK);
}

#[test]
fn cnp_peer_without_namespace_means_the_policy_namespace() {
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: monitor}}]\n",
    ));
    // ops/monitor is in another namespace: not selected.
    assert_eq!(tcp(&e, "ops/monitor", "shop/db", 80), DEFAULT_DENY);
}

#[test]
fn cnp_peer_naming_a_namespace_crosses_namespaces() {
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - fromEndpoints:\n    - matchLabels: {app: monitor, io.kubernetes.pod.namespace: ops}\n    - matchLabels: {io.cilium.k8s.namespace.labels.team: a}\n",
    ));
    assert_eq!(tcp(&e, "ops/monitor", "shop/db", 80), OK);
    assert_eq!(
        tcp(&e, "shop/web", "shop/db", 80),
        OK,
        "namespace-label selector: no namespace injected"
    );
}

#[test]
fn cnp_subject_namespace_cannot_be_overridden() {
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {k8s:io.kubernetes.pod.namespace: ops}}\n  ingress:\n  - {}\n",
    ));
    // The k8s: namespace is replaced by the policy's: the rule selects all of shop.
    assert_eq!(tcp(&e, "ops/monitor", "shop/db", 80), DEFAULT_DENY);
    assert_eq!(tcp(&e, "shop/web", "ops/monitor", 80), OK);
}

#[test]
fn ccnp_selects_cluster_wide_and_empty_peer_means_all_pods() {
    let e = engine(&ccnp(
        "p",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - fromEndpoints: [{}]\n",
    ));
    assert_eq!(tcp(&e, "ops/monitor", "shop/db", 80), OK);
    assert_eq!(tcp(&e, "shop/web", "shop/db", 80), OK);
    // Not the world: an empty CCNP peer only selects pods.
    assert_eq!(tcp(&e, "203.0.113.10", "shop/db", 80), DEFAULT_DENY);
    assert_eq!(
        tcp(&e, "node/n1", "shop/db", 80),
        DEFAULT_DENY,
        "remote node n1 is not a pod"
    );
}

#[test]
fn cnp_empty_peer_means_the_policy_namespace() {
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - fromEndpoints: [{}]\n",
    ));
    assert_eq!(tcp(&e, "shop/web", "shop/db", 80), OK);
    assert_eq!(tcp(&e, "ops/monitor", "shop/db", 80), DEFAULT_DENY);
}

#[test]
fn service_account_and_cluster_labels_are_selectable() {
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - fromEndpoints:\n    - matchLabels: {io.cilium.k8s.policy.serviceaccount: prometheus, io.kubernetes.pod.namespace: ops}\n",
    ));
    assert_eq!(tcp(&e, "ops/monitor", "shop/db", 80), OK);
}
