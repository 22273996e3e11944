//! Patching a map state for the peer identities that came or went.
//!
//! Precedence is resolved per peer identity, against that identity's own entries and the
//! wildcard (identity 0) denies only (see [`crate::mapstate::resolve`]). When an endpoint's
//! selecting rules and ports are unchanged, its wildcard entries are unchanged too, and a
//! peer identity's entries can only change if the identity entered or left one of its
//! selections (or its named ports changed). So the policy after such a change is the old
//! one with the entries of exactly those identities replaced by freshly resolved ones.

use std::collections::BTreeSet;

use crate::mapstate::{DirectionPolicy, EndpointPolicy, MapKey, MapState, MapValue, PortRange};

/// How an old policy compares with the fresh entries of some identities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The identities' entries are the same as before.
    Unchanged,
    /// Some of them differ: [`patch`] the policy.
    Changed,
    /// The fresh computation disagrees on enforcement or selecting policies, so the
    /// endpoint's rules changed and it needs a full recomputation.
    Mismatch,
}

/// Compares `old` with `fresh` (a computation restricted to `ids` and the wildcard) on
/// the entries of the identities in `ids`.
pub fn compare(old: &EndpointPolicy, fresh: &EndpointPolicy, ids: &BTreeSet<u32>) -> Outcome {
    if !same_rules(&old.ingress, &fresh.ingress) || !same_rules(&old.egress, &fresh.egress) {
        return Outcome::Mismatch;
    }
    let same = |old: &DirectionPolicy, fresh: &DirectionPolicy| {
        let same_state =
            |old: &MapState, fresh: &MapState| entries_of(old, ids).eq(entries_of(fresh, ids));
        same_state(&old.state, &fresh.state)
            && match (&old.audit, &fresh.audit) {
                (Some(old), Some(fresh)) => same_state(&old.state, &fresh.state),
                _ => true,
            }
    };
    if same(&old.ingress, &fresh.ingress) && same(&old.egress, &fresh.egress) {
        Outcome::Unchanged
    } else {
        Outcome::Changed
    }
}

/// Replaces the entries of the identities in `ids` by those of `fresh`.
pub fn patch(policy: &mut EndpointPolicy, fresh: &EndpointPolicy, ids: &BTreeSet<u32>) {
    patch_direction(&mut policy.ingress, &fresh.ingress, ids);
    patch_direction(&mut policy.egress, &fresh.egress, ids);
}

fn patch_direction(policy: &mut DirectionPolicy, fresh: &DirectionPolicy, ids: &BTreeSet<u32>) {
    patch_state(&mut policy.state, &fresh.state, ids);
    if let (Some(audit), Some(fresh)) = (&mut policy.audit, &fresh.audit) {
        patch_state(&mut audit.state, &fresh.state, ids);
    }
}

/// Same enforcement and selecting policies, with and without the audited ones.
fn same_rules(a: &DirectionPolicy, b: &DirectionPolicy) -> bool {
    let same = |a: &DirectionPolicy, b: &DirectionPolicy| {
        a.enforced == b.enforced && a.selecting == b.selecting
    };
    same(a, b)
        && match (&a.audit, &b.audit) {
            (Some(a), Some(b)) => same(a, b),
            (None, None) => true,
            _ => false,
        }
}

fn patch_state(state: &mut MapState, fresh: &MapState, ids: &BTreeSet<u32>) {
    let stale: Vec<MapKey> = entries_of(state, ids).map(|(k, _)| *k).collect();
    for key in stale {
        state.entries.remove(&key);
    }
    state
        .entries
        .extend(entries_of(fresh, ids).map(|(k, v)| (*k, v.clone())));
}

/// The entries of `state` whose peer identity is in `ids`, in key order.
fn entries_of<'a>(
    state: &'a MapState,
    ids: &'a BTreeSet<u32>,
) -> impl Iterator<Item = (&'a MapKey, &'a MapValue)> {
    ids.iter().flat_map(move |&identity| {
        let first = MapKey {
            identity,
            protocol: 0,
            ports: PortRange::new(0, 0),
        };
        state
            .entries
            .range(first..)
            .take_while(move |(k, _)| k.identity == identity)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapstate::resolve::{RawEntry, resolve};
    use crate::mapstate::testing::rule;
    use crate::mapstate::{Action, L7Kind};

    fn raw(identity: u32, port: u16, action: Action) -> RawEntry {
        RawEntry {
            identity,
            protocol: 6,
            ports: PortRange::single(port),
            action,
            rule: rule("r"),
            l7: L7Kind::None,
        }
    }

    fn policy(raw: &[RawEntry]) -> EndpointPolicy {
        EndpointPolicy {
            ingress: DirectionPolicy {
                enforced: true,
                selecting: vec![],
                state: resolve(raw),
                audit: None,
            },
            egress: DirectionPolicy::default(),
        }
    }

    fn patched(
        old: &EndpointPolicy,
        fresh: &EndpointPolicy,
        ids: &BTreeSet<u32>,
    ) -> EndpointPolicy {
        let mut policy = old.clone();
        patch(&mut policy, fresh, ids);
        policy
    }

    #[test]
    fn patching_equals_resolving_everything_again() {
        let wildcard = raw(0, 22, Action::Deny);
        let before = policy(&[wildcard.clone(), raw(300, 80, Action::Allow)]);
        let after = policy(&[
            wildcard.clone(),
            raw(300, 80, Action::Allow),
            raw(301, 80, Action::Allow),
            raw(301, 22, Action::Allow),
        ]);
        let fresh = policy(&[
            wildcard,
            raw(301, 80, Action::Allow),
            raw(301, 22, Action::Allow),
        ]);
        let ids = BTreeSet::from([301]);
        assert_eq!(compare(&before, &fresh, &ids), Outcome::Changed);
        assert_eq!(patched(&before, &fresh, &ids), after);
        assert_eq!(compare(&after, &fresh, &ids), Outcome::Unchanged);
    }

    #[test]
    fn a_departed_identity_loses_its_entries() {
        let before = policy(&[raw(300, 80, Action::Allow), raw(301, 80, Action::Allow)]);
        let (fresh, ids) = (policy(&[]), BTreeSet::from([301]));
        assert_eq!(compare(&before, &fresh, &ids), Outcome::Changed);
        assert_eq!(
            patched(&before, &fresh, &ids),
            policy(&[raw(300, 80, Action::Allow)])
        );
    }

    #[test]
    fn different_enforcement_asks_for_a_full_recomputation() {
        let mut fresh = policy(&[]);
        fresh.ingress.enforced = false;
        let ids = BTreeSet::from([301]);
        assert_eq!(compare(&policy(&[]), &fresh, &ids), Outcome::Mismatch);
    }
}
