//! Precedence resolution: from the entries every rule contributes to the canonical
//! [`MapState`] the datapath gets.
//!
//! Rules, applied per peer identity:
//! - a deny beats any allow it covers, whatever the specificity: covered allows are removed
//!   (also those covered by a deny for the wildcard identity);
//! - port ranges of one protocol are split at every boundary so that entries are disjoint,
//!   and each piece carries every rule that covers it, including the identity's
//!   any-protocol rule of the same action;
//! - adjacent pieces with the same action, rules and L7 flag are merged again.

use std::collections::{BTreeMap, BTreeSet};

use super::{Action, L7Kind, MapKey, MapState, MapValue, PortRange, RuleSet};
use crate::policy::origin::RuleRef;

/// One entry as a rule produces it, before precedence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawEntry {
    /// Peer identity, 0 for any.
    pub identity: u32,
    /// IP protocol, 0 for any (then `ports` must be [`PortRange::ALL`]).
    pub protocol: u8,
    /// Destination ports or ICMP types.
    pub ports: PortRange,
    /// Allow or deny.
    pub action: Action,
    /// The rule that produced the entry.
    pub rule: RuleRef,
    /// The L7 rule kind of the rule's port section.
    pub l7: L7Kind,
}

/// Resolves `raw` entries into a canonical map state.
pub fn resolve(raw: &[RawEntry]) -> MapState {
    resolve_where(raw, |_| true)
}

/// The entries of the identities in `only` of the map state [`resolve`] builds from `raw`
/// (the wildcard's denies still apply to them): what patching a map state for those
/// identities needs.
pub fn resolve_only(raw: &[RawEntry], only: &BTreeSet<u32>) -> MapState {
    resolve_where(raw, |id| only.contains(&id))
}

/// Resolves the identities `keep` accepts; the wildcard's denies are kept as their outer
/// denies in any case.
fn resolve_where(raw: &[RawEntry], keep: impl Fn(u32) -> bool) -> MapState {
    let mut by_identity: BTreeMap<u32, Vec<&RawEntry>> = BTreeMap::new();
    for e in raw.iter().filter(|e| e.identity == 0 || keep(e.identity)) {
        by_identity.entry(e.identity).or_default().push(e);
    }
    let wildcard_denies: Vec<&RawEntry> = by_identity
        .get(&0)
        .map(|g| {
            g.iter()
                .copied()
                .filter(|e| e.action == Action::Deny)
                .collect()
        })
        .unwrap_or_default();
    let mut state = MapState::default();
    for (&identity, group) in by_identity.iter().filter(|(id, _)| keep(**id)) {
        let outer = if identity == 0 {
            &[][..]
        } else {
            &wildcard_denies[..]
        };
        resolve_identity(identity, group, outer, &mut state);
    }
    state
}

/// Rules of one identity's any-protocol entries.
#[derive(Default)]
struct AnyProto {
    deny: BTreeSet<RuleRef>,
    allow: BTreeSet<RuleRef>,
    allow_l7: L7Kind,
}

fn resolve_identity(
    identity: u32,
    group: &[&RawEntry],
    outer_denies: &[&RawEntry],
    state: &mut MapState,
) {
    let mut any = AnyProto::default();
    for e in group.iter().filter(|e| e.protocol == 0) {
        match e.action {
            Action::Deny => any.deny.insert(e.rule.clone()),
            Action::Allow => {
                any.allow_l7 = any.allow_l7.max(e.l7);
                any.allow.insert(e.rule.clone())
            }
        };
    }
    let outer_any_deny = outer_denies.iter().any(|e| e.protocol == 0);
    let key = MapKey {
        identity,
        protocol: 0,
        ports: PortRange::ALL,
    };
    if !any.deny.is_empty() {
        state
            .entries
            .insert(key, value(Action::Deny, &any.deny, L7Kind::None));
    } else if !any.allow.is_empty() && !outer_any_deny {
        state
            .entries
            .insert(key, value(Action::Allow, &any.allow, any.allow_l7));
    }
    let protocols: BTreeSet<u8> = group
        .iter()
        .map(|e| e.protocol)
        .filter(|&p| p != 0)
        .collect();
    for protocol in protocols {
        let own: Vec<&RawEntry> = group
            .iter()
            .copied()
            .filter(|e| e.protocol == protocol)
            .collect();
        let outer: Vec<&RawEntry> = outer_denies
            .iter()
            .copied()
            .filter(|e| e.protocol == protocol)
            .collect();
        resolve_protocol(
            identity,
            protocol,
            &own,
            &outer,
            outer_any_deny,
            &any,
            state,
        );
    }
}

fn resolve_protocol(
    identity: u32,
    protocol: u8,
    own: &[&RawEntry],
    outer: &[&RawEntry],
    outer_any_deny: bool,
    any: &AnyProto,
    state: &mut MapState,
) {
    let mut pieces: Vec<(PortRange, MapValue)> = Vec::new();
    for piece in elementary_ranges(own.iter().chain(outer).map(|e| e.ports)) {
        let covering = |action| {
            own.iter()
                .filter(move |e| e.action == action && e.ports.covers(&piece))
        };
        let denies: BTreeSet<RuleRef> = covering(Action::Deny).map(|e| e.rule.clone()).collect();
        let v = if !denies.is_empty() {
            let rules: BTreeSet<RuleRef> =
                denies.into_iter().chain(any.deny.iter().cloned()).collect();
            value(Action::Deny, &rules, L7Kind::None)
        } else {
            let covered_by_deny = !any.deny.is_empty()
                || outer_any_deny
                || outer.iter().any(|e| e.ports.covers(&piece));
            let allows: Vec<&&RawEntry> = covering(Action::Allow).collect();
            if covered_by_deny || allows.is_empty() {
                continue;
            }
            let l7 = allows.iter().map(|e| e.l7).fold(any.allow_l7, L7Kind::max);
            let rules: BTreeSet<RuleRef> = allows
                .iter()
                .map(|e| e.rule.clone())
                .chain(any.allow.iter().cloned())
                .collect();
            value(Action::Allow, &rules, l7)
        };
        match pieces.last_mut() {
            Some((prev, pv)) if *pv == v && u32::from(prev.hi) + 1 == u32::from(piece.lo) => {
                prev.hi = piece.hi
            }
            _ => pieces.push((piece, v)),
        }
    }
    for (ports, v) in pieces {
        state.entries.insert(
            MapKey {
                identity,
                protocol,
                ports,
            },
            v,
        );
    }
}

/// Splits the union of `ranges` at every range boundary: the result is sorted, disjoint,
/// and each piece is either inside or outside each input range.
fn elementary_ranges(ranges: impl Iterator<Item = PortRange>) -> Vec<PortRange> {
    let mut cuts = BTreeSet::new();
    for r in ranges {
        cuts.insert(u32::from(r.lo));
        cuts.insert(u32::from(r.hi) + 1);
    }
    let cuts: Vec<u32> = cuts.into_iter().collect();
    cuts.windows(2)
        .map(|w| PortRange::new(w[0] as u16, (w[1] - 1) as u16))
        .collect()
}

fn value(action: Action, rules: &BTreeSet<RuleRef>, l7: L7Kind) -> MapValue {
    let rules: RuleSet = rules.iter().cloned().collect::<Vec<_>>().into();
    MapValue { action, rules, l7 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapstate::DirectionPolicy;
    use crate::mapstate::Verdict;
    use crate::mapstate::testing::rule;

    fn raw(identity: u32, protocol: u8, ports: PortRange, action: Action, name: &str) -> RawEntry {
        RawEntry {
            identity,
            protocol,
            ports,
            action,
            rule: rule(name),
            l7: L7Kind::None,
        }
    }

    fn names(v: &MapValue) -> Vec<String> {
        v.rules.iter().map(|r| r.policy.name.clone()).collect()
    }

    fn decide(state: &MapState, identity: u32, protocol: u8, port: u16) -> Verdict {
        let p = DirectionPolicy {
            enforced: true,
            selecting: vec![],
            state: state.clone(),
            audit: None,
        };
        p.decide(identity, protocol, port).verdict
    }

    #[test]
    fn deny_removes_the_allows_it_covers() {
        let s = resolve(&[
            raw(7, 6, PortRange::single(80), Action::Allow, "allow"),
            raw(7, 6, PortRange::new(0, 1023), Action::Deny, "deny"),
        ]);
        assert_eq!(s.entries.len(), 1);
        let (k, v) = s.entries.iter().next().unwrap();
        assert_eq!((k.ports, v.action), (PortRange::new(0, 1023), Action::Deny));
        assert_eq!(decide(&s, 7, 6, 80), Verdict::Denied);
    }

    #[test]
    fn partial_overlap_is_split() {
        let s = resolve(&[
            raw(7, 6, PortRange::new(80, 100), Action::Allow, "allow"),
            raw(7, 6, PortRange::new(90, 95), Action::Deny, "deny"),
        ]);
        let got: Vec<(PortRange, Action)> =
            s.entries.iter().map(|(k, v)| (k.ports, v.action)).collect();
        assert_eq!(
            got,
            vec![
                (PortRange::new(80, 89), Action::Allow),
                (PortRange::new(90, 95), Action::Deny),
                (PortRange::new(96, 100), Action::Allow),
            ]
        );
    }

    #[test]
    fn overlapping_allows_carry_all_their_rules() {
        let s = resolve(&[
            raw(7, 6, PortRange::new(80, 90), Action::Allow, "a"),
            raw(7, 6, PortRange::new(85, 100), Action::Allow, "b"),
            raw(7, 0, PortRange::ALL, Action::Allow, "l3"),
        ]);
        let middle = s
            .entries
            .iter()
            .find(|(k, _)| k.ports == PortRange::new(85, 90))
            .unwrap()
            .1;
        assert_eq!(names(middle), vec!["a", "b", "l3"]);
        assert!(s.entries.contains_key(&MapKey {
            identity: 7,
            protocol: 0,
            ports: PortRange::ALL
        }));
    }

    #[test]
    fn wildcard_deny_removes_identity_allows() {
        let s = resolve(&[
            raw(7, 6, PortRange::single(80), Action::Allow, "allow"),
            raw(0, 6, PortRange::new(0, 1023), Action::Deny, "deny-all-low"),
        ]);
        assert!(!s.entries.keys().any(|k| k.identity == 7));
        assert_eq!(decide(&s, 7, 6, 80), Verdict::Denied);
    }

    #[test]
    fn any_protocol_deny_beats_every_allow_of_its_identity() {
        let s = resolve(&[
            raw(7, 6, PortRange::single(80), Action::Allow, "allow"),
            raw(7, 0, PortRange::ALL, Action::Deny, "deny"),
            raw(8, 6, PortRange::single(80), Action::Allow, "other"),
        ]);
        assert_eq!(decide(&s, 7, 6, 80), Verdict::Denied);
        assert_eq!(decide(&s, 8, 6, 80), Verdict::Allowed);
        assert!(
            s.entries
                .values()
                .filter(|v| v.action == Action::Allow)
                .count()
                == 1
        );
    }

    #[test]
    fn resolving_some_identities_gives_their_entries_of_the_whole() {
        let raw = [
            raw(0, 6, PortRange::new(0, 1023), Action::Deny, "deny-all-low"),
            raw(0, 0, PortRange::ALL, Action::Allow, "allow-all"),
            raw(7, 6, PortRange::new(80, 2000), Action::Allow, "seven"),
            raw(8, 6, PortRange::single(80), Action::Allow, "eight"),
        ];
        let whole = resolve(&raw);
        let some = resolve_only(&raw, &BTreeSet::from([7]));
        let sevens: Vec<_> = whole
            .entries
            .iter()
            .filter(|(k, _)| k.identity == 7)
            .collect();
        assert_eq!(some.entries.iter().collect::<Vec<_>>(), sevens);
        assert_eq!(
            sevens.len(),
            1,
            "ports below 1024 are denied to every identity"
        );
    }

    #[test]
    fn deny_with_an_allow_all_denies_only_its_scope() {
        let s = resolve(&[
            raw(0, 0, PortRange::ALL, Action::Allow, "allow-all"),
            raw(7, 6, PortRange::single(8080), Action::Deny, "deny"),
        ]);
        assert_eq!(decide(&s, 7, 6, 8080), Verdict::Denied);
        assert_eq!(decide(&s, 7, 6, 80), Verdict::Allowed);
        assert_eq!(decide(&s, 7, 17, 8080), Verdict::Allowed);
    }
}
