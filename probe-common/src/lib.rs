//! Types shared by the eBPF datapath (`probe-ebpf`) and userspace (`enforcer`, `observer`).
//!
//! Everything here is `#[repr(C)]` with explicit padding fields and a compile-time size
//! assertion, so the kernel and userspace agree byte for byte. Nothing here allocates or
//! depends on `std`: the same code compiles for `bpfel-unknown-none`.
//!
//! With the `user` feature every map key and value implements [`aya::Pod`].
#![no_std]

pub mod config;
pub mod conntrack;
pub mod counters;
pub mod drop_reason;
pub mod endpoint;
pub mod event;
pub mod identity;
pub mod ipcache;
pub mod maps;
pub mod policy;
pub mod proxy;
pub mod wakeup;

/// Traffic direction from the endpoint's point of view, as used in map keys and events.
///
/// The numeric values are Hubble's `TrafficDirection` (INGRESS = 1, EGRESS = 2), so events
/// carry them unchanged to the flow API.
pub mod direction {
    /// Traffic entering the endpoint (its ingress policy; the to-endpoint program).
    pub const INGRESS: u8 = 1;
    /// Traffic leaving the endpoint (its egress policy; the from-endpoint program).
    pub const EGRESS: u8 = 2;
    /// Added to a direction in policy-map keys: the entries of the endpoint's policy with
    /// its audited policies too (audit mode), beside the enforced ones.
    pub const AUDIT_BIT: u8 = 4;

    /// The other direction: where a connection's other end decides it.
    #[inline(always)]
    pub const fn opposite(dir: u8) -> u8 {
        if dir == EGRESS { INGRESS } else { EGRESS }
    }

    /// The policy-map direction of `dir`'s audit entries.
    #[inline(always)]
    pub const fn audit_of(dir: u8) -> u8 {
        dir | AUDIT_BIT
    }
}

/// What the classifiers return (the kernel's `enum tcx_action_base` values).
///
/// The datapath is a filter, not the final word on a packet: a packet it allows goes on to
/// the next program on the hook (another tool's tcx program, or legacy tc filters), and is
/// delivered when there is none. So "pass" is `TCX_NEXT` (-1, the same value as
/// `TC_ACT_UNSPEC`, which means "continue" to cls_bpf in direct-action mode too), not
/// `TCX_PASS`/`TC_ACT_OK` (0), which would end the chain and skip later programs.
pub mod tc_action {
    /// Let the packet continue (`TCX_NEXT` / `TC_ACT_UNSPEC`).
    pub const PASS: i32 = -1;
    /// Drop the packet (`TCX_DROP` / `TC_ACT_SHOT`).
    pub const DROP: i32 = 2;
    /// The packet was redirected by `bpf_redirect` (`TCX_REDIRECT` / `TC_ACT_REDIRECT`).
    pub const REDIRECT: i32 = 7;
}

#[cfg(feature = "user")]
mod pod {
    //! `aya::Pod` impls: every type is `repr(C)`, `Copy`, and has no implicit padding.
    use crate::{config, conntrack, endpoint, event, ipcache, policy};

    macro_rules! pod {
        ($($t:ty),* $(,)?) => { $(unsafe impl aya::Pod for $t {})* };
    }

    pod!(
        policy::PolicyKey,
        policy::PolicyEntry,
        endpoint::EndpointInfo,
        ipcache::IpCacheKey,
        ipcache::IpCacheEntry,
        conntrack::CtKey,
        conntrack::CtEntry,
        conntrack::FragKey,
        conntrack::FragEntry,
        event::FlowEvent,
        config::ProbeConfig,
    );
}
