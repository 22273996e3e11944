//! The ipcache as one node sees it: which identity each address has.
//!
//! Pod addresses map to pod identities, node addresses to `host` on the node itself and to
//! the node's remote-node identity elsewhere, the gateway addresses every endpoint link
//! shares to `host`, policy CIDRs to their CIDR identities, addresses learned for `toFQDNs`
//! selectors to their FQDN identities, and everything else to
//! world-ipv4 / world-ipv6.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Engine;
use crate::identity::{HOST, WORLD_IPV4, WORLD_IPV6};
use crate::net::Cidr;

/// The gateway every endpoint's link has on the node side (`169.254.1.1`, `fe80::1`), the
/// counterpart of Cilium's router address: packets from it (the node's MLD reports, its ICMP
/// errors) come from the local node, so they are `host` and pass the local-host exception
/// instead of showing up as world drops.
pub const ENDPOINT_GATEWAYS: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::new(169, 254, 1, 1)),
    IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
];

/// One ipcache entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct IpCacheEntry {
    /// The prefix.
    pub cidr: Cidr,
    /// Its identity.
    pub identity: u32,
}

impl Engine {
    /// Every ipcache entry for node `view`, sorted by prefix.
    pub fn ipcache(&self, view: &str) -> Vec<IpCacheEntry> {
        self.prefixes(view)
            .into_iter()
            .map(|(cidr, identity)| IpCacheEntry { cidr, identity })
            .collect()
    }

    /// The identity of `ip` as node `view` sees it: the longest prefix of
    /// [`Engine::ipcache`] that contains it, as the datapath's lookup finds it.
    pub fn resolve_ip(&self, ip: IpAddr, view: &str) -> u32 {
        self.prefixes(view)
            .into_iter()
            .filter(|(cidr, _)| cidr.contains_addr(ip))
            .max_by_key(|(cidr, _)| cidr.len())
            .map_or(WORLD_IPV4, |(_, identity)| identity)
    }

    /// Prefix → identity. One prefix has one identity, and where several sources name the
    /// same prefix (a policy's `/32` that is also a pod's address) the later source here
    /// wins: world, policy CIDRs, endpoint gateways, nodes, pods. Pods and nodes keep their
    /// own identities, so CIDR rules never match them, as in Cilium.
    fn prefixes(&self, view: &str) -> BTreeMap<Cidr, u32> {
        let mut out = BTreeMap::from([
            (Cidr::all_of_family(false), WORLD_IPV4),
            (Cidr::all_of_family(true), WORLD_IPV6),
        ]);
        out.extend(self.cidrs.iter().map(|(cidr, (id, _))| (*cidr, *id)));
        // Learned addresses: their FQDN identity also carries their /32, so CIDR rules still
        // see them.
        out.extend(
            self.fqdn
                .ids
                .iter()
                .map(|(ip, (id, _))| (Cidr::host(*ip), *id)),
        );
        out.extend(ENDPOINT_GATEWAYS.iter().map(|ip| (Cidr::host(*ip), HOST)));
        for n in self.nodes.values() {
            let identity = self.node_identity(&n.node.name, view);
            out.extend(n.node.ips.iter().map(|ip| (Cidr::host(*ip), identity)));
        }
        for e in self.pods.values() {
            out.extend(e.pod.ips.iter().map(|ip| (Cidr::host(*ip), e.identity)));
        }
        out
    }
}
