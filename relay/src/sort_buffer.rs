//! The sort buffer that merges the nodes' streams in time order, as Hubble Relay's does:
//! at most `max` responses (default 100) are held; a push over that releases the oldest
//! by time, and no response waits longer than `timeout` (default 1 s).
//!
//! The wait is bounded by arrival, not by the flow's own time: Hubble Relay flushes only
//! responses whose flow time is older than `now - timeout`, and only after a pause in the
//! input, so a busy stream lags until the buffer fills and a node whose clock runs behind
//! can hold responses back. Here the oldest *arrival* decides: when it has waited
//! `timeout`, everything older by time than it is released with it. Each response
//! therefore leaves within `timeout` of arriving, whatever the clocks say.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

/// Hubble Relay's defaults: 100 responses, 1 s.
pub const DEFAULT_MAX: usize = 100;
/// See [`DEFAULT_MAX`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// A bounded buffer releasing items in time order.
#[derive(Debug)]
pub struct SortBuffer<T> {
    heap: BinaryHeap<Reverse<Entry<T>>>,
    /// Every item since the oldest one still held, in arrival order (the item with
    /// sequence number `first_seq + i` at `i`): when it arrived and whether it is held.
    arrivals: VecDeque<(Instant, bool)>,
    first_seq: u64,
    max: usize,
    timeout: Duration,
}

/// An item released from the buffer, with the time it arrived.
#[derive(Debug, PartialEq, Eq)]
pub struct Released<T> {
    /// The item.
    pub item: T,
    /// When it was pushed.
    pub arrived: Instant,
}

#[derive(Debug)]
struct Entry<T> {
    time: i64,
    seq: u64,
    arrived: Instant,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.time, self.seq).cmp(&(other.time, other.seq))
    }
}

impl<T> SortBuffer<T> {
    /// A buffer of at most `max` items (at least 1), each held at most `timeout`.
    pub fn new(max: usize, timeout: Duration) -> Self {
        Self {
            heap: BinaryHeap::new(),
            arrivals: VecDeque::new(),
            first_seq: 0,
            max: max.max(1),
            timeout,
        }
    }

    /// Items held.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Adds `item` of `time` (nanoseconds), arrived `now`; returns the oldest by time
    /// when that makes more than `max`.
    pub fn push(&mut self, item: T, time: i64, now: Instant) -> Option<Released<T>> {
        let seq = self.first_seq + self.arrivals.len() as u64;
        self.heap.push(Reverse(Entry {
            time,
            seq,
            arrived: now,
            item,
        }));
        self.arrivals.push_back((now, true));
        (self.heap.len() > self.max).then(|| self.pop()).flatten()
    }

    /// The oldest by time, if any.
    pub fn pop(&mut self) -> Option<Released<T>> {
        let Reverse(entry) = self.heap.pop()?;
        if let Some(slot) = self.arrivals.get_mut((entry.seq - self.first_seq) as usize) {
            slot.1 = false;
        }
        Some(Released {
            item: entry.item,
            arrived: entry.arrived,
        })
    }

    /// When the oldest arrival reaches its timeout (`None`: nothing held).
    pub fn deadline(&mut self) -> Option<Instant> {
        self.skip_released();
        self.arrivals.front().map(|&(at, _)| at + self.timeout)
    }

    /// Releases, in time order, everything up to and including each item that has waited
    /// `timeout` by `now`.
    pub fn pop_expired(&mut self, now: Instant, mut out: impl FnMut(Released<T>)) {
        while let Some(deadline) = self.deadline() {
            if deadline > now {
                return;
            }
            // Release in time order until the item that is due has gone too.
            while self.arrivals.front().is_some_and(|&(_, held)| held) {
                match self.pop() {
                    Some(released) => out(released),
                    None => return,
                }
            }
        }
    }

    fn skip_released(&mut self) {
        while self.arrivals.front().is_some_and(|&(_, held)| !held) {
            self.arrivals.pop_front();
            self.first_seq += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn items(released: &[Released<&'static str>]) -> Vec<&'static str> {
        released.iter().map(|r| r.item).collect()
    }

    #[test]
    fn a_full_buffer_releases_the_oldest_by_time() {
        let t0 = Instant::now();
        let mut b = SortBuffer::new(3, S);
        assert!(b.push("c", 30, t0).is_none());
        assert!(b.push("a", 10, t0).is_none());
        assert!(b.push("d", 40, t0).is_none());
        // The newcomer is the oldest of all: it goes straight through.
        assert_eq!(b.push("early", 5, t0).unwrap().item, "early");
        assert_eq!(b.push("b", 20, t0).unwrap().item, "a");
        let mut rest = Vec::new();
        while let Some(r) = b.pop() {
            rest.push(r);
        }
        assert_eq!(items(&rest), ["b", "c", "d"]);
    }

    #[test]
    fn nothing_waits_longer_than_the_timeout_whatever_its_time() {
        let t0 = Instant::now();
        let mut b = SortBuffer::new(100, S);
        // A node whose clock is an hour ahead, then two in time.
        b.push("ahead", 3_600_000_000_000, t0);
        b.push("x", 10, t0 + S / 2);
        b.push("y", 5, t0 + S / 2);
        assert_eq!(b.deadline(), Some(t0 + S));
        let mut out = Vec::new();
        b.pop_expired(t0 + S / 2, |r| out.push(r));
        assert!(out.is_empty());
        // "ahead" is due: it leaves with everything older by time than it.
        b.pop_expired(t0 + S, |r| out.push(r));
        assert_eq!(items(&out), ["y", "x", "ahead"]);
        assert!(b.is_empty());
        assert_eq!(b.deadline(), None);
    }

    #[test]
    fn an_expired_item_releases_only_what_is_older_by_time() {
        let t0 = Instant::now();
        let mut b = SortBuffer::new(100, S);
        b.push("old", 10, t0);
        b.push("new", 50, t0 + S / 4);
        b.push("older", 5, t0 + S / 2);
        let mut out = Vec::new();
        b.pop_expired(t0 + S, |r| out.push(r));
        assert_eq!(items(&out), ["older", "old"]);
        assert_eq!(b.deadline(), Some(t0 + S / 4 + S));
        assert_eq!(out[1].arrived, t0);
    }

    #[test]
    fn equal_times_keep_arrival_order() {
        let t0 = Instant::now();
        let mut b = SortBuffer::new(10, S);
        for name in ["1", "2", "3"] {
            b.push(name, 7, t0);
        }
        let mut out = Vec::new();
        while let Some(r) = b.pop() {
            out.push(r);
        }
        assert_eq!(items(&out), ["1", "2", "3"]);
    }
}
