//! Endpoint plumbing for an agent: create an endpoint's network namespace and wire it to
//! the node exactly like a lab pod, adopt an existing namespace instead, and undo either.
//! `observerd` uses this when a Pod is applied to it; the [`Lab`](crate::Lab) uses the
//! same wiring for its own pods.
//!
//! `node_netns` names the node's network namespace; the empty string means the calling
//! thread's own namespace: the host's, for an agent on a real host (never in the lab, whose
//! nodes always have names).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::addr;
use crate::endpoint::Role;
use crate::error::LabError;
use crate::netns::{self, NETNS_DIR};
use crate::sysctl;
use crate::wiring::{self, Addrs};

/// Creates the named namespace `netns` and wires it to `node_netns` through a veth whose node
/// side is `host_ifname`; returns that interface's ifindex in the node namespace. The
/// addresses must be lab pod addresses (`10.0.0.0/8`, `fc00::/7`), so a created endpoint can
/// never claim an address outside the lab. On failure nothing is left behind.
///
/// # Errors
///
/// [`LabError::AddressNotAllowed`]; command and I/O errors while creating or wiring.
pub fn create_endpoint(
    node_netns: &str,
    netns: &str,
    host_ifname: &str,
    v4: Ipv4Addr,
    v6: Option<Ipv6Addr>,
) -> Result<u32, LabError> {
    addr::check(Role::Pod, IpAddr::V4(v4))?;
    if let Some(v6) = v6 {
        addr::check(Role::Pod, IpAddr::V6(v6))?;
    }
    netns::add(netns)?;
    let wired = sysctl::write(netns, sysctl::NO_DAD)
        .and_then(|()| adopt_endpoint(node_netns, netns, host_ifname, v4, v6));
    if wired.is_err() {
        let _ = netns::delete(netns);
    }
    wired
}

/// Wires an existing named namespace `netns` (created by someone else) to `node_netns`;
/// returns the node-side ifindex. Its addresses are not checked: adopting is for real hosts.
///
/// # Errors
///
/// Command and I/O errors while wiring.
pub fn adopt_endpoint(
    node_netns: &str,
    netns: &str,
    host_ifname: &str,
    v4: Ipv4Addr,
    v6: Option<Ipv6Addr>,
) -> Result<u32, LabError> {
    let wired = wiring::wire(node_netns, netns, host_ifname, Addrs { v4, v6 });
    if wired.is_err() {
        let _ = wiring::unwire(node_netns, host_ifname);
    }
    wired
}

/// Removes an endpoint's veth pair (and the node's routes to it); also deletes its namespace
/// when `delete_netns` (endpoints this side created). Both steps are attempted.
///
/// # Errors
///
/// The first failing step.
pub fn remove_endpoint(
    node_netns: &str,
    netns: &str,
    host_ifname: &str,
    delete_netns: bool,
) -> Result<(), LabError> {
    let veth = wiring::unwire(node_netns, host_ifname);
    let ns = if delete_netns {
        netns::delete(netns)
    } else {
        Ok(())
    };
    veth.and(ns)
}

/// The ifindex of `ifname` in `netns`.
///
/// # Errors
///
/// [`LabError::NoSuchInterface`] or namespace errors.
pub fn ifindex(netns: &str, ifname: &str) -> Result<u32, LabError> {
    netns::ifindex(netns, ifname)
}

/// The name under which the calling thread's network namespace is mounted in
/// `/var/run/netns`, if any: how an agent started with `ip netns exec NODE` finds its node.
pub fn current_netns_name() -> Option<String> {
    let me = std::fs::metadata("/proc/thread-self/ns/net").ok()?;
    netns::list().into_iter().find(|name| {
        std::fs::metadata(Path::new(NETNS_DIR).join(name))
            .is_ok_and(|m| m.ino() == me.ino() && m.dev() == me.dev())
    })
}

/// Moves the calling thread into the named network namespace `netns` without changing
/// its mount namespace (unlike `ip netns exec`), so namespaces it creates later are visible
/// to every process. Call it before starting other threads: they inherit it.
///
/// # Errors
///
/// [`LabError::OpenNetns`] or [`LabError::EnterNetns`].
pub fn enter_netns(netns: &str) -> Result<(), LabError> {
    netns::enter_named(netns)
}

/// Whether a named namespace exists.
pub fn netns_exists(name: &str) -> bool {
    netns::list().iter().any(|n| n == name)
}
