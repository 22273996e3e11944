//! The pipeline: one loop from the event queue to the flow ring.
//!
//! ```text
//! KernelSender::push ──SPSC (queue)──┐
//! EventSender::send ──try_send──▶ bounded queue ──▶ Pipeline::run
//!     │ queue full: count EventQueue loss                │ decode (errors classified here only,
//!     │                                                  │   malformed ring records included)
//!     │ Payload::Lost: count its source                  │ on_decoded_flow hooks
//!     ▼                                                  │ ring write
//!   Losses ──(at most once per interval per source)──────┴▶ LostEvent into the ring
//! ```
//!
//! The senders never block: the ring-buffer source must keep draining the BPF ring, so
//! when the decoder falls behind, events are dropped at the queue and counted, and a
//! `LostEvent` with the count and the first/last times goes into the ring. The kernel
//! ring's reader has a lock-free queue of its own ([`KernelSender`]); the proxies and the
//! loss reporters share the channel. Stored events wake the ring's followers once per
//! batch.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use observe_proto::flow::Flow;
use tokio::sync::mpsc::{self, error::TrySendError};

use crate::decode::{Decoder, ParseError};
use crate::event::{DecodedEvent, EventView, LostSource, MonitorEvent, Payload};
use crate::namespaces::Namespaces;
use crate::ring::{Capacity, Ring, RingWriter};
use crate::stats::Stats;

/// The flow ring as the pipeline fills it.
pub type FlowRing = Ring<Arc<DecodedEvent>>;

/// Events taken from the queue per loop iteration.
const BATCH: usize = 256;

/// Pipeline settings.
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    /// Name of this node, stamped on flows and responses.
    pub node_name: Arc<str>,
    /// Flow ring capacity.
    pub capacity: Capacity,
    /// Slots of the queue between the ring-buffer source and the decoder.
    pub queue_size: usize,
    /// Minimum time between two loss reports of the same source.
    pub lost_event_interval: Duration,
}

impl PipelineConfig {
    /// Defaults for `node_name`: Hubble's 4,095 flows, 1,024 queue slots per CPU (at most
    /// 16,384), loss reports at most once per second.
    pub fn new(node_name: impl Into<Arc<str>>) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            node_name: node_name.into(),
            capacity: Capacity::DEFAULT,
            queue_size: (cpus * 1024).min(16_384),
            lost_event_interval: Duration::from_secs(1),
        }
    }
}

/// What the server reads: the ring, the counters, the namespaces, the node name.
#[derive(Clone, Debug)]
pub struct ObserverState {
    /// The flow history.
    pub ring: Arc<FlowRing>,
    /// Counters and losses.
    pub stats: Arc<Stats>,
    /// Namespaces of recent flows.
    pub namespaces: Arc<Namespaces>,
    /// This node's name.
    pub node_name: Arc<str>,
}

/// Called for every decoded flow before it is stored; `Break` drops the flow (and skips
/// later hooks). Metrics and exporters attach here.
///
/// Two optional callbacks follow the flow further: [`OnDecodedFlow::on_stored`] sees every
/// event once it is in the ring, with its position (flows that passed every hook, and
/// loss reports), which is what history needs; [`OnDecodedFlow::on_batch_end`] runs
/// after each batch, when buffered output should be flushed.
pub trait OnDecodedFlow: Send {
    /// Sees one flow (hooks that only follow stored events keep the default: continue).
    fn on_decoded_flow(&mut self, _flow: &Flow) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }

    /// Whether [`OnDecodedFlow::on_decoded_flow`] needs to see flows. Datapath events are
    /// kept in the ring undecoded ([`crate::decode::StoredFlow`]); their flow is built for
    /// the hooks only when one of them says yes. Hooks that only follow stored events
    /// say no.
    fn sees_flows(&self) -> bool {
        true
    }

    /// Sees an event just written to the ring at `position` (its flow, if a hook asks,
    /// is built once for all hooks).
    fn on_stored(&mut self, _position: u64, _event: &EventView<'_>) {}

    /// The pipeline finished a batch (or a loss report outside one).
    fn on_batch_end(&mut self) {}
}

impl<F: FnMut(&Flow) -> ControlFlow<()> + Send> OnDecodedFlow for F {
    fn on_decoded_flow(&mut self, flow: &Flow) -> ControlFlow<()> {
        self(flow)
    }
}

/// The ring-buffer source's handle: hands events to the pipeline without ever blocking.
#[derive(Clone, Debug)]
pub struct EventSender {
    tx: mpsc::Sender<MonitorEvent>,
    stats: Arc<Stats>,
}

/// What became of a sent event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// Queued for decoding, or (loss reports) counted.
    Accepted,
    /// The queue was full: the event was dropped and counted as an `EventQueue` loss.
    QueueFull,
}

/// The pipeline has stopped; nothing will read events any more.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the observer pipeline has stopped")]
pub struct PipelineClosed;

impl EventSender {
    /// Hands `event` to the pipeline. Loss reports are counted right away (they must not
    /// be lost to a full queue themselves); flow events and malformed records are queued
    /// (the decoder judges them), or dropped and counted when the queue is full.
    ///
    /// # Errors
    ///
    /// [`PipelineClosed`] once the pipeline has stopped.
    pub fn send(&self, event: MonitorEvent) -> Result<Sent, PipelineClosed> {
        if let Payload::Lost { source, count, cpu } = event.payload {
            if self.tx.is_closed() {
                return Err(PipelineClosed);
            }
            self.stats
                .losses
                .record(source, count, cpu, event.timestamp, true);
            return Ok(Sent::Accepted);
        }
        match self.tx.try_send(event) {
            Ok(()) => Ok(Sent::Accepted),
            Err(TrySendError::Full(event)) => {
                self.stats
                    .losses
                    .record(LostSource::EventQueue, 1, None, event.timestamp, true);
                Ok(Sent::QueueFull)
            }
            Err(TrySendError::Closed(_)) => Err(PipelineClosed),
        }
    }

    /// Reports `count` events lost in the kernel ring buffer (the delta of the kernel's
    /// counter since the last report).
    ///
    /// # Errors
    ///
    /// [`PipelineClosed`] once the pipeline has stopped.
    pub fn send_kernel_loss(&self, count: u64, cpu: Option<i32>) -> Result<Sent, PipelineClosed> {
        let payload = Payload::Lost {
            source: LostSource::KernelRing,
            count,
            cpu,
        };
        self.send(MonitorEvent {
            timestamp: SystemTime::now(),
            node_name: Arc::from(""),
            payload,
        })
    }
}

/// The decode loop; run it with [`Pipeline::run`].
pub struct Pipeline {
    rx: mpsc::Receiver<MonitorEvent>,
    /// The kernel ring reader's queue, once [`Pipeline::kernel_sender`] made it.
    kernel: Option<KernelReceiver>,
    queue_size: usize,
    decoder: Decoder,
    writer: RingWriter<Arc<DecodedEvent>>,
    hooks: Vec<Box<dyn OnDecodedFlow>>,
    state: ObserverState,
    lost_event_interval: Duration,
}

impl Pipeline {
    /// A pipeline decoding with `decoder`, and the sender that feeds it.
    pub fn new(config: PipelineConfig, decoder: Decoder) -> (Self, EventSender) {
        let (tx, rx) = mpsc::channel(config.queue_size.max(1));
        let (ring, writer) = Ring::new(config.capacity);
        let stats = Arc::new(Stats::new());
        let state = ObserverState {
            ring,
            stats: Arc::clone(&stats),
            namespaces: Arc::new(Namespaces::default()),
            node_name: config.node_name,
        };
        let pipeline = Self {
            rx,
            kernel: None,
            queue_size: config.queue_size,
            decoder,
            writer,
            hooks: Vec::new(),
            state,
            lost_event_interval: config.lost_event_interval,
        };
        (pipeline, EventSender { tx, stats })
    }

    /// The sender for the one task that drains the kernel's ring buffer: a lock-free
    /// queue of the configured size, apart from the [`EventSender`]'s channel (see
    /// [`queue`]). A second call replaces the first queue.
    pub fn kernel_sender(&mut self) -> KernelSender {
        let (tx, rx) = queue::channel(self.queue_size, Arc::clone(&self.state.stats));
        self.kernel = Some(rx);
        tx
    }

    /// Adds a hook, run after the ones added before.
    pub fn add_hook(&mut self, hook: impl OnDecodedFlow + 'static) {
        self.hooks.push(Box::new(hook));
    }

    /// The state the server needs.
    pub fn state(&self) -> ObserverState {
        self.state.clone()
    }

    /// Runs until every [`EventSender`] and the [`KernelSender`] are dropped and their
    /// queues drained, then reports pending losses one last time.
    pub async fn run(mut self) {
        // The first report is due an interval in, not at once: an immediate first tick
        // could report losses counted before start ahead of the events queued with them
        // (and, in a small ring, under them).
        let interval = self.lost_event_interval;
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let (mut batch, mut kernel_batch) = (Vec::with_capacity(BATCH), Vec::with_capacity(BATCH));
        let (mut senders_open, mut kernel_open) = (true, self.kernel.is_some());
        while senders_open || kernel_open {
            let kernel = self.kernel.as_mut();
            tokio::select! {
                n = self.rx.recv_many(&mut batch, BATCH), if senders_open => {
                    senders_open = n > 0;
                    self.process_batch(&mut batch);
                }
                n = recv_kernel(kernel, &mut kernel_batch), if kernel_open => {
                    kernel_open = n > 0;
                    self.process_batch(&mut kernel_batch);
                }
                _ = tick.tick() => self.report_losses(Some(self.lost_event_interval)),
            }
        }
        self.report_losses(None);
    }

    fn process_batch(&mut self, batch: &mut Vec<MonitorEvent>) {
        if batch.is_empty() {
            return;
        }
        let stats = Arc::clone(&self.state.stats);
        stats.add_seen(batch.len() as u64);
        let kernel = self.kernel.as_ref().map_or(0, KernelReceiver::len);
        stats.set_queue_depth((self.rx.len() + kernel) as u64);
        let now = Instant::now();
        let mut stored = 0;
        for event in batch.drain(..) {
            if self.process(&event, now) {
                stored += 1;
            }
        }
        stats.add_decoded(stored);
        self.end_batch();
    }

    /// Decodes and stores one event; whether a flow was stored.
    fn process(&mut self, event: &MonitorEvent, now: Instant) -> bool {
        if let Payload::Lost { source, count, cpu } = event.payload {
            // Normally counted by the sender; accept them through the queue too.
            self.state
                .stats
                .losses
                .record(source, count, cpu, event.timestamp, true);
            return false;
        }
        let decoded = match self.decoder.decode_event(event) {
            Ok(decoded) => decoded,
            Err(err) => {
                self.on_decode_error(&err);
                return false;
            }
        };
        let decoded = Arc::new(decoded);
        let view = EventView::new(&decoded);
        if !self.run_flow_hooks(&view) {
            return false;
        }
        self.state.namespaces.observe(decoded.namespaces(), now);
        self.store(&decoded, &view);
        true
    }

    /// Runs the hooks that see flows (building the flow if any does); whether the event
    /// is to be kept.
    fn run_flow_hooks(&mut self, view: &EventView<'_>) -> bool {
        if !self.hooks.iter().any(|h| h.sees_flows()) {
            return true;
        }
        let Some(flow) = view.flow() else {
            return true;
        };
        self.hooks
            .iter_mut()
            .all(|hook| hook.on_decoded_flow(flow).is_continue())
    }

    /// Writes `event` (seen through `view`) to the ring and tells the hooks where it went.
    fn store(&mut self, event: &Arc<DecodedEvent>, view: &EventView<'_>) {
        let position = self.writer.ring().write_position();
        self.writer.append(Arc::clone(event));
        for hook in &mut self.hooks {
            hook.on_stored(position, view);
        }
    }

    /// Wakes the ring's followers once for the batch, then tells the hooks.
    fn end_batch(&mut self) {
        self.writer.publish();
        for hook in &mut self.hooks {
            hook.on_batch_end();
        }
    }

    /// The one place that decides what a decode error is worth: benign ones are only
    /// counted, others are counted and logged at debug level (never per event at a higher
    /// level: a broken datapath would flood the log).
    fn on_decode_error(&self, err: &ParseError) {
        if err.is_benign() {
            self.state.stats.add_skipped();
        } else {
            self.state.stats.add_error();
            tracing::debug!(error = %err, "dropping an event that could not be decoded");
        }
    }

    /// Writes pending loss reports into the ring (kernel ring, then event queue).
    fn report_losses(&mut self, interval: Option<Duration>) {
        let now = Instant::now();
        let mut reported = false;
        for source in [LostSource::KernelRing, LostSource::EventQueue] {
            if let Some(lost) = self.state.stats.losses.take_report(source, now, interval) {
                let event = Arc::new(DecodedEvent::Lost(lost));
                self.store(&event, &EventView::new(&event));
                reported = true;
            }
        }
        if reported {
            self.end_batch();
        }
    }
}

/// The next batch from the kernel ring reader's queue (0 once it is closed and drained).
async fn recv_kernel(kernel: Option<&mut KernelReceiver>, batch: &mut Vec<MonitorEvent>) -> usize {
    match kernel {
        Some(kernel) => kernel.recv_many(batch, BATCH).await,
        None => 0,
    }
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("state", &self.state)
            .field("hooks", &self.hooks.len())
            .finish_non_exhaustive()
    }
}

mod queue;

use queue::KernelReceiver;
pub use queue::KernelSender;

#[cfg(test)]
mod tests;
