//! Several policies and rules combine by union.

use crate::common::*;

#[test]
fn allows_from_several_policies_add_up() {
    let a = cnp(
        "shop",
        "a",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: api}}]\n    toPorts: [{ports: [{port: \"5432\", protocol: TCP}]}]\n",
    );
    let b = knp(
        "shop",
        "b",
        "  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: web}}}]\n",
    );
    let c = ccnp(
        "c",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: monitor}}]\n    toPorts: [{ports: [{port: \"9090\", protocol: TCP}]}]\n",
    );
    let e = engine(&format!("{a}\n---\n{b}\n---\n{c}"));
    assert_eq!(tcp(&e, "shop/api", "shop/db", 5432), OK);
    assert_eq!(tcp(&e, "shop/api", "shop/db", 5433), DEFAULT_DENY);
    assert_eq!(tcp(&e, "shop/web", "shop/db", 1234), OK);
    assert_eq!(tcp(&e, "ops/monitor", "shop/db", 9090), OK);
    let t = trace(&e, "shop/web", "shop/db", 6, 1234);
    assert_eq!(t.ingress.selecting_policies.len(), 3);
}

#[test]
fn specs_rules_of_one_policy_add_up() {
    let e = engine(
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: shop}\nspecs:\n- endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: api}}]\n- endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: web}}]\n",
    );
    assert_eq!(tcp(&e, "shop/api", "shop/db", 1), OK);
    assert_eq!(tcp(&e, "shop/web", "shop/db", 1), OK);
    let t = trace(&e, "shop/web", "shop/db", 6, 1);
    assert_eq!(t.ingress.matched_rules[0].rule, "specs[1].ingress[0]");
}

#[test]
fn both_sides_must_allow() {
    let server = cnp(
        "shop",
        "server",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: web}}]\n",
    );
    let client = cnp(
        "shop",
        "client",
        "  endpointSelector: {matchLabels: {app: web}}\n  egress:\n  - toEndpoints: [{matchLabels: {app: api}}]\n",
    );
    let e = engine(&format!("{server}\n---\n{client}"));
    let t = trace(&e, "shop/web", "shop/db", 6, 1);
    assert_eq!(
        (
            t.egress.verdict.as_str(),
            t.ingress.verdict.as_str(),
            t.drop_reason
        ),
        ("DENIED", "ALLOWED", Some(133))
    );
}
