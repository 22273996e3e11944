//! Per-namespace sysctls. `/proc/sys/net` shows the network namespace of the thread that opens
//! it, so writing from a thread inside a lab namespace changes that namespace only, never the
//! host's.

use std::fs;
use std::path::Path;

use crate::error::LabError;
use crate::netns;

/// Forwarding on, as for a router: nodes forward between their pods.
pub(crate) const FORWARDING: &[(&str, &str)] = &[
    ("net/ipv4/ip_forward", "1"),
    ("net/ipv6/conf/all/forwarding", "1"),
];

/// Duplicate address detection off, for interfaces created later (`default`) and for the
/// namespace as a whole (`all`): lab addresses are unique by construction, and without this an
/// IPv6 address (the automatic link-local one included) stays "tentative" for about a second.
pub(crate) const NO_DAD: &[(&str, &str)] = &[
    ("net/ipv6/conf/all/accept_dad", "0"),
    ("net/ipv6/conf/default/accept_dad", "0"),
];

/// Writes each `(key, value)` (a path under `/proc/sys`) inside `netns`.
pub(crate) fn write(netns: &str, settings: &[(&str, &str)]) -> Result<(), LabError> {
    netns::in_netns(netns, || {
        settings.iter().try_for_each(|(key, value)| {
            let path = Path::new("/proc/sys").join(key);
            fs::write(&path, value).map_err(|e| LabError::io(path, e))
        })
    })?
}
