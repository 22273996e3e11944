//! Pipeline tests: events in through the sender, flows and loss reports out of the ring.

use std::ops::ControlFlow;
use std::time::{Duration, UNIX_EPOCH};

use observe_proto::flow::{LostEventSource, Verdict};
use probe_common::event::{FlowEvent, kind};

use super::*;
use crate::decode::BootClock;
use crate::ring_reader::Item;

fn event(kind: u8, secs: u64) -> MonitorEvent {
    MonitorEvent {
        timestamp: UNIX_EPOCH + Duration::from_secs(secs),
        node_name: "node-1".into(),
        payload: Payload::Flow(FlowEvent {
            kind,
            subtype: if kind == kind::DROP { 133 } else { 0 },
            timestamp_ns: secs * 1_000_000_000,
            ..FlowEvent::default()
        }),
    }
}

fn pipeline(queue_size: usize) -> (Pipeline, EventSender) {
    let config = PipelineConfig {
        queue_size,
        capacity: Capacity::new(63).unwrap(),
        lost_event_interval: Duration::from_millis(10),
        ..PipelineConfig::new("node-1")
    };
    Pipeline::new(config, Decoder::new(BootClock::unix_epoch()))
}

fn stored(state: &ObserverState) -> Vec<Arc<DecodedEvent>> {
    let mut reader = state.ring.reader_at_oldest();
    std::iter::from_fn(|| match reader.next()? {
        Item::Entry(e) => Some(e),
        Item::Lost { .. } => None,
    })
    .collect()
}

#[tokio::test]
async fn flows_reach_the_ring_in_order() {
    let (pipeline, sender) = pipeline(16);
    let state = pipeline.state();
    for secs in 1..=3 {
        assert_eq!(sender.send(event(kind::TRACE, secs)), Ok(Sent::Accepted));
    }
    drop(sender);
    pipeline.run().await;
    let times: Vec<_> = stored(&state)
        .iter()
        .map(|e| e.time().unwrap().seconds)
        .collect();
    assert_eq!(times, [1, 2, 3]);
    let c = state.stats.counters();
    assert_eq!((c.seen, c.decoded, c.errors), (3, 3, 0));
    assert_eq!(stored(&state)[0].to_flow().unwrap().node_name, "node-1");
}

#[tokio::test]
async fn a_full_queue_is_counted_and_reported_once_with_first_and_last_times() {
    let (pipeline, sender) = pipeline(2);
    let state = pipeline.state();
    let outcomes: Vec<_> = (1..=5)
        .map(|s| sender.send(event(kind::TRACE, s)).unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            Sent::Accepted,
            Sent::Accepted,
            Sent::QueueFull,
            Sent::QueueFull,
            Sent::QueueFull
        ]
    );
    drop(sender);
    pipeline.run().await;
    let events = stored(&state);
    assert_eq!(events.len(), 3, "two flows and one loss report");
    let DecodedEvent::Lost(lost) = events.last().unwrap().as_ref() else {
        panic!("expected a loss report, got {events:?}");
    };
    assert_eq!(lost.source(), LostEventSource::ObserverEventsQueue);
    assert_eq!(lost.num_events_lost, 3);
    assert_eq!(
        (lost.first.unwrap().seconds, lost.last.unwrap().seconds),
        (3, 5)
    );
    assert_eq!(state.stats.counters().lost_event_queue, 3);
}

#[tokio::test]
async fn kernel_losses_bypass_the_queue() {
    let (pipeline, sender) = pipeline(1);
    let state = pipeline.state();
    sender.send(event(kind::TRACE, 1)).unwrap();
    // The queue is full now, yet the loss report still counts.
    assert_eq!(sender.send_kernel_loss(7, Some(1)), Ok(Sent::Accepted));
    drop(sender);
    pipeline.run().await;
    let lost: Vec<_> = stored(&state)
        .iter()
        .filter_map(|e| match e.as_ref() {
            DecodedEvent::Lost(l) => Some(*l),
            DecodedEvent::Datapath(_) | DecodedEvent::Flow(_) => None,
        })
        .collect();
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0].source(), LostEventSource::PerfEventRingBuffer);
    assert_eq!(
        (lost[0].num_events_lost, lost[0].cpu.map(|c| c.value)),
        (7, Some(1))
    );
}

#[tokio::test]
async fn losses_are_reported_while_running() {
    let (pipeline, sender) = pipeline(4);
    let state = pipeline.state();
    let mut reader = state.ring.reader_at_end();
    let task = tokio::spawn(pipeline.run());
    sender.send_kernel_loss(2, None).unwrap();
    let item = tokio::time::timeout(Duration::from_secs(5), reader.follow())
        .await
        .expect("reported");
    let Item::Entry(entry) = item else {
        panic!("{item:?}")
    };
    assert!(matches!(entry.as_ref(), DecodedEvent::Lost(l) if l.num_events_lost == 2));
    drop(sender);
    task.await.unwrap();
}

#[tokio::test]
async fn hooks_see_every_flow_and_can_drop_it() {
    let (mut pipeline, sender) = pipeline(16);
    let state = pipeline.state();
    let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = Arc::clone(&seen);
    pipeline.add_hook(move |_: &Flow| {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ControlFlow::Continue(())
    });
    pipeline.add_hook(|flow: &Flow| {
        if flow.verdict() == Verdict::Dropped {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    sender.send(event(kind::DROP, 1)).unwrap();
    sender.send(event(kind::TRACE, 2)).unwrap();
    drop(sender);
    pipeline.run().await;
    assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 2);
    let verdicts: Vec<_> = stored(&state)
        .iter()
        .map(|e| e.to_flow().unwrap().verdict())
        .collect();
    assert_eq!(verdicts, [Verdict::Forwarded]);
}

#[tokio::test]
async fn undecodable_events_are_classified_not_stored() {
    let (pipeline, sender) = pipeline(16);
    let state = pipeline.state();
    sender.send(event(99, 1)).unwrap();
    sender.send(event(kind::TRACE, 2)).unwrap();
    drop(sender);
    pipeline.run().await;
    let c = state.stats.counters();
    assert_eq!((c.seen, c.decoded, c.skipped, c.errors), (2, 1, 1, 0));
}

#[tokio::test]
async fn a_stopped_pipeline_refuses_events() {
    let (pipeline, sender) = pipeline(4);
    drop(pipeline);
    assert_eq!(sender.send(event(kind::TRACE, 1)), Err(PipelineClosed));
    assert_eq!(sender.send_kernel_loss(1, None), Err(PipelineClosed));
}

/// Remembers where the flows it was shown live, for the hooks of one event.
struct Addresses(Arc<std::sync::Mutex<Vec<usize>>>);

impl OnDecodedFlow for Addresses {
    fn on_decoded_flow(&mut self, flow: &Flow) -> ControlFlow<()> {
        self.0
            .lock()
            .unwrap()
            .push(std::ptr::from_ref(flow) as usize);
        ControlFlow::Continue(())
    }

    fn on_stored(&mut self, _position: u64, event: &EventView<'_>) {
        let flow = event.flow().expect("a flow");
        self.0
            .lock()
            .unwrap()
            .push(std::ptr::from_ref(flow) as usize);
    }
}

#[tokio::test]
async fn a_stored_event_is_built_into_a_flow_once_for_all_its_hooks() {
    let (mut pipeline, sender) = pipeline(16);
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    pipeline.add_hook(Addresses(Arc::clone(&seen)));
    pipeline.add_hook(Addresses(Arc::clone(&seen)));
    assert_eq!(sender.send(event(kind::TRACE, 1)), Ok(Sent::Accepted));
    drop(sender);
    pipeline.run().await;
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 4, "two hooks, each shown the flow twice");
    assert!(seen.iter().all(|a| *a == seen[0]), "one flow: {seen:?}");
}
