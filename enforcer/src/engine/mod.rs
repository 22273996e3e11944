//! The policy engine: a pure, incremental function from (endpoints, identities, policies)
//! to each endpoint's map state, plus the questions asked of it (`policy trace`, the
//! reachability matrix, the ipcache a node's datapath needs).
//!
//! Applying objects is atomic: conflicts are checked before anything changes. Changes are
//! incremental: a policy change recomputes only the endpoints its rules select (before or
//! after the change) and those whose peer selections changed because identities came or
//! went; a label change recomputes the endpoint and the endpoints whose selectors select
//! its old or new identity. Where only peer selections changed, just the entries of the
//! identities that came or went are recomputed; the rest of the map state is kept.

mod apply;
mod audit_mode;
mod compute;
mod delta;
mod deps;
mod dns_verdict;
mod effective;
mod entries;
mod fqdn;
mod hosts;
mod http_verdict;
#[cfg(test)]
mod incremental_tests;
mod ipcache;
pub mod matrix;
mod members;
mod named_ports;
mod partial;
mod patch;
mod recompute;
pub mod render;
mod selector_cache;
mod service_table;
mod subjects;
mod to_services;
pub mod trace;
mod trace_dns;
mod trace_http;
mod workloads;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub use apply::{ApplyError, Changes, ObjectKey};
pub use dns_verdict::DnsJudgement;
pub use hosts::HostEndpoint;
pub use http_verdict::{HttpJudgement, HttpPolicy, Side as HttpSide};
pub use ipcache::IpCacheEntry;

use self::compute::DerivedRules;
use self::deps::DepIndex;
use self::entries::NamedPorts;
use self::selector_cache::{PeerKey, SelectorCache};
use self::subjects::SubjectIndex;
use crate::cluster::{Namespace, Node, Pod, PodKey, WorkloadRef};
use crate::identity::{Identity, IdentityTable};
use crate::mapstate::EndpointPolicy;
use crate::net::Cidr;
use crate::policy::model::Policy;
use crate::policy::origin::PolicyRef;

/// Engine settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// Cluster name (the `io.cilium.k8s.policy.cluster` label).
    pub cluster_name: String,
    /// Node of pods without `spec.nodeName`.
    pub default_node: String,
    /// Let the local host reach endpoints under ingress default deny (Cilium's
    /// `allow-localhost=always`, the default under Kubernetes).
    pub allow_localhost: bool,
    /// The host firewall (`--enable-host-firewall`): `nodeSelector` rules select nodes'
    /// host endpoints. Off, as in Cilium: such rules then apply nowhere.
    pub host_firewall: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            cluster_name: "default".into(),
            default_node: "node-1".into(),
            allow_localhost: true,
            host_firewall: false,
        }
    }
}

/// An endpoint: a pod with its identity and computed policy.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The pod as applied.
    pub pod: Pod,
    /// The node it runs on.
    pub node: String,
    /// Its security identity.
    pub identity: u32,
    /// Its policy.
    pub policy: Arc<EndpointPolicy>,
    used_keys: Arc<[PeerKey]>,
    egress_named_ports: bool,
}

/// A node with its identity as seen from other nodes.
#[derive(Clone, Debug)]
pub struct NodeEntry {
    /// The node as applied.
    pub node: Node,
    /// Identity from other nodes' point of view (`remote-node` plus its labels).
    pub identity: u32,
}

/// The engine.
#[derive(Clone)]
pub struct Engine {
    config: EngineConfig,
    namespaces: BTreeMap<String, Namespace>,
    pods: BTreeMap<PodKey, Endpoint>,
    nodes: BTreeMap<String, NodeEntry>,
    policies: BTreeMap<Arc<PolicyRef>, Arc<Policy>>,
    /// The policies as the engine computes with them, where that differs from the policy
    /// as applied (see [`effective`]).
    effective: BTreeMap<Arc<PolicyRef>, Arc<Policy>>,
    /// Services and the addresses behind them, for `toServices`.
    services: service_table::ServiceTable,
    workloads: BTreeMap<WorkloadRef, Vec<PodKey>>,
    /// Every node's host endpoint, with the host firewall (see [`hosts`]).
    hosts: BTreeMap<String, HostEndpoint>,
    identities: IdentityTable,
    cidrs: BTreeMap<Cidr, (u32, usize)>,
    fqdn: fqdn::FqdnState,
    selectors: SelectorCache,
    subjects: SubjectIndex,
    deps: DepIndex,
    named_ports: NamedPorts,
    derived: DerivedRules,
    revision: u64,
}

impl Engine {
    /// An empty engine.
    pub fn new(config: EngineConfig) -> Self {
        let mut engine = Self {
            config,
            namespaces: BTreeMap::new(),
            pods: BTreeMap::new(),
            nodes: BTreeMap::new(),
            policies: BTreeMap::new(),
            effective: BTreeMap::new(),
            services: service_table::ServiceTable::default(),
            workloads: BTreeMap::new(),
            hosts: BTreeMap::new(),
            identities: IdentityTable::new(),
            cidrs: BTreeMap::new(),
            fqdn: fqdn::FqdnState::default(),
            selectors: SelectorCache::default(),
            subjects: SubjectIndex::default(),
            deps: DepIndex::default(),
            named_ports: NamedPorts::new(),
            derived: DerivedRules::default(),
            revision: 0,
        };
        engine.refresh_hosts();
        engine
    }

    /// The settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Incremented by every apply or delete that changed something.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Every endpoint, by pod.
    pub fn endpoints(&self) -> impl Iterator<Item = &Endpoint> {
        self.pods.values()
    }

    /// One endpoint.
    pub fn endpoint(&self, pod: &PodKey) -> Option<&Endpoint> {
        self.pods.get(pod)
    }

    /// Every node that was applied.
    pub fn nodes(&self) -> impl Iterator<Item = &NodeEntry> {
        self.nodes.values()
    }

    /// Every node name known: applied nodes and nodes pods refer to.
    pub fn node_names(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = self.nodes.keys().cloned().collect();
        names.extend(self.pods.values().map(|e| e.node.clone()));
        names
    }

    /// Every namespace: applied ones and the namespaces of pods.
    pub fn namespace_names(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = self.namespaces.keys().cloned().collect();
        names.extend(self.pods.keys().map(|k| k.namespace.clone()));
        names
    }

    /// Every policy.
    pub fn policies(&self) -> impl Iterator<Item = &Arc<Policy>> {
        self.policies.values()
    }

    /// Every identity.
    pub fn identities(&self) -> impl Iterator<Item = &Arc<Identity>> {
        self.identities.iter()
    }

    /// One identity.
    pub fn identity(&self, id: u32) -> Option<&Arc<Identity>> {
        self.identities.get(id)
    }

    /// The identity of node `name` as seen from node `view`: the host identity on the node
    /// itself, its remote-node identity elsewhere.
    pub fn node_identity(&self, name: &str, view: &str) -> u32 {
        if name == view {
            return crate::identity::HOST;
        }
        self.nodes
            .get(name)
            .map_or(crate::identity::REMOTE_NODE, |n| n.identity)
    }

    /// Endpoints whose identity is `id`.
    pub fn endpoints_with_identity(&self, id: u32) -> impl Iterator<Item = &Endpoint> {
        self.pods.values().filter(move |e| e.identity == id)
    }

    /// Sets the identity numbers the cluster allocated: identities allocated from now on
    /// follow them (see [`crate::identity::ClusterIds`]). Identities already in use keep
    /// their numbers; [`Engine::unconfirmed_identities`] lists those that disagree.
    pub fn set_cluster_ids(&mut self, ids: Arc<crate::identity::ClusterIds>) {
        self.identities.set_cluster_ids(ids);
    }

    /// Pod identities in use whose number the cluster has not confirmed.
    pub fn unconfirmed_identities(&self) -> Vec<crate::identity::Unconfirmed> {
        self.identities.unconfirmed()
    }
}
