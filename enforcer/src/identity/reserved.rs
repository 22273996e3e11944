//! Reserved identities (Cilium's numbers 1-10) and their labels.

use crate::labels::{Label, LabelSet};

/// A reserved identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reserved {
    /// Numeric id.
    pub id: u32,
    /// Name (the `reserved:` label key, and what Hubble prints in parentheses).
    pub name: &'static str,
}

/// The reserved identities.
pub const RESERVED: &[Reserved] = &[
    Reserved {
        id: 1,
        name: "host",
    },
    Reserved {
        id: 2,
        name: "world",
    },
    Reserved {
        id: 3,
        name: "unmanaged",
    },
    Reserved {
        id: 4,
        name: "health",
    },
    Reserved {
        id: 5,
        name: "init",
    },
    Reserved {
        id: 6,
        name: "remote-node",
    },
    Reserved {
        id: 7,
        name: "kube-apiserver",
    },
    Reserved {
        id: 8,
        name: "ingress",
    },
    Reserved {
        id: 9,
        name: "world-ipv4",
    },
    Reserved {
        id: 10,
        name: "world-ipv6",
    },
];

/// The local host.
pub const HOST: u32 = 1;
/// `reserved:world`.
pub const WORLD: u32 = 2;
/// Other nodes (without labels of their own).
pub const REMOTE_NODE: u32 = 6;
/// IPv4 addresses outside the cluster.
pub const WORLD_IPV4: u32 = 9;
/// IPv6 addresses outside the cluster.
pub const WORLD_IPV6: u32 = 10;

/// The reserved identity with this id.
pub fn reserved_by_id(id: u32) -> Option<Reserved> {
    RESERVED.iter().copied().find(|r| r.id == id)
}

impl Reserved {
    /// The identity's label set (`reserved:<name>`).
    pub fn labels(&self) -> LabelSet {
        LabelSet::new([Label::reserved(self.name)])
    }
}
