//! Under a flood (a sender that never waits, far faster than the decoder), memory stays
//! bounded by the ring and the queue, and `ServerStatus` keeps answering promptly.
//!
//! A test binary of its own: resident memory is per process, and other tests running in
//! parallel would blur the figure.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, UNIX_EPOCH};

use observe_proto::observer::ServerStatusRequest;
use observe_proto::observer::observer_client::ObserverClient;
use observer::decode::{BootClock, Decoder};
use observer::event::{MonitorEvent, Payload};
use observer::pipeline::{Pipeline, PipelineConfig, Sent};
use observer::ring::Capacity;
use observer::server::{ObserverService, serve_unix};
use probe_common::event::{FlowEvent, kind, obs_point};

const RING: usize = 16_383;
const QUEUE: usize = 4_096;
/// Growth of resident memory allowed while the flood goes on after the ring is full.
const RSS_SLACK_MB: f64 = 48.0;
/// Longest a `ServerStatus` call may take during the flood.
const STATUS_DEADLINE: Duration = Duration::from_secs(1);

fn event(n: u64) -> MonitorEvent {
    MonitorEvent {
        timestamp: UNIX_EPOCH + Duration::from_secs(n),
        node_name: "node-1".into(),
        payload: Payload::Flow(FlowEvent {
            kind: kind::TRACE,
            subtype: obs_point::TO_ENDPOINT,
            timestamp_ns: n,
            family: 4,
            protocol: 6,
            tcp_flags: 0x02,
            sport: (n % 60_000) as u16,
            dport: 443,
            saddr: [
                10,
                0,
                (n >> 8) as u8,
                n as u8,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
            ],
            daddr: [10, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ..FlowEvent::default()
        }),
    }
}

/// This process's resident memory in MiB (`VmRSS` in /proc/self/status).
fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_is_bounded_and_status_answers_while_the_pipeline_is_saturated() {
    let config = PipelineConfig {
        capacity: Capacity::new(RING).unwrap(),
        queue_size: QUEUE,
        ..PipelineConfig::new("node-1")
    };
    let (pipeline, sender) = Pipeline::new(config, Decoder::new(BootClock::unix_epoch()));
    let state = pipeline.state();
    let running = tokio::spawn(pipeline.run());
    let dir = tempfile::Builder::new()
        .prefix("observer-flood-")
        .tempdir()
        .unwrap();
    let socket = dir.path().join("observer.sock");
    let server_socket = socket.clone();
    let service = ObserverService::new(state.clone());
    tokio::spawn(async move {
        serve_unix(service, &server_socket, std::future::pending())
            .await
            .unwrap();
    });

    // The flood: a thread that sends as fast as it can until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let (sent, full) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let flood = {
        let (stop, sent, full) = (Arc::clone(&stop), Arc::clone(&sent), Arc::clone(&full));
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if sender.send(event(n)).unwrap() == Sent::QueueFull {
                    full.fetch_add(1, Ordering::Relaxed);
                }
                n += 1;
                sent.store(n, Ordering::Relaxed);
            }
        })
    };

    // Warm up: the ring fills once (every slot holds a flow), then memory is measured.
    let warm = Instant::now();
    while state.ring.len() < RING as u64 {
        assert!(
            warm.elapsed() < Duration::from_secs(60),
            "ring never filled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let server = format!("unix://{}", socket.display());
    let channel = observe_proto::client::connect(&server, Duration::from_secs(5))
        .await
        .unwrap();
    let mut client = ObserverClient::new(channel);
    client.server_status(ServerStatusRequest {}).await.unwrap();
    let rss_full_ring = rss_mb();
    let decoded_at_start = state.stats.counters().decoded;

    // Saturated: status calls every 50 ms for 3 s, each within the deadline.
    let mut slowest = Duration::ZERO;
    let mut calls = 0;
    let flood_time = Instant::now();
    while flood_time.elapsed() < Duration::from_secs(3) {
        let asked = Instant::now();
        let status = tokio::time::timeout(
            STATUS_DEADLINE,
            client.server_status(ServerStatusRequest {}),
        )
        .await
        .expect("ServerStatus answered within the deadline")
        .unwrap()
        .into_inner();
        slowest = slowest.max(asked.elapsed());
        calls += 1;
        assert_eq!(status.max_flows, RING as u64);
        assert!(status.num_flows <= RING as u64);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rss_after = rss_mb();
    stop.store(true, Ordering::Relaxed);
    flood.join().unwrap();
    running.await.unwrap();

    let decoded = state.stats.counters().decoded - decoded_at_start;
    let (sent, full) = (sent.load(Ordering::Relaxed), full.load(Ordering::Relaxed));
    eprintln!(
        "flood: {sent} sent, {full} dropped at the queue, {decoded} decoded during the \
         measurement; RSS {rss_full_ring:.1} MiB with a full ring, {rss_after:.1} MiB \
         after; {calls} status calls, slowest {slowest:?}"
    );
    assert!(
        full > 0,
        "the pipeline was saturated (the queue overflowed)"
    );
    assert!(
        decoded > 2 * RING as u64,
        "the ring turned over during the measurement ({decoded} flows)"
    );
    assert!(
        rss_after - rss_full_ring < RSS_SLACK_MB,
        "resident memory grew by {:.1} MiB",
        rss_after - rss_full_ring
    );
    assert_eq!(state.ring.len(), RING as u64, "the ring cap holds");
    assert!(
        state.stats.queue_depth() <= QUEUE as u64,
        "the queue cap holds"
    );
    assert_eq!(state.stats.counters().lost_event_queue, full);
}
