//! An agent's endpoints: create an endpoint's network namespace and wire it to the node, adopt
//! an existing namespace instead, and undo either. `observerd` calls these when a Pod is
//! applied to it; the lab wires its own pods with the same [`wiring`](crate::wiring).
//!
//! `node_netns` names the node's network namespace; the empty string means the calling
//! thread's own namespace: the host's, for an agent on a real host (never in the lab, whose
//! nodes always have names).

use std::net::IpAddr;

use crate::addr;
use crate::error::PlumbingError;
use crate::netns;
use crate::sysctl;
use crate::wiring::{self, Addrs};

/// Creates the named namespace `netns` and wires it to `node_netns` through a veth whose node
/// side is `host_ifname`; returns that interface's ifindex in the node namespace. The
/// addresses must be pod addresses (`10.0.0.0/8`, `fc00::/7`; see [`addr`]), so a created
/// endpoint can never claim a real destination. On failure nothing is left behind.
///
/// # Errors
///
/// [`PlumbingError::AddressNotAllowed`]; command and I/O errors while creating or wiring.
pub fn create_endpoint(
    node_netns: &str,
    netns: &str,
    host_ifname: &str,
    addrs: Addrs,
) -> Result<u32, PlumbingError> {
    addr::check_pod(IpAddr::V4(addrs.v4))?;
    if let Some(v6) = addrs.v6 {
        addr::check_pod(IpAddr::V6(v6))?;
    }
    netns::add(netns)?;
    let wired = sysctl::write(netns, sysctl::NO_DAD)
        .and_then(|()| adopt_endpoint(node_netns, netns, host_ifname, addrs));
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
    addrs: Addrs,
) -> Result<u32, PlumbingError> {
    let wired = wiring::wire(node_netns, netns, host_ifname, addrs);
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
) -> Result<(), PlumbingError> {
    let veth = wiring::unwire(node_netns, host_ifname);
    let ns = if delete_netns {
        netns::delete(netns)
    } else {
        Ok(())
    };
    veth.and(ns)
}
