//! A cursor over the flow ring: walk the history backwards, read it forwards, then follow
//! new entries as they are written.
//!
//! The cursor is a position: [`RingReader::next`] reads at the cursor and advances,
//! [`RingReader::prev`] steps back and reads there. So after a backward scan that stopped
//! on some entry, forward reads start again with that same entry, which is how "the last
//! N matching flows" is served: scan back until N matched, then stream forward.
//!
//! A reader overtaken by the writer does not fail: it gets one [`Item::Lost`] with the
//! number of entries and of events it missed (a loss notice stands for the events it
//! reported, see [`crate::ring::Weight`]) and continues at the oldest entry still readable.

use std::sync::Arc;

use crate::ring::{Read, Ring, Weight};

/// What a read returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item<T> {
    /// The next entry.
    Entry(T),
    /// The writer overwrote `entries` entries this reader had not read yet, standing for
    /// `events` events; the reader now stands at the oldest readable entry.
    Lost {
        /// Entries missed (positions skipped).
        entries: u64,
        /// Events they stood for.
        events: u64,
    },
}

/// A cursor over a [`Ring`].
pub struct RingReader<T> {
    ring: Arc<Ring<T>>,
    position: u64,
    /// The events written before `position`, when known.
    events: Option<u64>,
}

impl<T: Clone + Weight> RingReader<T> {
    pub(crate) fn new(ring: Arc<Ring<T>>, position: u64) -> Self {
        let events = ring.events_at(position);
        Self {
            ring,
            position,
            events,
        }
    }

    /// The position of the next forward read.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The ring being read.
    pub fn ring(&self) -> &Arc<Ring<T>> {
        &self.ring
    }

    /// Reads forward: the entry at the cursor, or [`Item::Lost`] if it was overwritten;
    /// `None` when the cursor reached the writer.
    #[expect(
        clippy::should_implement_trait,
        reason = "not an Iterator: None means 'nothing yet', later calls may return entries"
    )]
    pub fn next(&mut self) -> Option<Item<T>> {
        match self.ring.read(self.position) {
            Read::Entry(entry, before) => {
                self.position += 1;
                self.events = Some(before + entry.weight().max(1));
                Some(Item::Entry(entry))
            }
            Read::NotYet => None,
            Read::Overwritten { oldest } => {
                // Catching up entry by entry would report every lap separately; jump to
                // the oldest readable entry and report the gap once.
                let entries = oldest.saturating_sub(self.position).max(1);
                self.position = self.position.max(oldest);
                let now = self.ring.events_at(self.position);
                let events = match (self.events, now) {
                    (Some(then), Some(now)) if now > then => now - then,
                    _ => entries,
                };
                self.events = now;
                Some(Item::Lost { entries, events })
            }
        }
    }

    /// Reads backward: steps the cursor back one entry and returns it; `None` at the
    /// start of the retained history (the entry before the cursor was overwritten, or
    /// nothing was written before it), leaving the cursor where it is.
    pub fn prev(&mut self) -> Option<T> {
        let position = self.position.checked_sub(1)?;
        match self.ring.read(position) {
            Read::Entry(entry, before) => {
                self.position = position;
                self.events = Some(before);
                Some(entry)
            }
            Read::NotYet | Read::Overwritten { .. } => None,
        }
    }

    /// Reads forward, waiting for the writer when the cursor reached it.
    pub async fn follow(&mut self) -> Item<T> {
        // Behind the writer, the common case of a busy ring: no waiter to register.
        if let Some(item) = self.next() {
            return item;
        }
        loop {
            // Register interest before checking, so a write between the check and the
            // wait still wakes us.
            let ring = Arc::clone(&self.ring);
            let notified = ring.notify().notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(item) = self.next() {
                return item;
            }
            notified.await;
        }
    }
}

impl<T> std::fmt::Debug for RingReader<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingReader")
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ring::Capacity;

    fn ring_with(capacity: usize, writes: u64) -> (Arc<Ring<u64>>, crate::ring::RingWriter<u64>) {
        let (ring, mut writer) = Ring::new(Capacity::new(capacity).unwrap());
        for i in 0..writes {
            writer.write(i);
        }
        (ring, writer)
    }

    #[test]
    fn forward_reads_stop_at_the_writer() {
        let (ring, _writer) = ring_with(7, 3);
        let mut reader = ring.reader_at_oldest();
        assert_eq!(reader.next(), Some(Item::Entry(0)));
        assert_eq!(reader.next(), Some(Item::Entry(1)));
        assert_eq!(reader.next(), Some(Item::Entry(2)));
        assert_eq!(reader.next(), None);
        assert_eq!(reader.position(), 3);
    }

    #[test]
    fn backward_scan_then_forward_read_replays_the_scanned_entries() {
        let (ring, _writer) = ring_with(7, 20);
        let mut reader = ring.reader_at_end();
        let back: Vec<_> = std::iter::from_fn(|| reader.prev()).collect();
        assert_eq!(back, [19, 18, 17, 16, 15, 14, 13]);
        assert_eq!(reader.prev(), None, "the history starts at 13");
        assert_eq!(reader.next(), Some(Item::Entry(13)));
    }

    #[test]
    fn an_overtaken_reader_gets_one_lost_item_with_the_gap() {
        let (ring, mut writer) = ring_with(7, 4);
        let mut reader = ring.reader_at(1);
        assert_eq!(reader.next(), Some(Item::Entry(1)));
        for i in 4..30 {
            writer.write(i);
        }
        // Oldest readable is 30 - 7 = 23; the reader stood at 2.
        assert_eq!(
            reader.next(),
            Some(Item::Lost {
                entries: 21,
                events: 21
            })
        );
        assert_eq!(reader.next(), Some(Item::Entry(23)));
    }

    #[tokio::test]
    async fn follow_wakes_up_for_new_entries() {
        let (ring, mut writer) = ring_with(7, 1);
        let mut reader = ring.reader_at_end();
        let follower = tokio::spawn(async move {
            let a = reader.follow().await;
            let b = reader.follow().await;
            (a, b)
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        writer.write(10);
        writer.write(11);
        let (a, b) = tokio::time::timeout(Duration::from_secs(5), follower)
            .await
            .expect("follower woke up")
            .unwrap();
        assert_eq!((a, b), (Item::Entry(10), Item::Entry(11)));
    }

    #[tokio::test]
    async fn concurrent_writes_and_follows_see_every_entry_or_a_loss() {
        let (ring, mut writer) = Ring::<u64>::new(Capacity::new(63).unwrap());
        let mut reader = ring.reader_at_end();
        let total = 20_000u64;
        let follower = tokio::spawn(async move {
            let (mut seen, mut lost, mut last) = (0u64, 0u64, None);
            while seen + lost < total {
                match reader.follow().await {
                    Item::Entry(v) => {
                        assert!(last.is_none_or(|l| v > l), "entries arrive in order");
                        last = Some(v);
                        seen += 1;
                    }
                    Item::Lost { events, .. } => lost += events,
                }
            }
            (seen, lost)
        });
        let writes = std::thread::spawn(move || {
            for i in 0..total {
                writer.write(i);
            }
        });
        writes.join().unwrap();
        let (seen, lost) = tokio::time::timeout(Duration::from_secs(10), follower)
            .await
            .expect("follower finished")
            .unwrap();
        assert_eq!(seen + lost, total);
    }

    /// An entry standing for several events (a loss notice).
    #[derive(Clone, Debug, PartialEq, Eq)]
    struct Weighted(u64);

    impl Weight for Weighted {
        fn weight(&self) -> u64 {
            self.0
        }
    }

    #[test]
    fn a_lapped_reader_learns_the_events_the_overwritten_notices_stood_for() {
        let (ring, mut writer) = Ring::new(Capacity::new(7).unwrap());
        let mut reader = ring.reader_at(0);
        // 20 entries: every fifth a notice of 100 lost events, the rest one event each.
        let weights: Vec<u64> = (0..20).map(|i| if i % 5 == 4 { 100 } else { 1 }).collect();
        for w in &weights {
            writer.write(Weighted(*w));
        }
        let mut received = 0;
        let mut told_lost = 0;
        while let Some(item) = reader.next() {
            match item {
                Item::Entry(Weighted(w)) => received += w,
                Item::Lost { entries, events } => {
                    assert_eq!(entries, 13, "positions 0..13 were overwritten");
                    told_lost += events;
                }
            }
        }
        let offered: u64 = weights.iter().sum();
        assert_eq!(
            received + told_lost,
            offered,
            "the stream balances to the event"
        );
        assert_eq!(told_lost, weights[..13].iter().sum::<u64>());
    }
}
