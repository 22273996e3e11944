//! The queue from the kernel ring's reader to the decoder: one producer (the task draining
//! the BPF ring buffer), one consumer (the pipeline), lock-free and without an allocation
//! per event (ringbuf's SPSC ring of [`MonitorEvent`]s, sized once).
//!
//! The reader does not drop events when the queue is full: it stops taking records from
//! the kernel's ring (which is far larger) until the decoder has made room
//! ([`KernelSender::room`]), so a burst waits in the kernel, and what the kernel cannot
//! hold it counts as lost there. [`KernelSender::push`] still drops and counts an
//! `EventQueue` loss if it is called on a full queue. The reader wakes the decoder once
//! per batch it pushed ([`KernelSender::wake`]), not once per event; the decoder takes
//! events in batches, waits only when the queue is empty, and wakes a reader waiting for
//! room once per batch.
//!
//! The L7 proxies and the loss reporters, which are many producers at low rates, keep the
//! `EventSender`'s tokio channel.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};
use tokio::sync::Notify;

use super::{PipelineClosed, Sent};
use crate::event::{LostSource, MonitorEvent};
use crate::stats::Stats;

/// What both ends share: the decoder's and the reader's wake-ups, and whether either end
/// has gone.
#[derive(Debug, Default)]
struct Shared {
    notify: Notify,
    room: Notify,
    /// The reader waits for room.
    waiting: AtomicBool,
    closed: AtomicBool,
}

/// The reader's end.
pub struct KernelSender {
    queue: HeapProd<MonitorEvent>,
    shared: Arc<Shared>,
    stats: Arc<Stats>,
    /// Events pushed since the decoder was last woken.
    unannounced: usize,
}

/// The decoder's end.
pub(super) struct KernelReceiver {
    queue: HeapCons<MonitorEvent>,
    shared: Arc<Shared>,
}

/// A queue of `capacity` events between the kernel ring's reader and the decoder.
pub(super) fn channel(capacity: usize, stats: Arc<Stats>) -> (KernelSender, KernelReceiver) {
    let (queue, rx) = HeapRb::new(capacity.max(1)).split();
    let shared = Arc::new(Shared::default());
    let sender = KernelSender {
        queue,
        shared: Arc::clone(&shared),
        stats,
        unannounced: 0,
    };
    (sender, KernelReceiver { queue: rx, shared })
}

/// Pushes wake the decoder after this many events even if the reader has more to drain,
/// so a long drain does not fill the queue before the decoder starts.
const WAKE_EVERY: usize = 64;

impl KernelSender {
    /// Queues `event`, or drops and counts it when the queue is full.
    ///
    /// # Errors
    ///
    /// [`PipelineClosed`] once the decoder has stopped.
    pub fn push(&mut self, event: MonitorEvent) -> Result<Sent, PipelineClosed> {
        if self.shared.closed.load(Ordering::Relaxed) {
            return Err(PipelineClosed);
        }
        match self.queue.try_push(event) {
            Ok(()) => {
                self.unannounced += 1;
                if self.unannounced >= WAKE_EVERY {
                    self.wake();
                }
                Ok(Sent::Accepted)
            }
            Err(event) => {
                self.stats
                    .losses
                    .record(LostSource::EventQueue, 1, None, event.timestamp, true);
                Ok(Sent::QueueFull)
            }
        }
    }

    /// Whether the queue can take another event.
    pub fn has_room(&self) -> bool {
        !self.queue.is_full()
    }

    /// Waits until the queue can take another event (or the decoder has stopped), having
    /// woken the decoder for what is queued.
    pub async fn room(&mut self) {
        self.wake();
        loop {
            self.shared.waiting.store(true, Ordering::SeqCst);
            if self.has_room() || self.shared.closed.load(Ordering::Acquire) {
                self.shared.waiting.store(false, Ordering::Relaxed);
                return;
            }
            // A wake-up between the check above and this wait is kept as a permit.
            self.shared.room.notified().await;
        }
    }

    /// Wakes the decoder for the events pushed since the last wake-up, if any.
    pub fn wake(&mut self) {
        if self.unannounced > 0 {
            self.unannounced = 0;
            self.shared.notify.notify_one();
        }
    }
}

impl Drop for KernelSender {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.notify.notify_one();
    }
}

impl std::fmt::Debug for KernelSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelSender")
            .field("queued", &self.queue.occupied_len())
            .finish_non_exhaustive()
    }
}

impl KernelReceiver {
    /// Moves up to `max` queued events into `out`, waiting while the queue is empty; 0
    /// once the sender is gone and the queue drained.
    pub(super) async fn recv_many(&mut self, out: &mut Vec<MonitorEvent>, max: usize) -> usize {
        loop {
            let before = out.len();
            out.extend(self.queue.pop_iter().take(max));
            if out.len() > before {
                if self.shared.waiting.swap(false, Ordering::SeqCst) {
                    self.shared.room.notify_one();
                }
                return out.len() - before;
            }
            if self.shared.closed.load(Ordering::Acquire) && self.queue.is_empty() {
                return 0;
            }
            // A wake-up between the check above and this wait is kept as a permit.
            self.shared.notify.notified().await;
        }
    }

    /// Events waiting.
    pub(super) fn len(&self) -> usize {
        self.queue.occupied_len()
    }
}

impl Drop for KernelReceiver {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.room.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::event::Payload;

    fn event() -> MonitorEvent {
        MonitorEvent {
            timestamp: SystemTime::UNIX_EPOCH,
            node_name: Arc::from("n"),
            payload: Payload::Malformed { len: 1, need: 80 },
        }
    }

    #[tokio::test]
    async fn a_full_queue_counts_what_it_drops_and_the_rest_arrives_in_order() {
        let stats = Arc::new(Stats::new());
        let (mut tx, mut rx) = channel(4, Arc::clone(&stats));
        let sent: Vec<_> = (0..6).map(|_| tx.push(event()).unwrap()).collect();
        assert_eq!(sent.iter().filter(|s| **s == Sent::QueueFull).count(), 2);
        tx.wake();
        let mut out = Vec::new();
        assert_eq!(rx.recv_many(&mut out, 3).await, 3);
        assert_eq!(rx.recv_many(&mut out, 3).await, 1);
        let lost =
            stats
                .losses
                .take_report(LostSource::EventQueue, std::time::Instant::now(), None);
        assert_eq!(lost.map(|l| l.num_events_lost), Some(2));
        drop(tx);
        assert_eq!(rx.recv_many(&mut out, 3).await, 0, "closed and drained");
    }

    #[tokio::test]
    async fn the_decoder_wakes_for_events_pushed_while_it_waits() {
        let (mut tx, mut rx) = channel(16, Arc::new(Stats::new()));
        let waiter = tokio::spawn(async move {
            let mut out = Vec::new();
            rx.recv_many(&mut out, 16).await
        });
        tokio::task::yield_now().await;
        tx.push(event()).unwrap();
        tx.push(event()).unwrap();
        tx.wake();
        let got = tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .unwrap();
        assert!(got >= 1, "{got}");
    }

    #[tokio::test]
    async fn a_reader_waiting_for_room_is_woken_when_the_decoder_takes_a_batch() {
        let (mut tx, mut rx) = channel(2, Arc::new(Stats::new()));
        tx.push(event()).unwrap();
        tx.push(event()).unwrap();
        assert!(!tx.has_room());
        let reader = tokio::spawn(async move {
            tx.room().await;
            tx.has_room()
        });
        tokio::task::yield_now().await;
        let mut out = Vec::new();
        assert_eq!(rx.recv_many(&mut out, 1).await, 1);
        let roomy = tokio::time::timeout(std::time::Duration::from_secs(5), reader)
            .await
            .expect("woken")
            .unwrap();
        assert!(roomy);
    }

    #[test]
    fn a_sender_learns_that_the_decoder_stopped() {
        let (mut tx, rx) = channel(4, Arc::new(Stats::new()));
        drop(rx);
        assert_eq!(tx.push(event()), Err(PipelineClosed));
    }
}
