//! `GetFlows` with the on-disk history: requests older than the ring read disk first,
//! then the ring, in order and without overlap; a lapped follower is refilled from disk.

use std::sync::Arc;

use crate::history::{History, HistoryConfig, HistoryWriter};

use super::*;

/// A ring and a history fed together, as the pipeline feeds them.
struct Store {
    writer: Writer,
    history_writer: HistoryWriter,
    history: Arc<History>,
    /// Shared by a store reopened on the same directory, removed with the last.
    dir: Arc<tempfile::TempDir>,
}

fn store(writer: Writer, max_bytes: u64, segment_bytes: u64) -> Store {
    let dir = Arc::new(
        tempfile::Builder::new()
            .prefix("observer-get-flows-history-")
            .tempdir()
            .unwrap(),
    );
    let config = HistoryConfig {
        dir: dir.path().to_path_buf(),
        max_bytes,
        segment_bytes,
    };
    let (history, history_writer) = History::open(config).unwrap();
    Store {
        writer,
        history_writer,
        history,
        dir,
    }
}

impl Store {
    /// Writes flows `secs` to both, committing history after each.
    fn fill(&mut self, secs: std::ops::RangeInclusive<i64>) {
        for s in secs {
            let verdict = if s % 2 == 0 {
                Verdict::Dropped
            } else {
                Verdict::Forwarded
            };
            let event = flow(s, verdict);
            let position = self.writer.ring().write_position();
            self.writer.write(Arc::clone(&event));
            self.history_writer
                .append(position, &crate::event::EventView::new(&event));
            self.history_writer.commit();
        }
    }
}

async fn serve_with(state: ObserverState, history: &Arc<History>) -> Served {
    serve_service(ObserverService::new(state).with_history(Arc::clone(history))).await
}

fn at(secs: i64) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: secs,
        nanos: 0,
    })
}

fn flows(range: std::ops::RangeInclusive<i64>) -> Vec<String> {
    range.map(|s| format!("flow-{s}")).collect()
}

#[tokio::test]
async fn flows_older_than_the_ring_come_back_from_disk_then_the_ring() {
    let (state, writer) = state(7);
    let mut store = store(writer, 1 << 20, 1 << 20);
    store.fill(1..=20);
    let mut served = serve_with(state, &store.history).await;
    let since = GetFlowsRequest {
        since: at(3),
        ..Default::default()
    };
    assert_eq!(
        describe(&collect(&mut served.client, since).await),
        flows(3..=20)
    );
    let everything = GetFlowsRequest::default();
    assert_eq!(
        describe(&collect(&mut served.client, everything).await),
        flows(1..=20),
        "no notice: nothing was deleted"
    );
    let first = GetFlowsRequest {
        first: true,
        number: 5,
        ..Default::default()
    };
    assert_eq!(
        describe(&collect(&mut served.client, first).await),
        flows(1..=5)
    );
    let last = GetFlowsRequest {
        number: 10,
        ..Default::default()
    };
    assert_eq!(
        describe(&collect(&mut served.client, last).await),
        flows(11..=20),
        "3 from disk, 7 from the ring"
    );
    let dropped_last = GetFlowsRequest {
        number: 6,
        whitelist: vec![FlowFilter {
            verdict: vec![Verdict::Dropped as i32],
            ..Default::default()
        }],
        ..Default::default()
    };
    assert_eq!(
        describe(&collect(&mut served.client, dropped_last).await),
        [
            "flow-10", "flow-12", "flow-14", "flow-16", "flow-18", "flow-20"
        ]
    );
    let window = GetFlowsRequest {
        since: at(2),
        until: at(4),
        ..Default::default()
    };
    assert_eq!(
        describe(&collect(&mut served.client, window).await),
        flows(2..=4)
    );
}

#[tokio::test]
async fn the_notice_says_where_the_stored_history_starts() {
    let (state, writer) = state(7);
    let mut store = store(writer, 2048, 512);
    store.fill(1..=200);
    let discarded = store.history.discarded();
    assert!(discarded.events > 0, "the cap deleted something");
    let (oldest_seq, oldest_time) = store.history.oldest().unwrap();
    let mut served = serve_with(state, &store.history).await;
    let responses = collect(&mut served.client, GetFlowsRequest::default()).await;
    let Some(ResponseTypes::LostEvents(notice)) = &responses[0].response_types else {
        panic!("a notice first: {:?}", describe(&responses));
    };
    assert_eq!(notice.source(), LostEventSource::HubbleRingBuffer);
    assert_eq!(notice.num_events_lost, discarded.events);
    assert_eq!(notice.first.unwrap().seconds, 1);
    assert_eq!(responses[0].time, oldest_time, "history starts here");
    let first_flow = oldest_seq as i64 + 1;
    assert_eq!(describe(&responses[1..]), flows(first_flow..=200));
    let covered = GetFlowsRequest {
        since: at(first_flow + 2),
        ..Default::default()
    };
    assert_eq!(
        describe(&collect(&mut served.client, covered).await),
        flows(first_flow + 2..=200),
        "a window inside the stored history has no notice"
    );
}

#[tokio::test]
async fn a_lapped_follower_gets_the_flows_it_missed_from_disk() {
    let (state, writer) = state(7);
    let mut store = store(writer, 1 << 20, 1 << 20);
    let query = get_flows::FlowQuery::new(&GetFlowsRequest {
        follow: true,
        ..Default::default()
    })
    .unwrap();
    let (tx, mut rx) = mpsc::channel(1);
    let history = Some(Arc::clone(&store.history));
    let task = tokio::spawn(get_flows::run(state.clone(), history, query, tx));
    tokio::time::sleep(Duration::from_millis(20)).await;
    store.fill(1..=100);
    let mut seen = Vec::new();
    while seen.len() < 100 {
        let response = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("streamed")
            .unwrap()
            .unwrap();
        let response = <GetFlowsResponse as prost::Message>::decode(response).unwrap();
        seen.extend(describe(&[response]));
    }
    assert_eq!(seen, flows(1..=100), "every flow, in order, no loss report");
    assert_eq!(state.stats.counters().lost_flow_ring, 0);
    drop(rx);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn flows_from_before_a_restart_are_still_served() {
    let (_, writer) = state(7);
    let mut before = store(writer, 1 << 20, 1 << 20);
    before.fill(1..=5);
    // The agent restarts: a new, empty ring; the same directory.
    let (state, writer) = state(7);
    let (history, history_writer) = History::open(HistoryConfig {
        dir: before.dir.path().to_path_buf(),
        max_bytes: 1 << 20,
        segment_bytes: 1 << 20,
    })
    .unwrap();
    assert_eq!(history.base(), 5);
    let mut after = Store {
        writer,
        history_writer,
        history,
        dir: before.dir.clone(),
    };
    after.fill(6..=8);
    let mut served = serve_with(state, &after.history).await;
    assert_eq!(
        describe(&collect(&mut served.client, GetFlowsRequest::default()).await),
        flows(1..=8)
    );
    let last = GetFlowsRequest {
        number: 4,
        ..Default::default()
    };
    assert_eq!(
        describe(&collect(&mut served.client, last).await),
        flows(5..=8)
    );
    drop(before);
}
