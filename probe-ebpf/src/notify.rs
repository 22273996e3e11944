//! Output: [`FlowEvent`]s into the `OBS_EVENTS` ring buffer and the per-CPU counters.
//!
//! Events are written in place into reserved ring-buffer memory (no 80-byte copy through
//! the stack). When the ring is full the event is lost and `counters::RINGBUF_LOST` says
//! so: userspace never sees ring-buffer drops otherwise, and loss is data. Submitting an
//! event wakes the reader only as often as [`probe_common::wakeup`] says.

use aya_ebpf::bindings::{BPF_RB_AVAIL_DATA, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP};
use aya_ebpf::helpers::bpf_ktime_get_ns;
use probe_common::conntrack::CtEntry;
use probe_common::counters;
use probe_common::direction;
use probe_common::event::{CountedEvent, FlowEvent, event_flags, kind, verdict};
use probe_common::wakeup;

use crate::maps::{OBS_COUNTERS, OBS_EVENTS, OBS_WAKEUP};
use crate::parse::Flow;

/// Who saw the packet: the hook, the endpoint behind it, and the two identities.
#[derive(Clone, Copy)]
pub struct Hook {
    /// Interface the program runs on.
    pub ifindex: u32,
    /// Direction relative to the endpoint.
    pub direction: u8,
    /// The endpoint (0 when none is registered on the interface).
    pub endpoint_id: u16,
    /// The endpoint's identity.
    pub local_identity: u32,
    /// The peer's identity.
    pub peer_identity: u32,
    /// The peer's ipcache flags ([`probe_common::ipcache::entry_flags`]).
    pub peer_flags: u8,
    /// `skb->len`.
    pub pkt_len: u32,
    /// [`probe_common::event::event_flags::ENFORCED`] if the endpoint enforces this
    /// direction, else 0.
    pub enforced: u8,
    /// The packet comes from an L7 proxy's upstream socket (ingress only).
    pub from_proxy: bool,
    /// The hook is on a node device, for the host endpoint (host firewall).
    pub host: bool,
}

/// What an event says beyond the packet and the hook.
#[derive(Clone, Copy, Default)]
pub struct Note {
    /// [`probe_common::event::kind`].
    pub kind: u8,
    /// Drop reason or observation point.
    pub subtype: u8,
    /// [`probe_common::conntrack::state`], 0 when not tracked.
    pub ct_state: u8,
    /// Policy match type.
    pub match_type: u8,
    /// [`probe_common::event::verdict`].
    pub verdict: u8,
    /// Drop reason (drops and denied verdicts).
    pub reason: u8,
    /// [`probe_common::event::event_flags`], beyond the hook's ENFORCED.
    pub flags: u8,
    /// Rule cookie.
    pub cookie: u32,
}

/// Adds one to counter slot `index` on this CPU.
#[inline(always)]
pub fn count(index: u32) {
    if let Some(slot) = OBS_COUNTERS.get_ptr_mut(index) {
        // SAFETY: a per-CPU slot: no other writer while this program runs on this CPU.
        unsafe { *slot += 1 };
    }
}

/// Sends one event; counts it as lost if the ring buffer is full.
///
/// Not inlined: it is called from several places on each program's paths, and each inlined
/// copy would get its own event-sized stack slot, past the 512-byte BPF stack. As a BPF
/// subprogram it takes the three pointers to the caller's stack and has a frame of its own.
#[inline(never)]
pub fn emit(hook: &Hook, flow: &Flow, note: &Note) {
    send(|now| event(hook, flow, note, now));
}

/// Sends one trace event with the counters of its connection's conntrack `entry`
/// ([`CountedEvent`], aggregation mode), as `at` says; counts it as lost if the ring
/// buffer is full. A BPF subprogram, as [`emit`]; its note is built here, off the
/// caller's frame, and it calls none itself (its frame adds to its caller's only).
#[inline(never)]
pub fn emit_counted(hook: &Hook, flow: &Flow, entry: *const CtEntry, at: Counted) {
    send_record(|record: *mut CountedEvent, now| {
        let note = Note {
            kind: kind::TRACE,
            subtype: at.point,
            ct_state: at.ct_state,
            verdict: verdict::ALLOWED,
            flags: at.flags | event_flags::COUNTED,
            // SAFETY: a live conntrack map value pointer.
            cookie: unsafe { (*entry).cookie },
            ..Note::default()
        };
        // SAFETY: `record` is the reserved ring memory of one CountedEvent, written field
        // by field (no event-sized copy on this frame: the BPF stack is 512 bytes for the
        // whole call chain); `entry` is a live conntrack map value pointer.
        unsafe {
            (*record).event = event(hook, flow, &note, now);
            if hook.direction == direction::EGRESS {
                (*record).event.dst_identity = at.peer_identity;
            } else {
                (*record).event.src_identity = at.peer_identity;
            }
            (*record).counters.copy_from(&*entry);
        }
    });
}

/// Where an aggregated trace event was seen, and the peer: one register's worth, so
/// that [`emit_counted`] stays within the five arguments of a BPF call.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct Counted {
    /// Observation point.
    pub point: u8,
    /// Connection state.
    pub ct_state: u8,
    /// Event flags ([`event_flags::IS_REPLY`]), beyond COUNTED.
    pub flags: u8,
    /// Always 0.
    pub pad: u8,
    /// The peer's identity (looked up by the caller: the reply path does not otherwise).
    pub peer_identity: u32,
}

/// Reserves an event in the ring, writes `event_at(now)` in place and submits it with
/// the paced wake-up; counts it as lost if the ring is full. The datapath's and the
/// benchmark floors' way of sending a [`FlowEvent`].
#[inline(always)]
pub fn send(event_at: impl FnOnce(u64) -> FlowEvent) {
    send_record(|record: *mut FlowEvent, now| {
        // SAFETY: the reserved ring memory of one FlowEvent.
        unsafe { record.write(event_at(now)) };
    });
}

/// Reserves a record of type `T` in the ring, has `write(record, now)` fill it in place
/// and submits it with the paced wake-up; counts it as lost if the ring is full. The one
/// way records are sent.
#[inline(always)]
fn send_record<T: 'static>(write: impl FnOnce(*mut T, u64)) {
    let Some(mut slot) = OBS_EVENTS.reserve::<T>(0) else {
        count(counters::RINGBUF_LOST);
        return;
    };
    // SAFETY: a helper without preconditions.
    let now = unsafe { bpf_ktime_get_ns() };
    write(slot.as_mut_ptr(), now);
    slot.submit(wakeup_flags(now));
}

/// Whether submitting an event at `now` wakes the reader: when this CPU has not woken it
/// for [`wakeup::INTERVAL_NS`], or, when enough is pending ([`wakeup::PENDING_BYTES`]),
/// for [`wakeup::PENDING_INTERVAL_NS`]. Never more often: a forced wake-up costs
/// microseconds, and a reader that lags behind a full ring is awake already.
#[inline(always)]
fn wakeup_flags(now: u64) -> u64 {
    let Some(last) = OBS_WAKEUP.get_ptr_mut(0) else {
        // Cannot happen (index 0 of a one-slot array); the kernel's default then.
        return 0;
    };
    // SAFETY: a per-CPU slot: no other writer while this program runs on this CPU.
    let since = now.wrapping_sub(unsafe { *last });
    let due = since >= wakeup::INTERVAL_NS
        || (since >= wakeup::PENDING_INTERVAL_NS
            && OBS_EVENTS.query(u64::from(BPF_RB_AVAIL_DATA)) >= wakeup::PENDING_BYTES);
    if due {
        // SAFETY: as above.
        unsafe { *last = now };
        u64::from(BPF_RB_FORCE_WAKEUP)
    } else {
        u64::from(BPF_RB_NO_WAKEUP)
    }
}

#[inline(always)]
fn event(hook: &Hook, flow: &Flow, note: &Note, timestamp_ns: u64) -> FlowEvent {
    let (src_identity, dst_identity) = if hook.direction == direction::EGRESS {
        (hook.local_identity, hook.peer_identity)
    } else {
        (hook.peer_identity, hook.local_identity)
    };
    // ICMP echo ids live in the conntrack ports; events show ports only for protocols
    // that have them, and ICMP type/code otherwise.
    let (sport, dport) = if flow.has_ports() {
        (flow.sport, flow.dport)
    } else {
        (0, 0)
    };
    FlowEvent {
        timestamp_ns,
        kind: note.kind,
        subtype: note.subtype,
        direction: hook.direction,
        family: flow.family,
        protocol: flow.protocol,
        tcp_flags: flow.tcp_flags,
        ct_state: note.ct_state,
        match_type: note.match_type,
        endpoint_id: hook.endpoint_id,
        sport,
        dport,
        icmp_type: flow.icmp_type,
        icmp_code: flow.icmp_code,
        ifindex: hook.ifindex,
        src_identity,
        dst_identity,
        cookie: note.cookie,
        pkt_len: hook.pkt_len,
        verdict: note.verdict,
        flags: note.flags | hook.enforced,
        reason: note.reason,
        pad: 0,
        saddr: flow.saddr,
        daddr: flow.daddr,
    }
}
