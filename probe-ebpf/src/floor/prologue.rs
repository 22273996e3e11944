//! What every path does before conntrack, as the probe's `classify::run` orders it: the
//! scratch slot, the headers, the config, the endpoint, then the conntrack clock.

use aya_ebpf::helpers::bpf_ktime_get_coarse_ns;
use aya_ebpf::programs::TcContext;
use probe_common::endpoint::EndpointInfo;
use probe_common::tc_action;

use super::headers::{self, Headers};
use crate::maps::{OBS_CONFIG, OBS_ENDPOINTS, OBS_SCRATCH};

/// A packet of a registered endpoint, as far as the floors read it.
pub struct Packet<'a> {
    /// The headers; the key's endpoint id is the endpoint's.
    pub headers: Headers,
    /// The endpoint, in map memory.
    pub endpoint: &'a EndpointInfo,
    /// The coarse clock conntrack judges expiry with.
    pub now: u64,
}

/// The prologue's map operations. `Err` is the verdict to return at once: drop where the
/// probe fails closed (no scratch slot, config or endpoint), pass for what the floors do
/// not parse.
#[inline(always)]
pub fn run(ctx: &TcContext) -> Result<Packet<'static>, i32> {
    // The probe parses into this slot; the floor needs no storage, only the lookup.
    OBS_SCRATCH.get_ptr_mut(0).ok_or(tc_action::DROP)?;
    let mut headers = headers::read(ctx).ok_or(tc_action::PASS)?;
    OBS_CONFIG.get(0).ok_or(tc_action::DROP)?;
    // SAFETY: reading a field of the program's own context.
    let ifindex = unsafe { (*ctx.skb.skb).ifindex };
    // SAFETY: as in the probe: not preallocated, so the value stays valid (RCU) until the
    // program returns.
    let endpoint = unsafe { OBS_ENDPOINTS.get(ifindex) }.ok_or(tc_action::DROP)?;
    headers.key.0.endpoint_id = endpoint.endpoint_id;
    // SAFETY: a helper without preconditions.
    let now = unsafe { bpf_ktime_get_coarse_ns() };
    Ok(Packet {
        headers,
        endpoint,
        now,
    })
}
