//! fromRequires/toRequires folding, and the L7 rules traces name.

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
fn l7_rules_keep_the_l4_verdict_and_name_their_proxy() {
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: api}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: web}}]\n    toPorts:\n    - ports: [{port: \"8080\", protocol: TCP}]\n      rules:\n        http: [{method: GET, path: \"/api/.*\"}]\n",
    ));
    let t = trace(&e, "shop/web", "shop/api", 6, 8080);
    assert_eq!(t.verdict, "ALLOWED");
    assert_eq!(
        t.ingress.matched_rules[0].l7.as_deref(),
        Some("HTTP (GET /api/.*)")
    );
    assert!(
        t.ingress
            .notes
            .iter()
            .any(|n| n.starts_with("L7 rule HTTP (GET /api/.*): the HTTP proxy judges")),
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

/// Cilium's documentation example for `fromRequires`: every `env: prod` endpoint requires
/// its peers to be `env: prod` too, and another rule lets `role: frontend` in.
const DOCS_REQUIRES: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: backend, namespace: shop, labels: {env: prod}}
status: {podIP: 10.0.3.1}
---
apiVersion: v1
kind: Pod
metadata: {name: frontend-prod, namespace: shop, labels: {role: frontend, env: prod}}
status: {podIP: 10.0.3.2}
---
apiVersion: v1
kind: Pod
metadata: {name: frontend-dev, namespace: shop, labels: {role: frontend, env: dev}}
status: {podIP: 10.0.3.3}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: requires-rule, namespace: shop}
specs:
  - description: "For endpoints with env=prod, only allow if source also has label env=prod"
    endpointSelector:
      matchLabels:
        env: prod
    ingress:
    - fromRequires:
      - matchLabels:
          env: prod
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: l3-rule, namespace: shop}
specs:
  - description: "For endpoints with env=prod, allow if source also has label role=frontend"
    endpointSelector:
      matchLabels:
        env: prod
    ingress:
    - fromEndpoints:
      - matchLabels:
          role: frontend
"#;

#[test]
fn the_docs_from_requires_example_is_honoured_with_a_deprecation_warning() {
    let parsed = enforcer::manifest::parse_str("requires.yaml", DOCS_REQUIRES).unwrap();
    let warnings: Vec<String> = parsed.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].contains("specs[0].ingress[0].fromRequires: fromRequires is deprecated in Cilium 1.17 and removed in 1.19; it is honoured here"),
        "{}",
        warnings[0]
    );
    let e = engine(DOCS_REQUIRES);
    assert_eq!(
        tcp(&e, "shop/frontend-prod", "shop/backend", 80),
        OK,
        "a frontend with env=prod meets the requirement"
    );
    let t = trace(&e, "shop/frontend-dev", "shop/backend", 6, 80);
    assert_eq!(
        (t.verdict.as_str(), t.drop_reason),
        ("DENIED", Some(133)),
        "a frontend without env=prod is denied: {t:#?}"
    );
    assert!(
        t.ingress.notes.iter().any(|n| n
            == "fromRequires of CiliumNetworkPolicy shop/requires-rule specs[0].ingress[0] narrows every endpoint peer of the allow rules to {env=prod, k8s:io.kubernetes.pod.namespace=shop}"),
        "{:#?}",
        t.ingress.notes
    );
}
