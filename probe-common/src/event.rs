//! Events the datapath sends to userspace through the ring buffer.
//!
//! One fixed-size [`FlowEvent`] per event; packet fields are decoded in the kernel, so
//! userspace needs no packet parser. The kinds and subtypes are Cilium's monitor values, so
//! the observer maps them straight onto Hubble's `event_type {type, sub_type}`. Trace
//! events of aggregation mode carry their connection's [`ConnectionCounters`] after the
//! event ([`CountedEvent`]).

use crate::conntrack::CtEntry;

/// Event kinds ([`FlowEvent::kind`]), Cilium monitor message types.
pub mod kind {
    /// A dropped packet; `subtype` is the drop reason.
    pub const DROP: u8 = 1;
    /// A forwarded packet; `subtype` is the observation point.
    pub const TRACE: u8 = 4;
    /// A policy decision on a new connection (allowed or denied).
    pub const POLICY_VERDICT: u8 = 5;
}

/// Trace observation points ([`FlowEvent::subtype`] of trace events), Cilium monitor values.
pub mod obs_point {
    /// Delivered to the endpoint (host veth egress hook).
    pub const TO_ENDPOINT: u8 = 0;
    /// Steered to the agent's L7 proxy.
    pub const TO_PROXY: u8 = 1;
    /// Sent by the endpoint (host veth ingress hook).
    pub const FROM_ENDPOINT: u8 = 5;
    /// Arrived from the network on a node device (host firewall, the device's ingress).
    pub const FROM_NETWORK: u8 = 10;
    /// Leaving to the network on a node device (host firewall, the device's egress).
    pub const TO_NETWORK: u8 = 11;

    /// The point of a hook: on a node device (`host`) or a pod's veth, for a packet the
    /// endpoint sends (`egress`) or receives.
    #[inline(always)]
    pub const fn of(host: bool, egress: bool) -> u8 {
        match (host, egress) {
            (false, true) => FROM_ENDPOINT,
            (false, false) => TO_ENDPOINT,
            (true, true) => TO_NETWORK,
            (true, false) => FROM_NETWORK,
        }
    }
}

/// Policy verdicts ([`FlowEvent::verdict`] of policy-verdict events).
pub mod verdict {
    /// The connection is allowed.
    pub const ALLOWED: u8 = 0;
    /// The connection is denied; [`super::FlowEvent::reason`] says why.
    pub const DENIED: u8 = 1;
    /// The connection is allowed, but a policy in audit mode would deny it
    /// ([`super::FlowEvent::reason`] says how): Hubble's verdict AUDIT.
    pub const AUDIT: u8 = 2;
}

/// Flags of [`FlowEvent::flags`].
pub mod event_flags {
    /// The packet travels in the reply direction of its connection.
    pub const IS_REPLY: u8 = 1 << 0;
    /// With [`REDIRECTED`]: the proxy is the HTTP proxy (without: the DNS proxy).
    pub const TO_HTTP_PROXY: u8 = 1 << 1;
    /// The endpoint enforces policy in this event's direction.
    pub const ENFORCED: u8 = 1 << 2;
    /// The allowed connection is redirected to the agent's L7 proxy (Hubble's verdict
    /// REDIRECTED).
    pub const REDIRECTED: u8 = 1 << 3;
    /// The decision came from the endpoint's policy with its audited policies: they would
    /// deny what the enforced ones allow, so the connection passes and is reported AUDIT.
    pub const AUDITED: u8 = 1 << 4;
    /// The record carries the connection's [`super::ConnectionCounters`] after the event
    /// (trace events in [`super::trace_mode::AGGREGATE`]).
    pub const COUNTED: u8 = 1 << 5;
}

/// Trace modes ([`crate::config::ProbeConfig::trace_mode`]).
pub mod trace_mode {
    /// No trace events; drops and policy verdicts only.
    pub const OFF: u32 = 0;
    /// A trace event for the first packet of each new connection.
    pub const NEW_CONNECTIONS: u32 = 1;
    /// A trace event for every forwarded packet.
    pub const ALL: u32 = 2;
    /// Connections, not packets: a trace event for the first packet of each new
    /// connection, then for a packet of it only when its direction shows TCP flags not
    /// seen before (the handshake's reply, FIN, RST), when it closes, or when its last
    /// event is [`crate::config::ProbeConfig::aggregation_interval_ms`] old; each such
    /// event carries the connection's [`super::ConnectionCounters`]. Drops and policy
    /// verdicts stay immediate.
    pub const AGGREGATE: u32 = 3;
}

/// What conntrack counted for a connection up to an event, appended to the event's record
/// ([`event_flags::COUNTED`]; the record is a [`CountedEvent`]). "Forward" is the
/// direction the connection was opened in.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConnectionCounters {
    /// Packets in the opening direction.
    pub packets_fwd: u64,
    /// Packets in the reply direction.
    pub packets_rev: u64,
    /// Bytes (`skb->len`) in the opening direction.
    pub bytes_fwd: u64,
    /// Bytes in the reply direction.
    pub bytes_rev: u64,
    /// CLOCK_MONOTONIC time of the connection's first packet (coarse clock).
    pub first_seen_ns: u64,
    /// TCP flags seen: opening direction in bits 0..8, reply direction in bits 8..16.
    pub tcp_flags_seen: u16,
    /// Always 0.
    pub pad: [u8; 6],
}
const _: () = assert!(core::mem::size_of::<ConnectionCounters>() == 48);

/// A ring-buffer record of an event with its connection's counters.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CountedEvent {
    /// The event ([`event_flags::COUNTED`] set).
    pub event: FlowEvent,
    /// Its connection's counters.
    pub counters: ConnectionCounters,
}
const _: () = assert!(core::mem::size_of::<CountedEvent>() == 128);

impl ConnectionCounters {
    /// Sets these counters to `entry`'s, field by field (in place: the datapath writes them
    /// straight into ring memory). The one place counters come from a conntrack entry.
    #[inline(always)]
    pub fn copy_from(&mut self, entry: &CtEntry) {
        self.packets_fwd = entry.packets_fwd;
        self.packets_rev = entry.packets_rev;
        self.bytes_fwd = entry.bytes_fwd;
        self.bytes_rev = entry.bytes_rev;
        self.first_seen_ns = entry.created_ns;
        self.tcp_flags_seen = entry.tcp_flags_seen;
        self.pad = [0; 6];
    }

    /// The counters of `entry`.
    pub fn of(entry: &CtEntry) -> Self {
        let mut counters = Self::default();
        counters.copy_from(entry);
        counters
    }

    /// The counters a record of a [`event_flags::COUNTED`] event carries after the event;
    /// `None` when the event has no counters or the record is too short for them.
    pub fn from_record(event: &FlowEvent, record: &[u8]) -> Option<Self> {
        if event.flags & event_flags::COUNTED == 0 {
            return None;
        }
        let tail = record.get(core::mem::size_of::<FlowEvent>()..)?;
        let bytes = tail.first_chunk::<{ core::mem::size_of::<Self>() }>()?;
        // SAFETY: plain integers and a byte array (every bit pattern is valid); the length
        // was checked, and read_unaligned copes with the record's alignment.
        Some(unsafe { bytes.as_ptr().cast::<Self>().read_unaligned() })
    }
}

/// One event from the datapath.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FlowEvent {
    /// `bpf_ktime_get_ns()` (CLOCK_MONOTONIC) when the event was emitted.
    pub timestamp_ns: u64,
    /// See [`kind`].
    pub kind: u8,
    /// Drop reason (drop events) or observation point (trace events); 0 for policy verdicts.
    pub subtype: u8,
    /// [`crate::direction::INGRESS`] or [`crate::direction::EGRESS`] relative to the endpoint.
    pub direction: u8,
    /// [`crate::ipcache::FAMILY_V4`], [`crate::ipcache::FAMILY_V6`], or 0 when not IP.
    pub family: u8,
    /// IP protocol number.
    pub protocol: u8,
    /// TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE 0x40,
    /// CWR 0x80).
    pub tcp_flags: u8,
    /// Connection state, see [`crate::conntrack::state`]; 0 when not tracked.
    pub ct_state: u8,
    /// Policy match type, see [`crate::policy::match_type`].
    pub match_type: u8,
    /// Endpoint whose hook saw the packet.
    pub endpoint_id: u16,
    /// Source port, host byte order (0 without ports).
    pub sport: u16,
    /// Destination port, host byte order (0 without ports).
    pub dport: u16,
    /// ICMP type (ICMP and ICMPv6 only).
    pub icmp_type: u8,
    /// ICMP code (ICMP and ICMPv6 only).
    pub icmp_code: u8,
    /// Interface the program runs on (the endpoint's host-side veth).
    pub ifindex: u32,
    /// Security identity of the source address.
    pub src_identity: u32,
    /// Security identity of the destination address.
    pub dst_identity: u32,
    /// Rule cookie of the policy entry that decided (0 when none matched).
    pub cookie: u32,
    /// Length of the packet on the wire.
    pub pkt_len: u32,
    /// Policy verdict events: see [`verdict`].
    pub verdict: u8,
    /// See [`event_flags`].
    pub flags: u8,
    /// Drop reason of a denied policy verdict (same as `subtype` for drop events).
    pub reason: u8,
    /// Always 0.
    pub pad: u8,
    /// Source address (IPv4 in the first four bytes).
    pub saddr: [u8; 16],
    /// Destination address (IPv4 in the first four bytes).
    pub daddr: [u8; 16],
}
const _: () = assert!(core::mem::size_of::<FlowEvent>() == 80);

impl FlowEvent {
    /// Reads an event from a ring-buffer record as the kernel wrote it (native byte order,
    /// this layout); trailing bytes are ignored (a newer datapath may append fields), a
    /// short record is `None`.
    pub fn from_bytes(record: &[u8]) -> Option<Self> {
        let bytes = record.first_chunk::<{ core::mem::size_of::<Self>() }>()?;
        // SAFETY: FlowEvent is repr(C) plain integers and byte arrays with explicit padding
        // fields, so every bit pattern is a valid value; the length was checked, and
        // read_unaligned copes with the record's alignment.
        Some(unsafe { bytes.as_ptr().cast::<Self>().read_unaligned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_decode_whole_events_only() {
        let event = FlowEvent {
            kind: 1,
            subtype: 133,
            sport: 1234,
            dport: 80,
            ..FlowEvent::default()
        };
        // SAFETY: viewing a repr(C) plain-data value as bytes.
        let bytes = unsafe {
            core::slice::from_raw_parts(
                (&raw const event).cast::<u8>(),
                core::mem::size_of::<FlowEvent>(),
            )
        };
        assert_eq!(FlowEvent::from_bytes(bytes), Some(event));
        assert_eq!(FlowEvent::from_bytes(&bytes[..79]), None);
        assert_eq!(ConnectionCounters::from_record(&event, bytes), None);
    }

    #[test]
    fn counted_records_carry_counters_only_when_flagged_and_whole() {
        let record = CountedEvent {
            event: FlowEvent {
                kind: 4,
                flags: event_flags::COUNTED,
                ..FlowEvent::default()
            },
            counters: ConnectionCounters {
                packets_fwd: 3,
                packets_rev: 2,
                bytes_fwd: 180,
                bytes_rev: 1_500,
                first_seen_ns: 7,
                tcp_flags_seen: 0x1a12,
                pad: [0; 6],
            },
        };
        // SAFETY: viewing a repr(C) plain-data value as bytes.
        let bytes = unsafe {
            core::slice::from_raw_parts(
                (&raw const record).cast::<u8>(),
                core::mem::size_of::<CountedEvent>(),
            )
        };
        let event = FlowEvent::from_bytes(bytes).unwrap();
        assert_eq!(event, record.event);
        assert_eq!(
            ConnectionCounters::from_record(&event, bytes),
            Some(record.counters)
        );
        assert_eq!(ConnectionCounters::from_record(&event, &bytes[..127]), None);
        let unflagged = FlowEvent { flags: 0, ..event };
        assert_eq!(ConnectionCounters::from_record(&unflagged, bytes), None);
    }
}
