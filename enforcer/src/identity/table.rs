//! [`IdentityTable`]: allocation of numeric ids to label sets, with reference counts.
//!
//! Ids are derived from a hash of the label set (FNV-1a, stable across runs and
//! processes), probing linearly within the scope on collision, so the same label set gets
//! the same id in every run that does not collide — which keeps golden files, pinned
//! datapath state and a restarted agent in agreement. On a node in a cluster, the
//! cluster's numbers ([`ClusterIds`]) come first.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::cluster_ids::{ClusterIds, Unconfirmed};
use super::reserved::{WORLD_IPV4, WORLD_IPV6, reserved};
use crate::labels::LabelSet;
use crate::net::Cidr;

/// Where an identity's id comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Fixed ids 1-10.
    Reserved,
    /// Pods: 256-65535, shared cluster-wide.
    Cluster,
    /// Remote nodes with labels: `0x02000000 | n`.
    RemoteNode,
    /// CIDR identities, local to a node: `0x01000000 | n`.
    Local,
}

impl Scope {
    /// The scope an id belongs to.
    pub fn of(id: u32) -> Self {
        match id {
            0..=255 => Self::Reserved,
            256..=65535 => Self::Cluster,
            _ if id & 0x0200_0000 != 0 => Self::RemoteNode,
            _ => Self::Local,
        }
    }

    fn range(&self) -> (u32, u32) {
        match self {
            Self::Reserved => (1, 255),
            Self::Cluster => (256, 65535),
            Self::RemoteNode => (0x0200_0001, 0x02FF_FFFF),
            Self::Local => (0x0100_0001, 0x01FF_FFFF),
        }
    }
}

/// An identity: id, labels and, for world and CIDR identities, the prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Numeric id.
    pub id: u32,
    /// Labels.
    pub labels: LabelSet,
    /// The prefix of a CIDR identity (or `0.0.0.0/0`, `::/0` for the world identities).
    pub cidr: Option<Cidr>,
}

#[derive(Clone)]
struct Slot {
    identity: Arc<Identity>,
    /// `usize::MAX` for reserved identities, which are never released.
    refs: usize,
}

/// Why an identity could not be allocated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no free identity left in the {scope:?} scope")]
pub struct ExhaustedError {
    /// The full scope.
    pub scope: Scope,
}

/// All identities in use.
#[derive(Clone)]
pub struct IdentityTable {
    by_labels: HashMap<LabelSet, u32>,
    by_id: BTreeMap<u32, Slot>,
    cluster: Arc<ClusterIds>,
}

impl Default for IdentityTable {
    fn default() -> Self {
        Self::new()
    }
}

impl IdentityTable {
    /// A table holding the reserved identities.
    pub fn new() -> Self {
        let mut t = Self {
            by_labels: HashMap::new(),
            by_id: BTreeMap::new(),
            cluster: Arc::default(),
        };
        for r in reserved() {
            let cidr = match r.id {
                WORLD_IPV4 => Some(Cidr::all_of_family(false)),
                WORLD_IPV6 => Some(Cidr::all_of_family(true)),
                _ => None,
            };
            t.insert(r.id, r.labels(), cidr, usize::MAX);
        }
        t
    }

    fn insert(&mut self, id: u32, labels: LabelSet, cidr: Option<Cidr>, refs: usize) {
        self.by_labels.insert(labels.clone(), id);
        self.by_id.insert(
            id,
            Slot {
                identity: Arc::new(Identity { id, labels, cidr }),
                refs,
            },
        );
    }

    /// Takes a reference on the identity of `labels`, allocating it in `scope` if new.
    /// Returns the id and whether it was newly allocated.
    pub fn acquire(
        &mut self,
        labels: LabelSet,
        scope: Scope,
        cidr: Option<Cidr>,
    ) -> Result<(u32, bool), ExhaustedError> {
        if let Some(&id) = self.by_labels.get(&labels) {
            if let Some(slot) = self.by_id.get_mut(&id) {
                slot.refs = slot.refs.saturating_add(1);
            }
            return Ok((id, false));
        }
        let id = self.free_id(&labels, scope)?;
        self.insert(id, labels, cidr, 1);
        Ok((id, true))
    }

    /// Drops a reference; returns true when the identity was released.
    pub fn release(&mut self, id: u32) -> bool {
        let Some(slot) = self.by_id.get_mut(&id) else {
            return false;
        };
        if slot.refs == usize::MAX {
            return false;
        }
        slot.refs -= 1;
        if slot.refs > 0 {
            return false;
        }
        if let Some(slot) = self.by_id.remove(&id) {
            self.by_labels.remove(&slot.identity.labels);
        }
        true
    }

    fn free_id(&self, labels: &LabelSet, scope: Scope) -> Result<u32, ExhaustedError> {
        let text = labels.to_string();
        let clustered = scope == Scope::Cluster;
        if clustered
            && let Some(id) = self.cluster.get(&text)
            && !self.by_id.contains_key(&id)
        {
            return Ok(id);
        }
        let (lo, hi) = scope.range();
        let span = u64::from(hi - lo) + 1;
        let start = fnv1a(text.as_bytes()) % span;
        (0..span)
            .map(|i| lo + ((start + i) % span) as u32)
            .find(|id| {
                let taken = self.by_id.contains_key(id)
                    || (clustered && self.cluster.taken_by_other(*id, &text));
                !taken
            })
            .ok_or(ExhaustedError { scope })
    }

    /// Sets the numbers the cluster allocated; later allocations follow them.
    pub fn set_cluster_ids(&mut self, ids: Arc<ClusterIds>) {
        self.cluster = ids;
    }

    /// Cluster-scope identities in use whose number the cluster has not confirmed: unknown
    /// to it, or known under another number.
    pub fn unconfirmed(&self) -> Vec<Unconfirmed> {
        self.by_id
            .iter()
            .filter(|(id, _)| Scope::of(**id) == Scope::Cluster)
            .filter_map(|(&id, slot)| {
                let labels = slot.identity.labels.to_string();
                match self.cluster.get(&labels) {
                    Some(c) if c == id => None,
                    cluster => Some(Unconfirmed {
                        labels,
                        local: id,
                        cluster,
                    }),
                }
            })
            .collect()
    }

    /// The identity with this id.
    pub fn get(&self, id: u32) -> Option<&Arc<Identity>> {
        self.by_id.get(&id).map(|s| &s.identity)
    }

    /// Every identity, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Identity>> {
        self.by_id.values().map(|s| &s.identity)
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::Label;

    fn labels(app: &str) -> LabelSet {
        LabelSet::new([Label::k8s("app", app)])
    }

    #[test]
    fn same_labels_same_id_and_stable_across_tables() {
        let mut a = IdentityTable::new();
        let mut b = IdentityTable::new();
        let (x, new) = a.acquire(labels("web"), Scope::Cluster, None).unwrap();
        assert!(new && (256..=65535).contains(&x));
        assert_eq!(
            a.acquire(labels("web"), Scope::Cluster, None).unwrap(),
            (x, false)
        );
        assert_eq!(b.acquire(labels("web"), Scope::Cluster, None).unwrap().0, x);
    }

    #[test]
    fn release_frees_after_the_last_reference() {
        let mut t = IdentityTable::new();
        let (x, _) = t.acquire(labels("web"), Scope::Cluster, None).unwrap();
        t.acquire(labels("web"), Scope::Cluster, None).unwrap();
        assert!(!t.release(x));
        assert!(t.release(x));
        assert!(t.get(x).is_none());
        assert!(!t.release(1), "reserved identities are never released");
    }

    #[test]
    fn the_clusters_numbers_come_first_and_are_never_taken_by_other_labels() {
        let mut t = IdentityTable::new();
        let web = labels("web");
        let hashed = IdentityTable::new()
            .acquire(web.clone(), Scope::Cluster, None)
            .unwrap()
            .0;
        let mut ids = ClusterIds::default();
        ids.insert(labels("db").to_string(), hashed);
        ids.insert(labels("api").to_string(), 4242);
        t.set_cluster_ids(Arc::new(ids));
        let (api, _) = t.acquire(labels("api"), Scope::Cluster, None).unwrap();
        assert_eq!(api, 4242, "the cluster's number");
        let (w, _) = t.acquire(web.clone(), Scope::Cluster, None).unwrap();
        assert_ne!(w, hashed, "db holds web's hash slot in the cluster");
        let unconfirmed = t.unconfirmed();
        assert_eq!(unconfirmed.len(), 1, "{unconfirmed:?}");
        assert_eq!(unconfirmed[0].labels, web.to_string());
        assert_eq!((unconfirmed[0].local, unconfirmed[0].cluster), (w, None));
    }

    #[test]
    fn reserved_label_sets_map_to_reserved_ids() {
        let mut t = IdentityTable::new();
        let remote = LabelSet::new([Label::reserved("remote-node")]);
        assert_eq!(t.acquire(remote, Scope::RemoteNode, None).unwrap().0, 6);
        assert_eq!(Scope::of(0x0100_0005), Scope::Local);
        assert_eq!(Scope::of(0x0200_0005), Scope::RemoteNode);
    }
}
