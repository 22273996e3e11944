//! The lab's address safety check: which addresses a lab endpoint may own. Pods follow the
//! agent's pod plan (`observe_plumbing::addr`: `10.0.0.0/8` minus the node-link range, and IPv6
//! unique-local addresses); world hosts use the documentation ranges. Nothing a lab owns can
//! then be confused with a real destination.

use std::net::IpAddr;

use observe_plumbing::addr::{POD_RANGES, is_pod_addr};

use crate::endpoint::Role;
use crate::error::LabError;

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
    fn pods_follow_the_agents_pod_plan() {
        assert!(ok(Role::Pod, "10.0.0.1"));
        assert!(!ok(Role::Pod, "10.255.255.1"), "node-link range");
        assert!(!ok(Role::Pod, "203.0.113.10"));
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
