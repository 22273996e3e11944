//! [`ClusterIds`]: the numbers a cluster-wide allocator (the kvstore) gave to label sets.
//!
//! On a node that is part of a cluster, a pod's identity number must be the same on every
//! node. The table still allocates locally (by the label set's hash), but a label set the
//! cluster knows gets the cluster's number, and a number the cluster gave to other labels is
//! never chosen for new ones. Whatever the table chose without the cluster's word is listed
//! by [`super::IdentityTable::unconfirmed`], so the agent can have it allocated cluster-wide
//! and apply again with the answer.

use std::collections::HashMap;

/// Label set (its text, as [`crate::labels::LabelSet`] prints it) to cluster number, and back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterIds {
    by_labels: HashMap<String, u32>,
    by_id: HashMap<u32, String>,
}

impl ClusterIds {
    /// Records that the cluster gave `id` to `labels` (replacing what either had).
    pub fn insert(&mut self, labels: String, id: u32) {
        if let Some(old) = self.by_labels.insert(labels.clone(), id) {
            self.by_id.remove(&old);
        }
        if let Some(other) = self.by_id.insert(id, labels.clone())
            && other != labels
        {
            self.by_labels.remove(&other);
        }
    }

    /// Forgets the number `id` (the cluster collected it).
    pub fn remove_id(&mut self, id: u32) {
        if let Some(labels) = self.by_id.remove(&id) {
            self.by_labels.remove(&labels);
        }
    }

    /// The cluster's number for `labels`.
    pub fn get(&self, labels: &str) -> Option<u32> {
        self.by_labels.get(labels).copied()
    }

    /// Whether the cluster gave `id` to a label set other than `labels`.
    pub fn taken_by_other(&self, id: u32, labels: &str) -> bool {
        self.by_id.get(&id).is_some_and(|l| l != labels)
    }

    /// How many numbers are known.
    pub fn len(&self) -> usize {
        self.by_labels.len()
    }

    /// Whether none is known.
    pub fn is_empty(&self) -> bool {
        self.by_labels.is_empty()
    }
}

/// A cluster-scope identity the table holds without the cluster's confirmation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unconfirmed {
    /// The label set's text.
    pub labels: String,
    /// The number chosen locally.
    pub local: u32,
    /// The cluster's number when it differs (the local one must be given up).
    pub cluster: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_belongs_to_one_label_set() {
        let mut ids = ClusterIds::default();
        ids.insert("a".into(), 300);
        ids.insert("b".into(), 300);
        assert_eq!(ids.get("a"), None);
        assert_eq!(ids.get("b"), Some(300));
        assert!(ids.taken_by_other(300, "a"));
        assert!(!ids.taken_by_other(300, "b"));
        ids.insert("b".into(), 301);
        assert!(!ids.taken_by_other(300, "a"), "300 is free again");
        ids.remove_id(301);
        assert!(ids.is_empty());
    }
}
