//! The floors' event: one [`FlowEvent`] reserved in `OBS_EVENTS`, written in place with
//! what the floor knows, and submitted with the probe's wake-up pacing.

use aya_ebpf::helpers::bpf_ktime_get_ns;
use probe_common::conntrack::CtKey;
use probe_common::event::FlowEvent;

use crate::maps::OBS_EVENTS;
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

/// Sends one event of `kind` about the packet with conntrack key `key`, as the probe's
/// `notify::emit` does: reserve, the precise clock, write, paced submit (or the lost
/// counter when the ring is full).
#[inline(always)]
pub fn emit(key: &CtKey, kind: u8, ids: &Ids) {
    let Some(mut slot) = OBS_EVENTS.reserve::<FlowEvent>(0) else {
        notify::count(probe_common::counters::RINGBUF_LOST);
        return;
    };
    // SAFETY: a helper without preconditions.
    let now = unsafe { bpf_ktime_get_ns() };
    slot.write(FlowEvent {
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
    slot.submit(notify::wakeup_flags(now));
}
