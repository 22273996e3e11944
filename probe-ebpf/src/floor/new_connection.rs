//! Floor of a new allowed connection, in the probe's order: the prologue; the two
//! conntrack lookups that miss (own tuple, then the reply tuple); the peer's ipcache
//! lookup; the policy-lookups counter and the two policy lookups (the peer's identity,
//! then any identity); the verdict event; the conntrack insert; the created and
//! forwarded counters; the trace event (`trace_mode::NEW_CONNECTIONS`, the default).

use aya_ebpf::maps::lpm_trie::Key;
use aya_ebpf::programs::TcContext;
use probe_common::conntrack::{CtEntry, CtKey, lifetime};
use probe_common::event::kind;
use probe_common::policy::{PREFIX_FULL, PolicyKey};
use probe_common::{counters, direction, tc_action};

use super::event::{self, Ids};
use super::prologue::{self, Packet};
use crate::maps::{Aligned, OBS_CT, OBS_POLICY};
use crate::{notify, policy};

/// Runs the floor; always passes (or drops where the probe fails closed).
#[inline(always)]
pub fn run(ctx: &TcContext) -> i32 {
    let packet = match prologue::run(ctx) {
        Ok(p) => p,
        Err(verdict) => return verdict,
    };
    let key = &packet.headers.key;
    let _ = OBS_CT.get_ptr_mut(key.as_ref());
    let _ = OBS_CT.get_ptr_mut(reply(&key.0).as_ref());
    let peer = policy::entry_of(key.0.family, key.0.daddr).identity;
    let ids = Ids {
        local: packet.endpoint.identity,
        peer,
        cookie: policy_cookie(&key.0, peer),
    };
    event::emit(&key.0, kind::POLICY_VERDICT, &ids);
    let _ = OBS_CT.insert(key.as_ref(), entry(&packet, &ids), 0);
    notify::count(counters::CT_CREATED);
    notify::count(counters::forwarded(direction::EGRESS));
    event::emit(&key.0, kind::TRACE, &ids);
    tc_action::PASS
}

/// The key the reply direction's packets would have.
#[inline(always)]
fn reply(key: &CtKey) -> Aligned<CtKey> {
    Aligned(CtKey {
        saddr: key.daddr,
        daddr: key.saddr,
        sport: key.dport,
        dport: key.sport,
        direction: direction::INGRESS,
        ..*key
    })
}

/// The counter and the two lookups of `policy::decide`; the cookie of the identity's
/// entry (no precedence between the two: that is the probe's logic).
#[inline(always)]
fn policy_cookie(key: &CtKey, peer: u32) -> u32 {
    notify::count(counters::POLICY_LOOKUPS);
    let mut lpm = Key::new(
        PREFIX_FULL,
        PolicyKey::new(
            key.endpoint_id,
            key.direction,
            peer,
            key.protocol,
            key.dport,
        ),
    );
    let cookie = OBS_POLICY.get(&lpm).map_or(0, |e| e.cookie);
    lpm.data.identity = 0;
    let _ = OBS_POLICY.get(&lpm);
    cookie
}

/// The new entry, from what the floor looked up (one fixed lifetime).
#[inline(always)]
fn entry(packet: &Packet<'_>, ids: &Ids) -> CtEntry {
    CtEntry {
        expires_ns: packet.now + lifetime::TCP_SYN_NS,
        packets_fwd: 1,
        packets_rev: 0,
        bytes_fwd: 0,
        bytes_rev: 0,
        created_ns: packet.now,
        reported_ns: packet.now,
        cookie: ids.cookie,
        policy_revision: packet.endpoint.policy_revision,
        peer_identity: ids.peer,
        tcp_flags_seen: u16::from(packet.headers.tcp_flags),
        flags: 0,
        pad: 0,
    }
}
