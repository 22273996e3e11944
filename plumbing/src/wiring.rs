//! How an endpoint is plugged into its node, Cilium/Calico style: a veth `lxc<n>` (node side) ↔
//! `eth0` (endpoint side), the endpoint's address as a /32 (/128) on `eth0`, a default route via
//! the link-local gateway `169.254.1.1` (`fe80::1`) that every `lxc` interface owns, and a /32
//! (/128) route to the endpoint on the node. No per-pod subnet is needed, so any address works.
//!
//! The `ip` scripts are built by pure functions so they can be read and tested without root.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::addr::{GATEWAY_V4, GATEWAY_V6};
use crate::command;
use crate::error::PlumbingError;
use crate::netns;

/// The endpoint-side interface name.
const POD_IFNAME: &str = "eth0";

/// The addresses one endpoint owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addrs {
    /// The IPv4 address.
    pub v4: Ipv4Addr,
    /// The IPv6 address, if any.
    pub v6: Option<Ipv6Addr>,
}

/// Creates the veth pair between `node_netns` (as `host_ifname`) and `pod_netns` (as `eth0`),
/// configures both sides and returns the ifindex of `host_ifname` in the node namespace. The
/// pair is created inside the node namespace, so the host namespace never sees it (unless the
/// host is the node: `node_netns` empty).
///
/// # Errors
///
/// Command errors from `ip`; [`PlumbingError::NoSuchInterface`] if the veth vanished.
pub fn wire(
    node_netns: &str,
    pod_netns: &str,
    host_ifname: &str,
    addrs: Addrs,
) -> Result<u32, PlumbingError> {
    command::ip_in(
        node_netns,
        &[
            "link",
            "add",
            host_ifname,
            "type",
            "veth",
            "peer",
            "name",
            POD_IFNAME,
            "netns",
            pod_netns,
        ],
    )?;
    command::ip_batch(node_netns, &node_side_script(host_ifname, addrs))?;
    command::ip_batch(pod_netns, &pod_side_script(addrs))?;
    netns::ifindex(node_netns, host_ifname)
}

/// Deletes the veth pair from the node side, which removes both ends and the node's routes to
/// the endpoint at once (deleting only the endpoint's namespace would do it asynchronously).
///
/// # Errors
///
/// Command errors from `ip` (the veth does not exist, say).
pub fn unwire(node_netns: &str, host_ifname: &str) -> Result<(), PlumbingError> {
    command::ip_in(node_netns, &["link", "del", host_ifname])
}

/// Node side: the gateway addresses on `host_ifname`, and routes to the endpoint through it.
fn node_side_script(host_ifname: &str, addrs: Addrs) -> String {
    let mut script = format!(
        "link set {host_ifname} up\n\
         addr add {GATEWAY_V4}/32 dev {host_ifname}\n\
         route add {}/32 dev {host_ifname}\n",
        addrs.v4
    );
    if let Some(v6) = addrs.v6 {
        script.push_str(&format!(
            "addr add {GATEWAY_V6}/64 dev {host_ifname} nodad\n\
             route add {v6}/128 dev {host_ifname}\n"
        ));
    }
    script
}

/// Endpoint side: loopback and `eth0` up, the endpoint's addresses, and default routes via the
/// gateways (in the lab, the default routes stay inside it because its nodes have no uplink).
fn pod_side_script(addrs: Addrs) -> String {
    let mut script = format!(
        "link set lo up\n\
         link set {POD_IFNAME} up\n\
         addr add {}/32 dev {POD_IFNAME}\n\
         route add {GATEWAY_V4} dev {POD_IFNAME} scope link\n\
         route add default via {GATEWAY_V4} dev {POD_IFNAME}\n",
        addrs.v4
    );
    if let Some(v6) = addrs.v6 {
        // `::/0` rather than `default`: a batch line has no `-6` to pick the family.
        script.push_str(&format!(
            "addr add {v6}/128 dev {POD_IFNAME} nodad\n\
             route add ::/0 via {GATEWAY_V6} dev {POD_IFNAME}\n"
        ));
    }
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dual_stack() -> Addrs {
        Addrs {
            v4: Ipv4Addr::new(10, 0, 1, 5),
            v6: Some("fd00::5".parse().unwrap()),
        }
    }

    #[test]
    fn node_side_owns_gateways_and_routes_the_pod_ips() {
        assert_eq!(
            node_side_script("lxc3", dual_stack()),
            "link set lxc3 up\n\
             addr add 169.254.1.1/32 dev lxc3\n\
             route add 10.0.1.5/32 dev lxc3\n\
             addr add fe80::1/64 dev lxc3 nodad\n\
             route add fd00::5/128 dev lxc3\n"
        );
    }

    #[test]
    fn pod_side_routes_everything_via_the_gateways() {
        assert_eq!(
            pod_side_script(dual_stack()),
            "link set lo up\n\
             link set eth0 up\n\
             addr add 10.0.1.5/32 dev eth0\n\
             route add 169.254.1.1 dev eth0 scope link\n\
             route add default via 169.254.1.1 dev eth0\n\
             addr add fd00::5/128 dev eth0 nodad\n\
             route add ::/0 via fe80::1 dev eth0\n"
        );
    }

    #[test]
    fn ipv4_only_endpoints_get_no_ipv6_lines() {
        let addrs = Addrs {
            v6: None,
            ..dual_stack()
        };
        assert!(!node_side_script("lxc0", addrs).contains("fe80"));
        assert!(!pod_side_script(addrs).contains("::"));
    }
}
