//! IP forwarding in a node's namespace. Endpoints reach everything beyond their node through
//! the node's routing, so a node with forwarding off drops every packet they send elsewhere,
//! after the datapath has already reported it `FORWARDED` at `from-endpoint`. Cilium's agent
//! turns forwarding on at start; so does `observerd`, with [`enable`], and [`read`] tells what
//! a namespace does now.

use crate::error::PlumbingError;
use crate::netns;
use crate::sysctl;

/// The IPv4 switch.
pub const IPV4: &str = "net.ipv4.ip_forward";
/// The IPv6 switch (for every interface, present and future).
pub const IPV6: &str = "net.ipv6.conf.all.forwarding";

/// The forwarding switches of one network namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forwarding {
    /// [`IPV4`] is on.
    pub ipv4: bool,
    /// [`IPV6`] is on; `None` when the kernel has no IPv6.
    pub ipv6: Option<bool>,
}

/// The forwarding switches of `netns`.
///
/// # Errors
///
/// Sysctl read errors; namespace errors.
pub fn read(netns: &str) -> Result<Forwarding, PlumbingError> {
    let values = sysctl::read(netns, &[&path(IPV4), &path(IPV6)])?;
    let on = |i: usize| values.get(i).cloned().flatten().map(|v| is_on(&v));
    Ok(Forwarding {
        ipv4: on(0).unwrap_or(false),
        ipv6: on(1),
    })
}

/// Turns forwarding on in `netns` wherever it is off (IPv6 only when the kernel has it);
/// returns the switches it turned on, empty when forwarding was on already.
///
/// # Errors
///
/// Sysctl read or write errors (a read-only `/proc/sys`, say); namespace errors.
pub fn enable(netns: &str) -> Result<Vec<&'static str>, PlumbingError> {
    netns::within(netns, || {
        let mut changed = Vec::new();
        for key in [IPV4, IPV6] {
            let path = path(key);
            if sysctl::read_here(&path)?.is_some_and(|v| !is_on(&v)) {
                sysctl::write_here(&path, "1")?;
                changed.push(key);
            }
        }
        Ok(changed)
    })?
}

/// The `/proc/sys` path of a dotted sysctl name.
fn path(key: &str) -> String {
    key.replace('.', "/")
}

/// A forwarding switch is off at `0` only.
fn is_on(value: &str) -> bool {
    value != "0"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_names_map_to_proc_sys_paths() {
        assert_eq!(path(IPV4), "net/ipv4/ip_forward");
        assert_eq!(path(IPV6), "net/ipv6/conf/all/forwarding");
    }

    #[test]
    fn only_zero_is_off() {
        assert!(!is_on("0"));
        assert!(is_on("1"));
    }
}
