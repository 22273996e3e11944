//! Handles to what a lab created: [`NodeRef`] for a node namespace and [`PodRef`] for a pod or
//! world host attached to one, plus the [`Role`] that tells those two apart. These are plain
//! values; creating and wiring them is the lab's job.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A node: a network namespace with forwarding on and no uplink, to which pods are attached.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NodeRef {
    /// The name given to `Lab::add_node`.
    pub name: String,
    /// The namespace name, `<prefix>-<name>`.
    pub netns: String,
}

/// What an endpoint attached to a node stands for. The wiring is the same for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A workload inside the cluster, addressed from `10.0.0.0/8` (and `fc00::/7`).
    Pod,
    /// A host outside the cluster, addressed from the documentation ranges.
    WorldHost,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Pod => "pod",
            Role::WorldHost => "world host",
        })
    }
}

/// A pod or world host: a network namespace whose `eth0` is one end of a veth pair; the other
/// end, `host_ifname`, lives in the node namespace (Cilium's `lxc` interface).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PodRef {
    /// The name given to `Lab::add_pod` or `Lab::add_world_host`.
    pub name: String,
    /// Whether this is a pod or a world host.
    pub role: Role,
    /// The pod's namespace name, `<prefix>-<name>`.
    pub netns: String,
    /// The namespace of the node the pod is attached to.
    pub node_netns: String,
    /// The host-side veth in the node namespace, `lxc<n>`.
    pub host_ifname: String,
    /// The ifindex of `host_ifname` inside the node namespace (where the datapath attaches).
    pub host_ifindex: u32,
    /// The pod's IPv4 address (a /32 on its `eth0`).
    pub v4: Ipv4Addr,
    /// The pod's IPv6 address (a /128 on its `eth0`), if it has one.
    pub v6: Option<Ipv6Addr>,
}

impl PodRef {
    /// The pod's addresses: IPv4 first, then IPv6 if present.
    pub fn ips(&self) -> impl Iterator<Item = IpAddr> + '_ {
        std::iter::once(IpAddr::V4(self.v4)).chain(self.v6.map(IpAddr::V6))
    }
}
