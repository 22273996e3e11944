//! `toServices` resolved, as Cilium's `pkg/policy/k8s/service.go` does: in the
//! effective version of a policy, every section with `toServices` peers gives way to one
//! generated section per matching Service, whose path names the Service
//! (`spec.egress[0] toServices shop/db`, what attribution and traces show) and whose
//! peers are that Service's backends ([`crate::policy::services::backend_peers`]), with
//! the section's ports and requirements. A section no Service matches stays as written,
//! selecting nothing (it still turns on default deny).
//!
//! Whenever a Service, an Endpoints or an EndpointSlice changes, the policies with
//! `toServices` peers are resolved again; those whose effective version changed are
//! handed to the rule index, which recomputes the endpoints they select (and acquires
//! or releases the CIDR identities of external backends).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Engine;
use super::apply::Work;
use super::service_table::ServiceTable;
use crate::cluster::{PodKey, Service};
use crate::policy::model::{Peer, PeerRule, Peers, Policy};
use crate::policy::origin::RuleRef;
use crate::policy::services::{ServicePeer, backend_peers, generated_path};

impl Engine {
    /// After Services, Endpoints or EndpointSlices changed: the policies with
    /// `toServices` peers resolved again.
    pub(super) fn services_changed(&mut self, work: &mut Work) {
        let policies: Vec<Arc<Policy>> = self
            .policies
            .values()
            .filter(|p| has_services(p))
            .cloned()
            .collect();
        for p in policies {
            let old = self.effective(&p);
            let new = self.refresh_effective(&p);
            if old != new {
                self.policy_changed(&p.origin, Some(&old), Some(&new), work);
            }
        }
    }

    /// Every Service applied, by namespace and name.
    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.services.services()
    }
}

/// The `toServices` entries of a section.
fn service_peers(section: &PeerRule) -> impl Iterator<Item = &ServicePeer> {
    let peers = match &section.peers {
        Peers::List(list) => &list[..],
        Peers::Any => &[],
    };
    peers.iter().filter_map(|p| match p {
        Peer::Service(s) => Some(s),
        _ => None,
    })
}

/// Whether a policy has `toServices` peers.
pub(super) fn has_services(policy: &Policy) -> bool {
    policy.rules.iter().any(|r| {
        r.egress
            .iter()
            .chain(&r.egress_deny)
            .any(|s| service_peers(s).next().is_some())
    })
}

/// `policy` with its `toServices` sections resolved against `services`.
pub(super) fn resolve(policy: &Policy, services: &ServiceTable) -> Policy {
    let mut out = policy.clone();
    for rule in &mut out.rules {
        rule.egress = resolve_sections(&rule.egress, services);
        rule.egress_deny = resolve_sections(&rule.egress_deny, services);
    }
    out
}

fn resolve_sections(sections: &[PeerRule], services: &ServiceTable) -> Vec<PeerRule> {
    let mut out = Vec::with_capacity(sections.len());
    for section in sections {
        let (Peers::List(peers), true) = (&section.peers, service_peers(section).next().is_some())
        else {
            out.push(section.clone());
            continue;
        };
        let mut matched: BTreeMap<PodKey, &Service> = BTreeMap::new();
        for entry in service_peers(section) {
            for s in services.matching(entry) {
                matched.insert(PodKey::new(&s.namespace, &s.name), s);
            }
        }
        // The section as written when no Service matches: its toServices entries select
        // nothing (and say so in traces). Entries beside them are not written by users
        // (toServices combines with no other peer), but would be kept.
        let others = peers.iter().any(|p| !matches!(p, Peer::Service(_)));
        if matched.is_empty() {
            out.push(section.clone());
        } else if others {
            let written = peers.iter().filter(|p| !matches!(p, Peer::Service(_)));
            out.push(PeerRule {
                peers: Peers::List(written.cloned().collect()),
                ..section.clone()
            });
        }
        for service in matched.values() {
            out.push(PeerRule {
                rule: RuleRef {
                    policy: section.rule.policy.clone(),
                    path: generated_path(&section.rule.path, service).into(),
                },
                peers: Peers::List(backend_peers(service, services.addresses(service))),
                requires: section.requires.clone(),
                l4: section.l4.clone(),
            });
        }
    }
    out
}
