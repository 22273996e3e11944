//! Recomputation: from a [`Work`] list to installed endpoint policies.
//!
//! Endpoints whose identity, ports or selecting rules changed are recomputed in full.
//! Endpoints that are only affected because peer identities entered or left their
//! selections (a relabelled pod's old and new identity, a CIDR or FQDN identity) or
//! changed their named ports are patched: only the entries of those identities are
//! resolved again (see [`super::delta`]). Endpoints with the same identity and container
//! ports have the same policy, so each group is computed once.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::apply::{Changes, Work};
use super::compute::compute;
use super::entries::{Resolver, Used};
use super::partial::Partial;
use super::selector_cache::PeerKey;
use super::{Engine, named_ports};
use crate::cluster::{ContainerPort, PodKey};
use crate::mapstate::EndpointPolicy;

/// Endpoints with the same identity and container ports share their policy.
pub(super) type Group = (u32, Vec<ContainerPort>);

/// A computed endpoint policy and what it depends on.
#[derive(Clone)]
pub(super) struct Computed {
    pub(super) policy: Arc<EndpointPolicy>,
    keys: Arc<[PeerKey]>,
    egress_named_ports: bool,
}

/// The last comparison of an old and a new policy, reused by the members of a group.
type Compared = Option<(Arc<EndpointPolicy>, Arc<EndpointPolicy>, bool)>;

impl Engine {
    /// Recomputes what `work` invalidated and reports what changed.
    pub(super) fn finish(&mut self, mut work: Work) -> Changes {
        if work.fqdn {
            self.refresh_fqdn(&mut work);
        }
        let named_port_users = self.refresh_named_ports(&mut work);
        let mut patch = self.deps.users_of(&work.changed_keys);
        if !named_port_users.is_empty() {
            patch.extend(named_port_users);
            patch.sort();
            patch.dedup();
        }
        patch.retain(|k| !work.dirty.contains(k));
        // Endpoints touched and then removed are not reported as updated.
        work.touched.retain(|k| self.pods.contains_key(k));
        let mut changes = Changes {
            removed: std::mem::take(&mut work.removed),
            ipcache: work.ipcache,
            updated: std::mem::take(&mut work.touched),
            recomputed: 0,
            patched: 0,
            hosts: Vec::new(),
        };
        self.recompute_all(std::mem::take(&mut work.dirty), &mut changes);
        // Identity 0 is the wildcard, never a peer that comes or goes.
        work.changed_ids.remove(&0);
        self.patch_all(patch, &work.changed_ids, &mut changes);
        changes.hosts = self.refresh_hosts();
        if !changes.is_empty() {
            self.revision += 1;
        }
        changes
    }

    /// Rebuilds the named ports if pods' ports changed; returns the endpoints resolving
    /// egress named ports if some identity's named ports changed (which it adds to the
    /// changed identities).
    fn refresh_named_ports(&mut self, work: &mut Work) -> Vec<PodKey> {
        if !work.named_ports {
            return Vec::new();
        }
        let fresh = named_ports::collect(self.pods.values());
        let changed = named_ports::changed_identities(&self.named_ports, &fresh);
        self.named_ports = fresh;
        if changed.is_empty() {
            return Vec::new();
        }
        work.changed_ids.extend(changed);
        self.pods
            .values()
            .filter(|e| e.egress_named_ports)
            .map(|e| e.pod.key.clone())
            .collect()
    }

    /// Recomputes `keys` in full.
    fn recompute_all(&mut self, keys: BTreeSet<PodKey>, changes: &mut Changes) {
        let mut memo: HashMap<Group, Computed> = HashMap::new();
        let mut compared: Compared = None;
        for key in keys {
            let Some(ep) = self.pods.get(&key) else {
                continue;
            };
            let group = (ep.identity, ep.pod.ports.clone());
            let computed = match memo.get(&group) {
                Some(c) => c.clone(),
                None => {
                    let c = self.compute_for(&group);
                    memo.insert(group, c.clone());
                    c
                }
            };
            if self.install(&key, computed, &mut compared) {
                changes.updated.insert(key);
            }
            changes.recomputed += 1;
        }
    }

    /// Recomputes one endpoint in full; returns whether its policy changed.
    pub(super) fn recompute_one(&mut self, key: &PodKey) -> bool {
        let Some(ep) = self.pods.get(key) else {
            return false;
        };
        let group = (ep.identity, ep.pod.ports.clone());
        let computed = self.compute_for(&group);
        self.install(key, computed, &mut None)
    }

    /// Installs a computed policy on an endpoint and updates the dependency index;
    /// returns whether the policy changed.
    fn install(&mut self, key: &PodKey, computed: Computed, compared: &mut Compared) -> bool {
        let Some(ep) = self.pods.get_mut(key) else {
            return false;
        };
        let old_keys = std::mem::replace(&mut ep.used_keys, computed.keys.clone());
        ep.egress_named_ports = computed.egress_named_ports;
        let changed = match compared {
            Some((old, new, changed))
                if Arc::ptr_eq(old, &ep.policy) && Arc::ptr_eq(new, &computed.policy) =>
            {
                *changed
            }
            _ => {
                let changed = ep.policy != computed.policy;
                *compared = Some((ep.policy.clone(), computed.policy.clone(), changed));
                changed
            }
        };
        if changed {
            ep.policy = computed.policy;
        }
        for unused in self.deps.replace(key, &old_keys, &computed.keys) {
            self.selectors.remove(&unused);
        }
        changed
    }

    /// Computes the policy of endpoints with this identity and these container ports, and
    /// what it depends on.
    pub(super) fn compute_for(&mut self, group: &Group) -> Computed {
        let mut used = Used::default();
        let policy = self.compute_with(group, None, &mut used);
        let mut keys = used.keys;
        keys.sort();
        keys.dedup();
        Computed {
            policy: Arc::new(policy),
            keys: keys.into(),
            egress_named_ports: used.egress_named_ports,
        }
    }

    /// The entries of `partial`'s peer identities and of the wildcard in the policy of
    /// endpoints with this identity and these container ports.
    pub(super) fn compute_partial(
        &mut self,
        group: &Group,
        partial: &mut Partial,
    ) -> EndpointPolicy {
        self.compute_with(group, Some(partial), &mut Used::default())
    }

    fn compute_with(
        &mut self,
        (identity, ports): &Group,
        partial: Option<&mut Partial>,
        used: &mut Used,
    ) -> EndpointPolicy {
        let rules = self.subjects.rules(*identity);
        let mut resolver = Resolver {
            identities: &self.identities,
            selectors: &mut self.selectors,
            named_ports: &self.named_ports,
            cluster: &self.config.cluster_name,
            partial,
        };
        compute(
            &mut resolver,
            rules,
            ports,
            &self.derived,
            self.config.allow_localhost,
            used,
        )
    }
}
