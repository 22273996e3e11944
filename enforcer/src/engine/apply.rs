//! Applying and deleting objects, and what each change invalidates.
//!
//! Each change records what it invalidates in a [`Work`] list: endpoints whose identity,
//! ports or selecting rules changed, selector-cache keys whose selections changed and the
//! identities that came or went, whether named ports changed. `Engine::finish` (in
//! `recompute`) turns that into the endpoints to recompute, recomputes exactly those, and
//! reports which endpoint policies changed.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use super::fqdn::policy_fqdns;
use super::selector_cache::PeerKey;
use super::{Endpoint, Engine, NodeEntry};
use crate::cluster::{Namespace, Node, Pod, PodKey, WorkloadRef};
use crate::identity::{Scope, cidr_labels, node_labels, pod_labels};
use crate::manifest::Object;
use crate::net::Cidr;
use crate::policy::model::{Peer, Peers, Policy};
use crate::policy::origin::PolicyRef;

/// Names an object for deletion.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ObjectKey {
    /// A namespace.
    Namespace(String),
    /// A pod.
    Pod(PodKey),
    /// A node.
    Node(String),
    /// A policy.
    Policy(PolicyRef),
    /// A workload (deleting it deletes its pods).
    Workload(WorkloadRef),
    /// A Service (`namespace/name`).
    Service(PodKey),
    /// An Endpoints (`namespace/name`).
    Endpoints(PodKey),
    /// An EndpointSlice (`namespace/name`).
    EndpointSlice(PodKey),
    /// A ServiceAccount (`namespace/name`).
    ServiceAccount(PodKey),
}

impl ObjectKey {
    /// The key of an object.
    pub fn of(object: &Object) -> Self {
        match object {
            Object::Namespace(n) => Self::Namespace(n.name.clone()),
            Object::Pod(p) => Self::Pod(p.key.clone()),
            Object::Node(n) => Self::Node(n.name.clone()),
            Object::Policy(p) => Self::Policy((*p.origin).clone()),
            Object::Workload(w) => Self::Workload(w.key.clone()),
            Object::Service(s) => Self::Service(PodKey::new(&s.namespace, &s.name)),
            Object::Endpoints(e) => Self::Endpoints(PodKey::new(&e.namespace, &e.name)),
            Object::EndpointSlice(s) => Self::EndpointSlice(PodKey::new(&s.namespace, &s.name)),
            Object::ServiceAccount(s) => Self::ServiceAccount(PodKey::new(&s.namespace, &s.name)),
        }
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Namespace(n) => write!(f, "Namespace {n}"),
            Self::Pod(p) => write!(f, "Pod {p}"),
            Self::Node(n) => write!(f, "Node {n}"),
            Self::Policy(p) => write!(f, "{p}"),
            Self::Workload(w) => write!(f, "{w}"),
            Self::Service(s) => write!(f, "Service {s}"),
            Self::Endpoints(e) => write!(f, "Endpoints {e}"),
            Self::EndpointSlice(s) => write!(f, "EndpointSlice {s}"),
            Self::ServiceAccount(s) => write!(f, "ServiceAccount {s}"),
        }
    }
}

/// Why objects could not be applied (nothing changed).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// Two objects claim the same address.
    #[error("{ip} is claimed by both {first} and {second}")]
    AddressConflict {
        /// The address.
        ip: IpAddr,
        /// One claimant.
        first: String,
        /// The other.
        second: String,
    },
    /// Two owners (a written Pod, workloads) claim the same pod name.
    #[error("pod {pod} is claimed by both {first} and {second}")]
    PodNameConflict {
        /// The pod.
        pod: PodKey,
        /// One claimant.
        first: String,
        /// The other.
        second: String,
    },
    /// An identity scope is full.
    #[error("no free identity left for {what}")]
    IdentitiesExhausted {
        /// What needed identities.
        what: String,
    },
}

/// What an apply or delete changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Endpoints added, or whose identity or policy changed.
    pub updated: BTreeSet<PodKey>,
    /// Endpoints removed.
    pub removed: BTreeSet<PodKey>,
    /// The ipcache changed (addresses, node identities or CIDR identities).
    pub ipcache: bool,
    /// How many endpoint policies were recomputed (a measure of incrementality).
    pub recomputed: usize,
    /// Of those, how many only for the peer identities that came or went: the rest of
    /// their map state was kept.
    pub patched: usize,
    /// Nodes whose host endpoint's policy changed (host firewall).
    pub hosts: Vec<String>,
}

impl Changes {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.updated.is_empty() && self.removed.is_empty() && !self.ipcache && self.hosts.is_empty()
    }
}

#[derive(Default)]
pub(super) struct Work {
    /// Endpoints to recompute in full (their identity, ports or selecting rules changed).
    pub(super) dirty: BTreeSet<PodKey>,
    /// Endpoints new or with a new identity, address or node: reported as updated even if
    /// their policy is unchanged.
    pub(super) touched: BTreeSet<PodKey>,
    /// Selector-cache keys whose selections changed.
    pub(super) changed_keys: HashSet<PeerKey>,
    /// Identities allocated or released: the only peers whose membership in a selection
    /// can have changed.
    pub(super) changed_ids: BTreeSet<u32>,
    /// Some pod's container ports changed, or a pod with ports came or went.
    pub(super) named_ports: bool,
    /// Endpoints removed.
    pub(super) removed: BTreeSet<PodKey>,
    /// The ipcache changed.
    pub(super) ipcache: bool,
    /// A policy with `toFQDNs` peers changed: learned addresses need new identities.
    pub(super) fqdn: bool,
    /// A Service, Endpoints or EndpointSlice changed: `toServices` peers are resolved
    /// again.
    pub(super) services: bool,
}

impl Engine {
    /// Applies objects (create or replace) atomically.
    pub fn apply(
        &mut self,
        objects: impl IntoIterator<Item = Object>,
    ) -> Result<Changes, ApplyError> {
        let expanded = self.expand(objects.into_iter().collect())?;
        let mut objects = expanded.objects;
        // Namespaces and nodes first: pod identities depend on them. Services before
        // policies: a policy's `toServices` are resolved when it is applied.
        objects.sort_by_key(|o| match o {
            Object::Namespace(_) => 0,
            Object::Node(_) => 1,
            Object::Pod(_) => 2,
            Object::Service(_) | Object::Endpoints(_) | Object::EndpointSlice(_) => 3,
            Object::Policy(_) => 4,
            Object::Workload(_) | Object::ServiceAccount(_) => 5,
        });
        self.check_addresses(&objects)?;
        self.check_capacity(&objects)?;
        let mut work = Work::default();
        for (workload, pods) in expanded.workloads {
            let old = self.workloads.insert(workload, pods.clone());
            for stale in old.unwrap_or_default().iter().filter(|k| !pods.contains(k)) {
                self.remove_pod(stale, &mut work);
            }
        }
        for object in objects {
            match object {
                Object::Namespace(ns) => self.upsert_namespace(ns, &mut work),
                Object::Node(n) => self.upsert_node(n, &mut work),
                Object::Pod(p) => self.upsert_pod(p, &mut work),
                Object::Policy(p) => self.upsert_policy(Arc::new(p), &mut work),
                Object::Service(s) => work.services |= self.services.upsert_service(s),
                Object::Endpoints(e) => work.services |= self.services.upsert_endpoints(e),
                Object::EndpointSlice(s) => work.services |= self.services.upsert_slice(s),
                // Expanded into pods, or without effect.
                Object::Workload(_) | Object::ServiceAccount(_) => {}
            }
        }
        if work.services {
            self.services_changed(&mut work);
        }
        Ok(self.finish(work))
    }

    /// Deletes objects; unknown keys are ignored.
    pub fn delete(&mut self, keys: &[ObjectKey]) -> Changes {
        let mut work = Work::default();
        for key in keys {
            match key {
                ObjectKey::Namespace(name) => {
                    if self.namespaces.remove(name).is_some() {
                        self.reidentify_namespace(name, &mut work);
                        self.namespace_mode_changed(name, &mut work);
                    }
                }
                ObjectKey::Pod(pod) => self.remove_pod(pod, &mut work),
                ObjectKey::Node(name) => self.remove_node(name, &mut work),
                ObjectKey::Policy(origin) => {
                    self.effective.remove(origin);
                    if let Some(old) = self.policies.remove(origin) {
                        self.policy_changed(&old.origin, Some(&old), None, &mut work);
                    }
                }
                ObjectKey::Workload(w) => {
                    for pod in self.workloads.remove(w).unwrap_or_default() {
                        self.remove_pod(&pod, &mut work);
                    }
                }
                ObjectKey::Service(s) => work.services |= self.services.remove_service(s),
                ObjectKey::Endpoints(e) => work.services |= self.services.remove_endpoints(e),
                ObjectKey::EndpointSlice(s) => work.services |= self.services.remove_slice(s),
                ObjectKey::ServiceAccount(_) => {}
            }
        }
        if work.services {
            self.services_changed(&mut work);
        }
        self.finish(work)
    }

    fn check_addresses(&self, objects: &[Object]) -> Result<(), ApplyError> {
        // The applied state has no conflict and deletes cannot make one: only the addresses
        // of incoming pods and nodes need the check.
        let incoming: Vec<(ObjectKey, &[IpAddr])> = objects
            .iter()
            .filter_map(|o| match o {
                Object::Pod(p) => Some((ObjectKey::Pod(p.key.clone()), &p.ips[..])),
                Object::Node(n) => Some((ObjectKey::Node(n.name.clone()), &n.ips[..])),
                _ => None,
            })
            .collect();
        if incoming.is_empty() {
            return Ok(());
        }
        let claimed: BTreeSet<IpAddr> =
            incoming.iter().flat_map(|(_, ips)| *ips).copied().collect();
        let replaced: BTreeSet<ObjectKey> = objects.iter().map(ObjectKey::of).collect();
        let mut owners: BTreeMap<IpAddr, ObjectKey> = BTreeMap::new();
        for (owner, ips) in self.claimants(&claimed, &replaced).chain(incoming) {
            for ip in ips {
                if let Some(first) = owners.insert(*ip, owner.clone())
                    && first != owner
                {
                    return Err(ApplyError::AddressConflict {
                        ip: *ip,
                        first: first.to_string(),
                        second: owner.to_string(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The applied pods and nodes, except `replaced` ones, with one of the `claimed`
    /// addresses: the only ones an incoming object can conflict with.
    fn claimants<'a>(
        &'a self,
        claimed: &'a BTreeSet<IpAddr>,
        replaced: &'a BTreeSet<ObjectKey>,
    ) -> impl Iterator<Item = (ObjectKey, &'a [IpAddr])> + 'a {
        let claims = |ips: &[IpAddr]| ips.iter().any(|ip| claimed.contains(ip));
        let pods = self
            .pods
            .values()
            .filter(move |e| claims(&e.pod.ips))
            .map(|e| (ObjectKey::Pod(e.pod.key.clone()), &e.pod.ips[..]));
        let nodes = self
            .nodes
            .values()
            .filter(move |n| claims(&n.node.ips))
            .map(|n| (ObjectKey::Node(n.node.name.clone()), &n.node.ips[..]));
        pods.chain(nodes)
            .filter(|(owner, _)| !replaced.contains(owner))
    }

    /// Conservative check that every identity the objects may need can be allocated, so
    /// the apply below cannot fail half-way.
    fn check_capacity(&self, objects: &[Object]) -> Result<(), ApplyError> {
        let count = |scope: Scope| {
            self.identities
                .iter()
                .filter(|i| Scope::of(i.id) == scope)
                .count()
        };
        let pods = objects
            .iter()
            .filter(|o| matches!(o, Object::Pod(_) | Object::Namespace(_)))
            .count();
        let needed_pods = if objects.iter().any(|o| matches!(o, Object::Namespace(_))) {
            self.pods.len() + pods
        } else {
            pods
        };
        if count(Scope::Cluster) + needed_pods > 65_280 {
            return Err(ApplyError::IdentitiesExhausted {
                what: "pods".into(),
            });
        }
        Ok(())
    }

    /// Namespace `name` as applied, or with only its implicit label.
    pub fn namespace(&self, name: &str) -> Namespace {
        self.namespaces
            .get(name)
            .cloned()
            .unwrap_or_else(|| Namespace::implicit(name))
    }

    fn upsert_namespace(&mut self, ns: Namespace, work: &mut Work) {
        if self.namespaces.get(&ns.name) == Some(&ns) {
            return;
        }
        let name = ns.name.clone();
        self.namespaces.insert(name.clone(), ns);
        self.reidentify_namespace(&name, work);
        self.namespace_mode_changed(&name, work);
    }

    fn reidentify_namespace(&mut self, name: &str, work: &mut Work) {
        let pods: Vec<Pod> = self
            .pods
            .values()
            .filter(|e| e.pod.key.namespace == name)
            .map(|e| e.pod.clone())
            .collect();
        for pod in pods {
            self.place_pod(pod, work);
        }
    }

    fn upsert_pod(&mut self, pod: Pod, work: &mut Work) {
        if self.pods.get(&pod.key).is_some_and(|e| e.pod == pod) {
            return;
        }
        self.place_pod(pod, work);
    }

    /// (Re)computes a pod's identity and records what it invalidates.
    fn place_pod(&mut self, pod: Pod, work: &mut Work) {
        let labels = pod_labels(
            &pod,
            &self.namespace(&pod.key.namespace),
            &self.config.cluster_name,
        );
        let identity = self.acquire(labels, Scope::Cluster, None, work);
        let node = pod
            .node
            .clone()
            .unwrap_or_else(|| self.config.default_node.clone());
        let old = self.pods.remove(&pod.key);
        let moved = old
            .as_ref()
            .is_none_or(|o| o.pod.ips != pod.ips || o.node != node || o.identity != identity);
        work.ipcache |= moved;
        if moved {
            work.touched.insert(pod.key.clone());
        }
        // Named ports are known by identity: a new identity moves the pod's ports too.
        work.named_ports |= old.as_ref().map_or(!pod.ports.is_empty(), |o| {
            o.pod.ports != pod.ports || (o.identity != identity && !pod.ports.is_empty())
        });
        if let Some(old) = &old {
            self.release(old.identity, work);
        }
        // Keep the previous policy and dependencies until the recomputation replaces them.
        let (policy, used_keys, egress_named_ports) = old
            .map(|o| (o.policy, o.used_keys, o.egress_named_ports))
            .unwrap_or_else(|| (Arc::default(), Arc::from([]), false));
        work.dirty.insert(pod.key.clone());
        let key = pod.key.clone();
        let endpoint = Endpoint {
            pod,
            node,
            identity,
            policy,
            used_keys,
            egress_named_ports,
        };
        self.pods.insert(key, endpoint);
    }

    fn remove_pod(&mut self, key: &PodKey, work: &mut Work) {
        let Some(old) = self.pods.remove(key) else {
            return;
        };
        work.named_ports |= !old.pod.ports.is_empty();
        work.ipcache = true;
        work.removed.insert(key.clone());
        for unused in self.deps.replace(key, &old.used_keys, &[]) {
            self.selectors.remove(&unused);
        }
        self.release(old.identity, work);
    }

    fn upsert_node(&mut self, node: Node, work: &mut Work) {
        if self.nodes.get(&node.name).is_some_and(|n| n.node == node) {
            return;
        }
        let identity = self.acquire(node_labels(&node), Scope::RemoteNode, None, work);
        if let Some(old) = self.nodes.remove(&node.name) {
            self.release(old.identity, work);
        }
        work.ipcache = true;
        self.nodes
            .insert(node.name.clone(), NodeEntry { node, identity });
    }

    fn remove_node(&mut self, name: &str, work: &mut Work) {
        if let Some(old) = self.nodes.remove(name) {
            work.ipcache = true;
            self.release(old.identity, work);
        }
    }

    fn upsert_policy(&mut self, policy: Arc<Policy>, work: &mut Work) {
        let origin = policy.origin.clone();
        let old = self.policies.insert(origin.clone(), policy.clone());
        if old.as_deref() == Some(&*policy) {
            return;
        }
        let old = old.map(|o| self.effective(&o));
        let new = self.refresh_effective(&policy);
        self.policy_changed(&origin, old.as_ref(), Some(&new), work);
    }

    pub(super) fn policy_changed(
        &mut self,
        origin: &Arc<PolicyRef>,
        old: Option<&Arc<Policy>>,
        new: Option<&Arc<Policy>>,
        work: &mut Work,
    ) {
        // CIDR identities of the new version first, so shared prefixes are not released
        // and re-allocated.
        for cidr in new.map(|p| policy_cidrs(p)).unwrap_or_default() {
            self.acquire_cidr(cidr, work);
        }
        for cidr in old.map(|p| policy_cidrs(p)).unwrap_or_default() {
            self.release_cidr(cidr, work);
        }
        let has_fqdns = |p: Option<&Arc<Policy>>| p.is_some_and(|p| !policy_fqdns(p).is_empty());
        work.fqdn |= has_fqdns(old) || has_fqdns(new);
        let identities = &self.identities;
        let changed = self
            .subjects
            .update_policy(origin, new, |id| identities.get(id).map(|i| &i.labels));
        for e in self.pods.values().filter(|e| changed.contains(&e.identity)) {
            work.dirty.insert(e.pod.key.clone());
        }
    }

    fn acquire_cidr(&mut self, cidr: Cidr, work: &mut Work) {
        if cidr.len() == 0 {
            return; // `0.0.0.0/0` and `::/0` are the world identities.
        }
        if let Some(entry) = self.cidrs.get_mut(&cidr) {
            entry.1 += 1;
            return;
        }
        let id = self.acquire(cidr_labels(&cidr), Scope::Local, Some(cidr), work);
        work.ipcache = true;
        self.cidrs.insert(cidr, (id, 1));
    }

    fn release_cidr(&mut self, cidr: Cidr, work: &mut Work) {
        let Some(entry) = self.cidrs.get_mut(&cidr) else {
            return;
        };
        entry.1 -= 1;
        if entry.1 == 0 {
            let id = entry.0;
            self.cidrs.remove(&cidr);
            work.ipcache = true;
            self.release(id, work);
        }
    }

    /// Takes an identity reference; a new identity enters the selector cache and, for
    /// pods, the subject index.
    pub(super) fn acquire(
        &mut self,
        labels: crate::labels::LabelSet,
        scope: Scope,
        cidr: Option<Cidr>,
        work: &mut Work,
    ) -> u32 {
        let (id, new) = match self.identities.acquire(labels, scope, cidr) {
            Ok(x) => x,
            // Unreachable after check_capacity; fall back to the world identity rather
            // than panic.
            Err(_) => return crate::identity::WORLD,
        };
        if new && let Some(identity) = self.identities.get(id).cloned() {
            work.changed_ids.insert(id);
            work.changed_keys
                .extend(self.selectors.identity_added(&identity));
            if scope == Scope::Cluster {
                let effective_of = &self.effective;
                let effective = self
                    .policies
                    .values()
                    .map(|p| effective_of.get(&p.origin).unwrap_or(p));
                self.subjects.add_identity(id, &identity.labels, effective);
            }
        }
        id
    }

    pub(super) fn release(&mut self, id: u32, work: &mut Work) {
        if self.identities.release(id) {
            work.changed_ids.insert(id);
            work.changed_keys
                .extend(self.selectors.identity_removed(id));
            self.subjects.remove_identity(id);
        }
    }
}

/// Every CIDR a policy mentions (peers and their exceptions).
fn policy_cidrs(policy: &Policy) -> Vec<Cidr> {
    let mut out = Vec::new();
    for rule in &policy.rules {
        for section in rule
            .ingress
            .iter()
            .chain(&rule.ingress_deny)
            .chain(&rule.egress)
            .chain(&rule.egress_deny)
        {
            let Peers::List(peers) = &section.peers else {
                continue;
            };
            for peer in peers {
                if let Peer::Cidr { cidr, except } = peer {
                    out.push(*cidr);
                    out.extend(except.iter().copied());
                }
            }
        }
    }
    out
}
