//! Layout of the per-CPU counter array.
//!
//! ```text
//! index  0..256   ingress: [0] forwarded, [reason] dropped with that drop reason
//! index 256..512  egress:  same layout
//! index 512       events lost: ring buffer full (bpf_ringbuf_output failed)
//! index 513       conntrack entries created
//! index 514       policy lookups (new or re-verified connections)
//! ```
//!
//! Userspace sums each index over all CPUs.

/// Number of slots in the counters array.
pub const COUNTERS_LEN: u32 = 520;
/// Slot of ring-buffer output failures (lost events).
pub const RINGBUF_LOST: u32 = 512;
/// Slot of conntrack entries created.
pub const CT_CREATED: u32 = 513;
/// Slot of policy lookups.
pub const POLICY_LOOKUPS: u32 = 514;

/// Slot of packets forwarded in `direction` ([`crate::direction`]).
pub const fn forwarded(direction: u8) -> u32 {
    base(direction)
}

/// Slot of packets dropped in `direction` with drop reason `reason`.
pub const fn dropped(direction: u8, reason: u8) -> u32 {
    base(direction) + reason as u32
}

const fn base(direction: u8) -> u32 {
    if direction == crate::direction::EGRESS {
        256
    } else {
        0
    }
}
