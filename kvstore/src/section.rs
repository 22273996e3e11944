//! [`Section`]: the four parts of the cluster state, each a key prefix under the store's
//! prefix. What the values in a section mean is up to the agent.

use std::fmt;

/// One part of the cluster state; its keys live under `<prefix><section>/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    /// Applied manifests (policies, namespaces, pods), cluster-wide: `objects/`.
    Objects,
    /// Node registrations, leased by each node: `nodes/`.
    Nodes,
    /// IP → identity entries, leased by the node that owns the IP: `ipcache/`.
    Ipcache,
    /// Identity numbers, their label sets and their users: `identities/`.
    Identities,
}

impl Section {
    /// Every section.
    pub const ALL: [Section; 4] = [
        Section::Objects,
        Section::Nodes,
        Section::Ipcache,
        Section::Identities,
    ];

    /// The key segment, with its trailing `/`.
    pub fn as_str(self) -> &'static str {
        match self {
            Section::Objects => "objects/",
            Section::Nodes => "nodes/",
            Section::Ipcache => "ipcache/",
            Section::Identities => "identities/",
        }
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
