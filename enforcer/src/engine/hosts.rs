//! Host endpoints (the host firewall, `EngineConfig::host_firewall`): every node's own
//! network namespace as a policy endpoint with the reserved `host` identity and its node
//! labels, selected by `nodeSelector` rules of CiliumClusterwideNetworkPolicies.
//!
//! Host rules are few, so a node's host policy is computed in full after every change
//! from the rules whose node selector matches it, with the same code as a pod's (peers,
//! ports, deny precedence, audit mode). No pod rule ever selects a host and no host rule a
//! pod. Container ports do not exist on a host: named ports in host rules resolve to
//! nothing, as in Cilium.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::Engine;
use super::compute::compute;
use super::entries::{Resolver, Used};
use super::subjects::RuleHandle;
use crate::identity::host_labels;
use crate::labels::LabelSet;
use crate::mapstate::EndpointPolicy;
use crate::policy::model::Subject;

/// A node's host endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct HostEndpoint {
    /// The node's name.
    pub node: String,
    /// `reserved:host` and the node's labels (what `nodeSelector` matches).
    pub labels: LabelSet,
    /// Its policy; neither direction is enforced while no host rule selects the node.
    pub policy: Arc<EndpointPolicy>,
}

impl Engine {
    /// The host endpoint of node `name`, when the host firewall is enabled.
    pub fn host(&self, name: &str) -> Option<&HostEndpoint> {
        self.hosts.get(name)
    }

    /// Every host endpoint (empty while the host firewall is disabled).
    pub fn hosts(&self) -> impl Iterator<Item = &HostEndpoint> {
        self.hosts.values()
    }

    /// Computes every node's host endpoint again; returns the nodes whose policy changed.
    pub(super) fn refresh_hosts(&mut self) -> Vec<String> {
        if !self.config.host_firewall {
            return Vec::new();
        }
        let mut names = self.node_names();
        names.insert(self.config.default_node.clone());
        let mut fresh = BTreeMap::new();
        // Nodes with the same labels have the same policy, computed once (as endpoints
        // of one identity share theirs).
        let mut memo: HashMap<LabelSet, Arc<EndpointPolicy>> = HashMap::new();
        for name in names {
            let labels = host_labels(
                &self
                    .nodes
                    .get(&name)
                    .map(|n| n.node.labels.clone())
                    .unwrap_or_default(),
            );
            let policy = match memo.get(&labels) {
                Some(p) => p.clone(),
                None => {
                    let p = Arc::new(self.host_policy(&labels));
                    memo.insert(labels.clone(), p.clone());
                    p
                }
            };
            fresh.insert(
                name.clone(),
                HostEndpoint {
                    node: name,
                    labels,
                    policy,
                },
            );
        }
        let changed = fresh
            .iter()
            .filter(|(name, host)| self.hosts.get(*name) != Some(host))
            .map(|(name, _)| name.clone())
            .collect();
        self.hosts = fresh;
        changed
    }

    /// The rules whose node selector matches `labels`, in policy then rule order, of the
    /// policies as the engine computes with them (`toServices` resolved).
    pub(super) fn host_rules(&self, labels: &LabelSet) -> Vec<RuleHandle> {
        let mut out = Vec::new();
        for policy in self.policies.values().map(|p| self.effective(p)) {
            for (index, rule) in policy.rules.iter().enumerate() {
                if matches!(&rule.subject, Subject::Nodes(sel) if sel.matches(labels)) {
                    out.push(RuleHandle {
                        policy: policy.clone(),
                        index,
                    });
                }
            }
        }
        out
    }

    fn host_policy(&mut self, labels: &LabelSet) -> EndpointPolicy {
        let rules = self.host_rules(labels);
        let mut resolver = Resolver {
            identities: &self.identities,
            selectors: &mut self.selectors,
            named_ports: &self.named_ports,
            cluster: &self.config.cluster_name,
            partial: None,
        };
        // The host is itself: no local-host exception.
        compute(
            &mut resolver,
            &rules,
            &[],
            &self.derived,
            false,
            &mut Used::default(),
        )
    }
}
