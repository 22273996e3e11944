//! Tests: an engine kept up to date through sequences of relabels (with pod ports, nodes,
//! namespace labels, pods and policies coming and going in between) is in the same state
//! as an engine that applies the final objects at once: endpoints (identity, node, map
//! state, dependencies), identities, named ports, the selector cache, the dependency index
//! and every node's ipcache.
//!
//! The sequences are drawn from seeded generators (`lab::prng::Rng`); a failure names the
//! seed and the step.

use std::collections::BTreeMap;
use std::sync::Arc;

use lab::prng::Rng;

use super::deps::DepIndex;
use super::entries::NamedPorts;
use super::selector_cache::{PeerKey, Selection};
use super::{Engine, EngineConfig, IpCacheEntry, ObjectKey};
use crate::cluster::PodKey;
use crate::identity::Identity;
use crate::manifest;
use crate::mapstate::EndpointPolicy;
use crate::net::Cidr;

/// Namespace shop and the nodes; namespace ops is an object of its own (its labels change).
const CLUSTER: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {team: a}}\n---\napiVersion: v1\nkind: Node\nmetadata: {name: n1, labels: {zone: east}}\nstatus: {addresses: [{type: InternalIP, address: 10.10.0.1}]}\n---\napiVersion: v1\nkind: Node\nmetadata: {name: n2, labels: {zone: west}}\nstatus: {addresses: [{type: InternalIP, address: 10.10.0.2}]}\n";

/// Policies covering what a peer change can touch: endpoint, entity (`cluster`, `all`),
/// CIDR and namespace-selector peers, ingress and egress named ports, port ranges, deny
/// rules (one for every peer), `fromRequires`, a cluster-wide policy, and one in audit
/// mode (its map state beside the enforced one is patched too).
const POLICIES: &[(&str, &str)] = &[
    (
        "shop/audited",
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: audited, namespace: shop, annotations: {observe.io/mode: audit}}\nspec:\n  endpointSelector: {matchLabels: {app: db}}\n  ingressDeny:\n  - fromEndpoints: [{matchLabels: {tier: front}}]\n  egress:\n  - toEndpoints: [{matchLabels: {app: web}}]\n    toPorts: [{ports: [{port: \"443\", protocol: TCP}]}]\n",
    ),
    (
        "shop/db-in",
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: db-in, namespace: shop}\nspec:\n  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: web}}]\n    toPorts: [{ports: [{port: \"9090\", protocol: TCP}]}]\n  - fromEndpoints: [{matchLabels: {tier: front}}]\n    toPorts: [{ports: [{port: http}]}]\n",
    ),
    (
        "shop/egress",
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: egress, namespace: shop}\nspec:\n  endpointSelector: {}\n  egress:\n  - toEndpoints: [{}]\n    toPorts: [{ports: [{port: http}]}]\n  - toCIDRSet: [{cidr: 203.0.113.0/24, except: [203.0.113.0/28]}]\n",
    ),
    (
        "ops/cluster",
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: cluster, namespace: ops}\nspec:\n  endpointSelector: {matchLabels: {app: monitor}}\n  egress:\n  - toEntities: [cluster]\n    toPorts: [{ports: [{port: \"8000\", endPort: 8100, protocol: TCP}]}]\n  - toEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: shop}}]\n    toPorts: [{ports: [{port: dns, protocol: UDP}]}]\n  ingress:\n  - fromEntities: [world, host]\n",
    ),
    (
        "shop/wild",
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: wild, namespace: shop}\nspec:\n  endpointSelector: {matchLabels: {app: api}}\n  ingressDeny:\n  - fromEntities: [all]\n    toPorts: [{ports: [{port: \"22\", protocol: TCP}]}]\n  ingress:\n  - fromEndpoints: [{}]\n  - fromEndpoints: [{matchLabels: {tier: back}}]\n    toPorts: [{ports: [{port: \"22\", protocol: TCP}]}]\n",
    ),
    (
        "shop/requires",
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: requires, namespace: shop}\nspec:\n  endpointSelector: {matchLabels: {app: web}}\n  ingress:\n  - fromRequires: [{matchLabels: {tier: front}}]\n    fromEndpoints: [{matchLabels: {app: api}}, {matchLabels: {app: new}}]\n",
    ),
    (
        "ops/knp",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: knp, namespace: ops}\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {team: a}}\n      podSelector: {matchLabels: {tier: front}}\n    ports: [{port: 8080}]\n",
    ),
    (
        "deny-new",
        "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: deny-new}\nspec:\n  endpointSelector: {matchLabels: {tier: back}}\n  ingressDeny:\n  - fromEndpoints: [{matchLabels: {app: new}}]\n    toPorts: [{ports: [{port: \"9090\", protocol: TCP}]}]\n  egressDeny:\n  - toEndpoints: [{matchLabels: {app: new}}]\n",
    ),
];

/// Pods: namespace, name, address.
const PODS: &[(&str, &str, &str)] = &[
    ("shop", "web", "10.0.1.1"),
    ("shop", "web-2", "10.0.1.2"),
    ("shop", "api", "10.0.1.3"),
    ("shop", "db", "10.0.1.4"),
    ("ops", "monitor", "10.0.2.1"),
    ("ops", "worker-1", "10.0.2.2"),
    ("ops", "worker-2", "10.0.2.3"),
];

const APPS: &[&str] = &["web", "api", "db", "monitor", "worker", "new"];
const TIERS: &[&str] = &["front", "back", ""];
const PORTS: &[&str] = &[
    "",
    "{name: http, containerPort: 8080}",
    "{name: http, containerPort: 9090}",
    "{name: dns, containerPort: 53, protocol: UDP}",
];

fn pod(rng: &mut Rng, (ns, name, ip): (&str, &str, &str)) -> String {
    let tier = match rng.pick(TIERS) {
        "" => String::new(),
        t => format!(", tier: {t}"),
    };
    let ports = match rng.pick(PORTS) {
        "" => String::new(),
        p => format!(", containers: [{{name: c, ports: [{p}]}}]"),
    };
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {ns}, labels: {{app: {}{tier}}}}}\nspec: {{nodeName: {}{ports}}}\nstatus: {{podIP: {ip}}}\n",
        rng.pick(APPS),
        rng.pick(&["n1", "n2"]),
    )
}

/// Namespace ops with label `team`; team `a-audit` is team a with the namespace in audit
/// mode (its policies' map state moves beside the enforced one).
fn namespace(team: &str) -> String {
    let (team, mode) = match team.strip_suffix("-audit") {
        Some(team) => (team, "audit"),
        None => (team, "enforce"),
    };
    format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: ops, labels: {{team: {team}}}, annotations: {{observe.io/mode: {mode}}}}}\n"
    )
}

fn apply(engine: &mut Engine, yaml: &str) -> super::Changes {
    let parsed = manifest::parse_str("test.yaml", yaml).unwrap_or_else(|e| panic!("{e}"));
    engine
        .apply(parsed.into_objects())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The objects currently applied, by name, and the engine that applied them one change at
/// a time.
struct Run {
    objects: BTreeMap<String, String>,
    engine: Engine,
}

impl Run {
    fn new(rng: &mut Rng) -> Self {
        let mut objects = BTreeMap::from([
            ("cluster".to_string(), CLUSTER.to_string()),
            ("namespace ops".to_string(), namespace("b")),
        ]);
        for &p in PODS {
            objects.insert(format!("pod {}/{}", p.0, p.1), pod(rng, p));
        }
        for (name, yaml) in POLICIES {
            objects.insert(format!("policy {name}"), yaml.to_string());
        }
        let mut engine = Engine::new(EngineConfig::default());
        for yaml in objects.values() {
            apply(&mut engine, yaml);
        }
        Self { objects, engine }
    }

    fn set(&mut self, name: String, yaml: String) {
        apply(&mut self.engine, &yaml);
        self.objects.insert(name, yaml);
    }

    fn delete(&mut self, name: &str, key: ObjectKey) {
        self.engine.delete(&[key]);
        self.objects.remove(name);
    }

    /// One change: mostly a relabel (labels, ports, node), sometimes something else.
    fn step(&mut self, rng: &mut Rng) {
        let p = PODS[rng.below(PODS.len())];
        let pod_name = format!("pod {}/{}", p.0, p.1);
        match rng.below(10) {
            0 => self.set(
                "namespace ops".into(),
                namespace(rng.pick(&["a", "b", "a-audit"])),
            ),
            1 if self.objects.contains_key(&pod_name) => {
                self.delete(&pod_name, ObjectKey::Pod(PodKey::new(p.0, p.1)))
            }
            2 => {
                let (name, yaml) = POLICIES[rng.below(POLICIES.len())];
                let key = format!("policy {name}");
                if self.objects.contains_key(&key) {
                    let origin = policy_ref(&self.engine, name);
                    self.delete(&key, ObjectKey::Policy(origin));
                } else {
                    self.set(key, yaml.to_string());
                }
            }
            _ => self.set(pod_name, pod(rng, p)),
        }
    }

    /// An engine that applied the current objects at once.
    fn fresh(&self) -> Engine {
        let all: Vec<&str> = self.objects.values().map(String::as_str).collect();
        let mut engine = Engine::new(EngineConfig::default());
        apply(&mut engine, &all.join("---\n"));
        engine
    }
}

fn policy_ref(engine: &Engine, name: &str) -> crate::policy::origin::PolicyRef {
    let (namespace, name) = name.split_once('/').unwrap_or(("", name));
    let found = engine
        .policies()
        .find(|p| p.origin.name == name && p.origin.namespace == namespace);
    found.map(|p| (*p.origin).clone()).expect("applied policy")
}

/// An endpoint as compared: key, identity, node, policy, and what the policy used.
type EndpointState = (
    PodKey,
    u32,
    String,
    Arc<EndpointPolicy>,
    Arc<[PeerKey]>,
    bool,
);

/// Everything observable about an engine's state, in a comparable form.
#[derive(Debug, PartialEq)]
struct State {
    endpoints: Vec<EndpointState>,
    identities: Vec<Identity>,
    selections: Vec<(PeerKey, Selection)>,
    ipcache: Vec<Vec<IpCacheEntry>>,
    deps: DepIndex,
    named_ports: NamedPorts,
    cidrs: BTreeMap<Cidr, (u32, usize)>,
}

impl State {
    fn of(e: &Engine) -> Self {
        let endpoints = e.pods.iter().map(|(k, ep)| {
            let used = (ep.used_keys.clone(), ep.egress_named_ports);
            (
                k.clone(),
                ep.identity,
                ep.node.clone(),
                ep.policy.clone(),
                used.0,
                used.1,
            )
        });
        let mut selections: Vec<_> = e.selectors.entries().collect();
        selections.sort();
        Self {
            endpoints: endpoints.collect(),
            identities: e.identities().map(|i| (**i).clone()).collect(),
            selections,
            ipcache: ["n1", "n2"].iter().map(|n| e.ipcache(n)).collect(),
            deps: e.deps.clone(),
            named_ports: e.named_ports.clone(),
            cidrs: e.cidrs.clone(),
        }
    }

    /// Asserts equality part by part, endpoint by endpoint, so a failure shows the first
    /// difference rather than two whole states.
    fn assert_eq(&self, fresh: &Self, context: &dyn Fn() -> String) {
        for (a, b) in self.endpoints.iter().zip(&fresh.endpoints) {
            assert_eq!(a, b, "endpoint {}: {}", a.0, context());
        }
        let keys = |s: &Self| s.endpoints.iter().map(|e| e.0.clone()).collect::<Vec<_>>();
        assert_eq!(keys(self), keys(fresh), "endpoints: {}", context());
        assert_eq!(
            self.identities,
            fresh.identities,
            "identities: {}",
            context()
        );
        assert_eq!(
            self.selections,
            fresh.selections,
            "selector cache: {}",
            context()
        );
        assert_eq!(self.ipcache, fresh.ipcache, "ipcache: {}", context());
        assert_eq!(self.deps, fresh.deps, "dependencies: {}", context());
        assert_eq!(
            self.named_ports,
            fresh.named_ports,
            "named ports: {}",
            context()
        );
        assert_eq!(self.cidrs, fresh.cidrs, "CIDR identities: {}", context());
    }
}

fn check_sequences(seeds: std::ops::Range<u64>, steps: usize) {
    for seed in seeds {
        let mut rng = Rng::seeded(seed);
        let mut run = Run::new(&mut rng);
        for step in 0..steps {
            run.step(&mut rng);
            let context = || {
                let objects: Vec<&str> = run.objects.values().map(String::as_str).collect();
                format!(
                    "seed {seed}, step {step}, objects:\n{}",
                    objects.join("---\n")
                )
            };
            State::of(&run.engine).assert_eq(&State::of(&run.fresh()), &context);
        }
    }
}

#[test]
fn relabel_sequences_end_in_the_state_of_a_fresh_apply() {
    check_sequences(0..12, 25);
}

#[test]
fn a_relabel_patches_the_peers_and_recomputes_the_pod() {
    let mut rng = Rng::seeded(7);
    let mut run = Run::new(&mut rng);
    // A label set no other pod has: a new identity, which `shop/egress` selects for every
    // endpoint in shop.
    let relabel = "apiVersion: v1\nkind: Pod\nmetadata: {name: web-2, namespace: shop, labels: {app: unique, tier: front}}\nspec: {nodeName: n1}\nstatus: {podIP: 10.0.1.2}\n";
    let changes = apply(&mut run.engine, relabel);
    run.objects
        .insert("pod shop/web-2".into(), relabel.to_string());
    assert!(changes.patched >= 3, "{changes:?}");
    assert_eq!(changes.recomputed - changes.patched, 1, "{changes:?}");
    State::of(&run.engine).assert_eq(&State::of(&run.fresh()), &String::new);
}
