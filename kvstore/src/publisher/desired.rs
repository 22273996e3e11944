//! [`Desired`]: the publisher's desired state, the keys it should own and their values,
//! and which of them may differ from etcd ("dirty": to be put, or deleted once removed).

use std::collections::{BTreeMap, BTreeSet};

/// Desired keys (full etcd keys) and the ones not yet known to be written.
#[derive(Debug, Default)]
pub(crate) struct Desired {
    want: BTreeMap<String, Vec<u8>>,
    dirty: BTreeSet<String>,
}

/// One write: a put (`Some`) or a delete (`None`).
pub(crate) type Write = (String, Option<Vec<u8>>);

impl Desired {
    /// `key` should hold `value`.
    pub(crate) fn set(&mut self, key: String, value: Vec<u8>) {
        if self.want.get(&key) != Some(&value) {
            self.dirty.insert(key.clone());
            self.want.insert(key, value);
        }
    }

    /// `key` should not exist.
    pub(crate) fn remove(&mut self, key: String) {
        if self.want.remove(&key).is_some() {
            self.dirty.insert(key);
        }
    }

    /// Everything must be written again (a new lease): every desired key, and the deletes
    /// still pending.
    pub(crate) fn mark_all(&mut self) {
        self.dirty.extend(self.want.keys().cloned());
    }

    /// Up to `max` pending writes.
    pub(crate) fn batch(&self, max: usize) -> Vec<Write> {
        self.dirty
            .iter()
            .take(max)
            .map(|k| (k.clone(), self.want.get(k).cloned()))
            .collect()
    }

    /// The writes of `batch` are done; keys changed since stay dirty.
    pub(crate) fn written(&mut self, batch: &[Write]) {
        for (key, value) in batch {
            if self.want.get(key) == value.as_ref() {
                self.dirty.remove(key);
            }
        }
    }

    /// How many writes are pending.
    pub(crate) fn pending(&self) -> usize {
        self.dirty.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_coalesce_and_survive_changes_in_flight() {
        let mut d = Desired::default();
        d.set("a".into(), b"1".to_vec());
        d.set("a".into(), b"2".to_vec());
        d.set("b".into(), b"1".to_vec());
        let batch = d.batch(10);
        assert_eq!(batch.len(), 2);
        d.set("a".into(), b"3".to_vec()); // changed while the batch was in flight
        d.written(&batch);
        assert_eq!(d.batch(10), [("a".to_owned(), Some(b"3".to_vec()))]);
        d.written(&d.batch(10));
        assert_eq!(d.pending(), 0);
        d.set("b".into(), b"1".to_vec()); // unchanged: nothing to do
        assert_eq!(d.pending(), 0);
        d.remove("b".into());
        assert_eq!(d.batch(10), [("b".to_owned(), None)]);
        d.remove("zz".into()); // never set: nothing to do
        assert_eq!(d.pending(), 1);
        d.mark_all();
        assert_eq!(d.pending(), 2);
    }
}
