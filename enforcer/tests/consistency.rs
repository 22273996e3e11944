//! Property test: for random policies and random flows, the verdict the map state gives
//! (the datapath's two-lookup decision after precedence resolution) equals the verdict of
//! evaluating the rules directly (deny if any deny rule matches; else allow if any allow
//! rule matches, default deny is off, or the local host exception applies; else 133).
//!
//! The seeded generator (`lab::prng::Rng`) keeps the test reproducible; a failure prints
//! the seed and the generated manifests.

use enforcer::cluster::PodKey;
use enforcer::engine::trace::{SideTrace, Target, TraceRequest};
use enforcer::engine::{Engine, EngineConfig};
use enforcer::manifest;
use lab::prng::Rng;

const CLUSTER: &str = include_str!("golden/_cluster.yaml");
const PODS: &[&str] = &["shop/web", "shop/api", "ops/monitor"];
const EXTERNAL: &[&str] = &[
    "203.0.113.10",
    "203.0.113.200",
    "198.51.100.7",
    "10.99.0.1",
    "node/n1",
    "node/n2",
];
const PORTS: &[u16] = &[22, 53, 80, 443, 1023, 1024, 8080, 8085, 8088, 9090];

fn peer(rng: &mut Rng, ingress: bool) -> String {
    let f = if ingress { "from" } else { "to" };
    match rng.below(7) {
        0 => format!(
            "{f}Endpoints: [{{matchLabels: {{app: {}}}}}]",
            rng.pick(&["web", "api", "monitor"])
        ),
        1 => format!("{f}Endpoints: [{{}}]"),
        2 => format!(
            "{f}Entities: [{}]",
            rng.pick(&["world", "cluster", "host", "remote-node", "all"])
        ),
        3 => format!("{f}CIDRSet: [{{cidr: 203.0.113.0/24, except: [203.0.113.128/25]}}]"),
        4 => format!(
            "{f}CIDR: [{}]",
            rng.pick(&["10.0.0.0/8", "198.51.100.0/24", "0.0.0.0/0"])
        ),
        5 => format!("{f}Endpoints: [{{matchLabels: {{io.kubernetes.pod.namespace: ops}}}}]"),
        _ => String::new(),
    }
}

fn ports(rng: &mut Rng) -> String {
    match rng.below(6) {
        0 => String::new(),
        5 => "toPorts: [{ports: [{protocol: VRRP}]}]".into(),
        1 => format!(
            "toPorts: [{{ports: [{{port: \"{}\", protocol: TCP}}]}}]",
            PORTS[rng.below(PORTS.len())]
        ),
        2 => "toPorts: [{ports: [{port: \"8080\", endPort: 8090, protocol: TCP}]}]".into(),
        3 => "toPorts: [{ports: [{port: http}]}]".into(),
        _ => format!(
            "toPorts: [{{ports: [{{port: \"{}\", protocol: ANY}}]}}]",
            PORTS[rng.below(PORTS.len())]
        ),
    }
}

fn section(rng: &mut Rng, ingress: bool) -> String {
    let parts: Vec<String> = [peer(rng, ingress), ports(rng)]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    format!("  - {{{}}}\n", parts.join(", "))
}

fn policy(rng: &mut Rng, i: usize) -> String {
    let (kind, ns) = if rng.chance(30) {
        ("CiliumClusterwideNetworkPolicy", String::new())
    } else {
        (
            "CiliumNetworkPolicy",
            format!(", namespace: {}", rng.pick(&["shop", "ops"])),
        )
    };
    let subject = match rng.below(3) {
        0 => "{}".to_string(),
        _ => format!(
            "{{matchLabels: {{app: {}}}}}",
            rng.pick(&["web", "api", "monitor"])
        ),
    };
    let mut spec = format!("  endpointSelector: {subject}\n");
    if rng.chance(15) {
        spec.push_str("  enableDefaultDeny: {ingress: false, egress: false}\n");
    }
    for (field, ingress) in [
        ("ingress", true),
        ("ingressDeny", true),
        ("egress", false),
        ("egressDeny", false),
    ] {
        let deny = field.ends_with("Deny");
        if rng.chance(if deny { 40 } else { 50 }) {
            spec.push_str(&format!("  {field}:\n"));
            for _ in 0..=rng.below(2) {
                let s = section(rng, ingress);
                // Deny sections need a peer or ports to be meaningful; `{}` is fine too.
                spec.push_str(&s);
            }
        }
    }
    if !spec.contains("gress") {
        spec.push_str("  ingress:\n  - {}\n");
    }
    format!("apiVersion: cilium.io/v2\nkind: {kind}\nmetadata: {{name: p{i}{ns}}}\nspec:\n{spec}")
}

fn target(s: &str) -> Target {
    if let Some(n) = s.strip_prefix("node/") {
        return Target::Node(n.into());
    }
    if let Ok(ip) = s.parse() {
        return Target::Ip(ip);
    }
    let (ns, name) = s.split_once('/').unwrap();
    Target::Pod(PodKey::new(ns, name))
}

/// The verdict rule-level evaluation gives for one side.
fn rule_level(side: &SideTrace, host_exception: bool) -> Option<u8> {
    if !side.enforced {
        return None;
    }
    if !side.denying_rules.is_empty() {
        return Some(181);
    }
    if !side.matched_rules.is_empty() || !side.default_deny || host_exception {
        return None;
    }
    Some(133)
}

#[test]
fn map_state_decisions_equal_rule_level_evaluation() {
    let (mut checked, mut default_denied, mut denied) = (0, 0, 0);
    for seed in 1..=150u64 {
        let mut rng = Rng::seeded(seed);
        let policies: Vec<String> = (0..1 + rng.below(4)).map(|i| policy(&mut rng, i)).collect();
        let yaml = format!("{CLUSTER}\n---\n{}", policies.join("\n---\n"));
        let parsed = match manifest::parse_str("gen.yaml", &yaml) {
            Ok(p) => p,
            // Some generated combinations are invalid (e.g. empty rule lists): skip them.
            Err(_) => continue,
        };
        let mut engine = Engine::new(EngineConfig::default());
        engine.apply(parsed.into_objects()).unwrap();
        for _ in 0..40 {
            let from = if rng.chance(75) {
                rng.pick(PODS)
            } else {
                rng.pick(EXTERNAL)
            };
            let to = if rng.chance(75) {
                rng.pick(PODS)
            } else {
                rng.pick(EXTERNAL)
            };
            let (protocol, dport) = match rng.below(7) {
                0 => (17, PORTS[rng.below(PORTS.len())]),
                1 => (1, 8),
                2 => (112, 0),
                _ => (6, PORTS[rng.below(PORTS.len())]),
            };
            let req = TraceRequest {
                from: target(from),
                to: target(to),
                protocol,
                dport,
                reply: false,
            };
            let t = engine.trace(&req).unwrap();
            let host = t.ingress.peer_identity == 1;
            let expected = rule_level(&t.egress, false).or(rule_level(&t.ingress, host));
            assert_eq!(
                t.drop_reason,
                expected,
                "seed {seed}: {from} -> {to} proto {protocol} port {dport}\n{}\n{t:#?}",
                policies.join("\n---\n")
            );
            checked += 1;
            default_denied += usize::from(t.drop_reason == Some(133));
            denied += usize::from(t.drop_reason == Some(181));
        }
    }
    assert!(checked > 3000, "only {checked} flows checked");
    // The generator must exercise every outcome, or the test proves little.
    assert!(
        default_denied > checked / 10 && denied > checked / 50,
        "{checked} flows: {default_denied} x 133, {denied} x 181"
    );
}
