//! The kernel's lookups and policy decision, written in Rust over map contents: what
//! `probe-ebpf` computes for a new connection, given what `OBS_POLICY`, `OBS_ENDPOINTS` and
//! `OBS_IPCACHE` hold. It answers "what would the datapath do" for installed state (not
//! for the engine's intent, which `DirectionPolicy::decide` answers), and it is how the
//! tests check that map contents written by [`apply`](super::apply::apply) decide exactly
//! like the engine.

use std::collections::BTreeMap;

use probe_common::endpoint::EndpointInfo;
use probe_common::ipcache::{IpCacheEntry, IpCacheKey, WORLD_IDENTITY};
use probe_common::policy::{PolicyEntry, PolicyKey, action, match_type};
use probe_common::{direction, drop_reason};

use crate::policy::Direction;

/// A decision as the datapath makes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The connection may proceed.
    pub allowed: bool,
    /// Drop reason when denied (133 or 181), else 0.
    pub reason: u8,
    /// Hubble match type.
    pub match_type: u8,
    /// Cookie of the deciding entry, 0 without one.
    pub cookie: u32,
    /// Audit mode: the enforced policy allows the connection, the policy with the audited
    /// policies would drop it (reason, match type and cookie are that policy's), so it
    /// passes and is reported AUDIT.
    pub audited: bool,
}

/// The bytes of a policy key as the kernel's trie compares them (native byte order for the
/// integer fields, as the `repr(C)` struct lies in memory).
fn policy_key_bytes(k: &PolicyKey) -> [u8; 12] {
    let mut b = [0; 12];
    b[0..2].copy_from_slice(&k.endpoint_id.to_ne_bytes());
    b[2] = k.direction;
    b[3] = k.pad0;
    b[4..8].copy_from_slice(&k.identity.to_ne_bytes());
    b[8] = k.protocol;
    b[9..11].copy_from_slice(&k.dport);
    b[11] = k.pad1;
    b
}

fn ipcache_key_bytes(k: &IpCacheKey) -> [u8; 20] {
    let mut b = [0; 20];
    b[0] = k.family;
    b[1..4].copy_from_slice(&k.pad);
    b[4..].copy_from_slice(&k.addr);
    b
}

/// Whether the first `bits` bits of `a` and `b` agree.
fn prefix_matches(a: &[u8], b: &[u8], bits: u32) -> bool {
    let full = (bits / 8) as usize;
    let rest = bits % 8;
    if a.len() < full || b.len() < full || a[..full] != b[..full] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    match (a.get(full), b.get(full)) {
        (Some(x), Some(y)) => x & mask == y & mask,
        _ => false,
    }
}

/// An LPM trie lookup of `key` with a full-length prefix (as the datapath looks up): the
/// matching entry with the longest prefix.
fn lpm<'m, K: Copy, V, const N: usize>(
    map: &'m BTreeMap<(K, u32), V>,
    key: &K,
    bytes: fn(&K) -> [u8; N],
) -> Option<&'m V> {
    let want = bytes(key);
    map.iter()
        .filter(|((k, len), _)| prefix_matches(&bytes(k), &want, *len))
        .max_by_key(|((_, len), _)| *len)
        .map(|(_, v)| v)
}

/// The identity `OBS_IPCACHE` gives `addr` (IPv4 in the first four bytes).
pub fn identity_of(
    ipcache: &BTreeMap<(IpCacheKey, u32), IpCacheEntry>,
    family: u8,
    addr: [u8; 16],
) -> u32 {
    let key = IpCacheKey {
        family,
        pad: [0; 3],
        addr,
    };
    lpm(ipcache, &key, ipcache_key_bytes).map_or(WORLD_IDENTITY, |e| e.identity)
}

/// Decides a new connection of endpoint `ep` in `dir` with peer identity `peer`, IP
/// `protocol` and policy `port` (ICMP type for ICMP), as `probe-ebpf`'s `policy::decide`,
/// audit mode included.
pub fn decide(
    policy: &BTreeMap<(PolicyKey, u32), PolicyEntry>,
    ep: &EndpointInfo,
    dir: Direction,
    peer: u32,
    protocol: u8,
    port: u16,
) -> Decision {
    let wire = dir.as_wire();
    let enforced = if ep.enforces(wire) {
        lookup(policy, ep.endpoint_id, wire, peer, protocol, port)
    } else {
        Decision {
            allowed: true,
            reason: 0,
            match_type: match_type::NONE,
            cookie: 0,
            audited: false,
        }
    };
    if !enforced.allowed || !ep.audits(wire) {
        return enforced;
    }
    let audit = lookup(
        policy,
        ep.endpoint_id,
        direction::audit_of(wire),
        peer,
        protocol,
        port,
    );
    if audit.allowed {
        return enforced;
    }
    Decision {
        allowed: true,
        audited: true,
        ..audit
    }
}

/// The two lookups of the entries under (`endpoint_id`, `wire`) and the decision on them.
fn lookup(
    policy: &BTreeMap<(PolicyKey, u32), PolicyEntry>,
    endpoint_id: u16,
    wire: u8,
    peer: u32,
    protocol: u8,
    port: u16,
) -> Decision {
    let mut key = PolicyKey::new(endpoint_id, wire, peer, protocol, port);
    let by_identity = lpm(policy, &key, policy_key_bytes).copied();
    key.identity = 0;
    let any_identity = lpm(policy, &key, policy_key_bytes).copied();
    let Some((entry, wildcard)) = probe_common::policy::choose(by_identity, any_identity) else {
        return Decision {
            allowed: false,
            reason: drop_reason::POLICY_DENIED,
            match_type: match_type::NONE,
            cookie: 0,
            audited: false,
        };
    };
    let denied = entry.action == action::DENY;
    Decision {
        allowed: !denied,
        reason: if denied { drop_reason::POLICY_DENY } else { 0 },
        match_type: match_type::of(wildcard, entry.l4_prefix),
        cookie: entry.cookie,
        audited: false,
    }
}

#[cfg(test)]
mod tests {
    use probe_common::ipcache::FAMILY_V4;

    use super::*;

    #[test]
    fn prefixes_compare_leading_bits_only() {
        assert!(prefix_matches(&[0b1010_0000], &[0b1011_1111], 3));
        assert!(!prefix_matches(&[0b1010_0000], &[0b1011_1111], 4));
        assert!(prefix_matches(&[1, 2, 3], &[1, 2, 4], 16));
        assert!(prefix_matches(&[1], &[2], 0));
    }

    #[test]
    fn ipcache_returns_the_longest_prefix_or_world() {
        let key = |a: [u8; 4]| IpCacheKey {
            family: FAMILY_V4,
            pad: [0; 3],
            addr: [a[0], a[1], a[2], a[3], 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        };
        let mut m = BTreeMap::new();
        m.insert(
            (key([10, 0, 0, 0]), IpCacheKey::prefix_len(8)),
            IpCacheEntry::new(16777217),
        );
        m.insert(
            (key([10, 0, 0, 1]), IpCacheKey::prefix_len(32)),
            IpCacheEntry::new(1000),
        );
        assert_eq!(identity_of(&m, FAMILY_V4, key([10, 0, 0, 1]).addr), 1000);
        assert_eq!(
            identity_of(&m, FAMILY_V4, key([10, 9, 0, 1]).addr),
            16777217
        );
        assert_eq!(
            identity_of(&m, FAMILY_V4, key([192, 0, 2, 1]).addr),
            WORLD_IDENTITY
        );
    }
}
