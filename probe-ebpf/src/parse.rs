//! Packet parsing: Ethernet, IPv4 (with options), IPv6 (with extension headers), and the L4
//! fields the datapath decides on (TCP/UDP/SCTP ports, TCP flags, ICMP type/code/echo id).
//!
//! Every read goes through `bpf_skb_load_bytes` ([`load`]): the kernel checks it against the
//! whole packet, so a short packet is an error we report, never an out-of-bounds read, and
//! headers in the non-linear part of an skb (GRO, veth with paged frags) are read like any
//! other. That is what Cilium does for ports and IPv6 extension headers too; it also keeps
//! variable offsets (IHL, extension header lengths) out of the verifier's packet-pointer
//! range tracking.
//!
//! Fragments: a first fragment (offset 0, more-fragments set) records its L4 fields in
//! `OBS_FRAGS`, keyed by (addresses, IP id, protocol); later fragments carry no L4 header and
//! take the recorded fields, so they get the same conntrack entry and policy verdict. A later
//! fragment without a record is dropped (157): its policy cannot be decided.

use aya_ebpf::programs::TcContext;
use probe_common::conntrack::{CtKey, FragEntry, FragKey};
use probe_common::drop_reason;
use probe_common::ipcache::{FAMILY_V4, FAMILY_V6};

use crate::maps::{Aligned, OBS_FRAGS};

/// Length of the Ethernet header (no VLAN tags: veths of endpoints carry none).
const ETH_HLEN: u32 = 14;
/// Offset of the ethertype in the Ethernet header.
const ETH_TYPE_OFF: u32 = 12;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_ARP: u16 = 0x0806;

/// Extension headers walked before giving up with 156. Real traffic has at most a few
/// (hop-by-hop, routing, fragment, destination options); the bound keeps the loop finite
/// for the verifier.
const MAX_IPV6_EXT_HEADERS: u32 = 8;

/// IP protocol numbers the datapath understands.
pub mod proto {
    /// ICMP (IPv4 only).
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// ICMPv6 (IPv6 only).
    pub const ICMPV6: u8 = 58;
    /// SCTP.
    pub const SCTP: u8 = 132;
    /// IPv6 hop-by-hop options.
    pub const HOPOPTS: u8 = 0;
    /// IPv6 routing header.
    pub const ROUTING: u8 = 43;
    /// IPv6 fragment header.
    pub const FRAGMENT: u8 = 44;
    /// Authentication header (its length is in 4-byte units).
    pub const AH: u8 = 51;
    /// IPv6 destination options.
    pub const DSTOPTS: u8 = 60;
}

/// TCP flag bits of [`Flow::tcp_flags`].
pub mod tcp_flag {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// RST.
    pub const RST: u8 = 0x04;
}

/// ICMP types with a conntrack meaning.
mod icmp {
    pub const V4_ECHO_REPLY: u8 = 0;
    pub const V4_ECHO_REQUEST: u8 = 8;
    pub const V6_ECHO_REQUEST: u8 = 128;
    pub const V6_ECHO_REPLY: u8 = 129;
    /// Router/neighbour solicitation/advertisement and redirect: 133..=137.
    pub const V6_ND_FIRST: u8 = 133;
    pub const V6_ND_LAST: u8 = 137;

    /// Whether `ty` is an error message quoting the packet that caused it.
    pub const fn is_error(family: u8, ty: u8) -> bool {
        if family == super::FAMILY_V4 {
            matches!(ty, 3 | 11 | 12) // unreachable, time exceeded, parameter problem
        } else {
            matches!(ty, 1..=4) // unreachable, too big, time exceeded, parameter problem
        }
    }
}

/// What the packet is, once parsed.
pub enum Parsed {
    /// ARP or IPv6 neighbour discovery: link housekeeping that passes without policy or
    /// events (blocking it would break every flow, allowing it discloses nothing).
    Housekeeping,
    /// An IP packet, described by the [`Flow`].
    Ip,
}

/// An IP packet's fields, as conntrack, policy and events need them.
///
/// On a parse error the fields read so far stay filled in, so the drop event says as much as
/// is known (a truncated TCP header still has its addresses).
///
/// Aligned to 8 with the addresses first: the BPF ISA has no unaligned loads, so byte
/// arrays that LLVM cannot prove aligned are copied byte by byte, which costs instructions,
/// registers and stack.
#[repr(C, align(8))]
#[derive(Clone, Copy, Default)]
pub struct Flow {
    /// Source address (IPv4 in the first four bytes).
    pub saddr: [u8; 16],
    /// Destination address.
    pub daddr: [u8; 16],
    /// Offset of the L4 header from the start of the frame.
    pub l4_off: u32,
    /// Conntrack source port: the L4 port, the ICMP echo-request id, else 0.
    pub sport: u16,
    /// Conntrack destination port: the L4 port, the ICMP echo-reply id, else 0.
    pub dport: u16,
    /// The "port" policy is decided on: the destination port, the ICMP type for ICMP, and
    /// 0 for protocols without ports.
    pub policy_port: u16,
    /// [`FAMILY_V4`] or [`FAMILY_V6`]; 0 until the L3 header is read.
    pub family: u8,
    /// IP protocol of the payload (after IPv6 extension headers).
    pub protocol: u8,
    /// TCP flags byte (0 unless TCP).
    pub tcp_flags: u8,
    /// ICMP type (0 unless ICMP/ICMPv6).
    pub icmp_type: u8,
    /// ICMP code.
    pub icmp_code: u8,
    /// An ICMP error whose payload quotes another packet (see [`icmp_error_quote`]).
    pub icmp_error: bool,
}

const _: () = assert!(core::mem::size_of::<Flow>().is_multiple_of(8));

impl Flow {
    /// Zeroes every field with six word stores. (`*self = Flow::default()` compiles to a call
    /// to the byte-at-a-time `memset` of compiler-builtins on BPF: ~250 instructions per
    /// packet. Volatile stores cannot be merged back into a `memset`.)
    #[inline(always)]
    pub fn reset(&mut self) {
        let words = (self as *mut Self).cast::<u64>();
        for i in 0..core::mem::size_of::<Flow>() / 8 {
            // SAFETY: Flow is plain data, 8-aligned and a whole number of words long
            // (asserted below), and all-zero is a valid Flow.
            unsafe { core::ptr::write_volatile(words.add(i), 0) };
        }
    }

    /// Whether the protocol is this family's ICMP.
    #[inline(always)]
    pub fn is_icmp(&self) -> bool {
        (self.family == FAMILY_V4 && self.protocol == proto::ICMP)
            || (self.family == FAMILY_V6 && self.protocol == proto::ICMPV6)
    }

    /// Whether the protocol has source and destination ports.
    #[inline(always)]
    pub fn has_ports(&self) -> bool {
        matches!(self.protocol, proto::TCP | proto::UDP | proto::SCTP)
    }
}

/// An IPv4 header (fields as on the wire; aligned so the addresses copy as words).
#[repr(C, align(4))]
#[derive(Clone, Copy)]
struct Ipv4Hdr {
    version_ihl: u8,
    tos: u8,
    tot_len: [u8; 2],
    id: [u8; 2],
    frag_off: [u8; 2],
    ttl: u8,
    protocol: u8,
    check: [u8; 2],
    saddr: [u8; 4],
    daddr: [u8; 4],
}

/// An IPv6 header (aligned so the addresses copy as words).
#[repr(C, align(8))]
#[derive(Clone, Copy)]
struct Ipv6Hdr {
    version_class_flow: [u8; 4],
    payload_len: [u8; 2],
    next_header: u8,
    hop_limit: u8,
    saddr: [u8; 16],
    daddr: [u8; 16],
}

/// An IPv6 fragment extension header.
#[repr(C, align(4))]
#[derive(Clone, Copy)]
struct Ipv6FragHdr {
    next_header: u8,
    reserved: u8,
    offset_flags: [u8; 2],
    id: [u8; 4],
}

/// The minimal TCP header (20 bytes): a shorter one is truncated.
#[repr(C, align(4))]
#[derive(Clone, Copy)]
struct TcpHdr {
    sport: [u8; 2],
    dport: [u8; 2],
    seq: [u8; 4],
    ack: [u8; 4],
    data_offset: u8,
    flags: u8,
    window: [u8; 2],
    check: [u8; 2],
    urgent: [u8; 2],
}

/// The first 8 bytes of an ICMP/ICMPv6 message (type, code, checksum, id, sequence for
/// echo; "unused"/MTU for errors). Every ICMP message has them.
#[repr(C, align(4))]
#[derive(Clone, Copy)]
struct IcmpHdr {
    ty: u8,
    code: u8,
    check: [u8; 2],
    id: [u8; 2],
    seq: [u8; 2],
}

/// Fragment position of a packet.
#[derive(Clone, Copy)]
struct Fragment {
    /// IP identification (0 when not fragmented).
    id: u32,
    /// Offset is non-zero: no L4 header in this packet.
    later: bool,
    /// More fragments follow: this is a first fragment when `!later`.
    more: bool,
}

impl Fragment {
    const NONE: Self = Self {
        id: 0,
        later: false,
        more: false,
    };
}

/// Reads a `T` at `off` bytes from the start of the frame; `None` past the packet's end.
#[inline(always)]
fn load<T>(ctx: &TcContext, off: u32) -> Option<T> {
    ctx.load::<T>(off as usize).ok()
}

/// Parses the frame into `flow`. `Err` is the drop reason.
///
/// A BPF subprogram (not inlined): the header copies live in its own stack frame, which is
/// gone before conntrack and policy need theirs, keeping the deepest call chain within the
/// 512-byte BPF stack.
#[inline(never)]
pub fn packet(ctx: &TcContext, flow: &mut Flow) -> Result<Parsed, u8> {
    let ethertype: [u8; 2] = load(ctx, ETH_TYPE_OFF).ok_or(drop_reason::INVALID_PACKET)?;
    match u16::from_be_bytes(ethertype) {
        ETH_P_IP => ipv4(ctx, flow)?,
        ETH_P_IPV6 => ipv6(ctx, flow)?,
        ETH_P_ARP => return Ok(Parsed::Housekeeping),
        _ => return Err(drop_reason::UNSUPPORTED_L3_PROTOCOL),
    }
    if is_neighbour_discovery(flow) {
        return Ok(Parsed::Housekeeping);
    }
    Ok(Parsed::Ip)
}

#[inline(always)]
fn is_neighbour_discovery(flow: &Flow) -> bool {
    flow.family == FAMILY_V6
        && flow.protocol == proto::ICMPV6
        && (icmp::V6_ND_FIRST..=icmp::V6_ND_LAST).contains(&flow.icmp_type)
}

#[inline(always)]
fn ipv4(ctx: &TcContext, flow: &mut Flow) -> Result<(), u8> {
    let ip: Ipv4Hdr = load(ctx, ETH_HLEN).ok_or(drop_reason::INVALID_PACKET)?;
    let header_len = u32::from(ip.version_ihl & 0x0f) * 4;
    // IHL below 5 cannot hold the fixed header; options that run past the packet's end are
    // just as malformed.
    if ip.version_ihl >> 4 != 4 || header_len < 20 || ctx.len() < ETH_HLEN + header_len {
        return Err(drop_reason::INVALID_PACKET);
    }
    flow.family = FAMILY_V4;
    flow.protocol = ip.protocol;
    flow.saddr = v4_addr(ip.saddr);
    flow.daddr = v4_addr(ip.daddr);
    let frag_off = u16::from_be_bytes(ip.frag_off);
    let fragment = Fragment {
        id: u32::from(u16::from_be_bytes(ip.id)),
        later: frag_off & 0x1fff != 0,
        more: frag_off & 0x2000 != 0,
    };
    transport(ctx, flow, ETH_HLEN + header_len, fragment)
}

#[inline(always)]
fn ipv6(ctx: &TcContext, flow: &mut Flow) -> Result<(), u8> {
    let ip: Ipv6Hdr = load(ctx, ETH_HLEN).ok_or(drop_reason::INVALID_PACKET)?;
    if ip.version_class_flow[0] >> 4 != 6 {
        return Err(drop_reason::INVALID_PACKET);
    }
    flow.family = FAMILY_V6;
    flow.saddr = ip.saddr;
    flow.daddr = ip.daddr;
    let (protocol, off, fragment) = skip_extension_headers(ctx, ip.next_header)?;
    flow.protocol = protocol;
    transport(ctx, flow, off, fragment)
}

/// Walks the IPv6 extension header chain from `next` (the fixed header's next-header):
/// returns the payload protocol, its offset, and the fragment header's fields if any.
/// A later fragment stops the walk: what follows its fragment header is not a header.
#[inline(always)]
fn skip_extension_headers(ctx: &TcContext, mut next: u8) -> Result<(u8, u32, Fragment), u8> {
    let bad_chain = drop_reason::INVALID_IPV6_EXTENSION_HEADER;
    let mut off = ETH_HLEN + 40;
    let mut fragment = Fragment::NONE;
    for _ in 0..MAX_IPV6_EXT_HEADERS {
        match next {
            proto::HOPOPTS | proto::ROUTING | proto::DSTOPTS => {
                // Next header, then the length in 8-byte units not counting the first 8.
                let hdr: [u8; 2] = load(ctx, off).ok_or(bad_chain)?;
                next = hdr[0];
                off += (u32::from(hdr[1]) + 1) * 8;
            }
            proto::AH => {
                // AH counts its length in 4-byte units, minus 2.
                let hdr: [u8; 2] = load(ctx, off).ok_or(bad_chain)?;
                next = hdr[0];
                off += (u32::from(hdr[1]) + 2) * 4;
            }
            proto::FRAGMENT => {
                let hdr: Ipv6FragHdr = load(ctx, off).ok_or(bad_chain)?;
                let offset_flags = u16::from_be_bytes(hdr.offset_flags);
                fragment = Fragment {
                    id: u32::from_be_bytes(hdr.id),
                    later: offset_flags >> 3 != 0,
                    more: offset_flags & 1 != 0,
                };
                next = hdr.next_header;
                off += 8;
                if fragment.later {
                    return Ok((next, off, fragment));
                }
            }
            _ => return Ok((next, off, fragment)),
        }
    }
    Err(bad_chain)
}

/// Fills the L4 fields, from the header or, for a later fragment, from the first fragment's
/// record; records them when this is a first fragment.
#[inline(always)]
fn transport(ctx: &TcContext, flow: &mut Flow, off: u32, fragment: Fragment) -> Result<(), u8> {
    flow.l4_off = off;
    if fragment.later {
        return later_fragment(flow, fragment.id);
    }
    l4(ctx, flow, off)?;
    if fragment.more {
        record_first_fragment(flow, fragment.id);
    }
    Ok(())
}

#[inline(always)]
fn l4(ctx: &TcContext, flow: &mut Flow, off: u32) -> Result<(), u8> {
    let truncated = drop_reason::CT_TRUNCATED_OR_INVALID_HEADER;
    match flow.protocol {
        proto::TCP => {
            let tcp: TcpHdr = load(ctx, off).ok_or(truncated)?;
            if tcp.data_offset >> 4 < 5 {
                return Err(truncated);
            }
            flow.tcp_flags = tcp.flags;
            set_ports(flow, tcp.sport, tcp.dport);
        }
        proto::UDP => {
            // The whole 8-byte header, not only the ports.
            let udp: [[u8; 2]; 4] = load(ctx, off).ok_or(truncated)?;
            set_ports(flow, udp[0], udp[1]);
        }
        proto::SCTP => {
            // Common header: ports, verification tag, checksum (12 bytes).
            let sctp: [[u8; 2]; 6] = load(ctx, off).ok_or(truncated)?;
            set_ports(flow, sctp[0], sctp[1]);
        }
        _ if flow.is_icmp() => {
            let hdr: IcmpHdr = load(ctx, off).ok_or(truncated)?;
            set_icmp(flow, hdr.ty, hdr.code, u16::from_be_bytes(hdr.id));
        }
        // Protocols without ports: policy matches them with port 0, so only entries that
        // cover every port of the protocol (or every protocol) can allow them.
        _ => {}
    }
    Ok(())
}

#[inline(always)]
fn set_ports(flow: &mut Flow, sport: [u8; 2], dport: [u8; 2]) {
    flow.sport = u16::from_be_bytes(sport);
    flow.dport = u16::from_be_bytes(dport);
    flow.policy_port = flow.dport;
}

/// ICMP: the policy port is the type. Echo requests and replies get conntrack "ports" such
/// that the reply's reversed tuple is the request's: request (id, 0), reply (0, id).
#[inline(always)]
fn set_icmp(flow: &mut Flow, ty: u8, code: u8, id: u16) {
    flow.icmp_type = ty;
    flow.icmp_code = code;
    flow.policy_port = u16::from(ty);
    flow.icmp_error = icmp::is_error(flow.family, ty);
    (flow.sport, flow.dport) = icmp_ports(flow.family, ty, id);
}

/// Conntrack ports of an ICMP message: echo request (id, 0), echo reply (0, id), else none.
#[inline(always)]
fn icmp_ports(family: u8, ty: u8, id: u16) -> (u16, u16) {
    match (family, ty) {
        (FAMILY_V4, icmp::V4_ECHO_REQUEST) | (FAMILY_V6, icmp::V6_ECHO_REQUEST) => (id, 0),
        (FAMILY_V4, icmp::V4_ECHO_REPLY) | (FAMILY_V6, icmp::V6_ECHO_REPLY) => (0, id),
        _ => (0, 0),
    }
}

#[inline(always)]
fn frag_key(flow: &Flow, id: u32) -> FragKey {
    FragKey {
        saddr: flow.saddr,
        daddr: flow.daddr,
        id,
        protocol: flow.protocol,
        family: flow.family,
        pad: [0; 2],
    }
}

#[inline(always)]
fn record_first_fragment(flow: &Flow, id: u32) {
    let entry = FragEntry {
        sport: flow.sport,
        dport: flow.dport,
        icmp_type: flow.icmp_type,
        icmp_code: flow.icmp_code,
        pad: [0; 2],
    };
    // A failed insert only means the later fragments are dropped (157), which is the
    // documented outcome for fragments we cannot attribute; nothing better to do here.
    let key = Aligned(frag_key(flow, id));
    let _ = OBS_FRAGS.insert(key.as_ref(), entry, 0);
}

#[inline(always)]
fn later_fragment(flow: &mut Flow, id: u32) -> Result<(), u8> {
    // SAFETY: the value is copied out at once; a concurrent update can at worst give a
    // mix of two first fragments' fields of the same datagram key, which are equal.
    let key = Aligned(frag_key(flow, id));
    let Some(entry) = (unsafe { OBS_FRAGS.get(key.as_ref()) }).copied() else {
        return Err(drop_reason::FRAG_NOT_SUPPORTED);
    };
    flow.sport = entry.sport;
    flow.dport = entry.dport;
    flow.icmp_type = entry.icmp_type;
    flow.icmp_code = entry.icmp_code;
    flow.policy_port = if flow.is_icmp() {
        u16::from(entry.icmp_type)
    } else {
        entry.dport
    };
    Ok(())
}

/// The packet an ICMP error quotes (its IP header and first 8 L4 bytes follow the 8-byte
/// ICMP header), as that packet travelled: fills the tuple fields of `key` (addresses,
/// ports, protocol). `false` if the quote is cut short: the error is then treated as a
/// packet of its own. The quoted IPv6 header's extension headers are not walked: errors
/// about packets with extension headers are not related to their flow.
///
/// A BPF subprogram: its header copies stay out of conntrack's frame.
#[inline(never)]
pub fn icmp_error_quote(ctx: &TcContext, flow: &Flow, key: &mut CtKey) -> bool {
    let off = flow.l4_off + 8;
    let l4_off = if flow.family == FAMILY_V4 {
        let Some(ip) = load::<Ipv4Hdr>(ctx, off) else {
            return false;
        };
        key.protocol = ip.protocol;
        key.saddr = v4_addr(ip.saddr);
        key.daddr = v4_addr(ip.daddr);
        off + u32::from(ip.version_ihl & 0x0f) * 4
    } else {
        let Some(ip) = load::<Ipv6Hdr>(ctx, off) else {
            return false;
        };
        key.protocol = ip.next_header;
        key.saddr = ip.saddr;
        key.daddr = ip.daddr;
        off + 40
    };
    let Some((sport, dport)) = quoted_ports(ctx, flow.family, key.protocol, l4_off) else {
        return false;
    };
    key.sport = sport;
    key.dport = dport;
    true
}

#[inline(always)]
fn quoted_ports(ctx: &TcContext, family: u8, protocol: u8, off: u32) -> Option<(u16, u16)> {
    match protocol {
        proto::TCP | proto::UDP | proto::SCTP => {
            let ports: [[u8; 2]; 2] = load(ctx, off)?;
            Some((u16::from_be_bytes(ports[0]), u16::from_be_bytes(ports[1])))
        }
        proto::ICMP | proto::ICMPV6 => {
            let hdr: IcmpHdr = load(ctx, off)?;
            Some(icmp_ports(family, hdr.ty, u16::from_be_bytes(hdr.id)))
        }
        _ => Some((0, 0)),
    }
}

/// An IPv4 address in the 16-byte address fields. Built from words: a byte-array zero fill
/// becomes a call to a byte-at-a-time `memset` on BPF.
#[inline(always)]
fn v4_addr(a: [u8; 4]) -> [u8; 16] {
    let words: [u32; 4] = [u32::from_ne_bytes(a), 0, 0, 0];
    // SAFETY: same size, and every bit pattern is a valid byte array.
    unsafe { core::mem::transmute::<[u32; 4], [u8; 16]>(words) }
}
