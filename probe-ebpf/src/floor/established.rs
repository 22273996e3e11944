//! Floor of an established packet: the prologue, the conntrack lookup that finds the
//! entry, the peer's ipcache lookup (the probe re-decides when the peer's identity
//! changed, so it looks it up on every non-reply packet), and the forwarded counter.

use aya_ebpf::programs::TcContext;
use probe_common::{counters, direction, tc_action};

use super::prologue;
use crate::maps::OBS_CT;
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
    let _ = policy::entry_of(key.0.family, key.0.daddr);
    notify::count(counters::forwarded(direction::EGRESS));
    tc_action::PASS
}
