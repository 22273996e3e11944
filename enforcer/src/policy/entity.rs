//! Entities (`fromEntities`/`toEntities`) and the identity labels each one selects.

use std::fmt;

use crate::labels::{Operator, Requirement, SelKey, Selector, keys};

/// A Cilium entity.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Entity {
    /// Everything, world included.
    All,
    /// Everything outside the cluster (world, world-ipv4, world-ipv6 and CIDR identities).
    World,
    /// IPv4 world.
    WorldIpv4,
    /// IPv6 world.
    WorldIpv6,
    /// Everything inside the cluster: local pods and the infrastructure identities.
    Cluster,
    /// The local node.
    Host,
    /// Other nodes of the cluster.
    RemoteNode,
    /// The API server.
    KubeApiserver,
    /// Cilium health endpoints.
    Health,
    /// Endpoints whose identity is not resolved yet.
    Init,
    /// Pods not managed by Cilium.
    Unmanaged,
    /// The ingress proxy.
    Ingress,
    /// Nothing.
    None,
}

/// Every entity with its manifest spelling.
pub const ENTITIES: &[(&str, Entity)] = &[
    ("all", Entity::All),
    ("world", Entity::World),
    ("world-ipv4", Entity::WorldIpv4),
    ("world-ipv6", Entity::WorldIpv6),
    ("cluster", Entity::Cluster),
    ("host", Entity::Host),
    ("remote-node", Entity::RemoteNode),
    ("kube-apiserver", Entity::KubeApiserver),
    ("health", Entity::Health),
    ("init", Entity::Init),
    ("unmanaged", Entity::Unmanaged),
    ("ingress", Entity::Ingress),
    ("none", Entity::None),
];

impl Entity {
    /// Parses a manifest spelling.
    pub fn parse(s: &str) -> Option<Self> {
        ENTITIES.iter().find(|(n, _)| *n == s).map(|(_, e)| *e)
    }

    /// The manifest spelling.
    pub fn name(&self) -> &'static str {
        ENTITIES
            .iter()
            .find(|(_, e)| e == self)
            .map_or("?", |(n, _)| n)
    }

    /// The selectors (ORed) this entity stands for; [`Entity::All`] is handled as the
    /// wildcard by the engine and returns the empty selector.
    pub fn selectors(&self, cluster: &str) -> Vec<Selector> {
        let reserved =
            |n: &str| Selector::new([Requirement::new(SelKey::reserved(n), Operator::Exists, [])]);
        match self {
            Self::All => vec![Selector::all()],
            Self::World => vec![
                reserved("world"),
                reserved("world-ipv4"),
                reserved("world-ipv6"),
            ],
            Self::WorldIpv4 => vec![reserved("world-ipv4")],
            Self::WorldIpv6 => vec![reserved("world-ipv6")],
            Self::Cluster => {
                let mut v: Vec<Selector> = [
                    "host",
                    "remote-node",
                    "init",
                    "ingress",
                    "health",
                    "unmanaged",
                    "kube-apiserver",
                ]
                .iter()
                .map(|n| reserved(n))
                .collect();
                v.push(Selector::new([Requirement::equals(
                    SelKey::k8s(keys::CLUSTER),
                    cluster,
                )]));
                v
            }
            Self::Host => vec![reserved("host")],
            Self::RemoteNode => vec![reserved("remote-node")],
            Self::KubeApiserver => vec![reserved("kube-apiserver")],
            Self::Health => vec![reserved("health")],
            Self::Init => vec![reserved("init")],
            Self::Unmanaged => vec![reserved("unmanaged")],
            Self::Ingress => vec![reserved("ingress")],
            Self::None => vec![],
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
