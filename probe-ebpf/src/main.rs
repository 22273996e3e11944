//! The datapath's programs: tcx classifiers on the host-side veth of every endpoint.
//!
//! - [`from_endpoint`] runs on the veth's **ingress** hook: packets the endpoint sends, i.e.
//!   the endpoint's **egress** policy.
//! - [`to_endpoint`] runs on the veth's **egress** hook: packets delivered to the endpoint,
//!   i.e. its **ingress** policy.
//! - [`from_network`] and [`to_network`] run on a node's network devices (host firewall):
//!   the ingress and egress policy of the node's host endpoint, for the node's own
//!   packets only.
//! - [`noop`] does nothing; it is the benchmark's baseline.
//! - [`established_floor`] and [`new_connection_floor`] do only the map operations of
//!   those paths ([`floor`]): the benchmark's cost floors. The agent never loads them.
//!
//! Each program is a thin shim: the work is in [`classify`], built from [`parse`],
//! [`conntrack`], [`policy`] and [`notify`] over the maps in [`maps`]. Verdicts are
//! [`probe_common::tc_action`] values (pass = `TCX_NEXT`, so later programs on the hook still
//! run).
#![cfg_attr(target_arch = "bpf", no_std)]
#![cfg_attr(target_arch = "bpf", no_main)]

mod classify;
mod conntrack;
mod floor;
mod maps;
mod notify;
mod parse;
mod policy;
mod redirect;

use aya_ebpf::macros::classifier;
use aya_ebpf::programs::TcContext;
use probe_common::{direction, tc_action};

/// Packets the endpoint sends (host veth ingress hook): its egress policy.
#[classifier]
pub fn from_endpoint(ctx: TcContext) -> i32 {
    classify::run(&ctx, direction::EGRESS)
}

/// Packets sent to the endpoint (host veth egress hook): its ingress policy.
#[classifier]
pub fn to_endpoint(ctx: TcContext) -> i32 {
    classify::run(&ctx, direction::INGRESS)
}

/// `from_endpoint` for a new connection from a pod to its own node (tail-called): the
/// node's host endpoint decides it too.
#[classifier]
pub fn from_endpoint_node(ctx: TcContext) -> i32 {
    classify::run_node_side(&ctx, direction::EGRESS)
}

/// `to_endpoint` for a new connection from a node to its own pod (tail-called).
#[classifier]
pub fn to_endpoint_node(ctx: TcContext) -> i32 {
    classify::run_node_side(&ctx, direction::INGRESS)
}

/// Packets from the network on a node device (its tcx ingress hook): the host endpoint's
/// ingress policy, for packets to the node's own addresses.
#[classifier]
pub fn from_network(ctx: TcContext) -> i32 {
    classify::run_host(&ctx, direction::INGRESS)
}

/// Packets to the network on a node device (its tcx egress hook): the host endpoint's
/// egress policy, for packets from the node's own addresses.
#[classifier]
pub fn to_network(ctx: TcContext) -> i32 {
    classify::run_host(&ctx, direction::EGRESS)
}

/// Returns the same "pass" verdict as the real programs and does nothing else: the cost
/// floor of running a tcx program, which the benchmark subtracts.
#[classifier]
pub fn noop(_ctx: TcContext) -> i32 {
    tc_action::PASS
}

/// The map operations of an established packet of `from_endpoint`, and nothing else.
#[classifier]
pub fn established_floor(ctx: TcContext) -> i32 {
    floor::established::run(&ctx)
}

/// The map operations of a new allowed connection of `from_endpoint`, and nothing else.
#[classifier]
pub fn new_connection_floor(ctx: TcContext) -> i32 {
    floor::new_connection::run(&ctx)
}

#[cfg(target_arch = "bpf")]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // The verifier rejects any program in which a panic is reachable (it would be an
    // infinite loop), so this is never executed; it only satisfies `no_std`.
    unsafe { core::hint::unreachable_unchecked() }
}

/// License section: the ring buffer and ktime helpers are GPL-only.
#[cfg(target_arch = "bpf")]
#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";

/// Host builds (`cargo clippy --workspace`) compile this crate for x86_64 too; the programs
/// are only meaningful for `bpfel-unknown-none`.
#[cfg(not(target_arch = "bpf"))]
fn main() {}
