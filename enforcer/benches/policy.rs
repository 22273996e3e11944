//! Policy engine benchmark: compile 1,000 policies over 5,000 pods (full and incremental),
//! and trace latency. Plain `std::time`, medians over repeated runs; `cargo xtask bench`
//! runs it in release mode.
//!
//! Workload: 50 namespaces × 100 pods (10 apps × 10 replicas, so 500 pod identities);
//! per namespace 19 namespaced policies (CNPs with endpoint, entity, CIDR and port-range
//! peers, and KNPs with namespace selectors), plus 50 cluster-wide policies with deny
//! rules: 1,000 policies in all.

use std::time::{Duration, Instant};

use enforcer::cluster::PodKey;
use enforcer::engine::trace::{Target, TraceRequest};
use enforcer::engine::{Engine, EngineConfig};
use enforcer::manifest::{self, Object};

const NAMESPACES: usize = 50;
const APPS: usize = 10;
const REPLICAS: usize = 10;
const CCNPS: usize = 50;

fn cluster_yaml() -> String {
    let mut y = String::new();
    for n in 0..NAMESPACES {
        y.push_str(&format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: ns{n}, labels: {{team: t{}}}}}\n---\n", n % 5));
        for a in 0..APPS {
            for r in 0..REPLICAS {
                let ip = format!("10.{}.{}.{}", n, a, r + 1);
                y.push_str(&format!(
                    "apiVersion: v1\nkind: Pod\nmetadata: {{name: app{a}-{r}, namespace: ns{n}, labels: {{app: app{a}, tier: t{}, pod-template-hash: h{r}}}}}\nspec: {{nodeName: node{}, containers: [{{name: c, ports: [{{name: http, containerPort: {}}}]}}]}}\nstatus: {{podIP: {ip}}}\n---\n",
                    a % 3,
                    n % 4,
                    8000 + a
                ));
            }
        }
    }
    y
}

fn cnp(n: usize, i: usize, port: u16) -> String {
    let (a, b) = (i % APPS, (i + 1) % APPS);
    match i % 4 {
        0 => format!(
            "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: p{i}, namespace: ns{n}}}\nspec:\n  endpointSelector: {{matchLabels: {{app: app{a}}}}}\n  ingress:\n  - fromEndpoints: [{{matchLabels: {{app: app{b}}}}}]\n    toPorts: [{{ports: [{{port: \"{port}\", protocol: TCP}}]}}]\n  egress:\n  - toEndpoints: [{{matchLabels: {{tier: t1}}}}]\n    toPorts: [{{ports: [{{port: http}}]}}]\n"
        ),
        1 => format!(
            "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: p{i}, namespace: ns{n}}}\nspec:\n  endpointSelector: {{matchLabels: {{app: app{a}}}}}\n  egress:\n  - toCIDRSet: [{{cidr: 203.0.{}.0/24, except: [203.0.{}.128/25]}}]\n    toPorts: [{{ports: [{{port: \"443\", protocol: TCP}}]}}]\n  - toEntities: [cluster]\n    toPorts: [{{ports: [{{port: \"{port}\", endPort: {}, protocol: TCP}}]}}]\n",
            n % 200,
            n % 200,
            port + 10
        ),
        2 => format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p{i}, namespace: ns{n}}}\nspec:\n  podSelector: {{matchLabels: {{app: app{a}}}}}\n  ingress:\n  - from:\n    - namespaceSelector: {{matchLabels: {{team: t{}}}}}\n      podSelector: {{matchLabels: {{tier: t0}}}}\n    ports: [{{port: {port}}}]\n",
            i % 5
        ),
        _ => format!(
            "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: p{i}, namespace: ns{n}}}\nspec:\n  endpointSelector: {{matchLabels: {{tier: t{}}}}}\n  ingress:\n  - fromEntities: [world]\n    toPorts: [{{ports: [{{port: \"{port}\", protocol: TCP}}]}}]\n  - icmps: [{{fields: [{{type: 8}}]}}]\n",
            i % 3
        ),
    }
}

fn ccnp(i: usize) -> String {
    format!(
        "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {{name: cw{i}}}\nspec:\n  endpointSelector: {{matchLabels: {{app: app{}}}}}\n  ingressDeny:\n  - fromEndpoints: [{{matchLabels: {{app: app{}, io.kubernetes.pod.namespace: ns{}}}}}]\n    toPorts: [{{ports: [{{port: \"{}\", protocol: TCP}}]}}]\n",
        i % APPS,
        (i + 3) % APPS,
        i % NAMESPACES,
        8000 + i % 50
    )
}

fn policies_yaml() -> String {
    let per_ns = (1000 - CCNPS) / NAMESPACES;
    let mut docs: Vec<String> = (0..NAMESPACES)
        .flat_map(|n| (0..per_ns).map(move |i| cnp(n, i, 8000 + i as u16)))
        .collect();
    docs.extend((0..CCNPS).map(ccnp));
    docs.join("---\n")
}

fn parse(yaml: &str) -> Vec<Object> {
    manifest::parse_str("bench.yaml", yaml)
        .expect("generated manifests are valid")
        .objects
        .into_iter()
        .map(|l| l.object)
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn main() {
    let (cluster, policies) = (cluster_yaml(), policies_yaml());
    let (cluster_objs, t_parse_cluster) = time(|| parse(&cluster));
    let (policy_objs, t_parse_policies) = time(|| parse(&policies));
    let pods = cluster_objs
        .iter()
        .filter(|o| matches!(o, Object::Pod(_)))
        .count();
    let npol = policy_objs.len();
    let mut fulls = Vec::new();
    let mut engine = Engine::new(EngineConfig::default());
    for _ in 0..3 {
        let mut e = Engine::new(EngineConfig::default());
        let all = cluster_objs
            .iter()
            .cloned()
            .chain(policy_objs.iter().cloned());
        let (changes, t) = time(|| e.apply(all).expect("apply"));
        assert_eq!(changes.updated.len(), pods);
        fulls.push(t);
        engine = e;
    }
    let entries: usize = engine
        .endpoints()
        .map(|e| e.policy.ingress.state.entries.len() + e.policy.egress.state.entries.len())
        .sum();

    let mut incremental = Vec::new();
    let mut recomputed = 0;
    for round in 0..21u16 {
        let changed = parse(&cnp(7, 4, 9000 + round));
        let (changes, t) = time(|| engine.apply(changed).expect("apply"));
        recomputed = changes.recomputed;
        incremental.push(t);
    }
    let mut relabel = Vec::new();
    let (mut relabelled, mut patched) = (0, 0);
    for round in 0..21 {
        let pod = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: app3-3, namespace: ns9, labels: {{app: app{}, tier: t0}}}}\nspec: {{nodeName: node1}}\nstatus: {{podIP: 10.9.3.4}}\n",
            3 + round % 2
        );
        let objs = parse(&pod);
        let (changes, t) = time(|| engine.apply(objs).expect("apply"));
        (relabelled, patched) = (changes.recomputed, changes.patched);
        relabel.push(t);
    }
    let mut traces = Vec::new();
    for i in 0..2000usize {
        let from = PodKey::new(
            &format!("ns{}", i % NAMESPACES),
            &format!("app{}-{}", i % APPS, i % REPLICAS),
        );
        let to = PodKey::new(
            &format!("ns{}", (i * 7) % NAMESPACES),
            &format!("app{}-{}", (i * 3) % APPS, (i * 5) % REPLICAS),
        );
        let req = TraceRequest {
            from: Target::Pod(from),
            to: Target::Pod(to),
            protocol: 6,
            dport: 8000 + (i % 20) as u16,
            reply: false,
        };
        traces.push(time(|| engine.trace(&req).expect("trace")).1);
    }
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
    println!(
        "policy engine benchmark ({pods} pods, {npol} policies, {} identities, {entries} map-state entries)",
        engine.identities().count()
    );
    println!(
        "  parse manifests (YAML)        cluster {}, policies {}",
        ms(t_parse_cluster),
        ms(t_parse_policies)
    );
    println!(
        "  full compile (apply all)      {} (median of {})",
        ms(median(fulls.clone())),
        fulls.len()
    );
    println!(
        "  one policy changed            {} (median of {}; {recomputed} endpoints recomputed)",
        ms(median(incremental.clone())),
        incremental.len()
    );
    println!(
        "  one pod relabelled            {} (median of {}; {relabelled} endpoints recomputed, {patched} of them only for the identities that came or went)",
        ms(median(relabel.clone())),
        relabel.len()
    );
    println!(
        "  policy trace                  {} (median of {})",
        ms(median(traces.clone())),
        traces.len()
    );
}
