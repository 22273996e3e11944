//! Which rules select which identity as their subject: kept per identity so an endpoint's
//! rules are known without scanning every policy, and per policy so a policy change only
//! visits the identities it selected before.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::labels::LabelSet;
use crate::policy::model::{Policy, Rule, Subject};
use crate::policy::origin::PolicyRef;

/// A rule of a policy.
#[derive(Clone, Debug)]
pub struct RuleHandle {
    /// The policy.
    pub policy: Arc<Policy>,
    /// Index into `policy.rules`.
    pub index: usize,
}

impl RuleHandle {
    /// The rule.
    pub fn rule(&self) -> &Rule {
        &self.policy.rules[self.index]
    }
}

/// Rules selecting each identity, ordered by policy then rule index.
#[derive(Clone, Default)]
pub struct SubjectIndex {
    by_identity: HashMap<u32, Vec<RuleHandle>>,
    by_policy: HashMap<Arc<PolicyRef>, BTreeSet<u32>>,
}

fn selecting(policy: &Arc<Policy>, labels: &LabelSet) -> impl Iterator<Item = RuleHandle> {
    policy
        .rules
        .iter()
        .enumerate()
        .filter_map(move |(index, rule)| match &rule.subject {
            Subject::Endpoints(sel) if sel.matches(labels) => Some(RuleHandle {
                policy: policy.clone(),
                index,
            }),
            _ => None,
        })
}

fn sort(rules: &mut [RuleHandle]) {
    rules.sort_by(|a, b| (&a.policy.origin, a.index).cmp(&(&b.policy.origin, b.index)));
}

impl SubjectIndex {
    /// Indexes a new endpoint identity against every policy.
    pub fn add_identity<'a>(
        &mut self,
        id: u32,
        labels: &LabelSet,
        policies: impl Iterator<Item = &'a Arc<Policy>>,
    ) {
        let mut rules: Vec<RuleHandle> = policies.flat_map(|p| selecting(p, labels)).collect();
        sort(&mut rules);
        for h in &rules {
            self.by_policy
                .entry(h.policy.origin.clone())
                .or_default()
                .insert(id);
        }
        self.by_identity.insert(id, rules);
    }

    /// Forgets an identity.
    pub fn remove_identity(&mut self, id: u32) {
        for h in self.by_identity.remove(&id).unwrap_or_default() {
            if let Some(ids) = self.by_policy.get_mut(&h.policy.origin) {
                ids.remove(&id);
            }
        }
    }

    /// Replaces the rules of policy `origin` (removed when `new` is `None`); returns the
    /// identities whose rule list changed.
    pub fn update_policy<'l>(
        &mut self,
        origin: &Arc<PolicyRef>,
        new: Option<&Arc<Policy>>,
        labels_of: impl Fn(u32) -> Option<&'l LabelSet>,
    ) -> BTreeSet<u32> {
        let mut changed = self.by_policy.remove(origin).unwrap_or_default();
        for id in &changed {
            if let Some(rules) = self.by_identity.get_mut(id) {
                rules.retain(|h| &h.policy.origin != origin);
            }
        }
        let Some(policy) = new else { return changed };
        let mut selected = BTreeSet::new();
        for (&id, rules) in self.by_identity.iter_mut() {
            let Some(labels) = labels_of(id) else {
                continue;
            };
            let fresh: Vec<RuleHandle> = selecting(policy, labels).collect();
            if fresh.is_empty() {
                continue;
            }
            rules.extend(fresh);
            sort(rules);
            selected.insert(id);
        }
        changed.extend(selected.iter().copied());
        if !selected.is_empty() {
            self.by_policy.insert(origin.clone(), selected);
        }
        changed
    }

    /// The rules selecting an identity.
    pub fn rules(&self, id: u32) -> &[RuleHandle] {
        self.by_identity.get(&id).map_or(&[], Vec::as_slice)
    }
}
