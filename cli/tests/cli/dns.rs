//! `policy trace --dns-name`: a flow to an address resolved from a name is traced against
//! `toFQDNs`, and a flow to a DNS server says which DNS rule allows the query.

use crate::util::trace_manifest;

const MANIFEST: &str = r#"apiVersion: v1
kind: Pod
metadata: {name: backend, namespace: shop, labels: {app: backend}}
status: {podIP: 10.0.1.5}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: backend-partner, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: backend}}
  egress:
  - toCIDR: [192.0.2.53/32]
    toPorts:
    - ports: [{port: "53", protocol: ANY}]
      rules:
        dns: [{matchPattern: "*.partner.com"}]
  - toFQDNs: [{matchName: api.partner.com}]
    toPorts:
    - ports: [{port: "443", protocol: TCP}]
"#;

fn trace(args: &[&str]) -> (bool, String, String) {
    trace_manifest(MANIFEST, &[&["--from", "shop/backend"], args].concat())
}

#[test]
fn an_address_traced_with_the_name_it_resolved_from_is_judged_by_to_fqdns() {
    let (ok, out, err) = trace(&["--to", "203.0.113.10", "--dport", "443"]);
    assert!(ok, "{err}");
    assert!(out.contains("DENIED"), "no name, no toFQDNs match: {out}");
    let (ok, out, err) = trace(&[
        "--to",
        "203.0.113.10",
        "--dport",
        "443",
        "--dns-name",
        "api.partner.com",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("ALLOWED"), "{out}");
    assert!(
        out.contains("203.0.113.10 taken as a DNS answer for api.partner.com"),
        "{out}"
    );
}

#[test]
fn a_query_traced_to_the_dns_server_names_the_dns_rule_or_the_refusal() {
    let base = ["--to", "192.0.2.53", "--protocol", "UDP", "--dport", "53"];
    let (_, out, _) = trace(&[&base[..], &["--dns-name", "www.partner.com"]].concat());
    assert!(
        out.contains("DNS query for www.partner.com allowed by the DNS rule \"*.partner.com\""),
        "{out}"
    );
    let (_, out, _) = trace(&[&base[..], &["--dns-name", "evil.example"]].concat());
    assert!(out.contains("the DNS proxy answers REFUSED"), "{out}");
    let (ok, _, err) = trace(&[&base[..], &["--dns-name", "bad name"]].concat());
    assert!(
        !ok && err.contains("invalid --dns-name \"bad name\""),
        "{err}"
    );
}
