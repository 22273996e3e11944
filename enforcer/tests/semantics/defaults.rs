//! Enforcement and default deny per direction.

use crate::common::*;

#[test]
fn without_policy_everything_is_allowed() {
    let e = engine("");
    assert_eq!(tcp(&e, "shop/web", "shop/db", 5432), OK);
    let t = trace(&e, "shop/web", "shop/db", 6, 5432);
    assert!(!t.egress.enforced && !t.ingress.enforced);
}

#[test]
fn cnp_empty_ingress_rule_denies_everything() {
    let e = engine(&cnp(
        "shop",
        "deny-all",
        "  endpointSelector: {}\n  ingress:\n  - {}\n",
    ));
    assert_eq!(tcp(&e, "shop/web", "shop/db", 80), DEFAULT_DENY);
    assert_eq!(tcp(&e, "ops/monitor", "shop/api", 8080), DEFAULT_DENY);
    // Egress is not enforced by an ingress-only policy.
    assert_eq!(tcp(&e, "shop/web", "ops/monitor", 80), OK);
    let t = trace(&e, "shop/web", "shop/db", 6, 80);
    assert_eq!(
        t.ingress.selecting_policies,
        vec!["CiliumNetworkPolicy shop/deny-all"]
    );
    assert!(t.ingress.default_deny && t.ingress.matched_rules.is_empty());
}

#[test]
fn knp_empty_ingress_rule_allows_everything() {
    let e = engine(&knp(
        "shop",
        "allow-all",
        "  podSelector: {}\n  ingress:\n  - {}\n",
    ));
    assert_eq!(tcp(&e, "ops/monitor", "shop/db", 80), OK);
    assert_eq!(tcp(&e, "203.0.113.10", "shop/db", 80), OK);
    let t = trace(&e, "ops/monitor", "shop/db", 6, 80);
    assert!(t.ingress.enforced);
    assert_eq!(t.ingress.matched_rules[0].rule, "spec.ingress[0]");
}

#[test]
fn knp_policy_types_isolate_without_rules() {
    let e = engine(&knp(
        "shop",
        "isolate",
        "  podSelector: {matchLabels: {app: db}}\n  policyTypes: [Ingress, Egress]\n",
    ));
    assert_eq!(tcp(&e, "shop/web", "shop/db", 80), DEFAULT_DENY);
    assert_eq!(tcp(&e, "shop/db", "shop/web", 80), DEFAULT_DENY);
    assert_eq!(tcp(&e, "shop/web", "shop/api", 80), OK);
}

#[test]
fn a_deny_only_policy_turns_on_default_deny() {
    let e = engine(&cnp(
        "shop",
        "deny-cidr",
        "  endpointSelector: {matchLabels: {app: web}}\n  egressDeny:\n  - toCIDRSet:\n    - cidr: 203.0.113.0/24\n      except: [203.0.113.10/32]\n",
    ));
    // Even the excepted address is dropped: by default deny (133), not by the deny rule.
    assert_eq!(tcp(&e, "shop/web", "203.0.113.10", 443), DEFAULT_DENY);
    assert_eq!(tcp(&e, "shop/web", "203.0.113.99", 443), DENY);
    assert_eq!(tcp(&e, "shop/web", "shop/api", 8080), DEFAULT_DENY);
}

#[test]
fn enable_default_deny_false_keeps_everything_else_allowed() {
    let e = engine(&cnp(
        "shop",
        "soft",
        "  endpointSelector: {matchLabels: {app: db}}\n  enableDefaultDeny: {ingress: false}\n  ingressDeny:\n  - fromEndpoints: [{matchLabels: {app: web}}]\n",
    ));
    assert_eq!(tcp(&e, "shop/web", "shop/db", 5432), DENY);
    assert_eq!(tcp(&e, "shop/api", "shop/db", 5432), OK);
    let t = trace(&e, "shop/api", "shop/db", 6, 5432);
    assert!(t.ingress.enforced && !t.ingress.default_deny);
}

#[test]
fn default_deny_is_ored_across_policies() {
    let soft = cnp(
        "shop",
        "soft",
        "  endpointSelector: {}\n  enableDefaultDeny: {ingress: false}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: web}}]\n",
    );
    let hard = cnp(
        "shop",
        "hard",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: api}}]\n",
    );
    let e = engine(&format!("{soft}\n---\n{hard}"));
    assert_eq!(tcp(&e, "shop/web", "shop/db", 80), OK);
    assert_eq!(tcp(&e, "shop/api", "shop/db", 80), OK);
    assert_eq!(tcp(&e, "ops/monitor", "shop/db", 80), DEFAULT_DENY);
    // web is only selected by the soft policy: allow-all.
    assert_eq!(tcp(&e, "ops/monitor", "shop/web", 80), OK);
}

#[test]
fn reply_of_an_allowed_connection_is_allowed() {
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: web}}\n  egress:\n  - toEndpoints: [{matchLabels: {app: api}}]\n",
    ));
    let req = enforcer::engine::trace::TraceRequest {
        from: target("shop/web"),
        to: target("shop/api"),
        protocol: 6,
        dport: 8080,
        reply: true,
    };
    let t = e.trace(&req).unwrap();
    assert!(t.reply.as_deref().unwrap_or("").starts_with("ALLOWED"));
    // The reverse direction as a new connection is denied by web's egress-only policy? No:
    // web has no ingress policy, and api has no egress policy, so api -> web is allowed too.
    assert_eq!(tcp(&e, "shop/api", "shop/web", 80), OK);
    let denied = enforcer::engine::trace::TraceRequest {
        to: target("shop/db"),
        ..req
    };
    assert!(e.trace(&denied).unwrap().reply.unwrap().starts_with("none"));
}
