//! The ipcache as one node sees it: which identity each address has.
//!
//! Pod addresses map to pod identities, node addresses to `host` on the node itself and to
//! the node's remote-node identity elsewhere, the gateway addresses every endpoint link
//! shares to `host`, policy CIDRs to their CIDR identities, and everything else to
//! world-ipv4 / world-ipv6.

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
    /// Whether it is an endpoint's own address (for the datapath's endpoint id).
    pub endpoint: bool,
}

impl Engine {
    /// Every ipcache entry for node `view`, sorted by prefix.
    pub fn ipcache(&self, view: &str) -> Vec<IpCacheEntry> {
        let mut out = vec![
            IpCacheEntry {
                cidr: Cidr::all_of_family(false),
                identity: WORLD_IPV4,
                endpoint: false,
            },
            IpCacheEntry {
                cidr: Cidr::all_of_family(true),
                identity: WORLD_IPV6,
                endpoint: false,
            },
        ];
        out.extend(self.cidrs.iter().map(|(cidr, (id, _))| IpCacheEntry {
            cidr: *cidr,
            identity: *id,
            endpoint: false,
        }));
        out.extend(ENDPOINT_GATEWAYS.iter().map(|ip| IpCacheEntry {
            cidr: Cidr::host(*ip),
            identity: HOST,
            endpoint: false,
        }));
        for n in self.nodes.values() {
            let identity = self.node_identity(&n.node.name, view);
            out.extend(n.node.ips.iter().map(|ip| IpCacheEntry {
                cidr: Cidr::host(*ip),
                identity,
                endpoint: false,
            }));
        }
        for e in self.pods.values() {
            out.extend(e.pod.ips.iter().map(|ip| IpCacheEntry {
                cidr: Cidr::host(*ip),
                identity: e.identity,
                endpoint: true,
            }));
        }
        out.sort();
        out
    }

    /// The identity of `ip` as node `view` sees it (longest prefix match).
    pub fn resolve_ip(&self, ip: IpAddr, view: &str) -> u32 {
        if let Some(e) = self.pods.values().find(|e| e.pod.ips.contains(&ip)) {
            return e.identity;
        }
        if let Some(n) = self.nodes.values().find(|n| n.node.ips.contains(&ip)) {
            return self.node_identity(&n.node.name, view);
        }
        if ENDPOINT_GATEWAYS.contains(&ip) {
            return HOST;
        }
        let best = self
            .cidrs
            .iter()
            .filter(|(c, _)| c.contains_addr(ip))
            .max_by_key(|(c, _)| c.len());
        match best {
            Some((_, (id, _))) => *id,
            None if ip.is_ipv6() => WORLD_IPV6,
            None => WORLD_IPV4,
        }
    }
}
