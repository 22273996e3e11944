//! Shared fixtures: a small cluster and helpers to trace flows through it.

use enforcer::cluster::PodKey;
use enforcer::engine::trace::{Target, Trace, TraceRequest};
use enforcer::engine::{Engine, EngineConfig};
use enforcer::manifest::{self, Object};

/// Two namespaces (shop with team=a, ops with team=b), two nodes, pods on both.
pub const CLUSTER: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ops, labels: {team: b}}
---
apiVersion: v1
kind: Node
metadata: {name: n1, labels: {kubernetes.io/hostname: n1, zone: east}}
status: {addresses: [{type: InternalIP, address: 10.10.0.1}]}
---
apiVersion: v1
kind: Node
metadata: {name: n2, labels: {kubernetes.io/hostname: n2, zone: west}}
status: {addresses: [{type: InternalIP, address: 10.10.0.2}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web, tier: front}}
spec: {nodeName: n1}
status: {podIP: 10.0.1.1, podIPs: [{ip: 10.0.1.1}, {ip: "fd00::1:1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api, tier: back}}
spec:
  nodeName: n1
  containers:
  - name: api
    ports:
    - {name: http, containerPort: 8080}
    - {name: dns, containerPort: 5353, protocol: UDP}
status: {podIP: 10.0.1.2}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db, tier: back}}
spec:
  nodeName: n2
  containers:
  - name: db
    ports:
    - {name: http, containerPort: 9090}
status: {podIP: 10.0.2.1}
---
apiVersion: v1
kind: Pod
metadata: {name: monitor, namespace: ops, labels: {app: monitor}}
spec: {nodeName: n2, serviceAccountName: prometheus}
status: {podIP: 10.0.2.2}
"#;

/// An engine with [`CLUSTER`] and `extra` applied.
pub fn engine(extra: &str) -> Engine {
    let mut e = Engine::new(EngineConfig::default());
    apply(&mut e, CLUSTER);
    apply(&mut e, extra);
    e
}

/// Applies YAML, panicking on errors.
pub fn apply(e: &mut Engine, yaml: &str) -> enforcer::engine::Changes {
    let m = manifest::parse_str("test.yaml", yaml).unwrap_or_else(|err| panic!("{err}"));
    e.apply(m.into_objects())
        .unwrap_or_else(|err| panic!("{err}"))
}

/// Parses YAML objects.
pub fn objects(yaml: &str) -> Vec<Object> {
    manifest::parse_str("test.yaml", yaml)
        .unwrap_or_else(|err| panic!("{err}"))
        .objects
        .into_iter()
        .map(|l| l.object)
        .collect()
}

/// Parses `ns/name`, `node/NAME` or an IP.
pub fn target(s: &str) -> Target {
    if let Some(n) = s.strip_prefix("node/").or_else(|| s.strip_prefix("node:")) {
        return Target::Node(n.into());
    }
    if let Ok(ip) = s.parse() {
        return Target::Ip(ip);
    }
    let (ns, name) = s.split_once('/').unwrap_or(("default", s));
    Target::Pod(PodKey::new(ns, name))
}

/// Traces `from` → `to` on `proto`/`port` (proto: 6, 17, 132, 1, 58).
pub fn trace(e: &Engine, from: &str, to: &str, proto: u8, port: u16) -> Trace {
    let req = TraceRequest {
        from: target(from),
        to: target(to),
        protocol: proto,
        dport: port,
        reply: false,
    };
    e.trace(&req).unwrap_or_else(|err| panic!("{err}"))
}

/// The verdict and drop reason of a TCP flow.
pub fn tcp(e: &Engine, from: &str, to: &str, port: u16) -> (&'static str, Option<u8>) {
    let t = trace(e, from, to, 6, port);
    let verdict = if t.verdict == "ALLOWED" {
        "ALLOWED"
    } else {
        "DENIED"
    };
    (verdict, t.drop_reason)
}

/// Allowed.
pub const OK: (&str, Option<u8>) = ("ALLOWED", None);
/// Denied by default deny (133).
pub const DEFAULT_DENY: (&str, Option<u8>) = ("DENIED", Some(133));
/// Denied by a deny rule (181).
pub const DENY: (&str, Option<u8>) = ("DENIED", Some(181));

/// A CNP in `ns` named `name` with `spec` (indented by two spaces).
pub fn cnp(ns: &str, name: &str, spec: &str) -> String {
    format!(
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n{spec}"
    )
}

/// A CCNP named `name` with `spec`.
pub fn ccnp(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {{name: {name}}}\nspec:\n{spec}"
    )
}

/// A KNP in `ns` named `name` with `spec`.
pub fn knp(ns: &str, name: &str, spec: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n{spec}"
    )
}
