//! The offline policy commands over real workload manifests (`examples/star-wars`: a
//! Deployment of two replicas behind a Service, bare Pods, and one of each other workload
//! kind), against goldens.

use std::path::{Path, PathBuf};

use crate::util::{assert_golden, observe, stdout};

fn star_wars() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/star-wars")
}

fn policy(args: &[&str]) -> String {
    let out = observe()
        .arg("policy")
        .args(&args[..1])
        .arg("-f")
        .arg(star_wars())
        .args(&args[1..])
        .output()
        .expect("observe runs");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!(
        "$ observe policy {} -f examples/star-wars {}\n{}",
        args[0],
        args[1..].join(" "),
        stdout(&out)
    )
}

#[test]
fn a_trace_between_two_deployments_names_both_workloads() {
    let mut text = policy(&[
        "trace",
        "--from",
        "deployment/imperial-shuttle",
        "--to",
        "deployment/deathstar",
        "--dport",
        "80",
    ]);
    text.push('\n');
    text.push_str(&policy(&[
        "trace",
        "--from",
        "pod/xwing",
        "--to",
        "deploy/deathstar",
        "--dport",
        "80",
    ]));
    text.push('\n');
    text.push_str(&policy(&[
        "trace",
        "--from",
        "default/deployment/deathstar",
        "--to",
        "statefulset/archives",
        "--dport",
        "5432",
    ]));
    assert_golden("star-wars-trace.txt", &text);
}

#[test]
fn the_matrix_over_a_namespace_of_workloads_has_one_row_per_workload() {
    let text = policy(&["matrix", "--ports", "80/TCP,5432/TCP"]);
    assert_golden("star-wars-matrix.txt", &text);
}

#[test]
fn validate_counts_each_workload_kind_service_and_service_account() {
    let text = policy(&["validate"]);
    assert!(
        text.contains("valid: 16 object(s) (2 CiliumNetworkPolicy, 1 CronJob, 1 DaemonSet, 2 Deployment, 1 Job, 1 NetworkPolicy, 2 Pod, 1 ReplicaSet, 2 Service, 2 ServiceAccount, 1 StatefulSet), 3 policy rule(s), 14 endpoint(s); 0 warning(s)"),
        "{text}"
    );
}

#[test]
fn a_workload_whose_selector_misses_its_template_fails_validation_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("leia.yaml");
    std::fs::write(
        &file,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: leia}\nspec:\n  selector: {matchLabels: {org: alliance}}\n  template:\n    metadata: {labels: {org: empire}}\n",
    )
    .unwrap();
    let out = observe()
        .args(["policy", "validate", "-f"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("document 1 (Deployment default/leia): spec.selector: the selector does not match the template's labels (spec.template.metadata.labels)"),
        "{err}"
    );
}
