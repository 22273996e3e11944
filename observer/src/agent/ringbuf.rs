//! Where events cross from the kernel: drains the datapath's BPF ring buffer as it becomes
//! readable (tokio `AsyncFd`), hands each event to the pipeline without blocking, and
//! reports the events the kernel could not write (its per-CPU "ring buffer full" counter)
//! as losses.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aya::maps::{MapData, RingBuf};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::Agent;
use crate::event::{MonitorEvent, Payload, flow_event_from_bytes};
use crate::pipeline::{EventSender, PipelineClosed};

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
    let mut malformed = 0u64;
    loop {
        let mut guard = fd.readable_mut().await?;
        let ring = guard.get_inner_mut();
        while let Some(record) = ring.next() {
            let event = match flow_event_from_bytes(&record) {
                Ok(ev) => MonitorEvent {
                    timestamp: SystemTime::now(),
                    node_name: node.clone(),
                    payload: Payload::Flow(ev),
                },
                Err(_) => {
                    malformed += 1;
                    tracing::debug!("malformed ring-buffer record ({malformed} so far)");
                    continue;
                }
            };
            if let Err(PipelineClosed) = sender.send(event) {
                return Ok(());
            }
        }
        guard.clear_ready();
    }
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
