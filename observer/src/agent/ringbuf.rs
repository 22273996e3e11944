//! Where events cross from the kernel: drains the datapath's BPF ring buffer as it becomes
//! readable (tokio `AsyncFd`), hands every record to the pipeline without blocking, and
//! reports the events the kernel could not write (its per-CPU "ring buffer full" counter)
//! as losses.
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
use crate::pipeline::{EventSender, PipelineClosed, Sent};

/// Drains the ring buffer until the pipeline closes.
pub async fn drain(
    ring: RingBuf<MapData>,
    sender: EventSender,
    node: Arc<str>,
) -> std::io::Result<()> {
    // SAFETY (of the registration, per tokio's contract): the ring buffer's fd stays open
    // for as long as the AsyncFd owns the RingBuf.
    let mut fd = unsafe { AsyncFd::register_with_interest(ring, Interest::READABLE) }
        .map_err(std::io::Error::from)?;
    loop {
        let mut guard = fd.readable_mut().await?;
        let ring = guard.get_inner_mut();
        while let Some(record) = ring.next() {
            if let Err(PipelineClosed) = forward(&record, &sender, &node) {
                return Ok(());
            }
        }
        guard.clear_ready();
    }
}

/// Hands one ring-buffer record to the pipeline, malformed or not.
fn forward(record: &[u8], sender: &EventSender, node: &Arc<str>) -> Result<Sent, PipelineClosed> {
    sender.send(MonitorEvent {
        timestamp: SystemTime::now(),
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
        let (pipeline, sender) = Pipeline::new(PipelineConfig::new("node-1"), decoder);
        let state = pipeline.state();
        let node: Arc<str> = Arc::from("node-1");
        // A drop, as the kernel writes it (the kind is the ninth byte).
        let mut whole = [0u8; 80];
        whole[8] = kind::DROP;
        let records: [&[u8]; 4] = [&whole, &whole[..79], &[], &whole];
        for record in records {
            assert_eq!(forward(record, &sender, &node), Ok(Sent::Accepted));
        }
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
