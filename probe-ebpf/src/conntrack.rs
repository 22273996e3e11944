//! Connection tracking in `OBS_CT`: classify a packet as NEW, ESTABLISHED, REPLY or RELATED,
//! create entries for admitted connections, and keep their expiry and flags current.
//!
//! Keys are per (endpoint, direction, tuple in the opening direction), see
//! [`probe_common::conntrack`]. A packet looks up its own tuple with its own direction
//! (ESTABLISHED), then the reversed tuple with the opposite direction (REPLY): the reply to
//! pod A's egress connection arrives at A's to-endpoint hook (ingress) and finds A's egress
//! entry, while pod B on the same node, seeing the same packets, has entries of its own.
//!
//! An entry whose `expires_ns` is in the past counts as absent (the LRU reclaims it later;
//! creating over it simply overwrites it).

use aya_ebpf::programs::TcContext;
use probe_common::conntrack::{CtEntry, CtKey, ct_flags, lifetime};
use probe_common::direction;

use crate::maps::OBS_CT;
use crate::maps::{Aligned, zeroed};
use crate::parse::{self, Flow, proto, tcp_flag};

/// The conntrack state of a packet (RELATED is [`is_related`]'s). Entry pointers point into
/// `OBS_CT` values.
pub enum Ct {
    /// No live entry: decide by policy.
    New,
    /// A packet in the opening direction of a tracked connection.
    Established(*mut CtEntry),
    /// A packet in the reverse direction of a tracked connection.
    Reply(*mut CtEntry),
}

/// Whose entries a packet is looked up in: the endpoint behind the hook and the packet's
/// direction relative to it.
#[derive(Clone, Copy)]
pub struct Owner {
    /// The endpoint.
    pub endpoint_id: u16,
    /// Direction of the packet relative to the endpoint.
    pub direction: u8,
}

/// The other direction.
#[inline(always)]
pub fn opposite(dir: u8) -> u8 {
    if dir == direction::INGRESS {
        direction::EGRESS
    } else {
        direction::INGRESS
    }
}

/// The key of `flow`'s own tuple for `owner`.
#[inline(always)]
fn key(flow: &Flow, owner: &Owner) -> CtKey {
    CtKey {
        saddr: flow.saddr,
        daddr: flow.daddr,
        sport: flow.sport,
        dport: flow.dport,
        endpoint_id: owner.endpoint_id,
        protocol: flow.protocol,
        family: flow.family,
        direction: owner.direction,
        ..zeroed()
    }
}

/// Turns `key` into the key of the other direction's packets of the same connection.
#[inline(always)]
fn reverse(key: &mut CtKey) {
    core::mem::swap(&mut key.saddr, &mut key.daddr);
    core::mem::swap(&mut key.sport, &mut key.dport);
    key.direction = opposite(key.direction);
}

/// The entry under `key` unless it has expired.
#[inline(always)]
fn live(key: &CtKey, now: u64) -> Option<*mut CtEntry> {
    let entry = OBS_CT.get_ptr_mut(key)?;
    // SAFETY: a non-null map value pointer, valid for the program's run.
    let expires = unsafe { (*entry).expires_ns };
    (expires >= now).then_some(entry)
}

/// Classifies `flow` for `owner` (ICMP errors: see [`is_related`] first).
///
/// A BPF subprogram: its key lives in its own frame, off the caller's.
#[inline(never)]
pub fn lookup(flow: &Flow, owner: &Owner, now: u64) -> Ct {
    let mut k = Aligned(key(flow, owner));
    if let Some(entry) = live(&k.0, now) {
        return Ct::Established(entry);
    }
    reverse(&mut k.0);
    if let Some(entry) = live(&k.0, now) {
        return Ct::Reply(entry);
    }
    Ct::New
}

/// Whether the ICMP error `flow` quotes a packet of a connection tracked for `owner`.
/// The quoted packet travelled the other way: it is either the opening direction of an
/// entry of the opposite direction, or the reply direction of an entry of this direction.
///
/// A BPF subprogram, separate from [`lookup`] so that the quote's parsing frame is not
/// stacked on top of lookup's.
#[inline(never)]
pub fn is_related(ctx: &TcContext, flow: &Flow, owner: &Owner, now: u64) -> bool {
    // The error's own key with the opposite direction; the quote replaces the tuple.
    let mut k = Aligned(key(flow, owner));
    k.0.direction = opposite(owner.direction);
    if !parse::icmp_error_quote(ctx, flow, &mut k.0) {
        return false;
    }
    if live(&k.0, now).is_some() {
        return true;
    }
    reverse(&mut k.0);
    live(&k.0, now).is_some()
}

/// How long an entry lives after a packet, given its protocol and flags.
#[inline(always)]
fn lifetime_ns(protocol: u8, flags: u8) -> u64 {
    if protocol != proto::TCP {
        lifetime::NON_TCP_NS
    } else if flags & ct_flags::CLOSING != 0 {
        lifetime::TCP_CLOSING_NS
    } else if flags & ct_flags::SEEN_REPLY != 0 {
        lifetime::TCP_ESTABLISHED_NS
    } else {
        lifetime::TCP_SYN_NS
    }
}

#[inline(always)]
fn closing_flag(flow: &Flow) -> u8 {
    if flow.protocol == proto::TCP && flow.tcp_flags & (tcp_flag::FIN | tcp_flag::RST) != 0 {
        ct_flags::CLOSING
    } else {
        0
    }
}

/// Records a connection admitted by policy. `Err` when the map refused the entry.
/// A BPF subprogram: the key and the new entry live in its own frame.
#[inline(never)]
pub fn create(flow: &Flow, owner: &Owner, now: u64, admitted: &Admission) -> Result<(), i32> {
    let flags = closing_flag(flow);
    let entry = CtEntry {
        expires_ns: now + lifetime_ns(flow.protocol, flags),
        packets_fwd: 1,
        packets_rev: 0,
        bytes_fwd: u64::from(admitted.opening_len),
        bytes_rev: 0,
        created_ns: now,
        reported_ns: now,
        cookie: admitted.cookie,
        policy_revision: admitted.policy_revision,
        peer_identity: admitted.peer_identity,
        tcp_flags_seen: u16::from(flow.tcp_flags),
        flags: flags | admitted.flags() | ct_flags::UNREPORTED,
        pad: 0,
    };
    // BPF_ANY: an expired entry under the same key is overwritten, and two CPUs admitting
    // the same new connection at once both succeed.
    let k = Aligned(key(flow, owner));
    OBS_CT.insert(k.as_ref(), entry, 0)
}

/// What an entry remembers about the policy decision that admitted its connection.
#[derive(Clone, Copy)]
pub struct Admission {
    /// Cookie of the deciding policy entry.
    pub cookie: u32,
    /// The endpoint's policy revision at the decision.
    pub policy_revision: u32,
    /// The peer's identity at the decision.
    pub peer_identity: u32,
    /// The proxy the connection goes to ([`ct_flags::REDIRECT_DNS`],
    /// [`ct_flags::REDIRECT_HTTP`]), or 0.
    pub redirect: u8,
    /// A proxy's upstream socket opened the connection.
    pub from_proxy: bool,
    /// The opening packet's length (the new entry's first bytes; unused on re-admission).
    pub opening_len: u32,
}

impl Admission {
    /// The entry flags the admission sets.
    #[inline(always)]
    fn flags(&self) -> u8 {
        let from_proxy = if self.from_proxy {
            ct_flags::FROM_PROXY
        } else {
            0
        };
        (self.redirect & ct_flags::REDIRECTS) | from_proxy
    }
}

/// The proxy `entry`'s connection goes to ([`ct_flags::REDIRECTS`] bits), 0 for none.
#[inline(always)]
pub fn redirects(entry: *mut CtEntry) -> u8 {
    // SAFETY: a live map value pointer from `lookup`.
    unsafe { (*entry).flags & ct_flags::REDIRECTS }
}

/// Whether a proxy's upstream socket opened `entry`'s connection.
#[inline(always)]
pub fn from_proxy(entry: *mut CtEntry) -> bool {
    // SAFETY: a live map value pointer from `lookup`.
    unsafe { (*entry).flags & ct_flags::FROM_PROXY != 0 }
}

/// Whether `entry` was admitted under a different policy revision or peer identity than
/// the current ones, and so must be decided again.
#[inline(always)]
pub fn is_stale(entry: *mut CtEntry, policy_revision: u32, peer_identity: u32) -> bool {
    // SAFETY: a live map value pointer from `lookup`.
    unsafe {
        (*entry).policy_revision != policy_revision || (*entry).peer_identity != peer_identity
    }
}

/// Re-admits `entry` after a new decision allowed it.
#[inline(always)]
pub fn readmit(entry: *mut CtEntry, admitted: &Admission) {
    // SAFETY: a live map value pointer from `lookup`. Plain stores: concurrent re-admissions
    // write the same values.
    unsafe {
        (*entry).cookie = admitted.cookie;
        (*entry).policy_revision = admitted.policy_revision;
        (*entry).peer_identity = admitted.peer_identity;
        let flags = (*entry).flags;
        let wanted = (flags & !ct_flags::REDIRECTS) | (admitted.redirect & ct_flags::REDIRECTS);
        if wanted != flags {
            (*entry).flags = wanted;
        }
    }
}

/// Deletes the entry of `flow`'s own tuple (a re-decision denied it).
#[inline(always)]
pub fn remove(flow: &Flow, owner: &Owner) {
    // Already gone (another CPU cut it, or the LRU evicted it) is fine.
    let k = Aligned(key(flow, owner));
    let _ = OBS_CT.remove(k.as_ref());
}

/// The cookie of the policy entry that admitted `entry`'s connection.
#[inline(always)]
pub fn cookie(entry: *mut CtEntry) -> u32 {
    // SAFETY: a live map value pointer from `lookup`.
    unsafe { (*entry).cookie }
}

/// Accounts a packet of `len` bytes of a tracked connection: counters, TCP flags, and the
/// expiry, which is only rewritten when it moves by more than `REFRESH_SLACK_NS` (one map
/// write per few seconds per flow instead of one per packet). Returns whether the packet
/// showed TCP flags its direction had not shown before (what aggregation reports).
#[inline(always)]
pub fn touch(entry: *mut CtEntry, flow: &Flow, is_reply: bool, now: u64, len: u32) -> bool {
    // SAFETY: a live map value pointer from `lookup`. The Rust BPF target has no atomic
    // read-modify-write, so these are plain read-modify-writes: two CPUs handling packets of
    // the same flow at the same instant can lose a packet count or a flag bit. Counts are
    // statistics; a lost flag bit only delays a lifetime change until the next packet
    // carrying that flag. Flag fields are written only when they gain bits.
    unsafe {
        if is_reply {
            (*entry).packets_rev += 1;
            (*entry).bytes_rev += u64::from(len);
        } else {
            (*entry).packets_fwd += 1;
            (*entry).bytes_fwd += u64::from(len);
        }

        let seen = if is_reply {
            u16::from(flow.tcp_flags) << 8
        } else {
            u16::from(flow.tcp_flags)
        };
        let tcp_flags_seen = (*entry).tcp_flags_seen;
        let gained = tcp_flags_seen | seen != tcp_flags_seen;
        if gained {
            (*entry).tcp_flags_seen = tcp_flags_seen | seen;
        }

        let old_flags = (*entry).flags;
        let reply_flag = if is_reply { ct_flags::SEEN_REPLY } else { 0 };
        let flags = old_flags | reply_flag | closing_flag(flow) | ct_flags::UNREPORTED;
        if flags != old_flags {
            (*entry).flags = flags;
        }

        let expires = now + lifetime_ns(flow.protocol, flags);
        if expires.abs_diff((*entry).expires_ns) > lifetime::REFRESH_SLACK_NS {
            (*entry).expires_ns = expires;
        }
        gained
    }
}

/// Whether aggregation reports `entry`'s connection at this packet: it showed new TCP
/// flags (`gained`), or the last report is `interval_ms` old. A report is due at most
/// once per interval otherwise; the report time and [`ct_flags::UNREPORTED`] are updated
/// here.
#[inline(always)]
pub fn report_due(entry: *mut CtEntry, gained: bool, now: u64, interval_ms: u32) -> bool {
    // SAFETY: a live map value pointer from `lookup`. Two CPUs may both report at once;
    // each report carries the counters as they were, so a second one is only redundant.
    unsafe {
        let due =
            gained || now.wrapping_sub((*entry).reported_ns) >= u64::from(interval_ms) * 1_000_000;
        if due {
            (*entry).reported_ns = now;
            (*entry).flags &= !ct_flags::UNREPORTED;
        }
        due
    }
}
