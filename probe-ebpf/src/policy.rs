//! Identities and the policy decision.
//!
//! The decision is `enforcer::mapstate::DirectionPolicy::decide`, step for step, over the
//! `OBS_POLICY` LPM trie: userspace resolved precedence when it wrote the entries, so two
//! lookups per new connection are enough:
//!
//! 1. direction not enforced for the endpoint → allowed, match type NONE (then, as for an
//!    allowed connection, the audit entries are decided: see [`decide`]);
//! 2. look up (endpoint, direction, peer identity, protocol, port) with the full-length key:
//!    the trie returns the longest (most specific) entry of that identity;
//! 3. look up the same with identity 0 (entries for any peer);
//! 4. a deny from the identity lookup, else a deny from the wildcard lookup → drop 181;
//! 5. otherwise the entry with the longer `l4_prefix` (a tie goes to the identity lookup)
//!    allows; no entry at all → drop 133.

use aya_ebpf::maps::lpm_trie::Key;
use probe_common::conntrack::ct_flags;
use probe_common::drop_reason;
use probe_common::endpoint::EndpointInfo;
use probe_common::event::event_flags;
use probe_common::ipcache::{FAMILY_V4, IpCacheEntry, IpCacheKey, WORLD_IDENTITY};
use probe_common::policy::{PREFIX_FULL, PolicyEntry, PolicyKey, action, entry_flags, match_type};
use probe_common::{counters, direction};

use crate::maps::{OBS_IPCACHE, OBS_POLICY, zeroed};
use crate::notify;
use crate::parse::Flow;

/// The outcome of a policy decision, with what events report about it.
#[derive(Clone, Copy)]
pub struct Decision {
    /// The connection may proceed.
    pub allowed: bool,
    /// Drop reason when not allowed (133 or 181).
    pub reason: u8,
    /// Hubble policy match type of the deciding entry.
    pub match_type: u8,
    /// Cookie of the deciding entry (0 without one).
    pub cookie: u32,
    /// Event flags: [`event_flags::ENFORCED`], and [`event_flags::REDIRECTED`] (with
    /// [`event_flags::TO_HTTP_PROXY`] for the HTTP proxy) when the connection goes to a
    /// proxy. (No field for the proxy itself: eight bytes are returned in a register, a
    /// larger struct through the caller's stack, which the verifier refuses.)
    pub flags: u8,
}

impl Decision {
    /// The proxy an allowed connection goes to: [`ct_flags::REDIRECT_DNS`],
    /// [`ct_flags::REDIRECT_HTTP`], or 0.
    #[inline(always)]
    pub fn redirect(&self) -> u8 {
        if self.flags & event_flags::REDIRECTED == 0 {
            0
        } else if self.flags & event_flags::TO_HTTP_PROXY != 0 {
            ct_flags::REDIRECT_HTTP
        } else {
            ct_flags::REDIRECT_DNS
        }
    }
}

/// Whether `ep` enforces policy in `dir`.
#[inline(always)]
pub fn is_enforced(ep: &EndpointInfo, dir: u8) -> bool {
    ep.enforces(dir)
}

/// The ipcache entry of `addr` (longest prefix). Userspace installs the all-addresses
/// world entries, so a miss only happens before it has populated the map; the packet is
/// then treated as coming from / going to the world.
#[inline(always)]
pub fn entry_of(family: u8, addr: [u8; 16]) -> IpCacheEntry {
    let ip_bits = if family == FAMILY_V4 { 32 } else { 128 };
    let key = Key::new(
        IpCacheKey::prefix_len(ip_bits),
        IpCacheKey {
            family,
            addr,
            ..zeroed()
        },
    );
    OBS_IPCACHE
        .get(&key)
        .copied()
        .unwrap_or(IpCacheEntry::new(WORLD_IDENTITY))
}

/// The ipcache entry of `flow`'s peer: the destination of what the endpoint sends, the
/// source of what it receives.
#[inline(always)]
pub fn peer(flow: &Flow, dir: u8) -> IpCacheEntry {
    let addr = if dir == direction::EGRESS {
        flow.daddr
    } else {
        flow.saddr
    };
    entry_of(flow.family, addr)
}

/// The ipcache entry of `flow`'s local side: the source of what the endpoint sends, the
/// destination of what it receives.
#[inline(always)]
pub fn local(flow: &Flow, dir: u8) -> IpCacheEntry {
    // The local side of one direction is the peer of the other.
    peer(flow, direction::opposite(dir))
}

/// Decides a connection of `ep` in `dir` with `peer` over `flow`'s protocol and policy port.
/// A BPF subprogram (called for new and re-decided connections), keeping its LPM keys off
/// the caller's frame.
///
/// Audit mode: when the enforced policy allows the connection and policies in audit mode
/// select the endpoint in `dir`, the policy with them is decided too (its entries are
/// under [`direction::audit_of`]). If that one would drop the connection, it passes all
/// the same, as an audited decision: the audit's reason, match type and cookie, flag
/// [`event_flags::AUDITED`], and the enforced decision's steering.
#[inline(never)]
pub fn decide(ep: &EndpointInfo, dir: u8, peer: u32, flow: &Flow) -> Decision {
    let enforced = if is_enforced(ep, dir) {
        lookup(ep.endpoint_id, dir, peer, flow)
    } else {
        not_enforced()
    };
    if !enforced.allowed || !ep.audits(dir) {
        return enforced;
    }
    let audit = lookup(ep.endpoint_id, direction::audit_of(dir), peer, flow);
    if audit.allowed {
        return enforced;
    }
    Decision {
        allowed: true,
        reason: audit.reason,
        match_type: audit.match_type,
        cookie: audit.cookie,
        flags: enforced.flags | event_flags::AUDITED,
    }
}

/// Steps 2 to 5: the two lookups of the entries under (`endpoint_id`, `dir`) and the
/// decision on them.
#[inline(never)]
fn lookup(endpoint_id: u16, dir: u8, peer: u32, flow: &Flow) -> Decision {
    notify::count(counters::POLICY_LOOKUPS);
    let mut key = Key::new(
        PREFIX_FULL,
        PolicyKey::new(endpoint_id, dir, peer, flow.protocol, flow.policy_port),
    );
    let by_identity = OBS_POLICY.get(&key).copied();
    key.data.identity = 0;
    let any_identity = OBS_POLICY.get(&key).copied();
    decision(by_identity, any_identity)
}

#[inline(always)]
fn not_enforced() -> Decision {
    Decision {
        allowed: true,
        reason: 0,
        match_type: match_type::NONE,
        cookie: 0,
        flags: 0,
    }
}

/// Steps 4 and 5 of the decision on the two lookups' results
/// ([`probe_common::policy::choose`]).
#[inline(always)]
fn decision(by_identity: Option<PolicyEntry>, any_identity: Option<PolicyEntry>) -> Decision {
    let Some((entry, wildcard)) = probe_common::policy::choose(by_identity, any_identity) else {
        return default_deny();
    };
    let denied = entry.action == action::DENY;
    let redirected = if denied {
        0
    } else if entry.flags & entry_flags::REDIRECT_DNS != 0 {
        event_flags::REDIRECTED
    } else if entry.flags & entry_flags::REDIRECT_HTTP != 0 {
        event_flags::REDIRECTED | event_flags::TO_HTTP_PROXY
    } else {
        0
    };
    Decision {
        allowed: !denied,
        reason: if denied { drop_reason::POLICY_DENY } else { 0 },
        match_type: match_type::of(wildcard, entry.l4_prefix),
        cookie: entry.cookie,
        flags: event_flags::ENFORCED | redirected,
    }
}

#[inline(always)]
fn default_deny() -> Decision {
    Decision {
        allowed: false,
        reason: drop_reason::POLICY_DENIED,
        match_type: match_type::NONE,
        cookie: 0,
        flags: event_flags::ENFORCED,
    }
}
