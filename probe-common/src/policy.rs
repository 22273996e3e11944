//! The policy map: key and value layout of the LPM trie holding every endpoint's resolved
//! policy (the engine's map state), and the prefix arithmetic both sides use.
//!
//! # Key layout and prefixes
//!
//! The LPM trie matches on the leading `prefix_len` bits of [`PolicyKey`]:
//!
//! ```text
//! byte  0..2   endpoint_id   always matched
//! byte  2      direction     always matched
//! byte  3      pad (0)       always matched
//! byte  4..8   identity      always matched (0 = any identity: looked up separately)
//! byte  8      protocol      matched unless the entry covers every protocol
//! byte  9..11  dport (BE)    matched for `port_prefix` bits (0..=16)
//! byte 11      pad (0)       never matched
//! ```
//!
//! So an entry for "every protocol and port" has prefix [`PREFIX_ANY_PROTO`], "protocol P,
//! any port" has [`PREFIX_PROTO`], and "protocol P, ports matching the top `n` bits of port"
//! has `PREFIX_PROTO + n`. Port ranges become a handful of such prefixes, never one entry
//! per port. For ICMP and ICMPv6 the "port" is the ICMP type, matched exactly.
//!
//! The datapath looks up twice per new flow: once with the peer's identity and once with
//! identity 0 (entries that apply to every peer). Userspace resolves precedence before
//! writing (a deny removes every allow it covers for the same identity), so a deny found by
//! either lookup is final, and otherwise any allow found permits the flow.

/// Identity value meaning "any peer" in a policy key.
pub const IDENTITY_ANY: u32 = 0;

/// Prefix length (in bits, over [`PolicyKey`]) that matches endpoint, direction and identity
/// only: the entry covers every protocol and port.
pub const PREFIX_ANY_PROTO: u32 = 64;
/// Prefix length that additionally matches the protocol: the entry covers every port.
pub const PREFIX_PROTO: u32 = 72;
/// Prefix length of a fully specified key (exact protocol and port).
pub const PREFIX_FULL: u32 = 88;

/// Key of the policy LPM trie (the `data` part; the trie prepends the prefix length).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyKey {
    /// Endpoint the entry belongs to.
    pub endpoint_id: u16,
    /// [`crate::direction::INGRESS`] or [`crate::direction::EGRESS`], with
    /// [`crate::direction::AUDIT_BIT`] for the entries of the policy with its audited
    /// policies (audit mode).
    pub direction: u8,
    /// Always 0.
    pub pad0: u8,
    /// Peer security identity, or [`IDENTITY_ANY`].
    pub identity: u32,
    /// IP protocol number (6 TCP, 17 UDP, 132 SCTP, 1 ICMP, 58 ICMPv6, ...).
    pub protocol: u8,
    /// Destination port (or ICMP type) in network byte order.
    pub dport: [u8; 2],
    /// Always 0; outside every prefix.
    pub pad1: u8,
}
const _: () = assert!(core::mem::size_of::<PolicyKey>() == 12);

impl PolicyKey {
    /// A key with every field set; the prefix decides which of them an entry matches.
    pub const fn new(
        endpoint_id: u16,
        direction: u8,
        identity: u32,
        protocol: u8,
        dport: u16,
    ) -> Self {
        Self {
            endpoint_id,
            direction,
            pad0: 0,
            identity,
            protocol,
            dport: dport.to_be_bytes(),
            pad1: 0,
        }
    }

    /// The destination port (or ICMP type) in host byte order.
    pub const fn port(&self) -> u16 {
        u16::from_be_bytes(self.dport)
    }
}

/// Entry actions.
pub mod action {
    /// The flow is allowed.
    pub const ALLOW: u8 = 0;
    /// The flow is denied by a deny rule (drop reason 181).
    pub const DENY: u8 = 1;
}

/// Value of the policy LPM trie.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PolicyEntry {
    /// Userspace handle naming the rules that produced this entry (see the enforcer's cookie
    /// table). Reported in policy-verdict and drop events.
    pub cookie: u32,
    /// [`action::ALLOW`] or [`action::DENY`].
    pub action: u8,
    /// Bits of protocol+port this entry matches: 0 (any protocol), 8 (protocol, any port),
    /// up to 24 (exact port). Used to pick the more specific of the two lookups and to
    /// derive the Hubble match type.
    pub l4_prefix: u8,
    /// Bit flags, see [`entry_flags`].
    pub flags: u8,
    /// Always 0.
    pub pad: u8,
}
const _: () = assert!(core::mem::size_of::<PolicyEntry>() == 8);

/// Which entry decides a flow, from the datapath's two lookups (the peer's identity, and
/// the wildcard identity 0): a deny of either wins, then the more specific L4 match (the
/// peer's on a tie), then whichever exists. Returns the entry and whether it is the
/// wildcard's; `None` when neither lookup found one (default deny). The datapath and the
/// enforcer's userspace model both decide with this.
#[inline(always)]
pub fn choose(
    by_identity: Option<PolicyEntry>,
    any_identity: Option<PolicyEntry>,
) -> Option<(PolicyEntry, bool)> {
    match (by_identity, any_identity) {
        (Some(l3), _) if l3.action == action::DENY => Some((l3, false)),
        (_, Some(l4)) if l4.action == action::DENY => Some((l4, true)),
        (Some(l3), Some(l4)) if l4.l4_prefix > l3.l4_prefix => Some((l4, true)),
        (Some(l3), _) => Some((l3, false)),
        (None, Some(l4)) => Some((l4, true)),
        (None, None) => None,
    }
}

/// Flags of [`PolicyEntry::flags`].
pub mod entry_flags {
    /// An HTTP rule is attached to this entry: the connection is steered to the agent's
    /// HTTP proxy ([`crate::config::ProbeConfig::http_proxy_port`]), which judges each
    /// request (egress: from the endpoint's veth; ingress: hairpinned, see
    /// [`crate::proxy`]).
    pub const REDIRECT_HTTP: u8 = 1;
    /// A DNS rule is attached to this entry: the connection is steered to the agent's DNS
    /// proxy ([`crate::config::ProbeConfig::dns_proxy_port`]), which judges each query.
    pub const REDIRECT_DNS: u8 = 1 << 1;
}

/// The prefix length (over the key) of an entry whose protocol/port part has `l4_prefix`
/// significant bits (0, 8 or 8 + port bits).
pub const fn key_prefix_len(l4_prefix: u8) -> u32 {
    PREFIX_ANY_PROTO + l4_prefix as u32
}

/// Hubble policy match types (`policy_match_type` in flows, `match_type` in events).
pub mod match_type {
    /// No entry matched (the flow was denied by default).
    pub const NONE: u8 = 0;
    /// Identity matched, any protocol/port.
    pub const L3_ONLY: u8 = 1;
    /// Identity, protocol and port matched.
    pub const L3_L4: u8 = 2;
    /// Any identity; protocol and port matched.
    pub const L4_ONLY: u8 = 3;
    /// Any identity, protocol and port.
    pub const ALL: u8 = 4;
    /// Identity and protocol matched, any port.
    pub const L3_PROTO: u8 = 5;
    /// Any identity; protocol matched, any port.
    pub const PROTO_ONLY: u8 = 6;

    /// Hubble's name of a match type (`L3-Only`, ...), as its monitor prints it.
    pub const fn name(match_type: u8) -> Option<&'static str> {
        Some(match match_type {
            NONE => "none",
            L3_ONLY => "L3-Only",
            L3_L4 => "L3-L4",
            L4_ONLY => "L4-Only",
            ALL => "all",
            L3_PROTO => "L3-Proto",
            PROTO_ONLY => "Proto-Only",
            _ => return None,
        })
    }

    /// The match type of an entry found with (`wildcard_identity`) and `l4_prefix` bits.
    pub const fn of(wildcard_identity: bool, l4_prefix: u8) -> u8 {
        match (wildcard_identity, l4_prefix) {
            (false, 0) => L3_ONLY,
            (false, 8) => L3_PROTO,
            (false, _) => L3_L4,
            (true, 0) => ALL,
            (true, 8) => PROTO_ONLY,
            (true, _) => L4_ONLY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deny_wins_then_the_more_specific_entry_then_the_peer() {
        let entry = |action, l4_prefix, cookie| PolicyEntry {
            cookie,
            action,
            l4_prefix,
            ..PolicyEntry::default()
        };
        let (allow_l3, allow_l4) = (entry(action::ALLOW, 0, 1), entry(action::ALLOW, 24, 2));
        let deny_any = entry(action::DENY, 0, 3);
        assert_eq!(choose(None, None), None);
        assert_eq!(
            choose(Some(allow_l3), Some(deny_any)),
            Some((deny_any, true))
        );
        assert_eq!(
            choose(Some(allow_l3), Some(allow_l4)),
            Some((allow_l4, true))
        );
        assert_eq!(
            choose(Some(allow_l4), Some(allow_l4)),
            Some((allow_l4, false))
        );
        assert_eq!(choose(None, Some(allow_l3)), Some((allow_l3, true)));
    }

    #[test]
    fn prefixes_cover_the_documented_bytes() {
        // endpoint (2) + direction (1) + pad (1) + identity (4) bytes.
        assert_eq!(PREFIX_ANY_PROTO, 8 * 8);
        assert_eq!(PREFIX_PROTO, PREFIX_ANY_PROTO + 8);
        assert_eq!(PREFIX_FULL, PREFIX_PROTO + 16);
        assert_eq!(key_prefix_len(24), PREFIX_FULL);
    }

    #[test]
    fn port_is_stored_big_endian() {
        let key = PolicyKey::new(7, crate::direction::EGRESS, 1234, 6, 8080);
        assert_eq!(key.dport, [0x1f, 0x90]);
        assert_eq!(key.port(), 8080);
    }

    #[test]
    fn match_types_follow_hubble() {
        assert_eq!(match_type::of(false, 0), match_type::L3_ONLY);
        assert_eq!(match_type::of(false, 24), match_type::L3_L4);
        assert_eq!(match_type::of(true, 20), match_type::L4_ONLY);
        assert_eq!(match_type::of(true, 0), match_type::ALL);
        assert_eq!(match_type::of(false, 8), match_type::L3_PROTO);
        assert_eq!(match_type::of(true, 8), match_type::PROTO_ONLY);
    }
}
