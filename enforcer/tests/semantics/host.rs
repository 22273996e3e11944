//! Host policies (the host firewall): CCNPs with `nodeSelector` select nodes' host
//! endpoints, with Cilium's semantics, and only while the host firewall is enabled.

use enforcer::engine::{Engine, EngineConfig};

use crate::common::*;

/// [`CLUSTER`] and `extra` on an engine with the host firewall on (the view of node n1).
fn host_engine(extra: &str) -> Engine {
    let mut e = Engine::new(EngineConfig {
        default_node: "n1".into(),
        host_firewall: true,
        ..EngineConfig::default()
    });
    apply(&mut e, CLUSTER);
    apply(&mut e, extra);
    e
}

/// SSH and ping from other nodes to the nodes of zone east (n1).
fn ssh_from_nodes() -> String {
    ccnp(
        "ssh",
        "  nodeSelector: {matchLabels: {zone: east}}\n  ingress:\n  - fromEntities: [remote-node]\n    toPorts: [{ports: [{port: \"22\", protocol: TCP}]}]\n  - fromEntities: [remote-node]\n    icmps: [{fields: [{type: EchoRequest, family: IPv4}]}]\n",
    )
}

#[test]
fn a_node_selector_applies_nowhere_while_the_host_firewall_is_disabled() {
    let e = engine(&ssh_from_nodes());
    assert_eq!(e.hosts().count(), 0);
    let t = trace(&e, "node/n2", "node/n1", 6, 80);
    assert_eq!(t.verdict, "ALLOWED");
    assert!(
        t.ingress
            .notes
            .iter()
            .any(|n| n.contains("host firewall disabled")),
        "{:?}",
        t.ingress.notes
    );
}

#[test]
fn a_host_policy_allows_what_it_names_and_denies_the_rest_to_the_selected_node() {
    let e = host_engine(&ssh_from_nodes());
    assert_eq!(tcp(&e, "node/n2", "node/n1", 22), OK);
    assert_eq!(tcp(&e, "node/n2", "node/n1", 80), DEFAULT_DENY);
    assert_eq!(trace(&e, "node/n2", "node/n1", 1, 8).verdict, "ALLOWED");
    assert_eq!(trace(&e, "node/n2", "node/n1", 17, 53).verdict, "DENIED");
    // The world is not a remote node; n2 is not selected (zone west).
    assert_eq!(tcp(&e, "192.0.2.7", "node/n1", 22), DEFAULT_DENY);
    assert_eq!(tcp(&e, "node/n1", "node/n2", 80), OK);
    let t = trace(&e, "node/n2", "node/n1", 6, 22);
    assert_eq!(t.ingress.endpoint.as_deref(), Some("node/n1"));
    assert!(t.ingress.enforced);
    assert_eq!(
        t.ingress.selecting_policies,
        ["CiliumClusterwideNetworkPolicy ssh"]
    );
    assert_eq!(t.ingress.matched_rules.len(), 1, "{:?}", t.ingress);
    // Egress of the node stays open: no rule has egress sections.
    assert!(!t.egress.enforced, "{:?}", t.egress);
}

#[test]
fn pods_on_a_locked_down_node_are_unaffected() {
    let e = host_engine(&ssh_from_nodes());
    assert_eq!(tcp(&e, "node/n2", "shop/web", 80), OK);
    assert_eq!(tcp(&e, "shop/db", "shop/web", 80), OK);
    let host = e.host("n1").expect("n1 has a host endpoint");
    assert!(host.policy.ingress.enforced);
    assert!(!e.host("n2").expect("n2 too").policy.ingress.enforced);
    for ep in e.endpoints() {
        assert!(!ep.policy.ingress.enforced, "{}", ep.pod.key);
    }
}

#[test]
fn host_rules_see_local_pods_and_the_host_by_their_own_identities() {
    let e = host_engine(&ccnp(
        "pods-only",
        "  nodeSelector: {}\n  ingress:\n  - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: shop, app: web}}]\n",
    ));
    assert_eq!(tcp(&e, "shop/web", "node/n1", 6443), OK);
    assert_eq!(tcp(&e, "shop/api", "node/n1", 6443), DEFAULT_DENY);
    assert_eq!(tcp(&e, "node/n2", "node/n1", 6443), DEFAULT_DENY);
}

#[test]
fn entity_cluster_covers_nodes_and_pods_and_egress_is_enforced_too() {
    let e = host_engine(&ccnp(
        "egress",
        "  nodeSelector: {matchLabels: {kubernetes.io/hostname: n1}}\n  egress:\n  - toEntities: [cluster]\n  - toCIDR: [198.51.100.0/24]\n    toPorts: [{ports: [{port: \"123\", protocol: UDP}]}]\n",
    ));
    assert_eq!(tcp(&e, "node/n1", "node/n2", 2379), OK);
    assert_eq!(tcp(&e, "node/n1", "shop/db", 9090), OK);
    assert_eq!(
        trace(&e, "node/n1", "198.51.100.1", 17, 123).verdict,
        "ALLOWED"
    );
    assert_eq!(tcp(&e, "node/n1", "198.51.100.1", 443), DEFAULT_DENY);
    assert_eq!(tcp(&e, "node/n1", "203.0.113.9", 443), DEFAULT_DENY);
}

#[test]
fn node_labels_changing_move_a_node_in_and_out_of_a_host_policy() {
    let mut e = host_engine(&ssh_from_nodes());
    let changes = apply(
        &mut e,
        "apiVersion: v1\nkind: Node\nmetadata: {name: n1, labels: {zone: north}}\nstatus: {addresses: [{type: InternalIP, address: 10.10.0.1}]}\n",
    );
    assert_eq!(changes.hosts, ["n1"]);
    assert_eq!(tcp(&e, "node/n2", "node/n1", 80), OK);
}

#[test]
fn deny_rules_win_over_allows_for_hosts_as_for_pods() {
    let e = host_engine(&ccnp(
        "deny-etcd",
        "  nodeSelector: {}\n  ingress:\n  - fromEntities: [world]\n  ingressDeny:\n  - fromEntities: [world]\n    toPorts: [{ports: [{port: \"2379\", protocol: TCP}]}]\n",
    ));
    assert_eq!(tcp(&e, "192.0.2.7", "node/n1", 2379), DENY);
    assert_eq!(tcp(&e, "192.0.2.7", "node/n1", 22), OK);
}

#[test]
fn a_host_policy_in_audit_mode_reports_what_it_would_deny_and_passes_it() {
    let e = host_engine(
        &ccnp(
            "audited",
            "  nodeSelector: {}\n  ingress:\n  - fromEntities: [remote-node]\n",
        )
        .replace(
            "metadata: {name: audited}",
            "metadata: {name: audited, annotations: {observe.io/mode: audit}}",
        ),
    );
    assert_eq!(trace(&e, "192.0.2.7", "node/n1", 6, 22).verdict, "AUDIT");
    assert_eq!(trace(&e, "node/n2", "node/n1", 6, 22).verdict, "ALLOWED");
    assert!(!e.host("n1").expect("host").policy.ingress.enforced);
}

#[test]
fn node_targets_are_written_node_slash_or_node_colon() {
    use enforcer::engine::trace::Target;
    assert_eq!(Target::parse("node:n1"), Ok(Target::Node("n1".into())));
    assert_eq!(Target::parse("node/n1"), Ok(Target::Node("n1".into())));
    assert_ne!(Target::parse("node:"), Ok(Target::Node(String::new())));
}

#[test]
fn the_host_examples_apply_and_trace_as_cilium_would() {
    let dir = format!("{}/../examples/host", env!("CARGO_MANIFEST_DIR"));
    let mut e = Engine::new(EngineConfig {
        default_node: "worker-1".into(),
        host_firewall: true,
        ..EngineConfig::default()
    });
    for file in ["workers.yaml", "ssh-and-ping.yaml", "lock-down-nodes.yaml"] {
        let text = std::fs::read_to_string(format!("{dir}/{file}")).expect("example");
        apply(&mut e, &text);
    }
    // worker-1 (type=worker, node-access=ssh) is selected by all four policies.
    let host = e.host("worker-1").expect("host endpoint");
    assert!(host.policy.ingress.enforced && host.policy.egress.enforced);
    assert_eq!(host.policy.ingress.selecting.len(), 3);
    assert_eq!(tcp(&e, "192.0.2.9", "node:worker-1", 22), OK);
    assert_eq!(
        tcp(&e, "192.0.2.9", "node:worker-1", 6443),
        OK,
        "worker-ingress opens it to all"
    );
    assert_eq!(tcp(&e, "198.51.100.9", "node:worker-1", 80), DEFAULT_DENY);
    assert_eq!(
        trace(&e, "node:worker-1", "203.0.113.53", 17, 53).verdict,
        "ALLOWED"
    );
    assert_eq!(
        trace(&e, "node:worker-1", "203.0.113.54", 17, 53).verdict,
        "DENIED"
    );
    // VRRP (IP protocol 112) to anywhere.
    assert_eq!(
        trace(&e, "node:worker-1", "203.0.113.54", 112, 0).verdict,
        "ALLOWED"
    );
    // The cloud lock-down adds remote desktop from anywhere and the metadata server.
    let text = std::fs::read_to_string(format!("{dir}/gke-workers.yaml")).expect("example");
    apply(&mut e, &text);
    assert_eq!(tcp(&e, "192.0.2.9", "node:worker-1", 3389), OK);
    assert_eq!(
        trace(&e, "node:worker-1", "169.254.169.254", 17, 123).verdict,
        "ALLOWED"
    );
    assert_eq!(
        tcp(&e, "198.51.100.9", "node:worker-1", 10250),
        DEFAULT_DENY
    );
}

#[test]
fn a_host_policy_reaches_a_services_backends_with_to_services() {
    let e = host_engine(&format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: db, namespace: shop}}\nspec: {{selector: {{app: db}}, ports: [{{port: 9090}}]}}\n---\n{}",
        ccnp(
            "to-db",
            "  nodeSelector: {}\n  egress:\n  - toServices: [{k8sService: {serviceName: db, namespace: shop}}]\n",
        )
    ));
    assert_eq!(tcp(&e, "node:n1", "shop/db", 9090), OK);
    assert_eq!(tcp(&e, "node:n1", "shop/web", 9090), DEFAULT_DENY);
    let t = trace(&e, "node:n1", "shop/db", 6, 9090);
    assert!(
        t.egress.matched_rules[0]
            .rule
            .contains("toServices shop/db"),
        "{:?}",
        t.egress.matched_rules
    );
}
