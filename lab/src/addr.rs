//! The address plan and its safety check: which addresses a lab endpoint may own. Pods use
//! `10.0.0.0/8` (minus the node-link range) and IPv6 unique-local addresses; world hosts use the
//! documentation ranges. Nothing a lab owns can then be confused with a real destination.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::endpoint::Role;
use crate::error::LabError;

/// The gateway address every pod routes through: on every host-side veth of a node.
pub(crate) const GATEWAY_V4: Ipv4Addr = Ipv4Addr::new(169, 254, 1, 1);
/// The IPv6 gateway every pod routes through: link-local, on every host-side veth of a node.
pub(crate) const GATEWAY_V6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
/// Node links take /30s from `10.255.255.0/24`; pods may not use it.
pub(crate) const NODE_LINK_NET: Ipv4Addr = Ipv4Addr::new(10, 255, 255, 0);

/// What the error message suggests for pods.
const POD_RANGES: &str = "10.0.0.0/8 except 10.255.255.0/24, and fc00::/7";
/// What the error message suggests for world hosts.
const WORLD_RANGES: &str = "192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32";

/// Fails unless `addr` lies in the ranges allowed for `role`.
pub(crate) fn check(role: Role, addr: IpAddr) -> Result<(), LabError> {
    let (ok, allowed) = match role {
        Role::Pod => (is_pod_addr(addr), POD_RANGES),
        Role::WorldHost => (is_world_addr(addr), WORLD_RANGES),
    };
    if ok {
        return Ok(());
    }
    Err(LabError::AddressNotAllowed {
        addr,
        role,
        allowed,
    })
}

/// `10.0.0.0/8` minus the node-link range, or `fc00::/7`.
fn is_pod_addr(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            let [_, nb, nc, _] = NODE_LINK_NET.octets();
            a == 10 && (b, c) != (nb, nc)
        }
        IpAddr::V6(v6) => v6.segments()[0] & 0xfe00 == 0xfc00,
    }
}

/// TEST-NET-1/2/3 (RFC 5737) or `2001:db8::/32` (RFC 3849).
fn is_world_addr(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => matches!(
            v4.octets(),
            [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _]
        ),
        IpAddr::V6(v6) => v6.segments()[..2] == [0x2001, 0x0db8],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(role: Role, addr: &str) -> bool {
        check(role, addr.parse().unwrap()).is_ok()
    }

    #[test]
    fn pods_use_ten_slash_eight_and_unique_local_v6() {
        assert!(ok(Role::Pod, "10.0.0.1"));
        assert!(ok(Role::Pod, "10.255.254.9"));
        assert!(ok(Role::Pod, "fd00::10"));
        assert!(ok(Role::Pod, "fc00::1"));
        assert!(!ok(Role::Pod, "10.255.255.1"), "node-link range");
        assert!(!ok(Role::Pod, "192.168.1.1"));
        assert!(!ok(Role::Pod, "8.8.8.8"));
        assert!(!ok(Role::Pod, "203.0.113.10"));
        assert!(!ok(Role::Pod, "2001:db8::1"));
        assert!(!ok(Role::Pod, "fe80::5"));
    }

    #[test]
    fn world_hosts_use_documentation_ranges() {
        assert!(ok(Role::WorldHost, "192.0.2.1"));
        assert!(ok(Role::WorldHost, "198.51.100.7"));
        assert!(ok(Role::WorldHost, "203.0.113.10"));
        assert!(ok(Role::WorldHost, "2001:db8::10"));
        assert!(!ok(Role::WorldHost, "1.1.1.1"));
        assert!(!ok(Role::WorldHost, "10.0.0.1"));
        assert!(!ok(Role::WorldHost, "2001:4860::8888"));
    }
}
