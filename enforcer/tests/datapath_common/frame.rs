//! Ethernet frames for `BPF_PROG_TEST_RUN`: IPv4/IPv6 with TCP, UDP, SCTP, ICMP, ICMPv6,
//! fragments, extension headers, and deliberately broken variants. Checksums are left at
//! zero: the programs never look at them.

use std::net::{Ipv4Addr, Ipv6Addr};

/// TCP SYN.
pub const SYN: u8 = 0x02;
/// TCP ACK.
pub const ACK: u8 = 0x10;
/// TCP FIN.
pub const FIN: u8 = 0x01;

const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_ARP: u16 = 0x0806;

fn ethernet(ethertype: u16) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f
}

/// An L4 payload: what follows the IP header(s).
#[derive(Clone, Debug)]
pub enum L4 {
    /// TCP header (20 bytes) with ports and flags.
    Tcp { sport: u16, dport: u16, flags: u8 },
    /// UDP header and 8 payload bytes.
    Udp { sport: u16, dport: u16 },
    /// SCTP common header and 4 bytes.
    Sctp { sport: u16, dport: u16 },
    /// ICMP or ICMPv6 header (type, code, id) and 8 payload bytes.
    Icmp { ty: u8, code: u8, id: u16 },
    /// ICMP error (type, code) quoting `quoted` (an IP header and 8 bytes of L4).
    IcmpError { ty: u8, code: u8, quoted: Vec<u8> },
    /// Raw bytes (truncated headers, later fragments, other protocols).
    Raw(Vec<u8>),
}

impl L4 {
    /// The IP protocol number (for ICMP, per family).
    pub fn protocol(&self, v6: bool) -> u8 {
        match self {
            Self::Tcp { .. } => 6,
            Self::Udp { .. } => 17,
            Self::Sctp { .. } => 132,
            Self::Icmp { .. } | Self::IcmpError { .. } => {
                if v6 {
                    58
                } else {
                    1
                }
            }
            Self::Raw(_) => 253, // experimental: an "unknown" protocol unless overridden
        }
    }

    /// The bytes.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Self::Tcp {
                sport,
                dport,
                flags,
            } => {
                let mut b = Vec::with_capacity(20);
                b.extend_from_slice(&sport.to_be_bytes());
                b.extend_from_slice(&dport.to_be_bytes());
                b.extend_from_slice(&[
                    0, 0, 0, 1, 0, 0, 0, 0, 0x50, *flags, 0xff, 0xff, 0, 0, 0, 0,
                ]);
                b
            }
            Self::Udp { sport, dport } => {
                let mut b = Vec::with_capacity(16);
                b.extend_from_slice(&sport.to_be_bytes());
                b.extend_from_slice(&dport.to_be_bytes());
                b.extend_from_slice(&[0, 16, 0, 0]);
                b.extend_from_slice(b"payload!");
                b
            }
            Self::Sctp { sport, dport } => {
                let mut b = Vec::with_capacity(16);
                b.extend_from_slice(&sport.to_be_bytes());
                b.extend_from_slice(&dport.to_be_bytes());
                b.extend_from_slice(&[0; 12]);
                b
            }
            Self::Icmp { ty, code, id } => {
                let mut b = vec![*ty, *code, 0, 0];
                b.extend_from_slice(&id.to_be_bytes());
                b.extend_from_slice(&[0, 1]);
                b.extend_from_slice(b"pingpong");
                b
            }
            Self::IcmpError { ty, code, quoted } => {
                let mut b = vec![*ty, *code, 0, 0, 0, 0, 0, 0];
                b.extend_from_slice(quoted);
                b
            }
            Self::Raw(b) => b.clone(),
        }
    }
}

/// An IPv4 header; `ihl` in 32-bit words (options are zero bytes).
pub fn ipv4_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    payload_len: usize,
    ihl: u8,
    id: u16,
    frag: u16,
) -> Vec<u8> {
    let header_len = usize::from(ihl.max(5)) * 4;
    let total = (header_len + payload_len) as u16;
    let mut h = vec![0x40 | (ihl & 0x0f), 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&frag.to_be_bytes());
    h.extend_from_slice(&[64, protocol, 0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    h.resize(header_len, 0);
    h
}

/// An IPv4 frame carrying `l4`.
pub fn v4(src: Ipv4Addr, dst: Ipv4Addr, l4: &L4) -> Vec<u8> {
    v4_with(src, dst, l4.protocol(false), &l4.bytes(), 5, 1, 0)
}

/// An IPv4 frame with every header field chosen: `frag` is the flags+offset field.
pub fn v4_with(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    payload: &[u8],
    ihl: u8,
    id: u16,
    frag: u16,
) -> Vec<u8> {
    let mut f = ethernet(ETH_P_IP);
    f.extend(ipv4_header(
        src,
        dst,
        protocol,
        payload.len(),
        ihl,
        id,
        frag,
    ));
    f.extend_from_slice(payload);
    f
}

/// An IPv6 header with `next_header` and `payload_len`.
pub fn ipv6_header(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, payload_len: usize) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(payload_len as u16).to_be_bytes());
    h.extend_from_slice(&[next_header, 64]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    h
}

/// An IPv6 frame carrying `l4`.
pub fn v6(src: Ipv6Addr, dst: Ipv6Addr, l4: &L4) -> Vec<u8> {
    v6_with(src, dst, &[], l4.protocol(true), &l4.bytes())
}

/// An IPv6 frame with extension headers: each `(type, bytes)` is one header whose first
/// byte (next header) is filled in here; `protocol` follows the last one.
pub fn v6_with(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    ext: &[(u8, Vec<u8>)],
    protocol: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut chain = Vec::new();
    for (i, (_, bytes)) in ext.iter().enumerate() {
        let next = ext.get(i + 1).map_or(protocol, |(t, _)| *t);
        let mut h = bytes.clone();
        if let Some(first) = h.first_mut() {
            *first = next;
        }
        chain.extend(h);
    }
    let first = ext.first().map_or(protocol, |(t, _)| *t);
    let mut f = ethernet(ETH_P_IPV6);
    f.extend(ipv6_header(src, dst, first, chain.len() + payload.len()));
    f.extend(chain);
    f.extend_from_slice(payload);
    f
}

/// An 8-byte options extension header (hop-by-hop or destination options: padding only).
pub fn ext_options() -> Vec<u8> {
    vec![0, 0, 1, 4, 0, 0, 0, 0]
}

/// An IPv6 fragment header: `offset` in 8-byte units, `more` fragments flag, `id`.
pub fn ext_fragment(offset: u16, more: bool, id: u32) -> Vec<u8> {
    let mut h = vec![0, 0];
    h.extend_from_slice(&((offset << 3) | u16::from(more)).to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h
}

/// An ARP request frame.
pub fn arp() -> Vec<u8> {
    let mut f = ethernet(ETH_P_ARP);
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 1, 10, 0, 0, 1]);
    f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 10, 0, 0, 2]);
    f.resize(60, 0);
    f
}

/// A frame of `ethertype` with an arbitrary payload.
pub fn other(ethertype: u16) -> Vec<u8> {
    let mut f = ethernet(ethertype);
    f.resize(60, 0);
    f
}

/// A VRRPv2 advertisement (RFC 3768) for virtual router `vrid` with one address: what
/// follows the IPv4 header of protocol 112. It has no ports.
pub fn vrrp_advertisement(vrid: u8, priority: u8, address: Ipv4Addr) -> Vec<u8> {
    // Version 2, type 1 (advertisement); one address, no authentication, 1 s interval.
    let mut b = vec![0x21, vrid, priority, 1, 0, 1, 0, 0];
    b.extend_from_slice(&address.octets());
    b.extend_from_slice(&[0; 8]); // authentication data
    b
}

/// An IGMPv2 message (RFC 2236) of type `ty` (0x11 query, 0x16 report) about `group`:
/// what follows the IPv4 header of protocol 2. It has no ports.
pub fn igmp(ty: u8, group: Ipv4Addr) -> Vec<u8> {
    let mut b = vec![ty, 100, 0, 0];
    b.extend_from_slice(&group.octets());
    b
}
