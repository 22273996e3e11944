//! Computing an endpoint's policy: the rules selecting it, per-direction enforcement and
//! default deny (Cilium's `computePolicyEnforcementAndRules`), requirement folding, every
//! section's entries, the derived rules, and precedence resolution; for audit mode, the
//! policy of the enforced policies alone beside the one with the audited policies too.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::entries::{Resolver, Used};
use super::subjects::RuleHandle;
use crate::cluster::ContainerPort;
use crate::labels::Selector;
use crate::mapstate::resolve::{RawEntry, resolve, resolve_only};
use crate::mapstate::{Action, DirectionPolicy, EndpointPolicy, L7Kind, PortRange};
use crate::policy::Direction;
use crate::policy::model::PeerRule;
use crate::policy::origin::{PolicyKind, PolicyRef, RuleRef};

/// The rules the engine adds on its own, as Cilium does.
#[derive(Clone)]
pub struct DerivedRules {
    /// Allow-all at ingress when no selecting rule enables default deny.
    pub allow_any_ingress: RuleRef,
    /// Allow-all at egress when no selecting rule enables default deny.
    pub allow_any_egress: RuleRef,
    /// The local host may always reach its endpoints (`allow-localhost=always`, Cilium's
    /// default under Kubernetes: kubelet probes rely on it).
    pub allow_localhost: RuleRef,
}

impl Default for DerivedRules {
    fn default() -> Self {
        let derived = |name: &str, path: &str| RuleRef {
            policy: Arc::new(PolicyRef {
                kind: PolicyKind::Derived,
                namespace: String::new(),
                name: name.into(),
            }),
            path: path.into(),
        };
        Self {
            allow_any_ingress: derived(
                "allow-any-ingress",
                "no selecting rule enables ingress default deny",
            ),
            allow_any_egress: derived(
                "allow-any-egress",
                "no selecting rule enables egress default deny",
            ),
            allow_localhost: derived(
                "allow-localhost-ingress",
                "the local host may always reach its endpoints",
            ),
        }
    }
}

/// The rules of `rules` with sections in direction `dir`.
pub fn relevant(rules: &[RuleHandle], dir: Direction) -> Vec<&RuleHandle> {
    rules
        .iter()
        .filter(|h| {
            let (allow, deny) = h.rule().sections(dir);
            !allow.is_empty() || !deny.is_empty()
        })
        .collect()
}

/// The folded `fromRequires`/`toRequires` of the allow (`deny = false`) or deny sections.
pub fn folded_requires(rules: &[&RuleHandle], dir: Direction, deny: bool) -> Selector {
    let reqs = rules.iter().flat_map(|h| {
        let (allow, denies) = h.rule().sections(dir);
        let sections = if deny { denies } else { allow };
        sections.iter().flat_map(|s| {
            s.requires
                .iter()
                .flat_map(|sel| sel.requirements().iter().cloned())
        })
    });
    Selector::new(reqs.collect::<Vec<_>>())
}

/// What one direction of an endpoint's policy is computed for, besides its rules.
#[derive(Clone, Copy)]
struct Side<'a> {
    /// The endpoint's container ports (ingress named ports resolve against them).
    ports: &'a [ContainerPort],
    dir: Direction,
    derived: &'a DerivedRules,
    /// Whether the local host's exception applies (ingress only).
    allow_localhost: bool,
}

/// Computes an endpoint's policy from the rules selecting it and its container ports
/// (which ingress named ports resolve against).
pub fn compute(
    resolver: &mut Resolver<'_>,
    rules: &[RuleHandle],
    ports: &[ContainerPort],
    derived: &DerivedRules,
    allow_localhost: bool,
    used: &mut Used,
) -> EndpointPolicy {
    let side = |dir, allow_localhost| Side {
        ports,
        dir,
        derived,
        allow_localhost,
    };
    EndpointPolicy {
        ingress: direction(
            resolver,
            rules,
            side(Direction::Ingress, allow_localhost),
            used,
        ),
        egress: direction(resolver, rules, side(Direction::Egress, false), used),
    }
}

fn direction(
    resolver: &mut Resolver<'_>,
    rules: &[RuleHandle],
    side: Side<'_>,
    used: &mut Used,
) -> DirectionPolicy {
    let relevant = relevant(rules, side.dir);
    let enforcing: Vec<&RuleHandle> = relevant
        .iter()
        .copied()
        .filter(|h| !h.policy.audit)
        .collect();
    let mut policy = resolved(resolver, &enforcing, side, used);
    // Audit mode: the policy with the audited policies too, beside the enforced one.
    if enforcing.len() < relevant.len() {
        policy.audit = Some(Box::new(resolved(resolver, &relevant, side, used)));
    }
    policy
}

/// The policy of the `relevant` rules on `side`: not enforced without any, else their
/// entries, the derived ones, and precedence resolved.
fn resolved(
    resolver: &mut Resolver<'_>,
    relevant: &[&RuleHandle],
    side: Side<'_>,
    used: &mut Used,
) -> DirectionPolicy {
    let Side {
        ports,
        dir,
        derived,
        allow_localhost,
    } = side;
    if relevant.is_empty() {
        return DirectionPolicy::default();
    }
    let default_deny = relevant.iter().any(|h| h.rule().default_deny(dir));
    // A partial resolution of no identity has no entries to resolve.
    let nothing = resolver
        .partial
        .as_deref()
        .is_some_and(|p| p.only.is_empty());
    let mut raw = if nothing {
        Vec::new()
    } else {
        section_entries(resolver, relevant, ports, dir, used)
    };
    let allow_all = |rule: &RuleRef, identity: u32| RawEntry {
        identity,
        protocol: 0,
        ports: PortRange::ALL,
        action: Action::Allow,
        rule: rule.clone(),
        l7: L7Kind::None,
    };
    if !default_deny {
        let rule = if dir == Direction::Ingress {
            &derived.allow_any_ingress
        } else {
            &derived.allow_any_egress
        };
        raw.push(allow_all(rule, 0));
    }
    if allow_localhost {
        raw.push(allow_all(&derived.allow_localhost, crate::identity::HOST));
    }
    let selecting: BTreeSet<Arc<PolicyRef>> =
        relevant.iter().map(|h| h.policy.origin.clone()).collect();
    let state = match resolver.partial.as_deref() {
        Some(partial) => resolve_only(&raw, &partial.only),
        None => resolve(&raw),
    };
    DirectionPolicy {
        enforced: true,
        selecting: selecting.into_iter().collect(),
        state,
        audit: None,
    }
}

fn section_entries(
    resolver: &mut Resolver<'_>,
    relevant: &[&RuleHandle],
    ports: &[ContainerPort],
    dir: Direction,
    used: &mut Used,
) -> Vec<RawEntry> {
    let mut raw = Vec::new();
    for_each_section(resolver, relevant, ports, dir, used, |_, _, entries| {
        raw.extend(entries);
    });
    raw
}

/// Resolves every section of `relevant` in `dir` (each rule's allows, then its denies, with
/// the folded `fromRequires`/`toRequires` of their kind) and hands `f` each section, its
/// action and its entries: what map state is built from, and what trace explains with.
pub(super) fn for_each_section(
    resolver: &mut Resolver<'_>,
    relevant: &[&RuleHandle],
    ports: &[ContainerPort],
    dir: Direction,
    used: &mut Used,
    mut f: impl FnMut(&PeerRule, Action, Vec<RawEntry>),
) {
    let requires_allow = folded_requires(relevant, dir, false);
    let requires_deny = folded_requires(relevant, dir, true);
    for h in relevant {
        let (allow, deny) = h.rule().sections(dir);
        for s in allow {
            let entries = resolver.entries(s, &requires_allow, Action::Allow, dir, ports, used);
            f(s, Action::Allow, entries);
        }
        for s in deny {
            let entries = resolver.entries(s, &requires_deny, Action::Deny, dir, ports, used);
            f(s, Action::Deny, entries);
        }
    }
}
