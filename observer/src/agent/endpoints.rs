//! Local endpoints: a pod scheduled on this node becomes a network namespace wired to the
//! node by a veth pair. The namespace is created here, or adopted: after a restart (it
//! already exists), or when the pod names one with the `observe.io/netns` annotation (a
//! workload on a real host). Naming, id and address allocation live here; the plumbing
//! itself is `observe_plumbing`'s.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use anyhow::{Context, Result, bail};
use enforcer::cluster::{Pod, PodKey};
use enforcer::net::Cidr;
use observe_plumbing::wiring::Addrs;

use super::store::EndpointRecord;

/// A local endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalEndpoint {
    /// What is persisted about it.
    pub record: EndpointRecord,
    /// Current ifindex of the host-side interface.
    pub ifindex: u32,
}

/// Creates and removes endpoint namespaces inside the node namespace.
pub struct Plumber {
    /// The node's named network namespace.
    pub node_netns: String,
    /// Prefix of endpoint namespace names.
    pub netns_prefix: String,
}

impl Plumber {
    /// The namespace name of a pod's endpoint.
    pub fn netns_name(&self, pod: &PodKey) -> String {
        format!("{}-{}-{}", self.netns_prefix, pod.namespace, pod.name)
    }

    /// The host-side interface name: `lxc` and 8 hex digits of a hash of the pod (names are
    /// limited to 15 characters and must be unique in the node namespace).
    pub fn host_ifname(pod: &PodKey) -> String {
        let h = pod.to_string().bytes().fold(0x811c_9dc5u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
        format!("lxc{h:08x}")
    }

    /// Creates (or adopts, when its namespace and interface survive from before a restart)
    /// the endpoint of `pod` with id `id`.
    pub fn ensure(
        &self,
        pod: &Pod,
        id: u16,
        previous: Option<&EndpointRecord>,
    ) -> Result<LocalEndpoint> {
        let addrs = addresses(pod)?;
        if let Some(rec) = previous {
            let same = rec.id == id && rec.ips == pod.ips;
            if let (true, Ok(ifindex)) = (
                same,
                observe_plumbing::ifindex(&self.node_netns, &rec.host_ifname),
            ) {
                return Ok(LocalEndpoint {
                    record: rec.clone(),
                    ifindex,
                });
            }
            // What is left of an endpoint that no longer fits its pod goes first.
            let _ = observe_plumbing::remove_endpoint(
                &self.node_netns,
                &rec.netns,
                &rec.host_ifname,
                rec.created,
            );
        }
        let host_ifname = Self::host_ifname(&pod.key);
        let (netns, created) = match &pod.netns {
            Some(existing) => (existing.clone(), false),
            None => (self.netns_name(&pod.key), true),
        };
        let wired = if created {
            observe_plumbing::create_endpoint(&self.node_netns, &netns, &host_ifname, addrs)
        } else {
            observe_plumbing::adopt_endpoint(&self.node_netns, &netns, &host_ifname, addrs)
        };
        let ifindex = wired.with_context(|| {
            format!(
                "cannot wire the endpoint of pod {} (netns {netns})",
                pod.key
            )
        })?;
        let record = EndpointRecord {
            pod: pod.key.clone(),
            id,
            netns,
            host_ifname,
            created,
            ips: pod.ips.clone(),
        };
        Ok(LocalEndpoint { record, ifindex })
    }

    /// Removes an endpoint's veth pair and, when the agent created it, its namespace.
    pub fn remove(&self, ep: &LocalEndpoint) -> Result<()> {
        let r = &ep.record;
        observe_plumbing::remove_endpoint(&self.node_netns, &r.netns, &r.host_ifname, r.created)
            .with_context(|| format!("cannot remove the endpoint of pod {}", r.pod))
    }
}

/// The pod's IPv4 address and optional IPv6 address.
fn addresses(pod: &Pod) -> Result<Addrs> {
    let v4 = pod.ips.iter().find_map(|ip| match ip {
        IpAddr::V4(a) => Some(*a),
        IpAddr::V6(_) => None,
    });
    let v6 = pod.ips.iter().find_map(|ip| match ip {
        IpAddr::V6(a) => Some(*a),
        IpAddr::V4(_) => None,
    });
    match v4 {
        Some(v4) => Ok(Addrs { v4, v6 }),
        None => bail!("pod {} has no IPv4 address", pod.key),
    }
}

/// The smallest endpoint id not in `used` (ids start at 1: 0 means "no endpoint").
pub fn free_id(used: &BTreeSet<u16>) -> Option<u16> {
    // The last id is the host endpoint's (host firewall).
    (1..super::host_firewall::HOST_ENDPOINT_ID).find(|id| !used.contains(id))
}

/// Gives an address from `cidr` to every local pod without one, avoiding `taken`.
pub fn assign_addresses(
    pods: &mut [&mut Pod],
    cidr: &Cidr,
    taken: &BTreeSet<IpAddr>,
) -> Result<()> {
    let IpAddr::V4(base) = cidr.addr() else {
        bail!("--pod-cidr must be an IPv4 prefix")
    };
    let size = 1u64 << (32 - u32::from(cidr.len()));
    let mut next = 1u64; // skip the network address
    let mut used: BTreeSet<IpAddr> = taken.clone();
    for pod in pods.iter_mut().filter(|p| p.ips.is_empty()) {
        let ip = loop {
            if next + 1 >= size {
                bail!("no free address left in {cidr} for pod {}", pod.key);
            }
            let ip = IpAddr::V4(Ipv4Addr::from(
                u32::from(base) + u32::try_from(next).unwrap_or(0),
            ));
            next += 1;
            if !used.contains(&ip) {
                break ip;
            }
        };
        used.insert(ip);
        pod.ips.push(ip);
    }
    Ok(())
}

/// Endpoint records by pod.
pub type Records = BTreeMap<PodKey, EndpointRecord>;

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, ips: &[&str]) -> Pod {
        Pod {
            key: PodKey::new("ns", name),
            labels: Default::default(),
            node: None,
            service_account: "default".into(),
            ports: vec![],
            ips: ips.iter().map(|s| s.parse().unwrap()).collect(),
            netns: None,
            owner: None,
        }
    }

    #[test]
    fn interface_names_fit_the_kernel_limit_and_differ() {
        let a = Plumber::host_ifname(&PodKey::new("shop", "frontend"));
        let b = Plumber::host_ifname(&PodKey::new("shop", "backend"));
        assert!(a.len() <= 15 && a.starts_with("lxc"));
        assert_ne!(a, b);
    }

    #[test]
    fn addresses_are_assigned_from_the_pod_cidr_skipping_taken_ones() {
        let (mut a, mut b, mut c) = (pod("a", &[]), pod("b", &["10.0.9.7"]), pod("c", &[]));
        let taken: BTreeSet<IpAddr> = ["10.0.9.1".parse().unwrap()].into();
        assign_addresses(
            &mut [&mut a, &mut b, &mut c],
            &"10.0.9.0/24".parse().unwrap(),
            &taken,
        )
        .unwrap();
        assert_eq!(a.ips, vec!["10.0.9.2".parse::<IpAddr>().unwrap()]);
        assert_eq!(b.ips, vec!["10.0.9.7".parse::<IpAddr>().unwrap()]);
        assert_eq!(c.ips, vec!["10.0.9.3".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn a_full_pod_cidr_is_an_error() {
        let mut a = pod("a", &[]);
        let err = assign_addresses(
            &mut [&mut a],
            &"10.0.9.0/31".parse().unwrap(),
            &BTreeSet::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("no free address"));
    }

    #[test]
    fn ids_start_at_one_and_fill_gaps() {
        assert_eq!(free_id(&BTreeSet::new()), Some(1));
        assert_eq!(free_id(&[1, 2, 4].into()), Some(3));
    }
}
