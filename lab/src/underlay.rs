//! The lab's underlay, the network a real cluster's nodes share: one bridge `br0` in its own
//! lab namespace, and on every member (a joined node or a service host) a veth `ul0` plugged
//! into it, with an address from `10.254.0.0/24` (nodes from `.1` up, service hosts from
//! `.254` down) and a link-local `fe80::254:0:<n>` for IPv6 next hops.
//!
//! Each joined node has a pod CIDR (IPv4, optionally IPv6), and routing is direct, as in
//! Cilium's native routing mode: every other member routes that CIDR via the node's underlay
//! address. Pods need nothing more, since the node already routes each of its pods' /32 to its
//! `lxc` interface. Endpoints outside their node's pod CIDR are not routed over the underlay.
//! Everything lives inside lab namespaces, so deleting them removes it all.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use observe_plumbing::addr::{NODE_LINK_NET, UNDERLAY_NET};
use observe_plumbing::command;

use crate::endpoint::NodeRef;
use crate::error::LabError;
use crate::node_link::RouteOp;

/// The name of every member's underlay interface (the agent's native-routing device).
pub const UNDERLAY_IFNAME: &str = "ul0";
/// The name the underlay namespace claims: `<prefix>-underlay`.
pub(crate) const UNDERLAY_NAME: &str = "underlay";
/// The bridge inside the underlay namespace.
const BRIDGE: &str = "br0";
/// The prefix length of the underlay subnet.
const UNDERLAY_LEN: u8 = 24;
/// How many members fit: `.1` to `.254`.
const MAX_MEMBERS: usize = 254;
/// The underlay subnet (consts, so the assertions run at compile time).
const UNDERLAY: Ipv4Net = Ipv4Net::new_assert(UNDERLAY_NET, UNDERLAY_LEN);
/// The IPv4 pod range before the reserved /24s are taken out.
const POD_V4: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::new(10, 0, 0, 0), 8);
/// `10.0.0.0/8` /24s pods may not use: the node links and the underlay.
const RESERVED_V4: [Ipv4Net; 2] = [Ipv4Net::new_assert(NODE_LINK_NET, 24), UNDERLAY];
/// The IPv6 pod range, unique-local addresses.
const POD_V6: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7);

/// A node on the underlay: its underlay addresses and its pod CIDRs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnderlayNode {
    /// The node's name, as given to `Lab::add_node`.
    pub name: String,
    /// The node's namespace.
    pub netns: String,
    /// The node's underlay interface, [`UNDERLAY_IFNAME`].
    pub ifname: String,
    /// The node's underlay address (a /24 on `ifname`).
    pub addr: Ipv4Addr,
    /// The node's link-local IPv6 address on `ifname`, the next hop to its IPv6 pod CIDR.
    pub addr_v6: Ipv6Addr,
    /// The node's IPv4 pod CIDR: every other member routes it via `addr`.
    pub pod_cidr: Ipv4Net,
    /// The node's IPv6 pod CIDR, if any: every other member routes it via `addr_v6`.
    pub pod_cidr_v6: Option<Ipv6Net>,
}

/// A service host on the underlay (etcd, a relay).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Host {
    name: String,
    netns: String,
}

/// The bridge namespace and its members, in joining order.
#[derive(Debug)]
pub(crate) struct Underlay {
    netns: String,
    nodes: Vec<UnderlayNode>,
    hosts: Vec<Host>,
    /// The last octet the next node gets.
    next_node: u8,
    /// The last octet the next service host gets.
    next_host: u8,
}

impl Underlay {
    /// Creates the bridge inside the (new, empty) namespace `netns`.
    pub(crate) fn create(netns: &str) -> Result<Underlay, LabError> {
        command::ip_batch(netns, &bridge_script())?;
        Ok(Underlay {
            netns: netns.to_owned(),
            nodes: Vec::new(),
            hosts: Vec::new(),
            next_node: 1,
            next_host: 254,
        })
    }

    /// The underlay namespace.
    pub(crate) fn netns(&self) -> &str {
        &self.netns
    }

    /// The joined node whose namespace is `netns`.
    pub(crate) fn node(&self, netns: &str) -> Option<&UnderlayNode> {
        self.nodes.iter().find(|n| n.netns == netns)
    }

    /// Whether `name` is taken by the underlay itself or one of its service hosts.
    pub(crate) fn has_name(&self, name: &str) -> bool {
        name == UNDERLAY_NAME || self.hosts.iter().any(|h| h.name == name)
    }

    /// Plugs `node` in with the pod CIDRs `v4` and `v6`, and routes them from every member
    /// and every other node's CIDRs from `node`. On failure nothing of it stays behind.
    pub(crate) fn join(
        &mut self,
        node: &NodeRef,
        v4: Ipv4Net,
        v6: Option<Ipv6Net>,
    ) -> Result<UnderlayNode, LabError> {
        if self.node(&node.netns).is_some() {
            return Err(LabError::AlreadyOnUnderlay(node.name.clone()));
        }
        self.check_cidrs(&node.name, v4, v6)?;
        let octet = self.take_octet(true)?;
        let joined = UnderlayNode {
            name: node.name.clone(),
            netns: node.netns.clone(),
            ifname: UNDERLAY_IFNAME.to_owned(),
            addr: member_v4(octet),
            addr_v6: member_v6(octet),
            pod_cidr: v4,
            pod_cidr_v6: v6,
        };
        self.attach(&joined.netns, octet)?;
        if let Err(e) = self.route_new_node(&joined) {
            self.rollback(&joined);
            return Err(e);
        }
        self.nodes.push(joined.clone());
        Ok(joined)
    }

    /// Plugs the service host `name` (namespace `netns`, already created) in and routes every
    /// node's pod CIDRs from it. Returns its underlay address.
    pub(crate) fn add_host(&mut self, name: &str, netns: &str) -> Result<Ipv4Addr, LabError> {
        let octet = self.take_octet(false)?;
        self.attach(netns, octet)?;
        let script: String = self
            .nodes
            .iter()
            .map(|n| routes_to(RouteOp::Add, n))
            .collect();
        if !script.is_empty() {
            command::ip_batch(netns, &script)?;
        }
        self.hosts.push(Host {
            name: name.to_owned(),
            netns: netns.to_owned(),
        });
        Ok(member_v4(octet))
    }

    /// Fails unless `v4` and `v6` are valid pod CIDRs overlapping no joined node's.
    fn check_cidrs(&self, node: &str, v4: Ipv4Net, v6: Option<Ipv6Net>) -> Result<(), LabError> {
        let wanted = std::iter::once(IpNet::V4(v4)).chain(v6.map(IpNet::V6));
        for cidr in wanted {
            if let Err(reason) = check_pod_cidr(cidr) {
                return Err(LabError::InvalidPodCidr {
                    node: node.to_owned(),
                    cidr,
                    reason,
                });
            }
            for other in &self.nodes {
                if let Some(taken) = cidrs_of(other).find(|c| overlap(*c, cidr)) {
                    return Err(LabError::OverlappingPodCidr {
                        node: node.to_owned(),
                        cidr,
                        other: other.name.clone(),
                        other_cidr: taken,
                    });
                }
            }
        }
        Ok(())
    }

    /// The next free last octet for a node (counting up) or a host (counting down).
    fn take_octet(&mut self, node: bool) -> Result<u8, LabError> {
        if self.next_node > self.next_host {
            return Err(LabError::UnderlayExhausted {
                net: UNDERLAY,
                max: MAX_MEMBERS,
            });
        }
        let slot = if node {
            &mut self.next_node
        } else {
            &mut self.next_host
        };
        let octet = *slot;
        // Never overflows: next_node ≤ next_host ≤ 254 and next_host ≥ next_node ≥ 1 here.
        *slot = if node { octet + 1 } else { octet - 1 };
        Ok(octet)
    }

    /// Creates the member's `ul0` (inside its namespace, never the host's), its bridge port
    /// `port<octet>`, and the member's addresses. On failure the veth is removed again.
    fn attach(&self, member_netns: &str, octet: u8) -> Result<(), LabError> {
        let port = format!("port{octet}");
        command::ip(&[
            "-n",
            member_netns,
            "link",
            "add",
            UNDERLAY_IFNAME,
            "type",
            "veth",
            "peer",
            "name",
            &port,
            "netns",
            &self.netns,
        ])?;
        let configured = command::ip_batch(&self.netns, &port_script(&port))
            .and_then(|()| command::ip_batch(member_netns, &member_script(octet)));
        if configured.is_err() {
            let _ = command::ip_in(member_netns, &["link", "del", UNDERLAY_IFNAME]);
        }
        Ok(configured?)
    }

    /// Routes from `node` to every joined node's CIDRs, and from every member to `node`'s.
    fn route_new_node(&self, node: &UnderlayNode) -> Result<(), LabError> {
        let mine: String = self
            .nodes
            .iter()
            .map(|n| routes_to(RouteOp::Add, n))
            .collect();
        if !mine.is_empty() {
            command::ip_batch(&node.netns, &mine)?;
        }
        let to_node = routes_to(RouteOp::Add, node);
        self.member_netns()
            .try_for_each(|netns| Ok(command::ip_batch(netns, &to_node)?))
    }

    /// Undoes a half-finished join of `node`: the other members' routes to it (where they were
    /// added) and its veth, which takes its own routes along. Best effort.
    fn rollback(&self, node: &UnderlayNode) {
        let script = routes_to(RouteOp::Del, node);
        for netns in self.member_netns() {
            let _ = command::ip_batch(netns, &script);
        }
        let _ = command::ip_in(&node.netns, &["link", "del", UNDERLAY_IFNAME]);
    }

    /// The namespaces of every node and service host already on the underlay.
    fn member_netns(&self) -> impl Iterator<Item = &str> {
        let nodes = self.nodes.iter().map(|n| n.netns.as_str());
        nodes.chain(self.hosts.iter().map(|h| h.netns.as_str()))
    }
}

/// The member with last octet `octet`: its IPv4 underlay address.
fn member_v4(octet: u8) -> Ipv4Addr {
    let [a, b, c, _] = UNDERLAY_NET.octets();
    Ipv4Addr::new(a, b, c, octet)
}

/// The member with last octet `octet`: its link-local IPv6 address, `fe80::254:0:<octet>`.
fn member_v6(octet: u8) -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0x254, 0, u16::from(octet))
}

/// Whether `cidr` may be a pod CIDR: no host bits, inside the pod ranges (`10.0.0.0/8`
/// without the node-link and underlay ranges, `fc00::/7`). The reason when not.
fn check_pod_cidr(cidr: IpNet) -> Result<(), &'static str> {
    if cidr != cidr.trunc() {
        return Err("host bits are set");
    }
    let inside = match cidr {
        IpNet::V4(v4) => {
            POD_V4.contains(&v4) && !RESERVED_V4.iter().any(|r| overlap(cidr, IpNet::V4(*r)))
        }
        IpNet::V6(v6) => POD_V6.contains(&v6),
    };
    if inside {
        Ok(())
    } else {
        Err("use 10.0.0.0/8 except 10.254.0.0/24 and 10.255.255.0/24, or fc00::/7")
    }
}

/// Whether two networks share an address (of one family; different families never do).
fn overlap(a: IpNet, b: IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// A node's pod CIDRs, IPv4 first.
fn cidrs_of(node: &UnderlayNode) -> impl Iterator<Item = IpNet> {
    std::iter::once(IpNet::V4(node.pod_cidr)).chain(node.pod_cidr_v6.map(IpNet::V6))
}

/// The underlay namespace: loopback up, and the bridge (no multicast snooping, so IPv6
/// neighbour discovery is always flooded).
fn bridge_script() -> String {
    format!(
        "link set lo up\n\
         link add {BRIDGE} type bridge mcast_snooping 0\n\
         link set {BRIDGE} up\n"
    )
}

/// A member's bridge port: enslaved and up.
fn port_script(port: &str) -> String {
    format!("link set {port} master {BRIDGE}\nlink set {port} up\n")
}

/// A member's side: `ul0` up with its underlay addresses.
fn member_script(octet: u8) -> String {
    let (v4, v6) = (member_v4(octet), member_v6(octet));
    format!(
        "link set {UNDERLAY_IFNAME} up\n\
         addr add {v4}/{UNDERLAY_LEN} dev {UNDERLAY_IFNAME}\n\
         addr add {v6}/64 dev {UNDERLAY_IFNAME} nodad\n"
    )
}

/// Routes to `node`'s pod CIDRs via its underlay addresses.
fn routes_to(op: RouteOp, node: &UnderlayNode) -> String {
    let verb = match op {
        RouteOp::Add => "add",
        RouteOp::Del => "del",
    };
    cidrs_of(node)
        .map(|cidr| {
            let via = match cidr {
                IpNet::V4(_) => IpAddr::V4(node.addr),
                IpNet::V6(_) => IpAddr::V6(node.addr_v6),
            };
            format!("route {verb} {cidr} via {via} dev {UNDERLAY_IFNAME}\n")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, octet: u8, v4: &str, v6: Option<&str>) -> UnderlayNode {
        UnderlayNode {
            name: name.into(),
            netns: format!("obs-abcdef-{name}"),
            ifname: UNDERLAY_IFNAME.into(),
            addr: member_v4(octet),
            addr_v6: member_v6(octet),
            pod_cidr: v4.parse().unwrap(),
            pod_cidr_v6: v6.map(|c| c.parse().unwrap()),
        }
    }

    fn empty() -> Underlay {
        Underlay {
            netns: "obs-abcdef-underlay".into(),
            nodes: Vec::new(),
            hosts: Vec::new(),
            next_node: 1,
            next_host: 254,
        }
    }

    #[test]
    fn routes_point_at_the_nodes_underlay_addresses() {
        let n = node("node2", 2, "10.61.2.0/24", Some("fd00:61:2::/64"));
        assert_eq!(
            routes_to(RouteOp::Add, &n),
            "route add 10.61.2.0/24 via 10.254.0.2 dev ul0\n\
             route add fd00:61:2::/64 via fe80::254:0:2 dev ul0\n"
        );
        let n = node("node3", 3, "10.61.3.0/24", None);
        assert_eq!(
            routes_to(RouteOp::Del, &n),
            "route del 10.61.3.0/24 via 10.254.0.3 dev ul0\n"
        );
    }

    #[test]
    fn a_member_gets_its_slash_24_and_link_local_address() {
        assert_eq!(
            member_script(254),
            "link set ul0 up\naddr add 10.254.0.254/24 dev ul0\n\
             addr add fe80::254:0:fe/64 dev ul0 nodad\n"
        );
    }

    #[test]
    fn nodes_count_up_hosts_count_down_until_they_meet() {
        let mut u = empty();
        assert_eq!(u.take_octet(true).unwrap(), 1);
        assert_eq!(u.take_octet(false).unwrap(), 254);
        assert_eq!(u.take_octet(true).unwrap(), 2);
        let taken = (0..MAX_MEMBERS - 3).map(|i| u.take_octet(i % 2 == 0));
        assert!(taken.collect::<Result<Vec<_>, _>>().is_ok());
        let err = u.take_octet(true).unwrap_err();
        assert!(
            err.to_string().contains("10.254.0.0/24"),
            "{err}: names the range"
        );
        assert!(matches!(
            u.take_octet(false),
            Err(LabError::UnderlayExhausted { .. })
        ));
    }

    #[test]
    fn pod_cidrs_stay_in_the_pod_ranges() {
        let ok = |c: &str| check_pod_cidr(c.parse().unwrap()).is_ok();
        assert!(ok("10.61.1.0/24"));
        assert!(ok("10.64.0.0/10"));
        assert!(!ok("10.128.0.0/9"), "contains both reserved ranges");
        assert!(ok("fd00:61:1::/64"));
        assert!(!ok("10.61.1.1/24"), "host bits");
        assert!(!ok("10.254.0.0/24"), "underlay range");
        assert!(!ok("10.254.0.0/16"), "contains the underlay range");
        assert!(!ok("10.255.255.128/25"), "inside the node-link range");
        assert!(!ok("10.0.0.0/8"));
        assert!(!ok("192.168.0.0/24"));
        assert!(!ok("2001:db8::/64"));
    }

    #[test]
    fn overlapping_pod_cidrs_are_refused_naming_both_nodes() {
        let mut u = empty();
        u.nodes
            .push(node("node1", 1, "10.61.0.0/16", Some("fd00:61::/48")));
        let v4 = |c: &str| c.parse::<Ipv4Net>().unwrap();
        let v6 = |c: &str| Some(c.parse::<Ipv6Net>().unwrap());
        let err = u
            .check_cidrs("node2", v4("10.61.2.0/24"), None)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "pod CIDR 10.61.2.0/24 of `node2` overlaps 10.61.0.0/16 of `node1`"
        );
        let err = u.check_cidrs("node2", v4("10.62.0.0/16"), v6("fd00:61:0:2::/64"));
        assert!(matches!(err, Err(LabError::OverlappingPodCidr { .. })));
        assert!(
            u.check_cidrs("node2", v4("10.62.0.0/16"), v6("fd00:62::/48"))
                .is_ok()
        );
    }
}
