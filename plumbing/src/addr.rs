//! The endpoint address plan: the gateway addresses every endpoint routes through, and which
//! addresses an endpoint the agent creates may own (`10.0.0.0/8` minus the node-link and
//! underlay ranges, and IPv6 unique-local addresses), so a created endpoint can never claim a
//! real destination.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::PlumbingError;

/// The gateway address every endpoint routes through: on every host-side veth of a node.
pub const GATEWAY_V4: Ipv4Addr = Ipv4Addr::new(169, 254, 1, 1);
/// The IPv6 gateway every endpoint routes through: link-local, on every host-side veth.
pub const GATEWAY_V6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
/// Links between nodes take /30s from `10.255.255.0/24`; pods may not use it.
pub const NODE_LINK_NET: Ipv4Addr = Ipv4Addr::new(10, 255, 255, 0);
/// The lab underlay (one bridge joining node namespaces and service hosts) takes
/// `10.254.0.0/24`: nodes from `.1` up, service hosts from `.254` down; pods may not use it.
pub const UNDERLAY_NET: Ipv4Addr = Ipv4Addr::new(10, 254, 0, 0);

/// The pod ranges, as error messages name them.
pub const POD_RANGES: &str = "10.0.0.0/8 except 10.254.0.0/24 and 10.255.255.0/24, and fc00::/7";

/// Fails unless `addr` may belong to a pod.
///
/// # Errors
///
/// [`PlumbingError::AddressNotAllowed`] naming [`POD_RANGES`].
pub fn check_pod(addr: IpAddr) -> Result<(), PlumbingError> {
    if is_pod_addr(addr) {
        return Ok(());
    }
    Err(PlumbingError::AddressNotAllowed {
        addr,
        allowed: POD_RANGES,
    })
}

/// `10.0.0.0/8` minus the node-link and underlay ranges, or `fc00::/7`.
pub fn is_pod_addr(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            let in_24 = |net: Ipv4Addr| net.octets()[..3] == [a, b, c];
            a == 10 && !in_24(NODE_LINK_NET) && !in_24(UNDERLAY_NET)
        }
        IpAddr::V6(v6) => v6.segments()[0] & 0xfe00 == 0xfc00,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(addr: &str) -> bool {
        check_pod(addr.parse().unwrap()).is_ok()
    }

    #[test]
    fn pods_use_ten_slash_eight_and_unique_local_v6() {
        assert!(ok("10.0.0.1"));
        assert!(ok("10.255.254.9"));
        assert!(ok("fd00::10"));
        assert!(ok("fc00::1"));
        assert!(!ok("10.255.255.1"), "node-link range");
        assert!(!ok("10.254.0.7"), "underlay range");
        assert!(ok("10.254.1.7"));
        assert!(!ok("192.168.1.1"));
        assert!(!ok("8.8.8.8"));
        assert!(!ok("203.0.113.10"));
        assert!(!ok("2001:db8::1"));
        assert!(!ok("fe80::5"));
    }
}
