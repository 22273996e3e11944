//! Where events cross from the kernel: drains the datapath's BPF ring buffer as it becomes
//! readable (tokio `AsyncFd`), hands every record to the pipeline's lock-free queue without
//! blocking (waking the decoder once per drain, not per record), and reports the events
//! the kernel could not write (its per-CPU "ring buffer full" counter) as losses.
//!
//! Records are passed on as they are: one too short to be an event becomes
//! [`Payload::Malformed`], which the pipeline counts as a decode error like any other, so
//! what was offered still adds up to what was seen plus what was counted lost.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aya::maps::{MapData, RingBuf};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::Agent;
use crate::event::{MonitorEvent, Payload};
use crate::pipeline::{EventSender, KernelSender, PipelineClosed, Sent};

/// Drains the ring buffer until the pipeline closes.
///
/// The datapath wakes the reader at most about once a millisecond per CPU while events
/// keep coming ([`probe_common::wakeup`]), so after a wake-up, or a drain that found
/// events, the reader looks again within that interval whether or not it is woken: an
/// event written without a wake-up waits at most that long.
pub async fn drain(
    ring: RingBuf<MapData>,
    mut sender: KernelSender,
    node: Arc<str>,
) -> std::io::Result<()> {
    // SAFETY (of the registration, per tokio's contract): the ring buffer's fd stays open
    // for as long as the AsyncFd owns the RingBuf.
    let mut fd = unsafe { AsyncFd::register_with_interest(ring, Interest::READABLE) }
        .map_err(std::io::Error::from)?;
    let mut look_again = false;
    loop {
        let woken = if look_again {
            tokio::time::timeout(LOOK_AGAIN, fd.readable_mut())
                .await
                .ok()
        } else {
            Some(fd.readable_mut().await)
        };
        let was_woken = woken.is_some();
        let drained = match woken.transpose()? {
            Some(mut guard) => {
                // Cleared before draining: a wake-up for anything written from now on
                // raises readiness again.
                guard.clear_ready();
                drain_once(guard.get_inner_mut(), &mut sender, &node).await
            }
            None => drain_once(fd.get_mut(), &mut sender, &node).await,
        };
        let Ok(drained) = drained else {
            return Ok(());
        };
        look_again = drained > 0 || was_woken;
    }
}

/// How soon the reader looks again after a wake-up or a drain that found events.
const LOOK_AGAIN: Duration = Duration::from_nanos(probe_common::wakeup::INTERVAL_NS);

/// Hands every record in the ring to the pipeline, waiting for room in its queue when it
/// is full (the rest waits in the kernel's ring meanwhile), then wakes the decoder once;
/// how many.
async fn drain_once(
    ring: &mut RingBuf<MapData>,
    sender: &mut KernelSender,
    node: &Arc<str>,
) -> Result<usize, PipelineClosed> {
    // One clock reading per batch: it stamps only loss reports (flows carry the kernel's).
    let mut now = SystemTime::now();
    let mut drained = 0;
    loop {
        if !sender.has_room() {
            sender.room().await;
            now = SystemTime::now();
        }
        let Some(record) = ring.next() else {
            break;
        };
        forward(&record, now, sender, node)?;
        drained += 1;
    }
    sender.wake();
    Ok(drained)
}

/// Hands one ring-buffer record to the pipeline, malformed or not.
fn forward(
    record: &[u8],
    timestamp: SystemTime,
    sender: &mut KernelSender,
    node: &Arc<str>,
) -> Result<Sent, PipelineClosed> {
    sender.push(MonitorEvent {
        timestamp,
        node_name: Arc::clone(node),
        payload: Payload::from_record(record),
    })
}

/// Polls the datapath's "ring buffer full" counter once per `interval` and reports its
/// growth as kernel-ring losses.
pub async fn report_kernel_losses(
    agent: Arc<Mutex<Agent>>,
    sender: EventSender,
    interval: Duration,
) {
    let mut last: Option<u64> = None;
    let mut tick = tokio::time::interval(interval);
    loop {
        tick.tick().await;
        let agent = agent.clone();
        let read = tokio::task::spawn_blocking(move || {
            agent
                .lock()
                .ok()
                .and_then(|mut a| a.datapath().counter_map().read().ok())
        });
        let Ok(Some(counters)) = read.await else {
            continue;
        };
        let now = counters.ringbuf_lost;
        if let Some(before) = last.filter(|b| now > *b)
            && sender.send_kernel_loss(now - before, None).is_err()
        {
            return;
        }
        last = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use probe_common::event::kind;

    use super::*;
    use crate::decode::{BootClock, Decoder};
    use crate::pipeline::{Pipeline, PipelineConfig};

    #[tokio::test]
    async fn malformed_ring_buffer_records_are_counted_by_the_pipeline_as_decode_errors() {
        let decoder = Decoder::new(BootClock::unix_epoch());
        let (mut pipeline, _) = Pipeline::new(PipelineConfig::new("node-1"), decoder);
        let mut sender = pipeline.kernel_sender();
        let state = pipeline.state();
        let node: Arc<str> = Arc::from("node-1");
        // A drop, as the kernel writes it (the kind is the ninth byte).
        let mut whole = [0u8; 80];
        whole[8] = kind::DROP;
        let records: [&[u8]; 4] = [&whole, &whole[..79], &[], &whole];
        for record in records {
            assert_eq!(
                forward(record, SystemTime::now(), &mut sender, &node),
                Ok(Sent::Accepted)
            );
        }
        sender.wake();
        drop(sender);
        pipeline.run().await;
        let c = state.stats.counters();
        assert_eq!((c.seen, c.decoded, c.errors), (4, 2, 2), "{c:?}");
        assert_eq!(
            c.seen + c.lost_event_queue,
            records.len() as u64,
            "offered = seen + lost"
        );
    }
}
