//! Service tests against an in-process server on a real unix socket, with the ring filled
//! directly so positions and times are exact.

use std::sync::Arc;
use std::time::Duration;

use observe_proto::Timestamp;
use observe_proto::flow::{
    Endpoint, Flow, FlowFilter, LostEvent, LostEventSource, Verdict, flow_filter::Experimental,
};
use observe_proto::observer::observer_client::ObserverClient;
use observe_proto::observer::{
    GetAgentEventsRequest, GetFlowsRequest, GetFlowsResponse, GetNamespacesRequest,
    GetNodesRequest, ServerStatusRequest, get_flows_response::ResponseTypes,
};
use observe_proto::pbjson_types::FieldMask;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

use super::*;
use crate::event::DecodedEvent;
use crate::namespaces::Namespaces;
use crate::ring::{Capacity, Ring, RingWriter};
use crate::stats::Stats;

type Writer = RingWriter<Arc<DecodedEvent>>;

fn state(capacity: usize) -> (ObserverState, Writer) {
    let (ring, writer) = Ring::new(Capacity::new(capacity).unwrap());
    let state = ObserverState {
        ring,
        stats: Arc::new(Stats::new()),
        namespaces: Arc::new(Namespaces::default()),
        node_name: "node-1".into(),
    };
    (state, writer)
}

/// A flow at `secs` with `verdict`, from `default/client-<secs>`.
fn flow(secs: i64, verdict: Verdict) -> Arc<DecodedEvent> {
    Arc::new(DecodedEvent::flow(Flow {
        time: Some(Timestamp {
            seconds: secs,
            nanos: 0,
        }),
        uuid: format!("flow-{secs}"),
        verdict: verdict.into(),
        node_name: "node-1".into(),
        source: Some(Endpoint {
            namespace: "default".into(),
            pod_name: format!("client-{secs}"),
            identity: 1000,
            ..Default::default()
        }),
        ..Default::default()
    }))
}

fn lost(secs: i64, count: u64) -> Arc<DecodedEvent> {
    let at = Some(Timestamp {
        seconds: secs,
        nanos: 0,
    });
    Arc::new(DecodedEvent::Lost(LostEvent {
        source: LostEventSource::ObserverEventsQueue.into(),
        num_events_lost: count,
        cpu: None,
        first: at,
        last: at,
    }))
}

/// A server on a fresh socket, and a client built from the protos alone.
struct Served {
    client: ObserverClient<Channel>,
    /// The client's channel, for calls the generated client does not make.
    channel: Channel,
    // Removed after the server is told to stop.
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn serve(state: ObserverState) -> Served {
    serve_service(ObserverService::new(state).with_version("test-1.0")).await
}

/// Serves `service` on a fresh unix socket, with a client connected to it.
async fn serve_service(service: ObserverService) -> Served {
    let dir = tempfile::Builder::new()
        .prefix("observer-server-")
        .tempdir()
        .unwrap();
    let path = dir.path().join("observer.sock");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server_path = path.clone();
    tokio::spawn(async move {
        serve_unix(service, &server_path, async {
            let _ = stopped.await;
        })
        .await
        .expect("server runs");
    });
    let channel = connect(&path).await;
    Served {
        client: ObserverClient::new(channel.clone()),
        channel,
        _dir: dir,
        stop: Some(stop),
    }
}

async fn connect(path: &std::path::Path) -> Channel {
    for _ in 0..100 {
        if path.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let server = format!("unix://{}", path.display());
    observe_proto::client::connect(&server, Duration::from_secs(5))
        .await
        .expect("connects")
}

/// Collects a finite stream.
async fn collect(
    client: &mut ObserverClient<Channel>,
    req: GetFlowsRequest,
) -> Vec<GetFlowsResponse> {
    let stream = client.get_flows(req).await.expect("accepted").into_inner();
    tokio::time::timeout(
        Duration::from_secs(10),
        stream.collect::<Result<Vec<_>, _>>(),
    )
    .await
    .expect("stream ends")
    .expect("no stream error")
}

/// `flow-N` for flows, `lost:SOURCE:N` for losses.
fn describe(responses: &[GetFlowsResponse]) -> Vec<String> {
    responses
        .iter()
        .map(|r| match r.response_types.as_ref().unwrap() {
            ResponseTypes::Flow(f) => f.uuid.clone(),
            ResponseTypes::LostEvents(l) => {
                format!("lost:{}:{}", l.source().as_str_name(), l.num_events_lost)
            }
            ResponseTypes::NodeStatus(_) => "node".into(),
        })
        .collect()
}

fn fill(writer: &mut Writer, secs: std::ops::RangeInclusive<i64>) {
    for s in secs {
        let verdict = if s % 2 == 0 {
            Verdict::Dropped
        } else {
            Verdict::Forwarded
        };
        writer.write(flow(s, verdict));
    }
}

/// Every response of a finite stream, read raw as `observe-relay` reads a node's.
async fn collect_raw(
    channel: Channel,
    req: GetFlowsRequest,
) -> Vec<observe_proto::raw::RawResponse> {
    let mut stream = observe_proto::raw::get_flows(channel, req)
        .await
        .expect("accepted");
    let mut out = Vec::new();
    while let Some(raw) = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("a response")
        .expect("no stream error")
    {
        out.push(raw);
    }
    out
}

#[tokio::test]
async fn the_encoded_stream_is_what_the_generated_client_decodes() {
    use observe_proto::raw::Kind;
    use prost::Message;

    let (state, mut writer) = state(63);
    fill(&mut writer, 1..=3);
    writer.write(lost(4, 9));
    fill(&mut writer, 5..=5);
    let mut served = serve(state).await;
    let decoded = collect(&mut served.client, GetFlowsRequest::default()).await;
    let raw = collect_raw(served.channel.clone(), GetFlowsRequest::default()).await;
    assert_eq!(
        describe(&decoded),
        [
            "flow-1",
            "flow-2",
            "flow-3",
            "lost:OBSERVER_EVENTS_QUEUE:9",
            "flow-5"
        ]
    );
    let kinds: Vec<Kind> = raw.iter().map(|r| r.kind).collect();
    use Kind::{Flow as F, LostEvents as L};
    assert_eq!(kinds, [F, F, F, L, F]);
    for (raw, whole) in raw.iter().zip(&decoded) {
        assert_eq!(
            raw.time,
            whole
                .time
                .map(|t| observe_proto::raw::nanos(t.seconds, t.nanos))
        );
        assert_eq!(GetFlowsResponse::decode(raw.bytes.clone()).unwrap(), *whole);
    }
}

#[tokio::test]
async fn number_returns_the_latest_matching_flows_oldest_first() {
    let (state, mut writer) = state(63);
    fill(&mut writer, 1..=10);
    let mut served = serve(state).await;
    let last3 = collect(
        &mut served.client,
        GetFlowsRequest {
            number: 3,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(describe(&last3), ["flow-8", "flow-9", "flow-10"]);
    let dropped = FlowFilter {
        verdict: vec![Verdict::Dropped as i32],
        ..Default::default()
    };
    let req = GetFlowsRequest {
        number: 2,
        whitelist: vec![dropped],
        ..Default::default()
    };
    assert_eq!(
        describe(&collect(&mut served.client, req).await),
        ["flow-8", "flow-10"]
    );
    let r = &last3[0];
    assert_eq!(
        (r.node_name.as_str(), r.time.unwrap().seconds),
        ("node-1", 8)
    );
}

#[tokio::test]
async fn first_returns_the_earliest_flows() {
    let (state, mut writer) = state(63);
    fill(&mut writer, 1..=10);
    let mut served = serve(state).await;
    let req = GetFlowsRequest {
        number: 2,
        first: true,
        ..Default::default()
    };
    assert_eq!(
        describe(&collect(&mut served.client, req).await),
        ["flow-1", "flow-2"]
    );
}

#[tokio::test]
async fn lost_events_pass_through_and_do_not_count_towards_number() {
    let (state, mut writer) = state(63);
    fill(&mut writer, 1..=2);
    writer.write(lost(3, 5));
    fill(&mut writer, 4..=5);
    let mut served = serve(state).await;
    let req = GetFlowsRequest {
        number: 3,
        whitelist: vec![FlowFilter {
            verdict: vec![Verdict::Forwarded as i32, Verdict::Dropped as i32],
            ..Default::default()
        }],
        ..Default::default()
    };
    assert_eq!(
        describe(&collect(&mut served.client, req).await),
        ["flow-2", "lost:OBSERVER_EVENTS_QUEUE:5", "flow-4", "flow-5"]
    );
}

#[tokio::test]
async fn since_and_until_select_a_time_window() {
    let (state, mut writer) = state(63);
    fill(&mut writer, 1..=10);
    let mut served = serve(state).await;
    let at = |s| {
        Some(Timestamp {
            seconds: s,
            nanos: 0,
        })
    };
    let window = GetFlowsRequest {
        since: at(4),
        until: at(6),
        ..Default::default()
    };
    assert_eq!(
        describe(&collect(&mut served.client, window).await),
        ["flow-4", "flow-5", "flow-6"]
    );
    let since = GetFlowsRequest {
        since: at(9),
        ..Default::default()
    };
    assert_eq!(
        describe(&collect(&mut served.client, since).await),
        ["flow-9", "flow-10"]
    );
    let backwards = GetFlowsRequest {
        since: at(6),
        until: at(4),
        ..Default::default()
    };
    let err = served.client.get_flows(backwards).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
}

#[tokio::test]
async fn follow_sends_the_last_flows_then_new_ones() {
    let (state, mut writer) = state(63);
    fill(&mut writer, 1..=5);
    let mut served = serve(state).await;
    let req = GetFlowsRequest {
        number: 2,
        follow: true,
        ..Default::default()
    };
    let mut stream = served.client.get_flows(req).await.unwrap().into_inner();
    let mut next = async || {
        let item = tokio::time::timeout(Duration::from_secs(10), stream.next()).await;
        describe(&[item.expect("a response").unwrap().unwrap()])[0].clone()
    };
    assert_eq!(next().await, "flow-4");
    assert_eq!(next().await, "flow-5");
    fill(&mut writer, 6..=7);
    assert_eq!(next().await, "flow-6");
    assert_eq!(next().await, "flow-7");
}

#[tokio::test]
async fn follow_alone_sends_only_new_flows() {
    let (state, mut writer) = state(63);
    fill(&mut writer, 1..=5);
    let mut served = serve(state).await;
    let req = GetFlowsRequest {
        follow: true,
        ..Default::default()
    };
    let mut stream = served.client.get_flows(req).await.unwrap().into_inner();
    // The request is registered once the stream exists; anything written after it counts.
    tokio::time::sleep(Duration::from_millis(50)).await;
    fill(&mut writer, 6..=6);
    let first = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(describe(&[first]), ["flow-6"]);
}

#[tokio::test]
async fn field_mask_sends_only_requested_fields() {
    let (state, mut writer) = state(7);
    fill(&mut writer, 1..=1);
    let mut served = serve(state).await;
    let req = GetFlowsRequest {
        number: 1,
        field_mask: Some(FieldMask {
            paths: vec!["verdict".into(), "source.pod_name".into()],
        }),
        ..Default::default()
    };
    let responses = collect(&mut served.client, req).await;
    let Some(ResponseTypes::Flow(flow)) = &responses[0].response_types else {
        panic!("a flow");
    };
    assert_eq!(flow.verdict(), Verdict::Forwarded);
    assert_eq!(flow.uuid, "");
    assert_eq!(flow.source.as_ref().unwrap().pod_name, "client-1");
    assert_eq!(flow.source.as_ref().unwrap().identity, 0);
    assert_eq!(
        responses[0].time.unwrap().seconds,
        1,
        "the response keeps the time"
    );
    let bad = GetFlowsRequest {
        field_mask: Some(FieldMask {
            paths: vec!["no_such_field".into()],
        }),
        ..Default::default()
    };
    let err = served.client.get_flows(bad).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
}

#[tokio::test]
async fn whitelist_and_blacklist_combine() {
    let (state, mut writer) = state(63);
    fill(&mut writer, 1..=6);
    let mut served = serve(state).await;
    let pods = |names: &[&str]| FlowFilter {
        source_pod: names.iter().map(|n| format!("default/{n}")).collect(),
        ..Default::default()
    };
    let req = GetFlowsRequest {
        whitelist: vec![
            FlowFilter {
                verdict: vec![Verdict::Dropped as i32],
                ..Default::default()
            },
            pods(&["client-1"]),
        ],
        blacklist: vec![pods(&["client-4"])],
        ..Default::default()
    };
    assert_eq!(
        describe(&collect(&mut served.client, req).await),
        ["flow-1", "flow-2", "flow-6"]
    );
}

#[tokio::test]
async fn invalid_and_unsupported_filters_are_refused() {
    let (state, _writer) = state(7);
    let mut served = serve(state).await;
    let bad_ip = GetFlowsRequest {
        whitelist: vec![FlowFilter {
            destination_ip: vec!["10.0.0.0/40".into()],
            ..Default::default()
        }],
        ..Default::default()
    };
    let err = served.client.get_flows(bad_ip).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().contains("destination_ip") && err.message().contains("10.0.0.0/40"));
    let cel = GetFlowsRequest {
        blacklist: vec![FlowFilter {
            experimental: Some(Experimental {
                cel_expression: vec!["true".into()],
            }),
            ..Default::default()
        }],
        ..Default::default()
    };
    assert_eq!(
        served.client.get_flows(cel).await.unwrap_err().code(),
        tonic::Code::Unimplemented
    );
}

#[tokio::test]
async fn requests_past_overwritten_history_start_with_a_notice() {
    let (state, mut writer) = state(7);
    fill(&mut writer, 1..=20);
    let mut served = serve(state).await;
    let first = GetFlowsRequest {
        first: true,
        number: 2,
        ..Default::default()
    };
    let responses = collect(&mut served.client, first).await;
    assert_eq!(
        describe(&responses),
        ["lost:HUBBLE_RING_BUFFER:13", "flow-14", "flow-15"]
    );
    let Some(ResponseTypes::LostEvents(notice)) = &responses[0].response_types else {
        panic!("a notice");
    };
    assert_eq!(notice.first.unwrap().seconds, 1, "first evicted");
    assert_eq!(notice.last.unwrap().seconds, 13, "last evicted");
    assert_eq!(
        responses[0].time.unwrap().seconds,
        14,
        "history starts here"
    );
    let too_many = GetFlowsRequest {
        number: 10,
        ..Default::default()
    };
    let responses = collect(&mut served.client, too_many).await;
    assert_eq!(responses.len(), 8, "the notice and the 7 retained flows");
    assert_eq!(describe(&responses)[0], "lost:HUBBLE_RING_BUFFER:13");
    let enough = GetFlowsRequest {
        number: 7,
        ..Default::default()
    };
    assert_eq!(
        collect(&mut served.client, enough).await.len(),
        7,
        "no notice when satisfied"
    );
    assert_eq!(
        served
            .client
            .server_status(ServerStatusRequest {})
            .await
            .unwrap()
            .into_inner()
            .lost_events,
        []
    );
}

#[tokio::test]
async fn status_namespaces_and_nodes() {
    let (state, mut writer) = state(7);
    fill(&mut writer, 1..=3);
    state.stats.add_decoded(3);
    state.namespaces.observe(
        flow(1, Verdict::Forwarded).namespaces(),
        std::time::Instant::now(),
    );
    state.stats.losses.record(
        crate::event::LostSource::KernelRing,
        4,
        None,
        std::time::SystemTime::now(),
        true,
    );
    let mut served = serve(state).await;
    let status = served
        .client
        .server_status(ServerStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (status.num_flows, status.max_flows, status.seen_flows),
        (3, 7, 3)
    );
    assert_eq!(status.version, "test-1.0");
    assert!(status.uptime_ns > 0 && status.flows_rate > 0.0);
    assert_eq!(status.lost_events.len(), 1);
    assert_eq!(
        status.lost_events[0].source(),
        LostEventSource::PerfEventRingBuffer
    );
    assert_eq!(status.lost_events[0].num_events_lost, 4);
    let namespaces = served
        .client
        .get_namespaces(GetNamespacesRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(namespaces.namespaces.len(), 1);
    assert_eq!(namespaces.namespaces[0].namespace, "default");
    let nodes = served
        .client
        .get_nodes(GetNodesRequest {})
        .await
        .unwrap()
        .into_inner()
        .nodes;
    assert_eq!(
        (
            nodes[0].name.as_str(),
            nodes[0].num_flows,
            nodes[0].max_flows
        ),
        ("node-1", 3, 7)
    );
    let agent = served
        .client
        .get_agent_events(GetAgentEventsRequest::default())
        .await;
    assert_eq!(agent.unwrap_err().code(), tonic::Code::Unimplemented);
}

/// A follower driven directly with a one-slot channel, so it is certain to fall behind
/// while nobody reads; started before anything is written.
async fn slow_follower(
    state: &ObserverState,
) -> (
    mpsc::Receiver<Result<bytes::Bytes, tonic::Status>>,
    tokio::task::JoinHandle<()>,
) {
    let query = get_flows::FlowQuery::new(&GetFlowsRequest {
        follow: true,
        ..Default::default()
    })
    .unwrap();
    let (tx, rx) = mpsc::channel(1);
    let task = tokio::spawn(get_flows::run(state.clone(), None, query, tx));
    tokio::time::sleep(Duration::from_millis(20)).await;
    (rx, task)
}

/// Reads the follower's stream until flows and reported losses reach `offered`: the
/// flows, the lost events, and the sources of the loss reports.
async fn read_until(
    rx: &mut mpsc::Receiver<Result<bytes::Bytes, tonic::Status>>,
    offered: u64,
) -> (u64, u64, Vec<LostEventSource>) {
    let (mut flows, mut lost, mut sources) = (0u64, 0u64, Vec::new());
    while flows + lost < offered {
        let encoded = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let response = <GetFlowsResponse as prost::Message>::decode(encoded).unwrap();
        match response.response_types.unwrap() {
            ResponseTypes::Flow(_) => flows += 1,
            ResponseTypes::LostEvents(l) => {
                sources.push(l.source());
                lost += l.num_events_lost;
            }
            ResponseTypes::NodeStatus(_) => unreachable!(),
        }
    }
    (flows, lost, sources)
}

#[tokio::test]
async fn an_overtaken_follower_gets_lost_events_that_account_for_every_flow() {
    let (state, mut writer) = state(7);
    let (mut rx, task) = slow_follower(&state).await;
    let total = 100u64;
    fill(&mut writer, 1..=total as i64);
    let (flows, lost, sources) = read_until(&mut rx, total).await;
    assert!(
        sources
            .iter()
            .all(|s| *s == LostEventSource::HubbleRingBuffer),
        "{sources:?}"
    );
    assert_eq!(flows + lost, total);
    assert!(
        lost >= total - 7 - 2,
        "at most the ring and the channel were kept: lost {lost}"
    );
    assert_eq!(state.stats.counters().lost_flow_ring, lost);
    drop(rx);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_lapped_follower_accounts_for_the_events_overwritten_loss_notices_stood_for() {
    // As above, with every tenth entry a loss notice for 50 events (what the agent writes
    // when its event queue overflows): the follower's flows and the losses its stream
    // reports add up to every event, also those the overwritten notices summarised.
    let (state, mut writer) = state(7);
    let (mut rx, task) = slow_follower(&state).await;
    let mut offered = 0u64;
    for i in 1..=200i64 {
        if i % 10 == 0 {
            writer.write(lost(i, 50));
            offered += 50;
        } else {
            writer.write(flow(i, Verdict::Forwarded));
            offered += 1;
        }
    }
    let (flows, lost_events, _) = read_until(&mut rx, offered).await;
    assert_eq!(flows + lost_events, offered, "balanced to the event");
    drop(rx);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn the_socket_is_0660_from_the_start_and_replaces_only_a_stale_socket() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let path = dir.join("observer.sock");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let first = bind_unix(&path).unwrap();
    assert_eq!(mode(&path), 0o660);
    drop(first);
    let again = bind_unix(&path).expect("a stale socket is replaced");
    assert_eq!(mode(&path), 0o660);
    drop(again);
    let leftovers: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary name left behind");
    let file = dir.join("not-a-socket");
    std::fs::write(&file, "keep me").unwrap();
    let err = bind_unix(&file).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}

mod history;
