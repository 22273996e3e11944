//! [`Lab`]: the guard that builds nodes, pods and world hosts as network namespaces of one run
//! and deletes all of them when dropped, also while a test panics. The per-endpoint wiring and
//! the node links and the underlay are described in `observe_plumbing::wiring`, `node_link` and
//! `underlay`; this file keeps the bookkeeping.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ipnet::{Ipv4Net, Ipv6Net};
use observe_plumbing::wiring::{self, Addrs};
use observe_plumbing::{command, forwarding, netns, sysctl};

use crate::addr;
use crate::bpffs::BpffsDir;
use crate::endpoint::{NodeRef, PodRef, Role};
use crate::error::LabError;
use crate::name;
use crate::node_link::{NodeLink, RouteOp};
use crate::run_id::RunId;
use crate::underlay::{UNDERLAY_NAME, Underlay, UnderlayNode};

/// A self-contained network lab. Nodes are namespaces with forwarding on and no uplink; pods and
/// world hosts are namespaces attached to a node by a veth pair. Nothing is linked to the host's
/// namespace, so no lab packet can leave the machine.
///
/// Nodes reach each other's endpoints either over point-to-point links ([`Lab::connect_nodes`])
/// or, as in a real cluster, over an underlay: a bridge in namespace `<prefix>-underlay` that
/// nodes join with a pod CIDR each ([`Lab::join_underlay`]) and service hosts attach to
/// ([`Lab::add_underlay_host`]).
///
/// Every namespace is named `<prefix>-<name>`, where the prefix (`obs-` and six base36
/// characters) is unique per lab, so labs in parallel tests never collide. Dropping the lab
/// deletes every namespace carrying its prefix (also those an agent created for endpoints); failures
/// are logged to stderr, never panicked on.
///
/// # Examples
///
/// ```no_run
/// # fn main() -> Result<(), lab::LabError> {
/// let mut lab = lab::Lab::new("doc")?;
/// let node = lab.add_node("node1")?;
/// let client = lab.add_pod(&node, "client", "10.0.1.1".parse().unwrap(), None)?;
/// let world = lab.add_world_host(&node, "world", "203.0.113.10".parse().unwrap(), None)?;
/// assert!(lab::ping(&client.netns, world.v4.into(), 1, std::time::Duration::from_secs(1))?);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Lab {
    run: Arc<RunId>,
    nodes: Vec<Node>,
    pods: Vec<PodRef>,
    links: Vec<NodeLink>,
    /// Node links ever created, so a failed creation never reuses an interface name.
    links_created: usize,
    /// The underlay, once a node joined it or a service host was added.
    underlay: Option<Underlay>,
    /// Every namespace created and not yet deleted, in creation order.
    namespaces: Vec<String>,
    /// Set by [`Lab::persist`]: dropping deletes nothing.
    persisted: bool,
}

/// A node and the number of host-side interfaces it ever had (`lxc<n>` names are not reused).
#[derive(Debug)]
struct Node {
    node: NodeRef,
    lxc_created: u32,
}

impl Lab {
    /// Starts an empty lab with a fresh unique prefix. `tag` (a short word such as `e2e`) is
    /// recorded with the prefix's owner so leftovers can be attributed.
    ///
    /// # Errors
    ///
    /// [`LabError::InvalidName`] for a bad tag; [`LabError::Io`] when the owner marker under
    /// `/run/obs-lab` cannot be written (not root?).
    pub fn new(tag: &str) -> Result<Lab, LabError> {
        Ok(Lab {
            run: RunId::reserve(tag)?,
            nodes: Vec::new(),
            pods: Vec::new(),
            links: Vec::new(),
            links_created: 0,
            underlay: None,
            namespaces: Vec::new(),
            persisted: false,
        })
    }

    /// Keeps the lab after this value is dropped, for a demo that outlives the command that
    /// built it: nothing is deleted, and [`crate::cleanup_stale`] leaves it alone. Returns
    /// the prefix; [`crate::teardown`] removes everything carrying it.
    ///
    /// # Errors
    ///
    /// [`LabError::Io`] when the owner marker cannot be rewritten (the lab is then kept as
    /// an ordinary lab and dropped as usual).
    pub fn persist(mut self) -> Result<String, LabError> {
        self.run.make_persistent()?;
        self.namespaces.clear();
        self.persisted = true;
        Ok(self.prefix().to_owned())
    }

    /// The lab's unique prefix, e.g. `obs-3k9f2a`.
    pub fn prefix(&self) -> &str {
        self.run.prefix()
    }

    /// The namespaces the lab currently owns, in creation order.
    pub fn namespaces(&self) -> &[String] {
        &self.namespaces
    }

    /// The pods and world hosts currently in the lab.
    pub fn pods(&self) -> &[PodRef] {
        &self.pods
    }

    /// Adds a node: namespace `<prefix>-<name>` with `lo` up and IPv4/IPv6 forwarding on (inside
    /// that namespace only).
    ///
    /// # Errors
    ///
    /// [`LabError::InvalidName`] or [`LabError::DuplicateName`] for the name; command and I/O
    /// errors when the namespace cannot be set up (it is then removed again).
    pub fn add_node(&mut self, name: &str) -> Result<NodeRef, LabError> {
        let netns = self.claim_name(name)?;
        self.with_new_netns(&netns, |_| {
            forwarding::enable(&netns)?;
            // DAD off before any veth appears, so host-side interfaces inherit it.
            sysctl::write(&netns, sysctl::NO_DAD)?;
            Ok(command::ip_batch(&netns, "link set lo up\n")?)
        })?;
        let node = NodeRef {
            name: name.to_owned(),
            netns,
        };
        self.nodes.push(Node {
            node: node.clone(),
            lxc_created: 0,
        });
        Ok(node)
    }

    /// Adds a pod on `node`, wired Cilium style (see the crate docs). `v4` must be in
    /// `10.0.0.0/8` (not `10.254.0.0/24` or `10.255.255.0/24`) and `v6` in `fc00::/7`. Nodes
    /// connected to `node` get routes to it; over the underlay, a pod inside its node's pod
    /// CIDR needs no route of its own.
    ///
    /// # Errors
    ///
    /// [`LabError::UnknownNode`], name and address errors ([`LabError::AddressNotAllowed`],
    /// [`LabError::DuplicateAddress`]), and command errors while wiring (the pod is then removed).
    pub fn add_pod(
        &mut self,
        node: &NodeRef,
        name: &str,
        v4: Ipv4Addr,
        v6: Option<Ipv6Addr>,
    ) -> Result<PodRef, LabError> {
        self.add_endpoint(node, name, Addrs { v4, v6 }, Role::Pod)
    }

    /// Adds a simulated host outside the cluster on `node`, wired exactly like a pod. `v4` must
    /// be in a documentation range (`192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`) and
    /// `v6` in `2001:db8::/32`.
    ///
    /// # Errors
    ///
    /// As for [`Lab::add_pod`].
    pub fn add_world_host(
        &mut self,
        node: &NodeRef,
        name: &str,
        v4: Ipv4Addr,
        v6: Option<Ipv6Addr>,
    ) -> Result<PodRef, LabError> {
        self.add_endpoint(node, name, Addrs { v4, v6 }, Role::WorldHost)
    }

    /// Removes a pod or world host: its routes on connected nodes, its veth pair (and with it
    /// the node's routes to it) and its namespace. Every step is attempted even if one fails.
    ///
    /// # Errors
    ///
    /// [`LabError::UnknownPod`] if the pod is not (or no longer) in this lab; otherwise the first
    /// error of the teardown steps.
    pub fn remove_pod(&mut self, pod: &PodRef) -> Result<(), LabError> {
        let index = self
            .pods
            .iter()
            .position(|p| p.netns == pod.netns)
            .ok_or_else(|| LabError::UnknownPod(pod.name.clone()))?;
        let pod = self.pods.remove(index);
        let addrs = [Addrs {
            v4: pod.v4,
            v6: pod.v6,
        }];
        let routes = self.route_via_links(RouteOp::Del, &pod.node_netns, &addrs);
        let veth = wiring::unwire(&pod.node_netns, &pod.host_ifname);
        let namespace = netns::delete(&pod.netns);
        self.namespaces.retain(|ns| *ns != pod.netns);
        routes.and(veth.and(namespace).map_err(LabError::from))
    }

    /// Connects two nodes with a veth (`10.255.255.x/30` addresses) and routes each node's
    /// endpoints, present and future, to the other. Only directly connected nodes reach each
    /// other; there is no transit routing.
    ///
    /// # Errors
    ///
    /// [`LabError::UnknownNode`]; [`LabError::InvalidNodeLink`] for a node connected to itself
    /// or a pair connected twice; [`LabError::NodeLinksExhausted`] after 64 links; command
    /// errors while creating the link or its routes.
    pub fn connect_nodes(&mut self, a: &NodeRef, b: &NodeRef) -> Result<(), LabError> {
        self.node_index(a)?;
        self.node_index(b)?;
        let invalid = |reason| LabError::InvalidNodeLink {
            a: a.name.clone(),
            b: b.name.clone(),
            reason,
        };
        if a.netns == b.netns {
            return Err(invalid("a node cannot be connected to itself"));
        }
        if self.links.iter().any(|l| l.joins(&a.netns, &b.netns)) {
            return Err(invalid("they are already connected"));
        }
        let index = self.links_created;
        self.links_created += 1;
        let link = NodeLink::create(index, &a.netns, &b.netns)?;
        for node in [a, b] {
            link.route(RouteOp::Add, &node.netns, &self.addrs_on(&node.netns))?;
        }
        self.links.push(link);
        Ok(())
    }

    /// Joins `node` to the underlay (created on first use) with the IPv4 pod CIDR `pod_cidr`:
    /// the node gets a veth [`crate::UNDERLAY_IFNAME`] to the underlay bridge with the next node
    /// address (`10.254.0.1`, `.2`, … in joining order), routes to every other joined node's pod
    /// CIDRs via their underlay addresses, and every other node and service host gets a route
    /// to `pod_cidr` via this node. The node's endpoints inside `pod_cidr` (lab pods or an
    /// agent's) are then reachable from every member; routes never touch the host namespace.
    ///
    /// # Errors
    ///
    /// [`LabError::UnknownNode`]; [`LabError::AlreadyOnUnderlay`]; [`LabError::InvalidPodCidr`]
    /// for a CIDR with host bits or outside the pod ranges; [`LabError::OverlappingPodCidr`];
    /// [`LabError::UnderlayExhausted`] after 254 nodes and hosts; [`LabError::DuplicateName`]
    /// when a node or pod took the name `underlay`; command errors while wiring (what the join
    /// created is removed again).
    pub fn join_underlay(
        &mut self,
        node: &NodeRef,
        pod_cidr: Ipv4Net,
    ) -> Result<UnderlayNode, LabError> {
        self.join(node, pod_cidr, None)
    }

    /// As [`Lab::join_underlay`], with an IPv6 pod CIDR (in `fc00::/7`) too, routed via the
    /// node's link-local underlay address.
    ///
    /// # Errors
    ///
    /// As for [`Lab::join_underlay`].
    pub fn join_underlay_dual_stack(
        &mut self,
        node: &NodeRef,
        pod_cidr: Ipv4Net,
        pod_cidr_v6: Ipv6Net,
    ) -> Result<UnderlayNode, LabError> {
        self.join(node, pod_cidr, Some(pod_cidr_v6))
    }

    /// Adds a service host (etcd, a relay) on the underlay: namespace `<prefix>-<name>` with
    /// `lo` up and a veth [`crate::UNDERLAY_IFNAME`] to the bridge, with the next host address
    /// (`10.254.0.254`, `.253`, …), and routes to every joined node's pod CIDRs, present and
    /// future. Returns the namespace and the address.
    ///
    /// # Errors
    ///
    /// Name errors as for [`Lab::add_node`]; [`LabError::UnderlayExhausted`]; command errors
    /// while wiring (the namespace is then removed).
    pub fn add_underlay_host(&mut self, name: &str) -> Result<(String, Ipv4Addr), LabError> {
        self.underlay_or_create()?;
        let netns = self.claim_name(name)?;
        let addr = self.with_new_netns(&netns, |lab| {
            sysctl::write(&netns, sysctl::NO_DAD)?;
            command::ip_batch(&netns, "link set lo up\n")?;
            lab.underlay_or_create()?.add_host(name, &netns)
        })?;
        Ok((netns, addr))
    }

    /// The underlay addresses and pod CIDRs of `node`, if it joined the underlay.
    pub fn underlay_node(&self, node: &NodeRef) -> Option<&UnderlayNode> {
        self.underlay.as_ref()?.node(&node.netns)
    }

    /// The namespace holding the underlay bridge, once there is an underlay.
    pub fn underlay_netns(&self) -> Option<&str> {
        self.underlay.as_ref().map(Underlay::netns)
    }

    /// Creates a bpffs directory `/sys/fs/bpf/<prefix>/<name>` for pinning, removed (with
    /// everything pinned in it) when the returned guard drops. It may outlive the lab.
    ///
    /// # Errors
    ///
    /// As for [`BpffsDir::new`].
    pub fn bpffs_dir(&self, name: &str) -> Result<BpffsDir, LabError> {
        BpffsDir::create(Arc::clone(&self.run), name)
    }

    /// Joins `node` with the pod CIDRs `v4` and `v6`.
    fn join(
        &mut self,
        node: &NodeRef,
        v4: Ipv4Net,
        v6: Option<Ipv6Net>,
    ) -> Result<UnderlayNode, LabError> {
        self.node_index(node)?;
        self.underlay_or_create()?.join(node, v4, v6)
    }

    /// The underlay, created (namespace `<prefix>-underlay` with its bridge) on first use.
    fn underlay_or_create(&mut self) -> Result<&mut Underlay, LabError> {
        let underlay = match self.underlay.take() {
            Some(underlay) => underlay,
            None => {
                let netns = self.claim_name(UNDERLAY_NAME)?;
                self.with_new_netns(&netns, |_| Underlay::create(&netns))?
            }
        };
        Ok(self.underlay.insert(underlay))
    }

    /// Validates and wires one pod or world host.
    fn add_endpoint(
        &mut self,
        node: &NodeRef,
        name: &str,
        addrs: Addrs,
        role: Role,
    ) -> Result<PodRef, LabError> {
        let node_index = self.node_index(node)?;
        let netns = self.claim_name(name)?;
        self.check_addrs(role, addrs)?;
        let host_ifname = format!("lxc{}", self.nodes[node_index].lxc_created);
        self.nodes[node_index].lxc_created += 1;
        let host_ifindex = self.with_new_netns(&netns, |lab| {
            // Before the veth exists, so `eth0` inherits it.
            sysctl::write(&netns, sysctl::NO_DAD)?;
            let wired = wiring::wire(&node.netns, &netns, &host_ifname, addrs)
                .map_err(LabError::from)
                .and_then(|index| {
                    lab.route_via_links(RouteOp::Add, &node.netns, &[addrs])?;
                    Ok(index)
                });
            if wired.is_err() {
                // Best effort: the veth may not exist; deleting the namespace removes it anyway,
                // but only asynchronously.
                let _ = wiring::unwire(&node.netns, &host_ifname);
            }
            wired
        })?;
        let pod = PodRef {
            name: name.to_owned(),
            role,
            netns,
            node_netns: node.netns.clone(),
            host_ifname,
            host_ifindex,
            v4: addrs.v4,
            v6: addrs.v6,
        };
        self.pods.push(pod.clone());
        Ok(pod)
    }

    /// Creates namespace `netns`, then runs `setup`; if that fails, deletes the namespace again.
    fn with_new_netns<T>(
        &mut self,
        netns: &str,
        setup: impl FnOnce(&mut Lab) -> Result<T, LabError>,
    ) -> Result<T, LabError> {
        netns::add(netns)?;
        self.namespaces.push(netns.to_owned());
        let result = setup(self);
        if result.is_err() {
            self.delete_logged(netns);
            self.namespaces.retain(|ns| ns != netns);
        }
        result
    }

    /// Deletes namespace `netns` where no caller can take an error: failures go to stderr.
    fn delete_logged(&self, netns: &str) {
        if let Err(e) = netns::delete(netns) {
            eprintln!(
                "lab {}: failed to delete namespace {netns}: {e}",
                self.prefix()
            );
        }
    }

    /// Validates `name` and returns its namespace name, unless a node or pod already has it.
    fn claim_name(&self, name: &str) -> Result<String, LabError> {
        name::validate(name)?;
        let taken = self.nodes.iter().any(|n| n.node.name == name)
            || self.pods.iter().any(|p| p.name == name)
            || self.underlay.as_ref().is_some_and(|u| u.has_name(name));
        if taken {
            return Err(LabError::DuplicateName {
                name: name.to_owned(),
                prefix: self.prefix().to_owned(),
            });
        }
        Ok(format!("{}-{name}", self.prefix()))
    }

    /// Fails unless each address suits `role` and no endpoint of the lab owns it yet.
    fn check_addrs(&self, role: Role, addrs: Addrs) -> Result<(), LabError> {
        let wanted = std::iter::once(IpAddr::V4(addrs.v4)).chain(addrs.v6.map(IpAddr::V6));
        for addr in wanted {
            addr::check(role, addr)?;
            if let Some(owner) = self.pods.iter().find(|p| p.ips().any(|ip| ip == addr)) {
                return Err(LabError::DuplicateAddress {
                    addr,
                    owner: owner.name.clone(),
                });
            }
        }
        Ok(())
    }

    /// The position of `node` in the lab, if the lab created it.
    fn node_index(&self, node: &NodeRef) -> Result<usize, LabError> {
        self.nodes
            .iter()
            .position(|n| n.node.netns == node.netns)
            .ok_or_else(|| LabError::UnknownNode(node.name.clone()))
    }

    /// The addresses of the endpoints attached to the node `node_netns`.
    fn addrs_on(&self, node_netns: &str) -> Vec<Addrs> {
        self.pods
            .iter()
            .filter(|p| p.node_netns == node_netns)
            .map(|p| Addrs { v4: p.v4, v6: p.v6 })
            .collect()
    }

    /// Adds or removes routes to `endpoints` of node `node_netns` on every node linked to it.
    fn route_via_links(
        &self,
        op: RouteOp,
        node_netns: &str,
        endpoints: &[Addrs],
    ) -> Result<(), LabError> {
        self.links
            .iter()
            .try_for_each(|link| link.route(op, node_netns, endpoints))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Newest first: pods go before the nodes they hang off.
        for netns in self.namespaces.iter().rev() {
            self.delete_logged(netns);
        }
        // Namespaces others created under this run's prefix (an agent's endpoints, wired
        // with the lab's plumbing) belong to the run too. A persisted lab has handed its
        // namespaces over and takes nothing down.
        if !self.persisted {
            let prefix = format!("{}-", self.prefix());
            for netns in netns::list().into_iter().filter(|n| n.starts_with(&prefix)) {
                self.delete_logged(&netns);
            }
        }
    }
}
