//! Steering to the agent's L7 proxies: what the datapath and the agent agree on.
//!
//! The datapath hands a packet to a proxy socket with `bpf_sk_assign` at the tc ingress
//! hook of the host-side veth, and marks it with [`MARK`]. The packet's destination is not
//! a local address, so the agent installs, in the node's network namespace, a routing
//! rule that delivers marked packets locally (`ip rule add fwmark MARK/MARK_MASK lookup
//! ROUTE_TABLE` and `ip route add local 0.0.0.0/0 dev lo table ROUTE_TABLE`); the
//! assigned socket then receives it.
//!
//! Packets that are steered:
//! - an endpoint's packets on a connection whose policy entry carries a DNS rule, to the
//!   DNS proxy's listener ([`crate::config::ProbeConfig::dns_proxy_port`] on 127.0.0.1,
//!   or ::1 for IPv6) or, for TCP once accepted, to the proxy's socket for that
//!   connection;
//! - an endpoint's packets on a connection whose egress entry carries an HTTP rule, to the
//!   HTTP proxy's listener ([`crate::config::ProbeConfig::http_proxy_port`]) or its
//!   accepted socket;
//! - packets to an endpoint on a connection whose ingress entry carries an HTTP rule: at
//!   the host-side veth's tc egress they cannot be assigned a socket, so they are
//!   redirected to the veth's own ingress with [`HAIRPIN_MARK`], and assigned there;
//! - an endpoint's replies on a connection an L7 proxy's upstream socket opened (marked
//!   [`UPSTREAM_MARK`]: the DNS proxy's, bound to the asking pod's own address and port,
//!   and the HTTP proxy's, bound to the client's address), to that socket.

/// The mark of a steered packet.
pub const MARK: u32 = 0x0a00;
/// The bits of the mark the routing rule matches.
pub const MARK_MASK: u32 = 0x0f00;
/// The routing table with the local route for steered packets.
pub const ROUTE_TABLE: u32 = 2405;
/// The routing rule's priority.
pub const RULE_PRIORITY: u32 = 9;
/// The mark (`SO_MARK`) of an L7 proxy's upstream sockets: the datapath does not steer
/// their packets to a proxy again, and steers the endpoint's replies back to them.
pub const UPSTREAM_MARK: u32 = 0x0b00;
/// The mark of a packet the datapath hairpinned for the HTTP proxy: an ingress packet
/// (host-side veth, tc egress) that needs the proxy is redirected to the same veth's
/// ingress, where `bpf_sk_assign` is possible, with this mark saying why.
pub const HAIRPIN_MARK: u32 = 0x0c00;
/// The port DNS rules apply to (Cilium requires DNS rules to list it).
pub const DNS_PORT: u16 = 53;
