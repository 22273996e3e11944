//! Deny rules win over allows, whatever their specificity or origin.

use crate::common::*;

#[test]
fn deny_beats_an_allow_all() {
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - fromEntities: [all]\n  ingressDeny:\n  - fromEndpoints: [{matchLabels: {app: web}}]\n    toPorts: [{ports: [{port: \"5432\", protocol: TCP}]}]\n",
    ));
    assert_eq!(tcp(&e, "shop/web", "shop/db", 5432), DENY);
    assert_eq!(tcp(&e, "shop/web", "shop/db", 5433), OK);
    assert_eq!(tcp(&e, "shop/api", "shop/db", 5432), OK);
    let t = trace(&e, "shop/web", "shop/db", 6, 5432);
    assert_eq!(t.ingress.denying_rules[0].rule, "spec.ingressDeny[0]");
    assert_eq!(
        t.ingress.matched_rules[0].rule, "spec.ingress[0]",
        "the allow still matched; the deny won"
    );
}

#[test]
fn deny_from_another_policy_kind_wins_over_a_knp_allow() {
    let allow = knp(
        "shop",
        "allow",
        "  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: api}}}]\n",
    );
    let deny = ccnp(
        "deny-api",
        "  endpointSelector: {}\n  ingressDeny:\n  - fromEndpoints: [{matchLabels: {app: api}}]\n",
    );
    let e = engine(&format!("{allow}\n---\n{deny}"));
    assert_eq!(tcp(&e, "shop/api", "shop/db", 80), DENY);
}

#[test]
fn wider_deny_port_range_removes_a_narrower_allow() {
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: web}}]\n    toPorts: [{ports: [{port: \"80\", protocol: TCP}]}]\n  ingressDeny:\n  - toPorts: [{ports: [{port: \"1\", endPort: 1023, protocol: TCP}]}]\n",
    ));
    assert_eq!(tcp(&e, "shop/web", "shop/db", 80), DENY);
    let ep = e
        .endpoint(&enforcer::cluster::PodKey::new("shop", "db"))
        .unwrap();
    let allows = ep
        .policy
        .ingress
        .state
        .entries
        .values()
        .filter(|v| v.action == enforcer::mapstate::Action::Allow);
    // Only the local host exception remains allowed.
    assert_eq!(allows.count(), 1);
}

#[test]
fn egress_deny_stops_the_client_even_if_the_server_allows() {
    let client = cnp(
        "shop",
        "no-db",
        "  endpointSelector: {matchLabels: {app: web}}\n  egressDeny:\n  - toEndpoints: [{matchLabels: {app: db}}]\n  egress:\n  - toEntities: [all]\n",
    );
    let e = engine(&client);
    assert_eq!(tcp(&e, "shop/web", "shop/db", 80), DENY);
    let t = trace(&e, "shop/web", "shop/db", 6, 80);
    assert_eq!(t.egress.verdict, "DENIED");
    assert_eq!(t.ingress.verdict, "ALLOWED");
}
