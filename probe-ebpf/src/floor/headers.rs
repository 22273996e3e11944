//! The floors' parser: the probe's three header reads (ethertype, IPv4 header, TCP
//! header), straight into a conntrack key, without the probe's checks.

use aya_ebpf::programs::TcContext;
use probe_common::conntrack::CtKey;
use probe_common::direction;
use probe_common::ipcache::FAMILY_V4;

use crate::maps::{Aligned, zeroed};

const ETH_HLEN: u32 = 14;
const ETH_TYPE_OFF: u32 = 12;
const ETH_P_IP: u16 = 0x0800;

/// The fixed IPv4 header as words: byte 0 is version/IHL, byte 9 the protocol, words 3
/// and 4 the addresses.
type Ipv4Words = [u32; 5];
/// The minimal TCP header as half-words: the ports first, the flags in the low byte of
/// half-word 6 (byte 13).
type TcpHalves = [u16; 10];

/// What a floor knows of the packet: its conntrack key in the endpoint's egress direction
/// (endpoint id still 0) and the TCP flags.
#[derive(Clone, Copy)]
pub struct Headers {
    /// Addresses, ports, protocol, family and direction of the key, aligned for the map
    /// helpers (see [`Aligned`]).
    pub key: Aligned<CtKey>,
    /// The TCP flags byte.
    pub tcp_flags: u8,
}

/// Reads the headers of an IPv4 packet; `None` for anything else.
#[inline(always)]
pub fn read(ctx: &TcContext) -> Option<Headers> {
    let ethertype: [u8; 2] = ctx.load(ETH_TYPE_OFF as usize).ok()?;
    if u16::from_be_bytes(ethertype) != ETH_P_IP {
        return None;
    }
    let ip: Ipv4Words = ctx.load(ETH_HLEN as usize).ok()?;
    let ihl = (ip[0] & 0x0f) * 4;
    let tcp: TcpHalves = ctx.load((ETH_HLEN + ihl) as usize).ok()?;
    let key = CtKey {
        saddr: v4_addr(ip[3]),
        daddr: v4_addr(ip[4]),
        sport: u16::from_be(tcp[0]),
        dport: u16::from_be(tcp[1]),
        protocol: (ip[2] >> 8) as u8,
        family: FAMILY_V4,
        direction: direction::EGRESS,
        ..zeroed()
    };
    Some(Headers {
        key: Aligned(key),
        tcp_flags: (tcp[6] >> 8) as u8,
    })
}

/// An IPv4 address (as read, network order) in a 16-byte address field.
#[inline(always)]
fn v4_addr(a: u32) -> [u8; 16] {
    let words: [u32; 4] = [a, 0, 0, 0];
    // SAFETY: same size, and every bit pattern is a valid byte array.
    unsafe { core::mem::transmute::<[u32; 4], [u8; 16]>(words) }
}
