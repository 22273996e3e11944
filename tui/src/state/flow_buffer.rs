//! The bounded flow history the table shows: the last N flows (10,000 by default), oldest
//! evicted first, each with a sequence number that never repeats.
//!
//! Sequence numbers are contiguous, so finding a flow by number is one subtraction; the
//! table keeps its selection and scroll position as sequence numbers, which stay valid
//! while flows arrive and old ones are evicted.

use std::collections::VecDeque;

use observe_proto::flow::Flow;

/// The last `capacity` flows.
#[derive(Clone, Debug)]
pub struct FlowBuffer {
    entries: VecDeque<Box<Flow>>,
    /// Sequence number of `entries[0]` (or of the next flow when empty).
    first_seq: u64,
    capacity: usize,
}

impl FlowBuffer {
    /// An empty buffer holding at most `capacity` flows (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: VecDeque::with_capacity(capacity.clamp(1, 65_536)),
            first_seq: 0,
            capacity: capacity.max(1),
        }
    }

    /// Appends `flow`, evicting the oldest when full.
    pub fn push(&mut self, flow: Box<Flow>) {
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
            self.first_seq += 1;
        }
        self.entries.push_back(flow);
    }

    /// Forgets every flow; sequence numbers go on from where they were.
    pub fn clear(&mut self) {
        self.first_seq += self.entries.len() as u64;
        self.entries.clear();
    }

    /// How many flows are held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no flow is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The most flows held.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Sequence number of the oldest flow held.
    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    /// Sequence number of the newest flow, `None` when empty.
    pub fn last_seq(&self) -> Option<u64> {
        (!self.is_empty()).then(|| self.first_seq + self.entries.len() as u64 - 1)
    }

    /// The flow with sequence number `seq`, if still held.
    pub fn get(&self, seq: u64) -> Option<&Flow> {
        let index = usize::try_from(seq.checked_sub(self.first_seq)?).ok()?;
        self.entries.get(index).map(AsRef::as_ref)
    }

    /// Flows with sequence numbers in `start..end`, oldest first, with their numbers.
    pub fn range(&self, start: u64, end: u64) -> impl Iterator<Item = (u64, &Flow)> {
        let from = start.saturating_sub(self.first_seq) as usize;
        let to = (end.saturating_sub(self.first_seq) as usize).min(self.entries.len());
        self.entries
            .range(from.min(to)..to)
            .enumerate()
            .map(move |(i, f)| (self.first_seq + (from + i) as u64, f.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(uuid: &str) -> Box<Flow> {
        Box::new(Flow {
            uuid: uuid.into(),
            ..Default::default()
        })
    }

    #[test]
    fn the_oldest_flow_is_evicted_when_the_buffer_is_full() {
        let mut b = FlowBuffer::new(2);
        for id in ["a", "b", "c"] {
            b.push(flow(id));
        }
        assert_eq!((b.len(), b.first_seq(), b.last_seq()), (2, 1, Some(2)));
        assert!(b.get(0).is_none());
        assert_eq!(b.get(2).unwrap().uuid, "c");
        let ids: Vec<_> = b.range(0, 10).map(|(s, f)| (s, f.uuid.clone())).collect();
        assert_eq!(ids, vec![(1, "b".into()), (2, "c".into())]);
    }

    #[test]
    fn clearing_keeps_sequence_numbers_increasing() {
        let mut b = FlowBuffer::new(4);
        b.push(flow("a"));
        b.clear();
        assert!(b.is_empty() && b.last_seq().is_none());
        b.push(flow("b"));
        assert_eq!(b.last_seq(), Some(1));
        assert_eq!(b.range(5, 2).count(), 0);
    }
}
