//! `observe policy validate` on directories of manifests: every error at once and in
//! document order, duplicates counted once with a warning.

use std::process::Output;

use crate::util::observe;

/// Runs `observe policy validate -f DIR` over `files` (name, text) written to a temporary
/// directory.
fn validate(files: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    observe()
        .args(["policy", "validate", "-f"])
        .arg(dir.path())
        .output()
        .unwrap()
}

fn cnp(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: {name}, namespace: shop}}\nspec:\n  endpointSelector: {{}}\n{spec}"
    )
}

/// The field paths of the error lines of `stderr`, in order.
fn error_paths(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .map(|l| {
            let after_object = l.split_once("): ").map_or(l, |(_, rest)| rest);
            after_object.split(": ").next().unwrap_or("").to_string()
        })
        .collect()
}

#[test]
fn validate_lists_every_error_of_every_file_in_document_order() {
    let out = validate(&[
        (
            "a.yaml",
            &cnp(
                "a",
                "  ingress:\n  - fromEndpoints: [{matchLabels: {\"bad one!\": x}}, {matchLabels: {\"bad two!\": x}}]\n    toPorts:\n    - ports: [{port: \"80\"}]\n      rules:\n        kafka: [{topic: t}]\n",
            ),
        ),
        (
            "b.yaml",
            &cnp("b", "  egress:\n  - toCIDR: [10.0.0.0/33, 300.0.0.1]\n"),
        ),
    ]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success(), "{stderr}");
    assert_eq!(
        error_paths(&stderr),
        [
            "spec.ingress[0].fromEndpoints[0].matchLabels.bad one!",
            "spec.ingress[0].fromEndpoints[1].matchLabels.bad two!",
            "spec.ingress[0].toPorts[0].rules.kafka",
            "spec.egress[0].toCIDR[0]",
            "spec.egress[0].toCIDR[1]",
        ],
        "{stderr}"
    );
    assert!(
        stderr.ends_with("5 error(s); nothing is valid until all are fixed\n"),
        "{stderr}"
    );
}

#[test]
fn validate_counts_a_duplicate_once_and_says_the_last_one_wins() {
    let allow = |port: &str| {
        cnp(
            "web",
            &format!("  ingress:\n  - toPorts: [{{ports: [{{port: \"{port}\"}}]}}]\n"),
        )
    };
    let out = validate(&[("a.yaml", &allow("80")), ("b.yaml", &allow("443"))]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout,
        "valid: 1 object(s) (1 CiliumNetworkPolicy), 1 policy rule(s), 0 endpoint(s); 1 warning(s)\n"
    );
    assert!(
        stderr.contains("a.yaml:1:1: document 1 (CiliumNetworkPolicy shop/web): ignored: CiliumNetworkPolicy shop/web is defined again at ")
            && stderr.contains("b.yaml:1:1 (document 1), and the last definition wins"),
        "{stderr}"
    );
}
