//! Connection tracking: keys, entries, states and lifetimes; and fragment tracking.
//!
//! One entry per (endpoint, direction, 5-tuple in the direction the connection was opened).
//! A packet first looks up its own tuple (an established flow in the opening direction),
//! then the reversed tuple with the opposite direction (a reply). The endpoint and direction
//! are part of the key so that pod A's egress entry never stands in for pod B's ingress
//! check when both are on this node.

/// Key of the conntrack LRU hash.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CtKey {
    /// Source address of the opening packet (IPv4 in the first four bytes).
    pub saddr: [u8; 16],
    /// Destination address of the opening packet.
    pub daddr: [u8; 16],
    /// Source port (ICMP echo: the identifier; other ICMP: 0), host byte order.
    pub sport: u16,
    /// Destination port (ICMP echo: 0), host byte order.
    pub dport: u16,
    /// Endpoint whose policy admitted the connection.
    pub endpoint_id: u16,
    /// IP protocol number.
    pub protocol: u8,
    /// [`crate::ipcache::FAMILY_V4`] or [`crate::ipcache::FAMILY_V6`].
    pub family: u8,
    /// Direction of the opening packet relative to the endpoint.
    pub direction: u8,
    /// Always 0.
    pub pad: [u8; 3],
}
const _: () = assert!(core::mem::size_of::<CtKey>() == 44);

/// Value of the conntrack LRU hash.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CtEntry {
    /// CLOCK_MONOTONIC time (the datapath reads the coarse clock, `bpf_ktime_get_coarse_ns()`)
    /// after which the entry is stale and treated as absent.
    pub expires_ns: u64,
    /// Packets seen in the opening direction.
    pub packets_fwd: u64,
    /// Packets seen in the reply direction.
    pub packets_rev: u64,
    /// Bytes (`skb->len`) seen in the opening direction.
    pub bytes_fwd: u64,
    /// Bytes seen in the reply direction.
    pub bytes_rev: u64,
    /// Coarse CLOCK_MONOTONIC time the entry was created (the connection's first packet).
    pub created_ns: u64,
    /// Coarse CLOCK_MONOTONIC time of the connection's last trace event in aggregation
    /// mode ([`crate::event::trace_mode::AGGREGATE`]).
    pub reported_ns: u64,
    /// Rule cookie of the policy entry that admitted the connection.
    pub cookie: u32,
    /// Endpoint policy revision the connection was last verified against.
    pub policy_revision: u32,
    /// Peer identity when the connection was admitted.
    pub peer_identity: u32,
    /// TCP flags seen so far, in each direction (OR of flag bytes): fwd in bits 0..8,
    /// rev in bits 8..16.
    pub tcp_flags_seen: u16,
    /// Bit flags, see [`ct_flags`].
    pub flags: u8,
    /// Always 0.
    pub pad: u8,
}
const _: () = assert!(core::mem::size_of::<CtEntry>() == 72);

/// Flags of [`CtEntry::flags`].
pub mod ct_flags {
    /// A FIN or RST was seen: the entry lives for [`super::lifetime::TCP_CLOSING_NS`].
    pub const CLOSING: u8 = 1 << 0;
    /// The reply direction has been seen (TCP: SYN-ACK).
    pub const SEEN_REPLY: u8 = 1 << 1;
    /// The connection's packets in the opening direction go to the DNS proxy.
    pub const REDIRECT_DNS: u8 = 1 << 2;
    /// The connection's packets in the opening direction go to the HTTP proxy (at ingress:
    /// hairpinned to the endpoint veth's ingress first).
    pub const REDIRECT_HTTP: u8 = 1 << 3;
    /// The connection was opened by an L7 proxy's upstream socket (its packets carry
    /// [`crate::proxy::UPSTREAM_MARK`]): the endpoint's replies go back to that socket.
    pub const FROM_PROXY: u8 = 1 << 4;
    /// Packets were seen since the connection's last aggregated trace event (or, before
    /// its first, since it opened: the opening packet's event carries no counters). Set by
    /// every packet, cleared by a report; the agent reports a connection that went quiet
    /// with this set.
    pub const UNREPORTED: u8 = 1 << 5;
    /// Both redirect flags.
    pub const REDIRECTS: u8 = REDIRECT_DNS | REDIRECT_HTTP;
}

/// Connection states, as Hubble's `TraceReason` values (NEW 1, ESTABLISHED 2, REPLY 3,
/// RELATED 4).
pub mod state {
    /// No entry: a new connection, checked against the policy.
    pub const NEW: u8 = 1;
    /// A packet in the opening direction of a tracked connection.
    pub const ESTABLISHED: u8 = 2;
    /// A packet in the reverse direction of a tracked connection.
    pub const REPLY: u8 = 3;
    /// An ICMP error about a tracked connection.
    pub const RELATED: u8 = 4;
}

/// Entry lifetimes, in nanoseconds (the values Cilium uses by default).
pub mod lifetime {
    const SECOND: u64 = 1_000_000_000;
    /// TCP before the handshake completed.
    pub const TCP_SYN_NS: u64 = 60 * SECOND;
    /// Established TCP.
    pub const TCP_ESTABLISHED_NS: u64 = 21_600 * SECOND;
    /// TCP after FIN or RST.
    pub const TCP_CLOSING_NS: u64 = 10 * SECOND;
    /// UDP, SCTP, ICMP and other protocols.
    pub const NON_TCP_NS: u64 = 60 * SECOND;
    /// Minimum change of the expiry before the datapath rewrites it (saves a write per packet).
    pub const REFRESH_SLACK_NS: u64 = 5 * SECOND;
}

/// Key of the IP fragment LRU: first fragments record their ports here so that later
/// fragments of the same datagram (which carry no L4 header) get the same verdict.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FragKey {
    /// Source address (IPv4 in the first four bytes).
    pub saddr: [u8; 16],
    /// Destination address.
    pub daddr: [u8; 16],
    /// IP identification (IPv4: 16 bits, IPv6: 32 bits).
    pub id: u32,
    /// IP protocol number of the payload.
    pub protocol: u8,
    /// Address family.
    pub family: u8,
    /// Always 0.
    pub pad: [u8; 2],
}
const _: () = assert!(core::mem::size_of::<FragKey>() == 40);

/// Value of the fragment LRU: what the first fragment's L4 header said, so later fragments
/// get the same conntrack key and policy port.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FragEntry {
    /// Source port of the datagram (ICMP echo: as in [`CtKey::sport`]), host byte order.
    pub sport: u16,
    /// Destination port of the datagram (ICMP echo: as in [`CtKey::dport`]), host byte order.
    pub dport: u16,
    /// ICMP type (ICMP and ICMPv6 only): the policy "port" of later fragments of a large ping.
    pub icmp_type: u8,
    /// ICMP code (ICMP and ICMPv6 only).
    pub icmp_code: u8,
    /// Always 0.
    pub pad: [u8; 2],
}
const _: () = assert!(core::mem::size_of::<FragEntry>() == 8);
