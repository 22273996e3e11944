//! Workloads: a Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob stands for
//! its pods, which are endpoints with the template's labels, ports and service account;
//! traces name workloads; Services and ServiceAccounts change nothing.

use enforcer::cluster::PodKey;
use enforcer::engine::trace::{Target, TraceError, TraceRequest};
use enforcer::engine::{ApplyError, Engine, EngineConfig, ObjectKey};
use enforcer::manifest::{self, Object};

use crate::common::*;

fn deployment(name: &str, replicas: u32, labels: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: shop}}\nspec:\n  replicas: {replicas}\n  selector: {{matchLabels: {labels}}}\n  template:\n    metadata: {{labels: {labels}}}\n    spec:\n{extra_spec}      containers: [{{name: c, ports: [{{name: http, containerPort: 8080}}]}}]\n"
    )
}

fn pods_of(e: &Engine, owner: &str) -> Vec<String> {
    e.endpoints()
        .filter(|ep| ep.pod.owner.as_ref().is_some_and(|o| o.short() == owner))
        .map(|ep| ep.pod.key.to_string())
        .collect()
}

fn try_apply(e: &mut Engine, yaml: &str) -> Result<(), ApplyError> {
    e.apply(objects(yaml)).map(|_| ())
}

fn trace_ref(
    e: &Engine,
    from: &str,
    to: &str,
    port: u16,
) -> Result<enforcer::engine::trace::Trace, TraceError> {
    e.trace(&TraceRequest {
        from: Target::parse(from).unwrap(),
        to: Target::parse(to).unwrap(),
        protocol: 6,
        dport: port,
        reply: false,
    })
}

#[test]
fn a_deployment_becomes_one_endpoint_per_replica_with_the_template_labels_and_its_owner() {
    let e = engine(&deployment("cart", 3, "{app: cart}", ""));
    let pods = pods_of(&e, "deployment/cart");
    assert_eq!(pods.len(), 3, "{pods:?}");
    for key in &pods {
        let (ns, name) = key.split_once('/').unwrap();
        let ep = e.endpoint(&PodKey::new(ns, name)).unwrap();
        assert_eq!(ns, "shop");
        assert_eq!(ep.pod.labels["app"], "cart");
        assert_eq!(ep.pod.ports[0].port, 8080);
    }
    assert!(pods.iter().all(|p| p.starts_with("shop/cart-")));
}

#[test]
fn policies_select_workload_pods_by_template_labels_and_service_account() {
    let policy = cnp(
        "shop",
        "cart-in",
        "  endpointSelector: {matchLabels: {app: cart}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {io.cilium.k8s.policy.serviceaccount: checkout}}]\n    toPorts: [{ports: [{port: http}]}]\n",
    );
    let e = engine(&format!(
        "{}---\n{}---\n{policy}",
        deployment("cart", 2, "{app: cart}", ""),
        deployment(
            "checkout",
            1,
            "{app: checkout}",
            "      serviceAccountName: checkout\n"
        ),
    ));
    let t = trace_ref(&e, "shop/deployment/checkout", "shop/deploy/cart", 8080).unwrap();
    assert_eq!(t.verdict, "ALLOWED", "{t:?}");
    assert_eq!(t.source.owner.as_deref(), Some("deployment/checkout"));
    assert_eq!(t.destination.owner.as_deref(), Some("deployment/cart"));
    assert!(
        t.source
            .labels
            .contains(&"k8s:io.cilium.k8s.policy.serviceaccount=checkout".to_string())
    );
    assert_eq!(
        trace_ref(&e, "shop/deployment/checkout", "shop/deployment/cart", 9090)
            .unwrap()
            .verdict,
        "DENIED"
    );
    // A bare pod (service account `default`) is not the checkout service account.
    assert_eq!(
        tcp(&e, "shop/web", &pods_of(&e, "deployment/cart")[1], 8080),
        DEFAULT_DENY
    );
}

#[test]
fn a_trace_of_a_workload_uses_its_first_pod_and_an_unknown_workload_is_an_error() {
    let e = engine(&deployment("cart", 2, "{app: cart}", ""));
    let t = trace_ref(&e, "shop/web", "shop/deployment/cart", 80).unwrap();
    assert_eq!(t.destination.name, pods_of(&e, "deployment/cart")[0]);
    assert!(t.destination.name.ends_with("-0"), "{}", t.destination.name);
    let err = trace_ref(&e, "shop/web", "shop/statefulset/cart", 80).unwrap_err();
    assert_eq!(
        err.to_string(),
        "StatefulSet shop/cart not found in the manifests, or it has no pods"
    );
    // `pod/NAME` and `NS/pod/NAME` name pods.
    assert_eq!(
        trace_ref(&e, "shop/pod/web", "pod/x", 80).unwrap_err(),
        TraceError::UnknownPod(PodKey::new("default", "x"))
    );
}

#[test]
fn reapplying_a_workload_with_fewer_replicas_or_deleting_it_removes_its_pods() {
    let mut e = engine(&deployment("cart", 3, "{app: cart}", ""));
    let changes = apply(&mut e, &deployment("cart", 1, "{app: cart}", ""));
    assert_eq!(changes.removed.len(), 2, "{changes:?}");
    assert_eq!(pods_of(&e, "deployment/cart").len(), 1);
    let key = objects(&deployment("cart", 1, "{app: cart}", ""))
        .iter()
        .map(ObjectKey::of)
        .next()
        .unwrap();
    assert_eq!(key.to_string(), "Deployment shop/cart");
    let changes = e.delete(&[key]);
    assert_eq!(changes.removed.len(), 1);
    assert!(pods_of(&e, "deployment/cart").is_empty());
}

#[test]
fn a_pod_name_claimed_by_a_pod_and_a_statefulset_is_an_apply_error() {
    let mut e = engine("");
    let sts = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n";
    apply(&mut e, sts);
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: web-0, namespace: shop}\n";
    let err = try_apply(&mut e, pod).unwrap_err();
    assert_eq!(
        err.to_string(),
        "pod shop/web-0 is claimed by both a pod of StatefulSet shop/web and Pod shop/web-0"
    );
    assert!(
        e.endpoint(&PodKey::new("shop", "web-0"))
            .unwrap()
            .pod
            .owner
            .is_some()
    );
}

#[test]
fn a_daemonset_runs_one_pod_on_every_known_node() {
    let e = engine(
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent, namespace: ops}\nspec:\n  selector: {matchLabels: {app: agent}}\n  template:\n    metadata: {labels: {app: agent}}\n",
    );
    let nodes: Vec<(String, String)> = e
        .endpoints()
        .filter(|ep| ep.pod.owner.is_some())
        .map(|ep| (ep.pod.key.to_string(), ep.node.clone()))
        .collect();
    assert_eq!(
        nodes,
        [
            ("ops/agent-n1".to_string(), "n1".to_string()),
            ("ops/agent-n2".to_string(), "n2".to_string())
        ]
    );
    let mut alone = Engine::new(EngineConfig::default());
    apply(
        &mut alone,
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent}\nspec:\n  selector: {matchLabels: {app: agent}}\n  template:\n    metadata: {labels: {app: agent}}\n",
    );
    let only: Vec<_> = alone
        .endpoints()
        .map(|ep| (ep.pod.key.to_string(), ep.node.clone()))
        .collect();
    assert_eq!(only, [("default/agent".to_string(), "node-1".to_string())]);
}

#[test]
fn services_and_service_accounts_are_kept_and_change_no_endpoint() {
    let extra = "apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: shop}\nspec:\n  selector: {app: api}\n  ports: [{port: 80, targetPort: http}]\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: api, namespace: shop}\n";
    let parsed = manifest::parse_str("s.yaml", extra).unwrap();
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert!(matches!(parsed.objects[0].object, Object::Service(_)));
    assert!(matches!(
        parsed.objects[1].object,
        Object::ServiceAccount(_)
    ));
    let mut e = engine("");
    let changes = apply(&mut e, extra);
    assert!(changes.is_empty(), "{changes:?}");
}

#[test]
fn the_matrix_lists_a_workload_once_and_its_cell_to_itself_is_replica_to_replica() {
    let policy = cnp(
        "shop",
        "cart-in",
        "  endpointSelector: {matchLabels: {app: cart}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: web}}]\n",
    );
    let e = engine(&format!(
        "{}---\n{policy}",
        deployment("cart", 2, "{app: cart}", "")
    ));
    let m = e.matrix(&[(6, 80)]);
    let names: Vec<&str> = m.pods.iter().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "ops/monitor",
            "shop/api",
            "shop/deployment/cart",
            "shop/db",
            "shop/web"
        ]
    );
    let cart = 2;
    let symbols: String = m.ports[0].cells[cart].iter().map(|c| c.symbol()).collect();
    assert_eq!(
        symbols, "..X..",
        "cart to its other replica is denied by default deny"
    );
    let web = 4;
    assert_eq!(m.ports[0].cells[web][cart].symbol(), '.');
}
