//! The flow ring: a bounded history with one writer that overwrites the oldest entry, and
//! any number of readers that address entries by position.
//!
//! # Positions and slots
//!
//! Every write gets the next position of a `u64` counter that only grows (it would take
//! centuries at a billion writes per second to wrap). A position's slot is
//! `position & mask`, with `2^n` slots. Each slot remembers the position it holds, so a
//! reader can always tell whether the slot still has the entry it asked for.
//!
//! ```text
//! capacity = 7 (2^3 - 1), slots = 8, after 13 writes (write = 13):
//!
//! position   5  6  7  8  9 10 11 12 | 13
//! slot       5  6  7  0  1  2  3  4 |  5   <- slot 5 is refilled next
//! readable  [x][x][x][x][x][x][x]   |
//!            ^ 6 = oldest = write - capacity      ^ write: next position, not readable
//! position 5 is still stored but counts as gone: its slot is the next one written.
//! ```
//!
//! Invariants:
//! - readable positions are `[oldest, write)`, `oldest = write.saturating_sub(capacity)`;
//! - a position at or past `write` is not written yet ([`Read::NotYet`]);
//! - a position before `oldest` was overwritten ([`Read::Overwritten`]); so was one whose
//!   slot holds a different position when locked (the writer got there in between).
//!
//! One slot is kept out of the readable window so that the slot the writer fills next is
//! never counted as history: the window is exactly `capacity`, Hubble's 2^n−1.
//!
//! # Events, not entries
//!
//! An entry stands for [`Weight::weight`] events: a flow for one, a loss notice for the
//! events it reports lost. Each slot also keeps how many events were written before its
//! entry, so a reader the writer lapped learns exactly how many events it missed, those
//! the overwritten loss notices summarised included ([`Ring::events_at`]).
//!
//! # Concurrency
//!
//! Only [`RingWriter`] writes, and it cannot be cloned: single writer by construction.
//! Each slot has its own mutex, held for a pointer swap or clone only, so readers never
//! block the writer for long and never see a torn entry. The write position is an atomic
//! published after the slot is filled; followers wait on a [`Notify`] the writer pokes
//! after each write.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use tokio::sync::Notify;

use crate::ring_reader::RingReader;

/// A ring capacity: one less than a power of two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Capacity(usize);

impl Capacity {
    /// The largest capacity accepted (2^24 − 1, about 16.7 million flows).
    pub const MAX: usize = (1 << 24) - 1;
    /// Hubble's default: 4,095 flows.
    pub const DEFAULT: Capacity = Capacity(4095);

    /// `n` as a capacity.
    ///
    /// # Errors
    ///
    /// [`CapacityError`] unless `n` is `2^k − 1` with `1 <= n <= Capacity::MAX`.
    pub fn new(n: usize) -> Result<Self, CapacityError> {
        let one_less_than_power_of_two = n.checked_add(1).is_some_and(usize::is_power_of_two);
        if n == 0 || n > Self::MAX || !one_less_than_power_of_two {
            return Err(CapacityError(n));
        }
        Ok(Self(n))
    }

    /// The number of entries the ring holds.
    pub fn get(self) -> usize {
        self.0
    }
}

impl Default for Capacity {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A capacity that is not `2^n − 1` within bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid ring capacity {0}: must be one less than a power of two (1, 3, 7, ..., 4095, ..., {max})",
    max = Capacity::MAX
)]
pub struct CapacityError(pub usize);

/// How many events an entry stands for.
pub trait Weight {
    /// The events (at least 1).
    fn weight(&self) -> u64;
}

impl Weight for u64 {
    fn weight(&self) -> u64 {
        1
    }
}

/// One slot: the position it holds, the events written before it, and the entry.
struct Slot<T> {
    position: u64,
    events_before: u64,
    entry: Option<T>,
}

/// The result of reading one position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Read<T> {
    /// The entry at that position, and the events written before it.
    Entry(T, u64),
    /// The position is not written yet.
    NotYet,
    /// The position was overwritten; `oldest` is the oldest position still readable.
    Overwritten {
        /// The oldest readable position at the time of the read.
        oldest: u64,
    },
}

/// The shared, readable side of the ring.
pub struct Ring<T> {
    slots: Box<[Mutex<Slot<T>>]>,
    /// `2^n − 1`: the entries kept, and the mask from a position to its slot.
    capacity: u64,
    write: AtomicU64,
    notify: Notify,
    first: OnceLock<T>,
}

/// The only handle that writes to a ring.
pub struct RingWriter<T> {
    ring: Arc<Ring<T>>,
    /// Events written so far (the sum of the entries' weights).
    events: u64,
}

impl<T: Clone + Weight> Ring<T> {
    /// A ring holding `capacity` entries, and its writer.
    pub fn new(capacity: Capacity) -> (Arc<Self>, RingWriter<T>) {
        let slots = (0..=capacity.get())
            .map(|_| {
                Mutex::new(Slot {
                    position: u64::MAX,
                    events_before: 0,
                    entry: None,
                })
            })
            .collect();
        let ring = Arc::new(Self {
            slots,
            capacity: capacity.get() as u64,
            write: AtomicU64::new(0),
            notify: Notify::new(),
            first: OnceLock::new(),
        });
        (Arc::clone(&ring), RingWriter { ring, events: 0 })
    }

    /// How many entries the ring holds at most.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The position the next write gets; also the number of writes so far.
    pub fn write_position(&self) -> u64 {
        self.write.load(Ordering::Acquire)
    }

    /// The oldest readable position.
    pub fn oldest_position(&self) -> u64 {
        self.write_position().saturating_sub(self.capacity)
    }

    /// How many entries are readable now.
    pub fn len(&self) -> u64 {
        self.write_position().min(self.capacity)
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.write_position() == 0
    }

    /// How many entries have left the readable window (overwritten or about to be).
    pub fn evicted(&self) -> u64 {
        self.oldest_position()
    }

    /// The first entry ever written, if any.
    pub fn first_written(&self) -> Option<T> {
        self.first.get().cloned()
    }

    /// The most recent entry to leave the readable window, if any. It is still stored:
    /// it sits in the reserved slot until the next write replaces it.
    pub fn last_evicted(&self) -> Option<T> {
        // A few attempts: each failure means the writer moved on in between.
        for _ in 0..4 {
            let gone = self.oldest_position().checked_sub(1)?;
            let slot = lock(&self.slots[self.index(gone)]);
            if slot.position == gone {
                return slot.entry.clone();
            }
        }
        None
    }

    /// Reads position `position`.
    pub fn read(&self, position: u64) -> Read<T> {
        let write = self.write_position();
        if position >= write {
            return Read::NotYet;
        }
        let oldest = write.saturating_sub(self.capacity);
        if position < oldest {
            return Read::Overwritten { oldest };
        }
        let slot = lock(&self.slots[self.index(position)]);
        match (&slot.entry, slot.position == position) {
            (Some(entry), true) => Read::Entry(entry.clone(), slot.events_before),
            // The writer lapped us between the window check and the lock.
            _ => Read::Overwritten {
                oldest: self.oldest_position(),
            },
        }
    }

    /// The events written before `position`; `None` when that can no longer be told (the
    /// entries around it were overwritten).
    pub fn events_at(&self, position: u64) -> Option<u64> {
        if position == 0 {
            return Some(0);
        }
        // The events before the entry at `position`, or after the one before it.
        for _ in 0..4 {
            if let Read::Entry(_, before) = self.read(position) {
                return Some(before);
            }
            let slot = lock(&self.slots[self.index(position - 1)]);
            if slot.position == position - 1
                && let Some(entry) = &slot.entry
            {
                return Some(slot.events_before + entry.weight().max(1));
            }
        }
        None
    }

    /// A reader positioned at `position` (its next forward read).
    pub fn reader_at(self: &Arc<Self>, position: u64) -> RingReader<T> {
        RingReader::new(Arc::clone(self), position)
    }

    /// A reader positioned after the newest entry: forward reads wait for new entries,
    /// backward reads walk the history.
    pub fn reader_at_end(self: &Arc<Self>) -> RingReader<T> {
        self.reader_at(self.write_position())
    }

    /// A reader positioned at the oldest entry.
    pub fn reader_at_oldest(self: &Arc<Self>) -> RingReader<T> {
        self.reader_at(self.oldest_position())
    }

    /// Resolves when a write happens after `notified` was enabled; see
    /// [`RingReader::follow`].
    pub(crate) fn notify(&self) -> &Notify {
        &self.notify
    }

    fn index(&self, position: u64) -> usize {
        // The capacity (2^n − 1) masks below the slot count, so the index is in bounds.
        (position & self.capacity) as usize
    }
}

impl<T: Clone + Weight> RingWriter<T> {
    /// Appends `entry`, overwriting the oldest one when full, and wakes followers.
    pub fn write(&mut self, entry: T) {
        self.append(entry);
        self.publish();
    }

    /// Appends `entry` like [`RingWriter::write`] without waking followers: a writer of a
    /// batch wakes them once, with [`RingWriter::publish`], instead of once per entry.
    /// Readers that poll see the entry at once.
    pub fn append(&mut self, entry: T) {
        let ring = &self.ring;
        // Single writer: nobody else moves the write position.
        let position = ring.write.load(Ordering::Relaxed);
        if position == 0 {
            let _ = ring.first.set(entry.clone());
        }
        let events_before = self.events;
        self.events += entry.weight().max(1);
        let replaced = {
            let mut slot = lock(&ring.slots[ring.index(position)]);
            slot.position = position;
            slot.events_before = events_before;
            slot.entry.replace(entry)
        };
        ring.write.store(position + 1, Ordering::Release);
        // Dropped outside the slot lock: the last reference to a flow may go here.
        drop(replaced);
    }

    /// Wakes the followers waiting for entries appended since.
    pub fn publish(&self) {
        self.ring.notify.notify_waiters();
    }

    /// The ring this writer writes to.
    pub fn ring(&self) -> &Arc<Ring<T>> {
        &self.ring
    }
}

/// Locks a mutex, ignoring poisoning: entries are replaced whole, so a panic elsewhere
/// cannot leave a slot half-written.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<T> std::fmt::Debug for Ring<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("capacity", &self.capacity)
            .field("write", &self.write.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<T> std::fmt::Debug for RingWriter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingWriter")
            .field("ring", &self.ring)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Weight for &str {
        fn weight(&self) -> u64 {
            1
        }
    }

    #[test]
    fn capacity_accepts_only_one_less_than_powers_of_two() {
        for ok in [1, 3, 7, 4095, 65_535, 1_048_575, Capacity::MAX] {
            assert_eq!(Capacity::new(ok).map(Capacity::get), Ok(ok));
        }
        for bad in [0, 2, 4, 100, 4096, Capacity::MAX + 2, usize::MAX] {
            assert_eq!(Capacity::new(bad), Err(CapacityError(bad)));
        }
        assert_eq!(Capacity::default().get(), 4095);
    }

    #[test]
    fn reads_see_the_window_of_the_last_capacity_writes() {
        let (ring, mut writer) = Ring::new(Capacity::new(7).unwrap());
        assert_eq!(ring.read(0), Read::NotYet);
        for i in 0..13u64 {
            writer.write(i);
        }
        assert_eq!(
            (ring.write_position(), ring.oldest_position(), ring.len()),
            (13, 6, 7)
        );
        assert_eq!(ring.read(5), Read::Overwritten { oldest: 6 });
        assert_eq!(ring.read(6), Read::Entry(6, 6));
        assert_eq!(ring.read(12), Read::Entry(12, 12));
        assert_eq!(ring.read(13), Read::NotYet);
        assert_eq!(ring.first_written(), Some(0));
        assert_eq!(ring.last_evicted(), Some(5));
        assert_eq!(ring.evicted(), 6);
    }

    #[test]
    fn a_ring_that_never_wrapped_evicted_nothing() {
        let (ring, mut writer) = Ring::new(Capacity::new(3).unwrap());
        writer.write("a");
        writer.write("b");
        assert_eq!(
            (ring.len(), ring.evicted(), ring.last_evicted()),
            (2, 0, None)
        );
        writer.write("c");
        writer.write("d");
        assert_eq!(
            (ring.len(), ring.evicted(), ring.last_evicted()),
            (3, 1, Some("a"))
        );
        assert_eq!(ring.read(0), Read::Overwritten { oldest: 1 });
    }

    #[test]
    fn capacity_one_keeps_only_the_newest() {
        let (ring, mut writer) = Ring::new(Capacity::new(1).unwrap());
        for i in 0..5 {
            writer.write(i);
            assert_eq!(ring.read(i), Read::Entry(i, i));
            assert_eq!(ring.len(), 1);
        }
        assert_eq!(ring.read(3), Read::Overwritten { oldest: 4 });
    }
}
