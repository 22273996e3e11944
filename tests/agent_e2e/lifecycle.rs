//! Changes while traffic flows: a label change flips a verdict, a deleted policy stops
//! enforcing, a rejected apply changes nothing, a deleted pod takes its endpoint along.

use crate::common::*;

#[test]
fn a_label_change_flips_a_verdict() {
    let Some(c) = Cluster::new("e2elabel") else {
        return;
    };
    c.apply(POLICIES).expect("policies");
    let _server = c.serve("server", &[8080], &[]);
    assert!(!c.reaches("intruder", "server", "tcp", 8080, false));
    let before = c.endpoint("intruder").identity;
    let relabel = "apiVersion: v1\nkind: Pod\nmetadata: {name: intruder, namespace: e2e, labels: {app: client}}\nstatus: {podIPs: [{ip: 10.77.0.3}, {ip: \"fd00:77::3\"}]}\n";
    c.apply(relabel).expect("relabel");
    assert_ne!(
        c.endpoint("intruder").identity,
        before,
        "new labels, new identity"
    );
    assert!(c.reaches("intruder", "server", "tcp", 8080, false));
}

#[test]
fn a_deleted_policy_stops_enforcing() {
    let Some(c) = Cluster::new("e2edelete") else {
        return;
    };
    c.apply(POLICIES).expect("policies");
    let _server = c.serve("server", &[9090], &[]);
    assert!(!c.reaches("client", "server", "tcp", 9090, false));
    let results = c.delete(POLICIES);
    assert!(
        results.iter().all(|r| r.ends_with("deleted")),
        "{results:?}"
    );
    assert!(!c.endpoint("server").ingress_enforced);
    assert!(c.reaches("client", "server", "tcp", 9090, false));
}

#[test]
fn a_rejected_apply_changes_nothing() {
    let Some(c) = Cluster::new("e2ereject") else {
        return;
    };
    c.apply(POLICIES).expect("policies");
    let bad = POLICIES.replace("\"8080\"", "\"80800\"");
    let err = c.apply(&bad).expect_err("invalid port");
    assert!(
        err.contains("spec.ingress[0].toPorts[0].ports[0].port") && err.contains("80800"),
        "{err}"
    );
    let _server = c.serve("server", &[8080], &[]);
    assert!(
        c.reaches("client", "server", "tcp", 8080, false),
        "the old policy still applies"
    );
}

#[test]
fn a_deleted_pod_takes_its_endpoint_along() {
    let Some(c) = Cluster::new("e2epod") else {
        return;
    };
    let netns = c.endpoint("intruder").netns;
    assert!(lab::netns_exists(&netns));
    c.delete("apiVersion: v1\nkind: Pod\nmetadata: {name: intruder, namespace: e2e}\n");
    assert!(c.endpoints().iter().all(|e| e.pod != "intruder"));
    assert!(!lab::netns_exists(&netns), "its namespace is gone");
}

#[test]
fn an_annotated_pod_adopts_an_existing_namespace_and_leaves_it_behind() {
    let Some(c) = Cluster::new("e2eadopt") else {
        return;
    };
    let name = format!("{}-byhand", c.lab.prefix());
    let added = std::process::Command::new("ip")
        .args(["netns", "add", &name])
        .status()
        .expect("ip");
    assert!(added.success());
    let pod = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: adopted\n  namespace: e2e\n  labels: {{app: client}}\n  annotations: {{observe.io/netns: {name}}}\nstatus: {{podIP: 10.77.0.9}}\n"
    );
    c.apply(&pod).expect("adopt");
    assert_eq!(c.endpoint("adopted").netns, name);
    let _server = c.serve("server", &[8080], &[]);
    assert!(
        reaches(&name, ip("server", false), "tcp", 8080),
        "the adopted namespace is wired"
    );
    c.delete(&pod);
    assert!(
        lab::netns_exists(&name),
        "an adopted namespace is not the agent's to delete"
    );
}
