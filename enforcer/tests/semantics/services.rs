//! `toServices`: a Service by name (an empty namespace is every namespace) or by its own
//! labels; a Service with a selector stands for its pods in its namespace, one without
//! for the addresses of its Endpoints and EndpointSlices; ports are the backends'; the
//! policies follow Services as they come, change and go.

use enforcer::cluster::PodKey;
use enforcer::engine::ObjectKey;

use crate::common::*;

/// A pod in ops with the labels of shop/db: no Service of shop may reach it.
const OPS_DB: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: db-copy, namespace: ops, labels: {app: db, tier: back}}\nspec: {nodeName: n2}\nstatus: {podIP: 10.0.2.3}\n";

fn service(ns: &str, name: &str, labels: &str, selector: &str) -> String {
    let selector = if selector.is_empty() {
        String::new()
    } else {
        format!("  selector: {selector}\n")
    };
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {ns}, labels: {labels}}}\nspec:\n{selector}  ports: [{{port: 80, targetPort: 9090}}]\n"
    )
}

/// shop/web's egress: `toServices` entries as written, on `ports` (none: every port).
fn web_egress(entries: &str, ports: &str) -> String {
    let ports = if ports.is_empty() {
        String::new()
    } else {
        format!("    toPorts: [{{ports: [{ports}]}}]\n")
    };
    cnp(
        "shop",
        "web-egress",
        &format!(
            "  endpointSelector: {{matchLabels: {{app: web}}}}\n  egress:\n  - toServices:\n{entries}{ports}"
        ),
    )
}

fn docs(parts: &[&str]) -> String {
    parts.join("---\n")
}

/// The rules that allowed shop/web's egress in a trace to `to` on TCP `port`.
fn allowed_by(e: &enforcer::engine::Engine, to: &str, port: u16) -> Vec<String> {
    trace(e, "shop/web", to, 6, port)
        .egress
        .matched_rules
        .iter()
        .map(|m| format!("{}/{} {}", m.namespace, m.name, m.rule))
        .collect()
}

#[test]
fn a_service_by_name_and_namespace_reaches_its_pods_in_its_namespace_only() {
    let e = engine(&docs(&[
        OPS_DB,
        &service("shop", "db", "{}", "{app: db}"),
        &web_egress(
            "    - k8sService: {serviceName: db, namespace: shop}\n",
            "{port: \"9090\", protocol: TCP}",
        ),
    ]));
    assert_eq!(tcp(&e, "shop/web", "shop/db", 9090), OK);
    assert_eq!(
        allowed_by(&e, "shop/db", 9090),
        ["shop/web-egress spec.egress[0] toServices shop/db"]
    );
    assert_eq!(
        tcp(&e, "shop/web", "ops/db-copy", 9090),
        DEFAULT_DENY,
        "the same labels in another namespace are not the Service's pods"
    );
    assert_eq!(
        tcp(&e, "shop/web", "shop/api", 9090),
        DEFAULT_DENY,
        "not selected by the Service"
    );
    // The rule's ports are the backends': the Service's own port 80 is not translated.
    assert_eq!(tcp(&e, "shop/web", "shop/db", 80), DEFAULT_DENY);
}

#[test]
fn a_name_without_a_namespace_matches_the_service_in_every_namespace() {
    let e = engine(&docs(&[
        OPS_DB,
        &service("shop", "db", "{}", "{app: db}"),
        &service("ops", "db", "{}", "{app: db}"),
        &web_egress("    - k8sService: {serviceName: db}\n", ""),
    ]));
    assert_eq!(tcp(&e, "shop/web", "shop/db", 9090), OK);
    assert_eq!(tcp(&e, "shop/web", "ops/db-copy", 9090), OK);
    assert_eq!(
        allowed_by(&e, "ops/db-copy", 9090),
        ["shop/web-egress spec.egress[0] toServices ops/db"]
    );
    assert_eq!(tcp(&e, "shop/web", "ops/monitor", 9090), DEFAULT_DENY);
    // With the namespace written, only that Service.
    let e = engine(&docs(&[
        OPS_DB,
        &service("shop", "db", "{}", "{app: db}"),
        &service("ops", "db", "{}", "{app: db}"),
        &web_egress("    - k8sService: {serviceName: db, namespace: ops}\n", ""),
    ]));
    assert_eq!(tcp(&e, "shop/web", "shop/db", 9090), DEFAULT_DENY);
    assert_eq!(tcp(&e, "shop/web", "ops/db-copy", 9090), OK);
}

#[test]
fn a_service_selector_matches_the_services_own_labels() {
    let e = engine(&docs(&[
        &service("shop", "db", "{tier: data}", "{app: db}"),
        &service("shop", "api", "{tier: web}", "{app: api}"),
        &web_egress(
            "    - k8sServiceSelector: {selector: {matchLabels: {tier: data}}, namespace: shop}\n",
            "",
        ),
    ]));
    assert_eq!(tcp(&e, "shop/web", "shop/db", 9090), OK);
    assert_eq!(tcp(&e, "shop/web", "shop/api", 8080), DEFAULT_DENY);
    // The pods' labels (the Service's spec.selector) are not the Service's labels.
    let e = engine(&docs(&[
        &service("shop", "db", "{tier: data}", "{app: db}"),
        &web_egress(
            "    - k8sServiceSelector: {selector: {matchLabels: {app: db}}}\n",
            "",
        ),
    ]));
    assert_eq!(tcp(&e, "shop/web", "shop/db", 9090), DEFAULT_DENY);
}

#[test]
fn a_service_without_selector_reaches_its_endpoints_and_slice_addresses() {
    let backends = "apiVersion: v1\nkind: Endpoints\nmetadata: {name: ext, namespace: shop}\nsubsets:\n- addresses: [{ip: 203.0.113.7}]\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ext-a1, namespace: shop, labels: {kubernetes.io/service-name: ext}}\naddressType: IPv4\nendpoints:\n- addresses: [198.51.100.3]\n- addresses: [198.51.100.4]\n  conditions: {ready: false}\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: other-a1, namespace: shop, labels: {kubernetes.io/service-name: other}}\naddressType: IPv4\nendpoints:\n- addresses: [198.51.100.9]\n";
    let e = engine(&docs(&[
        &service("shop", "ext", "{}", ""),
        backends,
        &web_egress(
            "    - k8sService: {serviceName: ext, namespace: shop}\n",
            "{port: \"443\", protocol: TCP}",
        ),
    ]));
    assert_eq!(tcp(&e, "shop/web", "203.0.113.7", 443), OK);
    assert_eq!(tcp(&e, "shop/web", "198.51.100.3", 443), OK);
    assert_eq!(
        allowed_by(&e, "198.51.100.3", 443),
        ["shop/web-egress spec.egress[0] toServices shop/ext"]
    );
    assert_eq!(
        tcp(&e, "shop/web", "198.51.100.4", 443),
        DEFAULT_DENY,
        "not ready"
    );
    assert_eq!(
        tcp(&e, "shop/web", "198.51.100.9", 443),
        DEFAULT_DENY,
        "another Service's slice"
    );
    assert_eq!(tcp(&e, "shop/web", "203.0.113.7", 80), DEFAULT_DENY);
    assert_eq!(tcp(&e, "shop/web", "shop/db", 443), DEFAULT_DENY, "no pods");
}

#[test]
fn policies_follow_services_as_they_come_change_and_go() {
    // The policy first: a Service that does not exist selects nothing.
    let mut e = engine(&web_egress(
        "    - k8sService: {serviceName: db, namespace: shop}\n",
        "",
    ));
    assert_eq!(tcp(&e, "shop/web", "shop/db", 9090), DEFAULT_DENY);
    let web = PodKey::new("shop", "web");
    let changes = apply(&mut e, &service("shop", "db", "{}", "{app: db}"));
    assert!(changes.updated.contains(&web), "{changes:?}");
    assert_eq!(tcp(&e, "shop/web", "shop/db", 9090), OK);
    // The Service now fronts other pods.
    apply(&mut e, &service("shop", "db", "{}", "{app: api}"));
    assert_eq!(tcp(&e, "shop/web", "shop/db", 9090), DEFAULT_DENY);
    assert_eq!(tcp(&e, "shop/web", "shop/api", 8080), OK);
    // Without a selector, its Endpoints; then their addresses change.
    apply(&mut e, &service("shop", "db", "{}", ""));
    assert_eq!(tcp(&e, "shop/web", "shop/api", 8080), DEFAULT_DENY);
    let endpoints = |ip: &str| {
        format!(
            "apiVersion: v1\nkind: Endpoints\nmetadata: {{name: db, namespace: shop}}\nsubsets:\n- addresses: [{{ip: {ip}}}]\n"
        )
    };
    apply(&mut e, &endpoints("203.0.113.7"));
    assert_eq!(tcp(&e, "shop/web", "203.0.113.7", 5432), OK);
    apply(&mut e, &endpoints("203.0.113.8"));
    assert_eq!(tcp(&e, "shop/web", "203.0.113.7", 5432), DEFAULT_DENY);
    assert_eq!(tcp(&e, "shop/web", "203.0.113.8", 5432), OK);
    // Deleted: nothing, and the external backends' CIDR identity is released.
    let key = PodKey::new("shop", "db");
    let changes = e.delete(&[ObjectKey::Service(key.clone())]);
    assert!(changes.updated.contains(&web), "{changes:?}");
    assert_eq!(tcp(&e, "shop/web", "203.0.113.8", 5432), DEFAULT_DENY);
    assert!(
        e.identities()
            .all(|i| i.cidr.is_none_or(|c| c.to_string() != "203.0.113.8/32")),
        "the /32 of a deleted Service's backend is released"
    );
    // Unrelated Services change nothing.
    let changes = apply(&mut e, &service("ops", "db", "{}", "{app: monitor}"));
    assert!(changes.is_empty(), "{changes:?}");
    e.delete(&[ObjectKey::Endpoints(key)]);
}

#[test]
fn a_deny_to_services_beats_an_allow_all() {
    let e = engine(&docs(&[
        &service("shop", "db", "{}", "{app: db}"),
        &cnp(
            "shop",
            "web-egress",
            "  endpointSelector: {matchLabels: {app: web}}\n  egress:\n  - toEntities: [all]\n  egressDeny:\n  - toServices: [{k8sService: {serviceName: db, namespace: shop}}]\n",
        ),
    ]));
    assert_eq!(tcp(&e, "shop/web", "shop/db", 9090), DENY);
    assert_eq!(tcp(&e, "shop/web", "shop/api", 8080), OK);
    let t = trace(&e, "shop/web", "shop/db", 6, 9090);
    assert_eq!(
        t.egress.denying_rules[0].rule,
        "spec.egressDeny[0] toServices shop/db"
    );
}

#[test]
fn a_section_no_service_matches_still_turns_on_default_deny() {
    let e = engine(&web_egress(
        "    - k8sService: {serviceName: missing}\n",
        "",
    ));
    let t = trace(&e, "shop/web", "shop/db", 6, 9090);
    assert!(t.egress.enforced && t.egress.default_deny, "{t:?}");
    assert!(
        t.egress.notes.contains(&"CiliumNetworkPolicy shop/web-egress spec.egress[0]: toServices k8sService missing (any namespace) matches no Service, so it selects nothing".to_string()),
        "{:#?}",
        t.egress.notes
    );
    assert_eq!(tcp(&e, "shop/web", "203.0.113.7", 443), DEFAULT_DENY);
}

#[test]
fn named_ports_and_audit_mode_apply_to_the_generated_sections() {
    let e = engine(&docs(&[
        &service("shop", "api", "{}", "{app: api}"),
        &web_egress(
            "    - k8sService: {serviceName: api, namespace: shop}\n",
            "{port: http, protocol: TCP}",
        ),
    ]));
    assert_eq!(tcp(&e, "shop/web", "shop/api", 8080), OK, "api's http port");
    assert_eq!(tcp(&e, "shop/web", "shop/api", 9090), DEFAULT_DENY);
    // In a namespace in audit mode, the resolved policy is audited.
    let mut e = engine(&docs(&[
        &service("shop", "api", "{}", "{app: api}"),
        &web_egress(
            "    - k8sService: {serviceName: api, namespace: shop}\n",
            "",
        ),
    ]));
    apply(
        &mut e,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {team: a}, annotations: {observe.io/mode: audit}}\n",
    );
    let t = trace(&e, "shop/web", "shop/db", 6, 9090);
    assert_eq!(t.verdict, "AUDIT", "{t:?}");
    let ep = e.endpoint(&PodKey::new("shop", "web")).expect("web");
    assert!(ep.policy.egress.audit.is_some() && !ep.policy.egress.enforced);
}

#[test]
fn services_applied_step_by_step_equal_a_fresh_engine() {
    let policy = web_egress(
        "    - k8sService: {serviceName: db}\n    - k8sServiceSelector: {selector: {matchLabels: {tier: ext}}}\n",
        "{port: \"5432\", protocol: TCP}",
    );
    let ext = service("shop", "ext", "{tier: ext}", "");
    let endpoints = "apiVersion: v1\nkind: Endpoints\nmetadata: {name: ext, namespace: shop}\nsubsets:\n- addresses: [{ip: 203.0.113.7}]\n";
    let db = service("ops", "db", "{}", "{app: db}");
    let mut stepwise = engine(&policy);
    apply(&mut stepwise, OPS_DB);
    apply(&mut stepwise, &ext);
    apply(&mut stepwise, endpoints);
    apply(&mut stepwise, &db);
    stepwise.delete(&[ObjectKey::Service(PodKey::new("shop", "ext"))]);
    apply(&mut stepwise, &ext);
    let full = engine(&docs(&[&policy, OPS_DB, &ext, endpoints, &db]));
    assert_eq!(stepwise.render_map_states(), full.render_map_states());
    assert_eq!(tcp(&full, "shop/web", "ops/db-copy", 5432), OK);
    assert_eq!(tcp(&full, "shop/web", "203.0.113.7", 5432), OK);
}

#[test]
fn the_service_examples_trace_as_their_comments_say() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/services");
    let inputs = enforcer::manifest::read_inputs(&[dir.display().to_string()]).unwrap();
    let parsed = enforcer::manifest::parse(&inputs).unwrap_or_else(|e| panic!("{e}"));
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let mut e = enforcer::engine::Engine::new(enforcer::engine::EngineConfig::default());
    e.apply(parsed.into_objects()).unwrap();
    let by = |to: &str, port: u16| -> Vec<String> {
        trace(&e, "store/web", to, 6, port)
            .egress
            .matched_rules
            .iter()
            .map(|m| format!("{} {}", m.name, m.rule))
            .collect()
    };
    assert_eq!(
        by("store/orders-1", 8080),
        ["web-to-orders spec.egress[0] toServices store/orders"]
    );
    assert_eq!(tcp(&e, "store/web", "store/orders-1", 80), DEFAULT_DENY);
    assert_eq!(
        tcp(&e, "store/web", "payments/orders-lookalike", 8080),
        DEFAULT_DENY
    );
    assert_eq!(
        by("payments/ledger", 9443),
        ["web-to-staging spec.egress[0] toServices payments/ledger"]
    );
    for db in ["203.0.113.40", "203.0.113.41"] {
        assert_eq!(
            by(db, 5432),
            ["web-to-inventory spec.egress[0] toServices store/inventory-db"]
        );
    }
    assert_eq!(tcp(&e, "store/web", "203.0.113.42", 5432), DEFAULT_DENY);
}
