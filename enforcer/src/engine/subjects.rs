//! Which rules select which identity as their subject: kept per identity so an endpoint's
//! rules are known without scanning every policy, and updated per policy change.

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

impl SubjectIndex {
    /// Indexes a new endpoint identity against every policy.
    pub fn add_identity<'a>(
        &mut self,
        id: u32,
        labels: &LabelSet,
        policies: impl Iterator<Item = &'a Arc<Policy>>,
    ) {
        let rules = policies.flat_map(|p| selecting(p, labels)).collect();
        self.by_identity.insert(id, rules);
    }

    /// Forgets an identity.
    pub fn remove_identity(&mut self, id: u32) {
        self.by_identity.remove(&id);
    }

    /// Replaces the rules of policy `origin` (removed when `new` is `None`); returns the
    /// identities whose rule list changed.
    pub fn update_policy(
        &mut self,
        origin: &Arc<PolicyRef>,
        new: Option<&Arc<Policy>>,
        labels_of: impl Fn(u32) -> Option<LabelSet>,
    ) -> BTreeSet<u32> {
        let mut changed = BTreeSet::new();
        for (&id, rules) in self.by_identity.iter_mut() {
            let before = rules.len();
            rules.retain(|h| &h.policy.origin != origin);
            let had = before != rules.len();
            let mut added = false;
            if let (Some(policy), Some(labels)) = (new, labels_of(id)) {
                let fresh: Vec<RuleHandle> = selecting(policy, &labels).collect();
                added = !fresh.is_empty();
                rules.extend(fresh);
                rules.sort_by(|a, b| (&a.policy.origin, a.index).cmp(&(&b.policy.origin, b.index)));
            }
            if had || added {
                changed.insert(id);
            }
        }
        changed
    }

    /// The rules selecting an identity.
    pub fn rules(&self, id: u32) -> &[RuleHandle] {
        self.by_identity.get(&id).map_or(&[], Vec::as_slice)
    }
}
