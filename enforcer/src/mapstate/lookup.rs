//! The datapath's decision procedure, on map state: what `probe-ebpf` does with its two LPM
//! lookups, written once more in userspace so trace and tests agree with the kernel.

use probe_common::drop_reason;
use probe_common::policy::match_type;

use super::{Action, DirectionPolicy, MapKey, MapState, MapValue, PortRange};

/// Outcome of a policy decision in one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The direction is not enforced: everything passes.
    NotEnforced,
    /// An allow entry matched.
    Allowed,
    /// A deny entry matched (drop reason 181).
    Denied,
    /// Enforced and no entry matched (drop reason 133).
    DefaultDenied,
}

impl Verdict {
    /// Whether traffic passes.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::NotEnforced | Self::Allowed)
    }

    /// Hubble drop reason when traffic is dropped.
    pub fn drop_reason(&self) -> Option<u8> {
        match self {
            Self::Denied => Some(drop_reason::POLICY_DENY),
            Self::DefaultDenied => Some(drop_reason::POLICY_DENIED),
            _ => None,
        }
    }
}

/// A decision and the entry that made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lookup<'a> {
    /// The verdict.
    pub verdict: Verdict,
    /// The deciding entry, if any.
    pub entry: Option<(&'a MapKey, &'a MapValue)>,
    /// Hubble policy match type of the deciding entry ([`match_type::NONE`] without one).
    pub match_type: u8,
}

impl DirectionPolicy {
    /// Decides a new flow with the peer `identity`, IP `protocol` and destination `port`
    /// (ICMP type for ICMP), the way the datapath does.
    pub fn decide(&self, identity: u32, protocol: u8, port: u16) -> Lookup<'_> {
        if !self.enforced {
            return Lookup {
                verdict: Verdict::NotEnforced,
                entry: None,
                match_type: match_type::NONE,
            };
        }
        let l3 = self.state.best_match(identity, protocol, port);
        let l4 = self.state.best_match(0, protocol, port);
        let is_deny = |m: &Option<Candidate<'_>>| m.is_some_and(|c| c.value.action == Action::Deny);
        let chosen = if is_deny(&l3) {
            l3
        } else if is_deny(&l4) {
            l4
        } else {
            match (l3, l4) {
                // The more specific port match wins; on a tie the identity match does.
                (Some(a), Some(b)) => Some(if b.l4_prefix > a.l4_prefix { b } else { a }),
                (a, b) => a.or(b),
            }
        };
        match chosen {
            None => Lookup {
                verdict: Verdict::DefaultDenied,
                entry: None,
                match_type: match_type::NONE,
            },
            Some(c) => Lookup {
                verdict: if c.value.action == Action::Deny {
                    Verdict::Denied
                } else {
                    Verdict::Allowed
                },
                entry: Some((c.key, c.value)),
                match_type: match_type::of(c.key.identity == 0, c.l4_prefix),
            },
        }
    }
}

impl DirectionPolicy {
    /// [`decide`](Self::decide), and in audit mode the decision of the policy with the
    /// audited policies when it would drop a flow that decision lets through: the
    /// datapath passes such a flow and reports it AUDIT.
    pub fn decide_audited(
        &self,
        identity: u32,
        protocol: u8,
        port: u16,
    ) -> (Lookup<'_>, Option<Lookup<'_>>) {
        let decided = self.decide(identity, protocol, port);
        let audit = match self.audit.as_deref() {
            Some(full) if decided.verdict.is_allowed() => {
                Some(full.decide(identity, protocol, port)).filter(|a| !a.verdict.is_allowed())
            }
            _ => None,
        };
        (decided, audit)
    }
}

#[derive(Clone, Copy)]
struct Candidate<'a> {
    key: &'a MapKey,
    value: &'a MapValue,
    l4_prefix: u8,
}

impl MapState {
    /// The longest-prefix entry of `identity` matching `protocol`/`port`, as an LPM trie
    /// lookup with that identity returns it.
    fn best_match(&self, identity: u32, protocol: u8, port: u16) -> Option<Candidate<'_>> {
        let any_proto = MapKey {
            identity,
            protocol: 0,
            ports: PortRange::ALL,
        };
        let mut best = self
            .entries
            .get_key_value(&any_proto)
            .map(|(key, value)| Candidate {
                key,
                value,
                l4_prefix: 0,
            });
        if protocol == 0 {
            return best;
        }
        let lo = MapKey {
            identity,
            protocol,
            ports: PortRange::single(0),
        };
        let hi = MapKey {
            identity,
            protocol,
            ports: PortRange {
                lo: port,
                hi: u16::MAX,
            },
        };
        for (key, value) in self.entries.range(lo..=hi) {
            let Some(bits) = key.ports.prefix_bits_at(port) else {
                continue;
            };
            let l4_prefix = 8 + bits;
            if best.is_none_or(|b| l4_prefix > b.l4_prefix) {
                best = Some(Candidate {
                    key,
                    value,
                    l4_prefix,
                });
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapstate::testing::policy;

    /// What the audit says of TCP `port` from identity 1000 (whether it is AUDIT).
    fn audited(p: &DirectionPolicy, port: u16) -> Option<Verdict> {
        p.decide_audited(1000, 6, port).1.map(|a| a.verdict)
    }

    #[test]
    fn an_audit_reports_what_the_policy_with_the_audited_ones_would_drop() {
        let full = policy(&[(1000, 6, PortRange::single(80), Action::Allow)]);
        // Enforced alone: nothing selects the endpoint.
        let p = DirectionPolicy {
            audit: Some(Box::new(full.clone())),
            ..DirectionPolicy::default()
        };
        assert_eq!(audited(&p, 80), None);
        let audit = audited(&p, 443).expect("the audited policy drops 443");
        assert_eq!(audit, Verdict::DefaultDenied);
        // What the enforced policy drops is dropped, not audited.
        let p = DirectionPolicy {
            audit: Some(Box::new(full.clone())),
            ..policy(&[(1000, 6, PortRange::single(443), Action::Deny)])
        };
        assert_eq!(audited(&p, 443), None);
        assert_eq!(p.decide(1000, 6, 443).verdict, Verdict::Denied);
        // Without audited policies there is nothing to audit.
        assert_eq!(audited(&DirectionPolicy::default(), 443), None);
    }

    #[test]
    fn unenforced_direction_allows_everything() {
        let p = DirectionPolicy::default();
        assert_eq!(p.decide(1000, 6, 80).verdict, Verdict::NotEnforced);
    }

    #[test]
    fn no_entry_is_default_deny() {
        let p = policy(&[(1000, 6, PortRange::single(80), Action::Allow)]);
        assert_eq!(p.decide(1000, 6, 81).verdict, Verdict::DefaultDenied);
        assert_eq!(p.decide(1001, 6, 80).verdict, Verdict::DefaultDenied);
        let hit = p.decide(1000, 6, 80);
        assert_eq!(
            (hit.verdict, hit.match_type),
            (Verdict::Allowed, match_type::L3_L4)
        );
    }

    #[test]
    fn a_deny_from_either_lookup_wins() {
        let p = policy(&[
            (1000, 0, PortRange::ALL, Action::Allow),
            (0, 6, PortRange::single(22), Action::Deny),
        ]);
        assert_eq!(p.decide(1000, 6, 22).verdict, Verdict::Denied);
        assert_eq!(p.decide(1000, 6, 23).verdict, Verdict::Allowed);
        let p = policy(&[
            (0, 0, PortRange::ALL, Action::Allow),
            (1000, 6, PortRange::single(22), Action::Deny),
        ]);
        assert_eq!(p.decide(1000, 6, 22).verdict, Verdict::Denied);
        assert_eq!(p.decide(1001, 6, 22).verdict, Verdict::Allowed);
    }

    #[test]
    fn more_specific_port_match_is_reported() {
        let p = policy(&[
            (1000, 0, PortRange::ALL, Action::Allow),
            (0, 6, PortRange::single(80), Action::Allow),
        ]);
        let hit = p.decide(1000, 6, 80);
        assert_eq!(hit.match_type, match_type::L4_ONLY);
        let hit = p.decide(1000, 17, 53);
        assert_eq!(hit.match_type, match_type::L3_ONLY);
    }

    #[test]
    fn port_ranges_match_at_their_edges() {
        let p = policy(&[(1000, 6, PortRange::new(8080, 8090), Action::Allow)]);
        for (port, allowed) in [
            (8079, false),
            (8080, true),
            (8085, true),
            (8090, true),
            (8091, false),
        ] {
            assert_eq!(
                p.decide(1000, 6, port).verdict.is_allowed(),
                allowed,
                "port {port}"
            );
        }
    }
}
