//! Reserved identities (Cilium's numbers 1-10, from `probe_common::identity`) and their
//! labels.

use crate::labels::{Label, LabelSet};

/// A reserved identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reserved {
    /// Numeric id.
    pub id: u32,
    /// Name (the `reserved:` label key, and what Hubble prints in parentheses).
    pub name: &'static str,
}

pub use probe_common::identity::{HOST, REMOTE_NODE, WORLD, WORLD_IPV4, WORLD_IPV6};

/// The reserved identities (the table is `probe_common::identity`).
pub fn reserved() -> impl Iterator<Item = Reserved> {
    probe_common::identity::RESERVED
        .iter()
        .map(|(id, name)| Reserved { id: *id, name })
}

/// The reserved identity with this id.
pub fn reserved_by_id(id: u32) -> Option<Reserved> {
    probe_common::identity::name(id).map(|name| Reserved { id, name })
}

impl Reserved {
    /// The identity's label set (`reserved:<name>`).
    pub fn labels(&self) -> LabelSet {
        LabelSet::new([Label::reserved(self.name)])
    }
}
