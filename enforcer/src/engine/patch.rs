//! Patching the endpoints that are only affected because peer identities came or went:
//! each group (identity and container ports) gets one computation restricted to those
//! identities, and each set of endpoints sharing a group and an old policy gets one
//! patch of that policy (see [`super::delta`]).
//!
//! While patched, the old policies are owned by their sets rather than by the endpoints,
//! so that a policy only those endpoints use is patched in place instead of copied.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::apply::Changes;
use super::delta::{self, Outcome};
use super::partial::Partial;
use super::recompute::Group;
use super::{Endpoint, Engine, members};
use crate::cluster::PodKey;
use crate::mapstate::EndpointPolicy;

/// Endpoints sharing a group and an old policy: one patch serves them all.
struct PatchSet {
    group: Group,
    /// The old policy, then the patched one.
    policy: Arc<EndpointPolicy>,
    outcome: Outcome,
}

impl PatchSet {
    /// A set for `ep`, taking its policy.
    fn of(ep: &Endpoint) -> Self {
        Self {
            group: (ep.identity, ep.pod.ports.clone()),
            policy: ep.policy.clone(),
            outcome: Outcome::Unchanged,
        }
    }

    /// Whether `ep` belongs to the set: same old policy, identity and container ports.
    fn takes(&self, ep: &Endpoint) -> bool {
        Arc::ptr_eq(&self.policy, &ep.policy)
            && self.group.0 == ep.identity
            && self.group.1 == ep.pod.ports
    }
}

/// The patch sets, and for each endpoint to patch (in key order) the index of its set
/// (`None` for a key without an endpoint).
struct Plan {
    sets: Vec<PatchSet>,
    member_of: Vec<Option<usize>>,
}

impl Engine {
    /// Patches the endpoints `keys` (sorted, each once) for the peer identities `ids`.
    pub(super) fn patch_all(
        &mut self,
        keys: Vec<PodKey>,
        ids: &BTreeSet<u32>,
        changes: &mut Changes,
    ) {
        if keys.is_empty() {
            return;
        }
        let mut plan = self.take_policies(&keys);
        self.patch_sets(&mut plan.sets, ids);
        let outcomes = self.give_back(&keys, &plan);
        // Not a pure peer change after all: recompute those in full.
        for key in report(keys, outcomes, changes) {
            if self.recompute_one(&key) {
                changes.updated.insert(key);
            }
        }
    }

    /// Groups the endpoints `keys` into patch sets, which take over their policies.
    fn take_policies(&mut self, keys: &[PodKey]) -> Plan {
        // Sets by old policy; members of a group usually share it, and come in a row.
        let mut by_policy: HashMap<*const EndpointPolicy, Vec<usize>> = HashMap::new();
        let mut plan = Plan {
            sets: Vec::new(),
            member_of: Vec::with_capacity(keys.len()),
        };
        let mut last: Option<usize> = None;
        let placeholder: Arc<EndpointPolicy> = Arc::default();
        members::for_each_mut(&mut self.pods, keys, |_, ep| {
            let Some(ep) = ep else {
                plan.member_of.push(None);
                return;
            };
            let joins = |i: &usize| plan.sets.get(*i).is_some_and(|s| s.takes(ep));
            let slot = match last.filter(joins) {
                Some(i) => i,
                None => {
                    let candidates = by_policy.entry(Arc::as_ptr(&ep.policy)).or_default();
                    let found = candidates.iter().copied().find(|i| joins(i));
                    found.unwrap_or_else(|| {
                        plan.sets.push(PatchSet::of(ep));
                        candidates.push(plan.sets.len() - 1);
                        plan.sets.len() - 1
                    })
                }
            };
            last = Some(slot);
            plan.member_of.push(Some(slot));
            ep.policy = placeholder.clone();
        });
        plan
    }

    /// Computes each group's entries for `ids` once and patches every set with them.
    fn patch_sets(&mut self, sets: &mut [PatchSet], ids: &BTreeSet<u32>) {
        let mut fresh: HashMap<Group, EndpointPolicy> = HashMap::new();
        // A released identity is in no selection and has no named ports any more: it has
        // no fresh entries to resolve, its old ones just go.
        let present = ids
            .iter()
            .copied()
            .filter(|&id| self.identities.get(id).is_some());
        let mut partial = Partial::new(present.collect());
        for set in sets {
            let fresh = match fresh.entry(set.group.clone()) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(v) => v.insert(self.compute_partial(&set.group, &mut partial)),
            };
            set.outcome = delta::compare(&set.policy, fresh, ids);
            if set.outcome == Outcome::Changed {
                delta::patch(Arc::make_mut(&mut set.policy), fresh, ids);
            }
        }
    }

    /// Gives the endpoints `keys` their sets' policies back, patched or not; returns each
    /// key's outcome (`None` for a key without an endpoint).
    fn give_back(&mut self, keys: &[PodKey], plan: &Plan) -> Vec<Option<Outcome>> {
        let mut member_of = plan.member_of.iter();
        let mut outcomes = Vec::with_capacity(keys.len());
        members::for_each_mut(&mut self.pods, keys, |_, ep| {
            let set = member_of.next().and_then(|i| plan.sets.get((*i)?));
            if let (Some(ep), Some(set)) = (ep, set) {
                ep.policy = set.policy.clone();
                outcomes.push(Some(set.outcome));
            } else {
                outcomes.push(None);
            }
        });
        outcomes
    }
}

/// Counts the patched endpoints and reports those whose policy changed; returns those
/// that need a full recomputation instead.
fn report(keys: Vec<PodKey>, outcomes: Vec<Option<Outcome>>, changes: &mut Changes) -> Vec<PodKey> {
    let (mut visited, mut full) = (0, Vec::new());
    // In key order: collecting builds the set without a search per key.
    let mut changed: BTreeSet<PodKey> = keys
        .into_iter()
        .zip(outcomes)
        .filter_map(|(key, outcome)| {
            visited += usize::from(outcome.is_some());
            match outcome? {
                Outcome::Unchanged => None,
                Outcome::Changed => Some(key),
                Outcome::Mismatch => {
                    full.push(key);
                    None
                }
            }
        })
        .collect();
    changes.recomputed += visited;
    changes.patched += visited - full.len();
    // Merging rebuilds both sets: add the smaller one to the larger instead.
    if changed.len() > changes.updated.len() {
        std::mem::swap(&mut changed, &mut changes.updated);
    }
    changes.updated.extend(changed);
    full
}
