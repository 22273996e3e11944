//! Steering packets to the agent's L7 proxies with `bpf_sk_assign` (see
//! [`probe_common::proxy`] for the contract with the agent).
//!
//! - [`to_proxy`]: a packet on a connection whose policy entry carries a DNS or HTTP rule
//!   (the endpoint's own, or one [`hairpin`] brought back to the veth's ingress). TCP first
//!   looks up the connection's own socket (the proxy accepted it already: established, or
//!   a request socket mid-handshake); otherwise, and always for UDP, the proxy's listener
//!   on 127.0.0.1 (`::1`) at the proxy's port. A failed lookup is drop 178, a failed
//!   assign drop 179, another protocol (SCTP) drop 180: an L7 rule never silently becomes
//!   "allow all".
//! - [`hairpin`]: a packet to the endpoint (tc egress of its veth, where no socket can be
//!   assigned) goes back to the veth's ingress, marked, to meet [`to_proxy`] there (after
//!   [`for_this_host`]: it still carries the endpoint's MAC address).
//! - [`to_upstream_socket`]: an endpoint's reply on a connection a proxy's upstream socket
//!   opened (which speaks from the client's address). It goes to the proxy's socket bound to exactly
//!   that address and port; a reply no proxy socket waits for is left alone.
//!
//! Every socket a lookup returns holds a reference, released on every path before the
//! function returns (the verifier checks it).

use core::ffi::c_void;
use core::mem::size_of;

use aya_ebpf::bindings::{
    BPF_F_CURRENT_NETNS, bpf_sock, bpf_sock_tuple, bpf_sock_tuple__bindgen_ty_1__bindgen_ty_1,
    bpf_sock_tuple__bindgen_ty_1__bindgen_ty_2,
};
use aya_ebpf::helpers::{
    bpf_redirect, bpf_sk_assign, bpf_sk_lookup_tcp, bpf_sk_lookup_udp, bpf_sk_release,
    bpf_skb_change_type, bpf_skc_lookup_tcp,
};
use probe_common::ipcache::FAMILY_V4;
use probe_common::proxy::{HAIRPIN_MARK, MARK};
use probe_common::{drop_reason, tc_action};

use crate::maps::zeroed;
use crate::parse::{Flow, proto};

/// `BPF_TCP_LISTEN` and `BPF_TCP_TIME_WAIT` of `bpf_sock.state`.
const TCP_LISTEN: u32 = 10;
const TCP_TIME_WAIT: u32 = 6;

/// Steers `flow`'s packet (in `skb`, the program's context) to the DNS proxy on `port`. `Err` is the drop reason.
#[inline(never)]
pub fn to_proxy(skb: *mut c_void, flow: &Flow, port: u16) -> Result<(), u8> {
    // The DNS proxy speaks UDP and TCP; SCTP (which `protocol: ANY` also covers) cannot be
    // proxied, and is not let through either.
    if flow.protocol != proto::TCP && flow.protocol != proto::UDP {
        return Err(drop_reason::PROXY_UNKNOWN_PROTOCOL);
    }
    let mut tuple: bpf_sock_tuple = zeroed();
    let len = fill(&mut tuple, flow, flow.daddr, flow.dport);
    if flow.protocol == proto::TCP {
        // SAFETY: a helper call with the program's context and a tuple on the stack.
        let sk = unsafe { bpf_skc_lookup_tcp(skb, &mut tuple, len, BPF_F_CURRENT_NETNS as u64, 0) };
        if !sk.is_null() {
            // SAFETY: a non-null socket the lookup returned; `state` is a sock_common field.
            let state = unsafe { (*sk).state };
            // A listener here is someone else's (a DNS server on the node), and a
            // time-wait socket is a connection that ended: not the proxy's.
            if state != TCP_LISTEN && state != TCP_TIME_WAIT {
                return assign(skb, sk);
            }
            // SAFETY: releasing the reference the lookup took.
            unsafe { bpf_sk_release(sk.cast()) };
        }
    }
    let local = loopback(flow.family);
    fill(&mut tuple, flow, local, port);
    let sk = full_socket(skb, &mut tuple, len, flow.protocol);
    if sk.is_null() {
        return Err(drop_reason::PROXY_LOOKUP_FAILED);
    }
    assign(skb, sk)
}

/// `BPF_F_INGRESS` of `bpf_redirect`.
const F_INGRESS: u64 = 1;

/// Redirects the packet in `skb` to the ingress of interface `ifindex` (the veth it leaves
/// by), marked [`HAIRPIN_MARK`]. `Err` is the drop reason.
#[inline(always)]
pub fn hairpin(skb: *mut c_void, ifindex: u32) -> Result<(), u8> {
    // SAFETY: the context's skb; tc programs may write `mark`.
    unsafe { (*skb.cast::<aya_ebpf::bindings::__sk_buff>()).mark = HAIRPIN_MARK };
    // SAFETY: a helper without memory arguments.
    let ret = unsafe { bpf_redirect(ifindex, F_INGRESS) };
    if ret as i32 != tc_action::REDIRECT {
        return Err(drop_reason::PROXY_ASSIGN_FAILED);
    }
    Ok(())
}

/// `PACKET_HOST` of `skb->pkt_type`.
const PACKET_HOST: u32 = 0;

/// Makes a hairpinned packet one for this host. It still carries the endpoint's MAC
/// address, so coming back in on the veth made it `PACKET_OTHERHOST`, which IP drops
/// before any socket sees it.
#[inline(always)]
pub fn for_this_host(skb: *mut c_void) {
    // SAFETY: the context's skb; the helper only changes PACKET_OTHERHOST to PACKET_HOST.
    unsafe { bpf_skb_change_type(skb.cast(), PACKET_HOST) };
}

/// Steers an endpoint's reply (`flow`) to the proxy's upstream socket bound to its
/// destination, if there is one. `true` when it was steered.
#[inline(never)]
pub fn to_upstream_socket(skb: *mut c_void, flow: &Flow) -> bool {
    let mut tuple: bpf_sock_tuple = zeroed();
    let len = fill(&mut tuple, flow, flow.daddr, flow.dport);
    let sk = full_socket(skb, &mut tuple, len, flow.protocol);
    if sk.is_null() {
        return false;
    }
    // Only a socket bound to exactly the pod's address and port is the proxy's upstream
    // socket; a wildcard-bound node socket that happens to use the port is not.
    if !bound_to(sk, flow) {
        // SAFETY: releasing the reference the lookup took.
        unsafe { bpf_sk_release(sk.cast()) };
        return false;
    }
    assign(skb, sk).is_ok()
}

/// The full TCP or UDP socket (by `protocol`) matching `tuple` in this namespace, null
/// without one; a non-null socket holds a reference the caller releases.
#[inline(always)]
fn full_socket(
    skb: *mut c_void,
    tuple: &mut bpf_sock_tuple,
    len: u32,
    protocol: u8,
) -> *mut bpf_sock {
    // SAFETY: a helper call with the program's context and a tuple on the stack.
    unsafe {
        if protocol == proto::TCP {
            bpf_sk_lookup_tcp(skb, tuple, len, BPF_F_CURRENT_NETNS as u64, 0)
        } else {
            bpf_sk_lookup_udp(skb, tuple, len, BPF_F_CURRENT_NETNS as u64, 0)
        }
    }
}

/// Whether full socket `sk` is bound to `flow`'s destination address and port.
#[inline(always)]
fn bound_to(sk: *mut bpf_sock, flow: &Flow) -> bool {
    // SAFETY: a non-null full socket from a lookup; these are readable bpf_sock fields.
    unsafe {
        if (*sk).src_port != u32::from(flow.dport) {
            return false;
        }
        if flow.family == FAMILY_V4 {
            (*sk).src_ip4 == word(&flow.daddr, 0)
        } else {
            (*sk).src_ip6[0] == word(&flow.daddr, 0)
                && (*sk).src_ip6[1] == word(&flow.daddr, 1)
                && (*sk).src_ip6[2] == word(&flow.daddr, 2)
                && (*sk).src_ip6[3] == word(&flow.daddr, 3)
        }
    }
}

/// Assigns `sk` to the packet, marks the packet for the local route, and releases `sk`.
#[inline(always)]
fn assign(skb: *mut c_void, sk: *mut bpf_sock) -> Result<(), u8> {
    // SAFETY: a non-null socket from a lookup, assigned then released exactly once.
    let ret = unsafe { bpf_sk_assign(skb, sk.cast(), 0) };
    // SAFETY: as above.
    unsafe { bpf_sk_release(sk.cast()) };
    if ret != 0 {
        return Err(drop_reason::PROXY_ASSIGN_FAILED);
    }
    // SAFETY: the context's skb; tc programs may write `mark`.
    unsafe { (*skb.cast::<aya_ebpf::bindings::__sk_buff>()).mark = MARK };
    Ok(())
}

/// Writes the lookup tuple `flow.saddr:sport → daddr:dport` into `tuple`; returns its size.
#[inline(always)]
fn fill(tuple: &mut bpf_sock_tuple, flow: &Flow, daddr: [u8; 16], dport: u16) -> u32 {
    // SAFETY: writing plain integers into the union member for the flow's family.
    unsafe {
        if flow.family == FAMILY_V4 {
            let t = &mut tuple.__bindgen_anon_1.ipv4;
            t.saddr = word(&flow.saddr, 0);
            t.daddr = word(&daddr, 0);
            t.sport = flow.sport.to_be();
            t.dport = dport.to_be();
            size_of::<bpf_sock_tuple__bindgen_ty_1__bindgen_ty_1>() as u32
        } else {
            let t = &mut tuple.__bindgen_anon_1.ipv6;
            for i in 0..4 {
                t.saddr[i] = word(&flow.saddr, i);
                t.daddr[i] = word(&daddr, i);
            }
            t.sport = flow.sport.to_be();
            t.dport = dport.to_be();
            size_of::<bpf_sock_tuple__bindgen_ty_1__bindgen_ty_2>() as u32
        }
    }
}

/// The loopback address of `family`, as flow addresses are stored.
#[inline(always)]
fn loopback(family: u8) -> [u8; 16] {
    let mut addr = [0u8; 16];
    if family == FAMILY_V4 {
        addr[..4].copy_from_slice(&[127, 0, 0, 1]);
    } else {
        addr[15] = 1;
    }
    addr
}

/// The `i`-th 32-bit word of an address, in network byte order as the kernel stores it.
#[inline(always)]
fn word(addr: &[u8; 16], i: usize) -> u32 {
    u32::from_ne_bytes([
        addr[4 * i],
        addr[4 * i + 1],
        addr[4 * i + 2],
        addr[4 * i + 3],
    ])
}
