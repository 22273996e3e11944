//! Loss is data: a tiny ring and a flood, through the real pipeline and service, make
//! every loss source show up in the stream and in `ServerStatus`, with counts that add
//! up to what was sent.

use std::time::{Duration, UNIX_EPOCH};

use observe_proto::flow::LostEventSource;
use observe_proto::observer::observer_client::ObserverClient;
use observe_proto::observer::{
    GetFlowsRequest, ServerStatusRequest, get_flows_response::ResponseTypes,
};
use observer::decode::{BootClock, Decoder};
use observer::event::{MonitorEvent, Payload};
use observer::pipeline::{EventSender, Pipeline, PipelineConfig, Sent};
use observer::ring::Capacity;
use observer::server::{ObserverService, serve_unix};
use probe_common::event::{FlowEvent, kind, obs_point};
use tokio_stream::StreamExt;
use tonic::transport::Channel;

fn event(n: u64) -> MonitorEvent {
    MonitorEvent {
        timestamp: UNIX_EPOCH + Duration::from_secs(n),
        node_name: "node-1".into(),
        payload: Payload::Flow(FlowEvent {
            kind: kind::TRACE,
            subtype: obs_point::TO_ENDPOINT,
            timestamp_ns: 1_000_000_000 + n,
            family: 4,
            protocol: 17,
            dport: 53,
            ..FlowEvent::default()
        }),
    }
}

fn pipeline(ring: usize, queue: usize) -> (Pipeline, EventSender) {
    let config = PipelineConfig {
        capacity: Capacity::new(ring).unwrap(),
        queue_size: queue,
        lost_event_interval: Duration::from_millis(10),
        ..PipelineConfig::new("node-1")
    };
    Pipeline::new(config, Decoder::new(BootClock::unix_epoch()))
}

/// Serves `service` on a fresh socket; the directory goes when the test ends.
async fn serve(
    service: ObserverService,
    tag: &str,
) -> (ObserverClient<Channel>, tempfile::TempDir) {
    let dir = tempfile::Builder::new()
        .prefix(&format!("observer-lost-{tag}-"))
        .tempdir()
        .unwrap();
    let path = dir.path().join("observer.sock");
    let server_path = path.clone();
    tokio::spawn(async move {
        serve_unix(service, &server_path, std::future::pending())
            .await
            .unwrap();
    });
    for _ in 0..200 {
        if path.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let server = format!("unix://{}", path.display());
    let channel = observe_proto::client::connect(&server, Duration::from_secs(5))
        .await
        .unwrap();
    (ObserverClient::new(channel), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_queue_and_ring_report_losses_from_every_source() {
    let (pipeline, sender) = pipeline(7, 16);
    let state = pipeline.state();
    // The flood arrives before the decoder runs: the queue keeps 16 events.
    let outcomes: Vec<Sent> = (0..1000).map(|n| sender.send(event(n)).unwrap()).collect();
    let queue_full = outcomes.iter().filter(|o| **o == Sent::QueueFull).count() as u64;
    assert_eq!(queue_full, 984);
    sender.send_kernel_loss(3, Some(1)).unwrap();
    drop(sender);
    pipeline.run().await;

    let (mut client, _dir) = serve(ObserverService::new(state), "tiny").await;
    let responses: Vec<_> = client
        .get_flows(GetFlowsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    let lost: Vec<(LostEventSource, u64)> = responses
        .iter()
        .filter_map(|r| match &r.response_types {
            Some(ResponseTypes::LostEvents(l)) => Some((l.source(), l.num_events_lost)),
            _ => None,
        })
        .collect();
    let flows = responses.len() - lost.len();
    // 16 flows and 2 loss reports went into a 7-slot ring: 11 were overwritten.
    assert_eq!(
        lost,
        [
            (LostEventSource::HubbleRingBuffer, 11),
            (LostEventSource::PerfEventRingBuffer, 3),
            (LostEventSource::ObserverEventsQueue, 984),
        ]
    );
    assert_eq!(flows, 5);

    let status = client
        .server_status(ServerStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    let totals: Vec<_> = status
        .lost_events
        .iter()
        .map(|l| (l.source(), l.num_events_lost))
        .collect();
    assert_eq!(
        totals,
        [
            (LostEventSource::PerfEventRingBuffer, 3),
            (LostEventSource::ObserverEventsQueue, 984),
        ]
    );
    assert_eq!(
        (status.num_flows, status.max_flows, status.seen_flows),
        (7, 7, 16)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_that_does_not_keep_up_is_told_how_many_flows_it_missed() {
    let (pipeline, sender) = pipeline(7, 4096);
    let state = pipeline.state();
    let running = tokio::spawn(pipeline.run());
    let (mut client, _dir) = serve(ObserverService::new(state.clone()), "follow").await;
    let follow = GetFlowsRequest {
        follow: true,
        ..Default::default()
    };
    let mut stream = client.get_flows(follow).await.unwrap().into_inner();
    // The follower is registered once the server answered the call; now flood while it
    // does not read, pacing the sender so that nothing is lost at the queue.
    let total = 20_000u64;
    let stats = std::sync::Arc::clone(&state.stats);
    let flood = std::thread::spawn(move || {
        for n in 0..total {
            // Never more than half the queue in flight: a full queue would drop events
            // (counted, but then the counts below would mix two sources).
            while n.saturating_sub(stats.counters().seen) >= 2048 {
                std::thread::sleep(Duration::from_millis(1));
            }
            assert_eq!(sender.send(event(n)).unwrap(), Sent::Accepted);
        }
    });
    flood.join().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while state.stats.counters().decoded < total {
        assert!(std::time::Instant::now() < deadline, "pipeline stalled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (mut flows, mut missed) = (0u64, 0u64);
    while flows + missed < total {
        let Ok(response) = tokio::time::timeout(Duration::from_secs(10), stream.next()).await
        else {
            panic!("the follower stopped at {flows} flows and {missed} missed of {total}");
        };
        let response = response.unwrap().unwrap();
        match response.response_types.unwrap() {
            ResponseTypes::Flow(_) => flows += 1,
            ResponseTypes::LostEvents(l) => {
                assert_eq!(l.source(), LostEventSource::HubbleRingBuffer);
                missed += l.num_events_lost;
            }
            ResponseTypes::NodeStatus(_) => unreachable!(),
        }
    }
    assert_eq!(
        flows + missed,
        total,
        "every flow is either sent or counted"
    );
    assert!(missed > 0 && flows > 0, "flows {flows}, missed {missed}");
    let status = client
        .server_status(ServerStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    let ring_lost = status
        .lost_events
        .iter()
        .find(|l| l.source() == LostEventSource::HubbleRingBuffer)
        .map(|l| l.num_events_lost);
    assert_eq!(ring_lost, Some(missed));
    assert_eq!(
        state.stats.counters().lost_event_queue,
        0,
        "paced: no queue loss"
    );
    drop(stream);
    running.abort();
}
