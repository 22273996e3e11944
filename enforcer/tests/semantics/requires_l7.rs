//! fromRequires/toRequires folding, and L7 rules that are parsed but not enforced yet.

use crate::common::*;

#[test]
fn from_requires_narrows_every_from_endpoints_of_selecting_rules() {
    let allow = cnp(
        "shop",
        "allow",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: ops}}, {matchLabels: {app: web}}]\n",
    );
    let require = ccnp(
        "require-back",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - fromRequires: [{matchLabels: {tier: front}}]\n",
    );
    let e = engine(&format!("{allow}\n---\n{require}"));
    assert_eq!(tcp(&e, "shop/web", "shop/db", 1), OK, "web has tier=front");
    assert_eq!(
        tcp(&e, "ops/monitor", "shop/db", 1),
        DEFAULT_DENY,
        "monitor lacks tier=front"
    );
}

#[test]
fn requires_grant_nothing_by_themselves() {
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - fromRequires: [{matchLabels: {tier: front}}]\n",
    ));
    assert_eq!(tcp(&e, "shop/web", "shop/db", 1), DEFAULT_DENY);
}

#[test]
fn l7_rules_keep_the_l4_verdict_and_are_reported_pending() {
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: api}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: web}}]\n    toPorts:\n    - ports: [{port: \"8080\", protocol: TCP}]\n      rules:\n        http: [{method: GET, path: \"/api/.*\"}]\n",
    ));
    let t = trace(&e, "shop/web", "shop/api", 6, 8080);
    assert_eq!(t.verdict, "ALLOWED");
    assert_eq!(
        t.ingress.matched_rules[0].l7.as_deref(),
        Some("HTTP (1 rule)")
    );
    assert!(
        t.ingress
            .notes
            .iter()
            .any(|n| n.starts_with("L7 rule: enforcement pending")),
        "{:?}",
        t.ingress.notes
    );
}

#[test]
fn to_fqdns_selects_no_address_until_dns_is_seen() {
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: web}}\n  egress:\n  - toFQDNs: [{matchName: api.example.com}]\n    toPorts: [{ports: [{port: \"443\", protocol: TCP}]}]\n",
    ));
    assert_eq!(tcp(&e, "shop/web", "203.0.113.10", 443), DEFAULT_DENY);
}
