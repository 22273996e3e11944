//! From map state to policy-map entries: each [`MapState`](crate::mapstate::MapState) entry of an endpoint's direction
//! becomes one or more LPM-trie entries `(PolicyKey, prefix_len) → PolicyEntry`, with the
//! key prefix chosen as [`probe_common::policy`] documents:
//!
//! - protocol 0 (any protocol, any port) →
//!   [`PREFIX_ANY_PROTO`](probe_common::policy::PREFIX_ANY_PROTO), `l4_prefix` 0;
//! - a protocol with [`PortRange::ALL`](crate::mapstate::PortRange::ALL) →
//!   [`PREFIX_PROTO`](probe_common::policy::PREFIX_PROTO), `l4_prefix` 8;
//! - a protocol with a port range → one entry per prefix of
//!   [`PortRange::prefixes`](crate::mapstate::PortRange::prefixes), at
//!   `PREFIX_PROTO + bits`, `l4_prefix` `8 + bits`.
//!
//! The kernel's longest-prefix match over these entries then returns exactly the candidate
//! `DirectionPolicy::decide` picks for an identity: the matching entry with the most port
//! bits. Should two map-state entries produce the same LPM entry (overlapping ranges, which
//! resolved map state never has), the first in map-state order wins, as it does in
//! `decide`'s own tie-break.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use probe_common::direction;
use probe_common::policy::{PolicyEntry, PolicyKey, action, entry_flags, key_prefix_len};

use super::cookie::CookieTable;
use crate::mapstate::{Action, DirectionPolicy, L7Kind, MapKey, MapValue};
use crate::policy::Direction;

/// Policy-map entries keyed like the LPM trie: (key data, prefix length in bits).
pub type PolicyEntries = BTreeMap<(PolicyKey, u32), PolicyEntry>;

/// Adds the entries of `endpoint_id`'s `policy` in `direction` to `out`, interning each
/// entry's rules in `cookies`. An unenforced direction adds nothing: the datapath does not
/// look at its entries. The policy with its audited policies (audit mode) goes under
/// [`direction::audit_of`] the direction.
pub fn add_direction(
    out: &mut PolicyEntries,
    endpoint_id: u16,
    direction: Direction,
    policy: &DirectionPolicy,
    cookies: &mut CookieTable,
) {
    let wire = direction.as_wire();
    add_entries(out, endpoint_id, wire, policy, cookies);
    if let Some(audit) = &policy.audit {
        add_entries(out, endpoint_id, direction::audit_of(wire), audit, cookies);
    }
}

fn add_entries(
    out: &mut PolicyEntries,
    endpoint_id: u16,
    wire: u8,
    policy: &DirectionPolicy,
    cookies: &mut CookieTable,
) {
    if !policy.enforced {
        return;
    }
    for (key, value) in &policy.state.entries {
        let entry = entry(value, cookies.intern(&value.rules));
        for (lpm_key, l4_prefix) in lpm_keys(endpoint_id, wire, key) {
            // Keys carry the endpoint and the direction, so only this direction's own
            // entries can collide: the first in map-state order wins, like `decide`'s
            // tie-break.
            if let Entry::Vacant(slot) = out.entry((lpm_key, key_prefix_len(l4_prefix))) {
                slot.insert(PolicyEntry { l4_prefix, ..entry });
            }
        }
    }
}

/// The LPM keys of one map-state key under policy-map direction `wire`, each with its
/// `l4_prefix` (the key's prefix length is [`key_prefix_len`] of it).
///
/// A protocol-0 key with ports other than `PortRange::ALL` is not valid map state, and
/// `decide` never consults it, so it yields nothing here either.
pub fn lpm_keys(endpoint_id: u16, wire: u8, key: &MapKey) -> Vec<(PolicyKey, u8)> {
    let lpm = |port: u16| PolicyKey::new(endpoint_id, wire, key.identity, key.protocol, port);
    if key.protocol == 0 {
        return if key.ports.is_all() {
            vec![(lpm(0), 0)]
        } else {
            Vec::new()
        };
    }
    key.ports
        .prefixes()
        .into_iter()
        .map(|(base, bits)| (lpm(base), 8 + bits))
        .collect()
}

fn entry(value: &MapValue, cookie: u32) -> PolicyEntry {
    PolicyEntry {
        cookie,
        action: match value.action {
            Action::Allow => action::ALLOW,
            Action::Deny => action::DENY,
        },
        l4_prefix: 0,
        flags: match value.l7 {
            L7Kind::None => 0,
            L7Kind::Http => entry_flags::REDIRECT_HTTP,
            L7Kind::Dns => entry_flags::REDIRECT_DNS,
        },
        pad: 0,
    }
}

#[cfg(test)]
mod tests {

    use probe_common::policy::{PREFIX_ANY_PROTO, PREFIX_FULL, PREFIX_PROTO};

    use super::*;
    use crate::mapstate::PortRange;
    use crate::mapstate::testing::policy;

    #[test]
    fn prefixes_follow_the_key_layout() {
        let p = policy(&[
            (7, 0, PortRange::ALL, Action::Allow),
            (0, 17, PortRange::ALL, Action::Allow),
            (7, 6, PortRange::single(80), Action::Deny),
        ]);
        let mut out = PolicyEntries::new();
        add_direction(&mut out, 3, Direction::Ingress, &p, &mut CookieTable::new());
        let got: Vec<(u32, u8, u16, u32, u8, u8)> = out
            .iter()
            .map(|((k, len), e)| {
                (
                    k.identity,
                    k.protocol,
                    k.port(),
                    *len,
                    e.l4_prefix,
                    e.action,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (0, 17, 0, PREFIX_PROTO, 8, action::ALLOW),
                (7, 0, 0, PREFIX_ANY_PROTO, 0, action::ALLOW),
                (7, 6, 80, PREFIX_FULL, 24, action::DENY),
            ]
        );
        assert!(
            out.keys()
                .all(|(k, _)| k.endpoint_id == 3 && k.direction == Direction::Ingress.as_wire())
        );
    }

    #[test]
    fn port_ranges_become_aligned_prefixes() {
        let p = policy(&[(7, 6, PortRange::new(8080, 8090), Action::Allow)]);
        let mut out = PolicyEntries::new();
        add_direction(&mut out, 3, Direction::Egress, &p, &mut CookieTable::new());
        let got: Vec<(u16, u32)> = out.keys().map(|(k, len)| (k.port(), *len)).collect();
        // 8080-8087 (/13), 8088-8089 (/15), 8090 (/16).
        assert_eq!(
            got,
            vec![
                (8080, PREFIX_PROTO + 13),
                (8088, PREFIX_PROTO + 15),
                (8090, PREFIX_FULL)
            ]
        );
        assert!(
            out.iter()
                .all(|((_, len), e)| u32::from(e.l4_prefix) + PREFIX_ANY_PROTO == *len)
        );
    }

    #[test]
    fn cookies_name_the_rules() {
        let p = policy(&[
            (7, 6, PortRange::single(80), Action::Allow),
            (8, 6, PortRange::single(80), Action::Allow),
        ]);
        let mut cookies = CookieTable::new();
        let mut out = PolicyEntries::new();
        add_direction(&mut out, 3, Direction::Egress, &p, &mut cookies);
        let by_identity: BTreeMap<u32, u32> = out
            .iter()
            .map(|((k, _), e)| (k.identity, e.cookie))
            .collect();
        assert_ne!(by_identity[&7], by_identity[&8]);
        let rules = cookies.rules(by_identity[&8]).expect("interned");
        assert_eq!(rules[0].policy.name, "r1");
    }

    #[test]
    fn unenforced_directions_and_invalid_keys_add_nothing() {
        let mut p = policy(&[(7, 6, PortRange::single(80), Action::Allow)]);
        p.enforced = false;
        let mut out = PolicyEntries::new();
        add_direction(&mut out, 3, Direction::Egress, &p, &mut CookieTable::new());
        assert!(out.is_empty());
        assert!(
            lpm_keys(
                3,
                Direction::Egress.as_wire(),
                &MapKey {
                    identity: 7,
                    protocol: 0,
                    ports: PortRange::single(80)
                }
            )
            .is_empty()
        );
    }
}
