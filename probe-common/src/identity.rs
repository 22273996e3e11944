//! Reserved security identities: Cilium's fixed numbers 1-10 and their names. The datapath
//! stores these numbers in the ipcache and events; the engine derives their `reserved:`
//! labels, the observer and the CLI print the names (`(world)`), the filter flags parse them.

/// `(number, name)` of every reserved identity; the name is the `reserved:` label key and
/// what Hubble prints in parentheses.
pub const RESERVED: &[(u32, &str)] = &[
    (HOST, "host"),
    (WORLD, "world"),
    (3, "unmanaged"),
    (4, "health"),
    (5, "init"),
    (REMOTE_NODE, "remote-node"),
    (7, "kube-apiserver"),
    (8, "ingress"),
    (WORLD_IPV4, "world-ipv4"),
    (WORLD_IPV6, "world-ipv6"),
];

/// The local host.
pub const HOST: u32 = 1;
/// `reserved:world`: outside the cluster, either family.
pub const WORLD: u32 = 2;
/// Other nodes (without labels of their own).
pub const REMOTE_NODE: u32 = 6;
/// IPv4 addresses outside the cluster.
pub const WORLD_IPV4: u32 = 9;
/// IPv6 addresses outside the cluster.
pub const WORLD_IPV6: u32 = 10;

/// The name of reserved identity `id` (2 → `world`).
pub fn name(id: u32) -> Option<&'static str> {
    RESERVED
        .iter()
        .find(|(n, _)| *n == id)
        .map(|(_, name)| *name)
}

/// The number of a reserved identity name (`world` → 2), in any ASCII case.
pub fn by_name(name: &str) -> Option<u32> {
    RESERVED
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(name))
        .map(|(id, _)| *id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_round_trip() {
        for (id, n) in RESERVED {
            assert_eq!(name(*id), Some(*n));
            assert_eq!(by_name(n), Some(*id));
        }
        assert_eq!(by_name("World-IPv4"), Some(WORLD_IPV4));
        assert_eq!(name(REMOTE_NODE), Some("remote-node"));
        assert_eq!(name(11), None);
    }
}
