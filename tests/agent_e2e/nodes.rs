//! The multi-node test cluster: several lab nodes joined by an underlay (a bridge
//! namespace, one pod CIDR per node, direct routing), a real etcd on an underlay host, and
//! one `observerd` per node with `--kvstore` pointing at it. Pods are created by their
//! node's agent from its pod CIDR; their addresses reach the other nodes through the
//! ipcache in etcd.

use std::time::{Duration, Instant};

use lab::etcd::Etcd;
use lab::{Lab, UnderlayNode};
use observe_proto::control::control_client::ControlClient;
use observe_proto::control::{GetIdentitiesRequest, GetNodesRequest, GetNodesResponse, Identity};

use super::common::AgentProcess;

/// A server on n1, a client on n2, an intruder on n3; no addresses: each node gives its
/// pods addresses from its pod CIDR.
pub const PODS: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {nodeName: n1}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: shop, labels: {app: client}}
spec: {nodeName: n2}
---
apiVersion: v1
kind: Pod
metadata: {name: intruder, namespace: shop, labels: {app: intruder}}
spec: {nodeName: n3}
"#;

/// Only the client reaches the web server, on TCP 8080.
pub const WEB_INGRESS: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web-ingress, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
"#;

/// etcd's client port on its underlay host.
const ETCD_PORT: u16 = 2379;

/// One node: its underlay address and pod CIDR, its agent.
pub struct Member {
    pub underlay: UnderlayNode,
    pub agent: AgentProcess,
}

/// Nodes with agents in one cluster.
pub struct Nodes {
    pub members: Vec<Member>,
    pub etcd: Etcd,
    // Dropped last: takes every namespace of the run down.
    lab: Lab,
}

impl Nodes {
    /// `count` nodes `n1`, `n2`, … with agents started; `None` without root.
    pub fn new(tag: &str, count: usize) -> Option<Self> {
        Self::with_args(tag, count, |_| Vec::new())
    }

    /// Like [`Nodes::new`], each agent also given `extra(underlay)`'s arguments.
    pub fn with_args(
        tag: &str,
        count: usize,
        extra: impl Fn(&UnderlayNode) -> Vec<String>,
    ) -> Option<Self> {
        if !lab::require_root() {
            return None;
        }
        let mut lab = Lab::new(tag).expect("lab");
        let (etcd_netns, etcd_ip) = lab.add_underlay_host("etcd").expect("etcd host");
        let etcd = Etcd::start(&etcd_netns, etcd_ip.into(), ETCD_PORT, "etcd").expect("etcd");
        let url = format!("etcd://{}", etcd.client_addr());
        let mut members = Vec::new();
        for k in 1..=count {
            let node = lab.add_node(&format!("n{k}")).expect("node");
            let cidr = format!("10.61.{k}.0/24");
            let underlay = lab
                .join_underlay(&node, cidr.parse().expect("cidr"))
                .expect("underlay");
            let args = [
                "--node-name",
                &node.name,
                "--trace",
                "off",
                "--pod-cidr",
                &cidr,
                "--kvstore",
                &url,
                "--kvstore-lease-ttl",
                "4s",
                "--node-ip",
                &underlay.addr.to_string(),
            ]
            .map(String::from)
            .into_iter()
            .chain(extra(&underlay))
            .collect();
            let agent = AgentProcess::new(&lab, &node, args);
            members.push(Member { underlay, agent });
        }
        for m in &mut members {
            m.agent.start_agent();
        }
        Some(Nodes { members, etcd, lab })
    }

    /// A host on the underlay (for a relay, say): its namespace and address.
    pub fn add_host(&mut self, name: &str) -> (String, std::net::Ipv4Addr) {
        self.lab.add_underlay_host(name).expect("underlay host")
    }

    /// The lab's per-run name prefix.
    pub fn prefix(&self) -> &str {
        self.lab.prefix()
    }

    /// Node `k` (1-based) 's agent.
    pub fn agent(&self, k: usize) -> &AgentProcess {
        &self.members[k - 1].agent
    }

    /// Node `k` 's agent, to stop or start it.
    pub fn agent_mut(&mut self, k: usize) -> &mut AgentProcess {
        &mut self.members[k - 1].agent
    }

    /// The identities node `k` knows.
    pub fn identities(&self, k: usize) -> Vec<Identity> {
        let a = self.agent(k);
        let mut c = ControlClient::new(a.channel());
        a.rt.block_on(c.get_identities(GetIdentitiesRequest {}))
            .expect("identities")
            .into_inner()
            .identities
    }

    /// Node `k` 's view of the nodes and the store.
    pub fn get_nodes(&self, k: usize) -> GetNodesResponse {
        let a = self.agent(k);
        let mut c = ControlClient::new(a.channel());
        a.rt.block_on(c.get_nodes(GetNodesRequest {}))
            .expect("nodes")
            .into_inner()
    }

    /// The network namespace of pod `ns/name` on node `k`.
    pub fn pod_netns(&self, k: usize, pod: &str) -> String {
        self.agent(k).endpoint(pod).netns
    }

    /// The IPv4 address of pod `name` on node `k`.
    pub fn pod_ip(&self, k: usize, pod: &str) -> std::net::IpAddr {
        let e = self.agent(k).endpoint(pod);
        e.ips
            .iter()
            .filter_map(|ip| ip.parse::<std::net::IpAddr>().ok())
            .find(std::net::IpAddr::is_ipv4)
            .unwrap_or_else(|| panic!("{pod} has no IPv4 address: {:?}", e.ips))
    }
}

/// Waits until `f` holds, up to `timeout`; panics naming `what` otherwise.
pub fn eventually(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("not within {timeout:?}: {what}");
}
