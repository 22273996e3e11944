//! VRRP and IGMP, the protocols without ports: `policy trace --protocol vrrp`, their names
//! in the output, and `--dport` refused for them.

use std::io::Write;

use crate::util::{observe, stdout};

const MANIFEST: &str = r#"apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
status: {podIP: 10.0.1.1}
---
apiVersion: v1
kind: Pod
metadata: {name: router, namespace: shop, labels: {app: router}}
status: {podIP: 10.0.1.2}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: keepalived, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: router}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: web}}]
    toPorts: [{ports: [{protocol: VRRP}]}]
"#;

fn manifest() -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(MANIFEST.as_bytes()).expect("written");
    f
}

fn trace(file: &tempfile::NamedTempFile, extra: &[&str]) -> std::process::Output {
    observe()
        .args(["policy", "trace", "-f"])
        .arg(file.path())
        .args(["--from", "shop/web", "--to", "shop/router"])
        .args(extra)
        .output()
        .expect("observe runs")
}

#[test]
fn policy_trace_takes_protocol_vrrp_and_prints_vrrp_without_a_port() {
    let f = manifest();
    let out = stdout(&trace(&f, &["--protocol", "vrrp"]));
    assert!(
        out.starts_with("Tracing VRRP shop/web -> shop/router\n"),
        "{out}"
    );
    assert!(out.contains("ALLOWED"), "{out}");
    let out = stdout(&trace(&f, &["--protocol", "IGMP"]));
    assert!(
        out.starts_with("Tracing IGMP shop/web -> shop/router\n"),
        "{out}"
    );
    assert!(out.contains("allows this peer on VRRP, not IGMP"), "{out}");
    assert!(out.contains("133"), "{out}");
    let json = stdout(&trace(&f, &["--protocol", "vrrp", "-o", "json"]));
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(
        (v["protocol"].as_str(), v["verdict"].as_str()),
        (Some("VRRP"), Some("ALLOWED"))
    );
}

#[test]
fn policy_trace_refuses_a_port_for_vrrp_and_names_the_valid_protocols() {
    let f = manifest();
    let out = trace(&f, &["--protocol", "VRRP", "--dport", "80"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--dport does not apply to VRRP: it has no ports"),
        "{err}"
    );
    let out = trace(&f, &["--protocol", "GRE"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("expected TCP, UDP, SCTP, ICMP, ICMPv6, VRRP or IGMP"),
        "{err}"
    );
}
