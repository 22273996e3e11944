//! The floors' event: one [`FlowEvent`] with what the floor knows, sent as the probe sends
//! its events ([`notify::send`]: reserved in `OBS_EVENTS`, written in place, paced).

use probe_common::conntrack::CtKey;
use probe_common::event::FlowEvent;

use crate::notify;

/// The identities and cookie an event carries beyond the key.
#[derive(Clone, Copy)]
pub struct Ids {
    /// The endpoint's identity.
    pub local: u32,
    /// The peer's identity.
    pub peer: u32,
    /// The policy entry's cookie.
    pub cookie: u32,
}

/// Sends one event of `kind` about the packet with conntrack key `key` the way the probe
/// sends its events ([`notify::send`]).
#[inline(always)]
pub fn emit(key: &CtKey, kind: u8, ids: &Ids) {
    notify::send(|now| FlowEvent {
        timestamp_ns: now,
        kind,
        subtype: 0,
        direction: key.direction,
        family: key.family,
        protocol: key.protocol,
        tcp_flags: 0,
        ct_state: 0,
        match_type: 0,
        endpoint_id: key.endpoint_id,
        sport: key.sport,
        dport: key.dport,
        icmp_type: 0,
        icmp_code: 0,
        ifindex: 0,
        src_identity: ids.local,
        dst_identity: ids.peer,
        cookie: ids.cookie,
        pkt_len: 0,
        verdict: 0,
        flags: 0,
        reason: 0,
        pad: 0,
        saddr: key.saddr,
        daddr: key.daddr,
    });
}
