//! [`Lab`]: the guard that builds nodes, pods and world hosts as network namespaces of one run
//! and deletes all of them when dropped, also while a test panics. The per-endpoint wiring and
//! the node links are described in `observe_plumbing::wiring` and `node_link`; this file keeps
//! the bookkeeping.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use observe_plumbing::wiring::{self, Addrs};
use observe_plumbing::{command, forwarding, netns, sysctl};

use crate::addr;
use crate::bpffs::BpffsDir;
use crate::endpoint::{NodeRef, PodRef, Role};
use crate::error::LabError;
use crate::name;
use crate::node_link::{NodeLink, RouteOp};
use crate::run_id::RunId;

/// A self-contained network lab. Nodes are namespaces with forwarding on and no uplink; pods and
/// world hosts are namespaces attached to a node by a veth pair. Nothing is linked to the host's
/// namespace, so no lab packet can leave the machine.
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
    /// `10.0.0.0/8` (not `10.255.255.0/24`) and `v6` in `fc00::/7`. Nodes connected to `node`
    /// get routes to it.
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

    /// Creates a bpffs directory `/sys/fs/bpf/<prefix>/<name>` for pinning, removed (with
    /// everything pinned in it) when the returned guard drops. It may outlive the lab.
    ///
    /// # Errors
    ///
    /// As for [`BpffsDir::new`].
    pub fn bpffs_dir(&self, name: &str) -> Result<BpffsDir, LabError> {
        BpffsDir::create(Arc::clone(&self.run), name)
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
            || self.pods.iter().any(|p| p.name == name);
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
