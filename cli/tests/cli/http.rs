//! `policy trace --http-method/--http-path/--http-header`: a TCP flow through a port with
//! `rules.http` says whether the HTTP proxy forwards the request and by which HTTP rule,
//! or answers 403 and which rule came closest.

use crate::util::trace_manifest;

const MANIFEST: &str = r#"apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {role: frontend}}
status: {podIP: 10.0.1.5}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api}}
status: {podIP: 10.0.1.6}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api-http, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
  - fromEndpoints: [{matchLabels: {role: frontend}}]
    toPorts:
    - ports: [{port: "8080", protocol: TCP}]
      rules:
        http:
        - {method: GET, path: /health}
        - {method: POST, path: /submit, headers: ["X-Token: s3cret"]}
"#;

fn trace(args: &[&str]) -> (bool, String, String) {
    let flow = ["--from", "shop/web", "--to", "shop/api", "--dport", "8080"];
    trace_manifest(MANIFEST, &[&flow[..], args].concat())
}

#[test]
fn a_request_is_forwarded_by_its_http_rule_or_denied_with_the_closest_one() {
    let (ok, out, err) = trace(&["--http-method", "GET", "--http-path", "/health"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("HTTP: ALLOWED: the HTTP proxy forwards GET /health by the HTTP rule GET /health of CiliumNetworkPolicy shop/api-http spec.ingress[0]"),
        "{out}"
    );
    let (_, out, _) = trace(&["--http-method", "POST", "--http-path", "/health"]);
    assert!(
        out.contains("HTTP: DENIED: the HTTP proxy answers 403 Access denied to POST /health; closest: CiliumNetworkPolicy shop/api-http rule spec.ingress[0] allows GET /health"),
        "{out}"
    );
    let (_, out, _) = trace(&[
        "--http-method",
        "POST",
        "--http-path",
        "/submit",
        "--http-header",
        "X-Token: s3cret",
    ]);
    assert!(out.contains("HTTP: ALLOWED"), "{out}");
    assert!(
        out.contains("[HTTP (GET /health; POST /submit header x-token: s3cret)]"),
        "{out}"
    );
    let (ok, _, err) = trace(&["--http-method", "GET", "--http-header", "nocolon"]);
    assert!(
        !ok && err.contains("header \"nocolon\" is not Name: value"),
        "{err}"
    );
    let (ok, _, err) = trace(&["--http-path", "/x"]);
    assert!(
        !ok && err.contains("required arguments were not provided"),
        "{err}"
    );
}
