//! Incremental recomputation: only what a change touches is recomputed, and the result
//! equals a full recomputation.

use crate::common::*;
use enforcer::cluster::PodKey;
use enforcer::engine::{Engine, EngineConfig, ObjectKey};

fn fresh(yaml: &[&str]) -> Engine {
    let mut e = Engine::new(EngineConfig::default());
    for y in yaml {
        apply(&mut e, y);
    }
    e
}

#[test]
fn a_policy_change_recomputes_only_selected_endpoints() {
    let mut e = engine("");
    let changes = apply(
        &mut e,
        &cnp(
            "shop",
            "p",
            "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: web}}]\n",
        ),
    );
    assert_eq!(changes.recomputed, 1);
    assert_eq!(
        changes.updated.into_iter().collect::<Vec<_>>(),
        vec![PodKey::new("shop", "db")]
    );
}

#[test]
fn reapplying_the_same_objects_changes_nothing() {
    let mut e = engine("");
    let changes = apply(&mut e, CLUSTER);
    assert!(changes.is_empty(), "{changes:?}");
    assert_eq!(changes.recomputed, 0);
}

#[test]
fn a_label_change_flips_a_verdict() {
    let policy = cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: web}}]\n",
    );
    let mut e = engine(&policy);
    assert_eq!(tcp(&e, "shop/api", "shop/db", 1), DEFAULT_DENY);
    let relabel = "apiVersion: v1\nkind: Pod\nmetadata: {name: api, namespace: shop, labels: {app: web}}\nspec: {nodeName: n1}\nstatus: {podIP: 10.0.1.2}\n";
    let changes = apply(&mut e, relabel);
    assert!(changes.updated.contains(&PodKey::new("shop", "api")));
    assert!(changes.updated.contains(&PodKey::new("shop", "db")) || changes.recomputed >= 1);
    assert_eq!(tcp(&e, "shop/api", "shop/db", 1), OK);
}

#[test]
fn namespace_label_changes_reach_pod_identities() {
    let policy = cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {io.cilium.k8s.namespace.labels.env: prod}}]\n",
    );
    let mut e = engine(&policy);
    assert_eq!(tcp(&e, "ops/monitor", "shop/db", 1), DEFAULT_DENY);
    apply(
        &mut e,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: ops, labels: {team: b, env: prod}}\n",
    );
    assert_eq!(tcp(&e, "ops/monitor", "shop/db", 1), OK);
}

#[test]
fn deleting_a_policy_stops_enforcing() {
    let mut e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {}\n  ingress:\n  - {}\n",
    ));
    assert_eq!(tcp(&e, "shop/web", "shop/db", 1), DEFAULT_DENY);
    let key = ObjectKey::Policy(enforcer::policy::origin::PolicyRef {
        kind: enforcer::policy::origin::PolicyKind::CiliumNetworkPolicy,
        namespace: "shop".into(),
        name: "p".into(),
    });
    let changes = e.delete(&[key]);
    assert_eq!(changes.updated.len(), 3);
    assert_eq!(tcp(&e, "shop/web", "shop/db", 1), OK);
}

#[test]
fn incremental_results_equal_a_full_recomputation() {
    let p1 = cnp(
        "shop",
        "p1",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {tier: front}}]\n  - toPorts: [{ports: [{port: http}]}]\n",
    );
    let p2 = cnp(
        "shop",
        "p2",
        "  endpointSelector: {}\n  egress:\n  - toCIDRSet: [{cidr: 203.0.113.0/24, except: [203.0.113.0/28]}]\n  - toEndpoints: [{}]\n    toPorts: [{ports: [{port: http}]}]\n",
    );
    let relabel = "apiVersion: v1\nkind: Pod\nmetadata: {name: api, namespace: shop, labels: {app: api, tier: front}}\nspec: {nodeName: n1, containers: [{name: c, ports: [{name: http, containerPort: 7070}]}]}\nstatus: {podIP: 10.0.1.2}\n";
    let mut stepwise = fresh(&[CLUSTER, &p1]);
    apply(&mut stepwise, &p2);
    apply(&mut stepwise, relabel);
    let full = fresh(&[&format!("{CLUSTER}\n---\n{p1}\n---\n{p2}\n---\n{relabel}")]);
    assert_eq!(stepwise.render_map_states(), full.render_map_states());
}

#[test]
fn address_conflicts_are_rejected_and_change_nothing() {
    let mut e = engine("");
    let before = e.render_map_states();
    let clash = "apiVersion: v1\nkind: Pod\nmetadata: {name: thief, namespace: shop}\nstatus: {podIP: 10.0.1.1}\n---\n".to_string()
        + &cnp("shop", "p", "  endpointSelector: {}\n  ingress:\n  - {}\n");
    let err = e.apply(objects(&clash)).unwrap_err();
    assert!(err.to_string().contains("10.0.1.1"), "{err}");
    assert_eq!(e.render_map_states(), before);
    assert!(e.endpoint(&PodKey::new("shop", "thief")).is_none());
}
