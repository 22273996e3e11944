//! The relay against real observer services: merged order, `number` per node, filters and
//! field masks passed through, status and nodes summed, a node killed mid-stream and
//! coming back, unavailable nodes, and TLS and mTLS on both sides of the relay.

mod support;

use std::time::Duration;

use observe_proto::client::TlsOptions;
use observe_proto::flow::{FlowFilter, Verdict};
use observe_proto::observer::{
    GetFlowsRequest, GetNamespacesRequest, GetNodesRequest, ServerStatusRequest,
};
use observe_proto::pbjson_types::FieldMask;
use observe_proto::relay::NodeState;
use support::*;

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("relay-test-")
        .tempdir()
        .unwrap()
}

/// Three nodes, 30 flows each, interleaved in time (node k at k, k+3, k+6, … ms), a third
/// of them dropped.
fn three_nodes(dir: &std::path::Path) -> Vec<TestNode> {
    (1..=3)
        .map(|k| {
            let name = format!("n{k}");
            let mut node = TestNode::start(&name, At::Unix(dir.join(format!("{name}.sock"))), 1023);
            for i in 0..30 {
                let verdict = if i % 3 == 0 {
                    Verdict::Dropped
                } else {
                    Verdict::Forwarded
                };
                node.write(i * 3 + k, verdict);
            }
            node
        })
        .collect()
}

fn members(nodes: &[TestNode]) -> Vec<(&str, &str)> {
    nodes
        .iter()
        .map(|n| (n.name.as_str(), n.address.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merges_three_nodes_in_time_order_and_passes_requests_through() {
    let dir = tempdir();
    let nodes = three_nodes(dir.path());
    let relay = TestRelay::start(dir.path(), &members(&nodes), quick_dialer(None)).await;
    relay.connected(3).await;
    let mut client = relay.client().await;

    // Everything: one event naming the nodes, then 90 flows in time order.
    let all = collect(&mut client, GetFlowsRequest::default()).await;
    assert_eq!(
        all[0],
        Item::Status {
            state: NodeState::NodeConnected,
            nodes: vec!["n1".into(), "n2".into(), "n3".into()]
        }
    );
    let merged = flows(&all);
    assert_eq!(merged.len(), 90);
    let times: Vec<i64> = merged.iter().map(|(_, ms)| *ms).collect();
    assert_eq!(times, (1..=90).collect::<Vec<_>>(), "merged in time order");
    assert!(
        merged
            .iter()
            .all(|(node, ms)| *node == format!("n{}", (ms - 1) % 3 + 1))
    );

    // `number` is per node, as through Hubble Relay: the newest 2 of each, merged.
    let last = collect(
        &mut client,
        GetFlowsRequest {
            number: 2,
            ..Default::default()
        },
    )
    .await;
    let last: Vec<i64> = flows(&last).iter().map(|(_, ms)| *ms).collect();
    assert_eq!(last, [85, 86, 87, 88, 89, 90]);
    let first = collect(
        &mut client,
        GetFlowsRequest {
            number: 1,
            first: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        flows(&first).iter().map(|(_, ms)| *ms).collect::<Vec<_>>(),
        [1, 2, 3]
    );

    // Filters go to the nodes: only drops of n2, from every node's point of view.
    let dropped = collect(
        &mut client,
        GetFlowsRequest {
            whitelist: vec![FlowFilter {
                verdict: vec![Verdict::Dropped.into()],
                node_name: vec!["n2".into()],
                ..Default::default()
            }],
            ..Default::default()
        },
    )
    .await;
    let dropped = flows(&dropped);
    assert_eq!(dropped.len(), 10);
    assert!(
        dropped
            .iter()
            .all(|(node, ms)| node == "n2" && (ms - 2) % 9 == 0),
        "{dropped:?}"
    );

    // since/until, and a field mask: only the masked fields arrive.
    let window = GetFlowsRequest {
        since: Some(at(10)),
        until: Some(at(20)),
        field_mask: Some(FieldMask {
            paths: vec!["uuid".into()],
        }),
        ..Default::default()
    };
    let stream = client.get_flows(window).await.unwrap().into_inner();
    let responses: Vec<_> = tokio_stream::StreamExt::collect::<Vec<_>>(stream).await;
    let masked: Vec<_> = responses
        .into_iter()
        .filter_map(|r| match r.unwrap().response_types {
            Some(observe_proto::observer::get_flows_response::ResponseTypes::Flow(f)) => Some(f),
            _ => None,
        })
        .collect();
    assert_eq!(masked.len(), 11);
    assert!(
        masked
            .iter()
            .all(|f| !f.uuid.is_empty() && f.time.is_none() && f.source.is_none())
    );

    // A bad filter is refused by the relay itself.
    let bad = GetFlowsRequest {
        whitelist: vec![FlowFilter {
            source_ip: vec!["nope".into()],
            ..Default::default()
        }],
        ..Default::default()
    };
    let err = client.get_flows(bad).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);

    // Status, nodes and namespaces summed over the nodes.
    let status = client
        .server_status(ServerStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!((status.num_flows, status.max_flows), (90, 3 * 1023));
    assert_eq!(status.num_connected_nodes.unwrap().value, 3);
    assert_eq!(status.num_unavailable_nodes.unwrap().value, 0);
    assert!(
        status.version.starts_with("observe-relay"),
        "{}",
        status.version
    );
    let listed = client
        .get_nodes(GetNodesRequest {})
        .await
        .unwrap()
        .into_inner()
        .nodes;
    let names: Vec<_> = listed
        .iter()
        .map(|n| (n.name.as_str(), n.state(), n.num_flows))
        .collect();
    assert_eq!(
        names,
        [
            ("n1", NodeState::NodeConnected, 30),
            ("n2", NodeState::NodeConnected, 30),
            ("n3", NodeState::NodeConnected, 30)
        ]
    );
    assert_eq!(listed[0].version, "node-test");
    let ns = client
        .get_namespaces(GetNamespacesRequest {})
        .await
        .unwrap()
        .into_inner();
    let ns: Vec<_> = ns.namespaces.iter().map(|n| n.namespace.as_str()).collect();
    assert_eq!(ns, ["default", "ns-n1", "ns-n2", "ns-n3"]);
    assert!(relay.metrics.flows() >= 90 + 6 + 3 + 10 + 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_is_reported_the_others_go_on_and_its_return_resumes() {
    let dir = tempdir();
    let mut nodes = three_nodes(dir.path());
    let relay = TestRelay::start(dir.path(), &members(&nodes), quick_dialer(None)).await;
    relay.connected(3).await;
    let mut client = relay.client().await;
    let follow = GetFlowsRequest {
        follow: true,
        ..Default::default()
    };
    let mut stream = client.get_flows(follow).await.unwrap().into_inner();
    assert!(matches!(
        next(&mut stream).await,
        Item::Status {
            state: NodeState::NodeConnected,
            ..
        }
    ));
    settle().await;
    for node in nodes.iter_mut() {
        node.write(1000, Verdict::Forwarded);
    }
    let seen = until(&mut stream, |_| false_after(3)).await;
    assert_eq!(flows(&seen).len(), 3, "{seen:?}");

    // n2 dies mid-stream: the stream says so, and n1 and n3 keep flowing.
    let n2 = nodes.remove(1);
    n2.kill();
    let seen = until(
        &mut stream,
        |i| matches!(i, Item::Status { nodes, .. } if nodes == &["n2"]),
    )
    .await;
    let Some(Item::Status { state, .. }) = seen.last() else {
        unreachable!()
    };
    assert_eq!(*state, NodeState::NodeUnavailable);
    nodes[0].write(2000, Verdict::Forwarded);
    nodes[1].write(2001, Verdict::Forwarded);
    let seen = until(&mut stream, |i| matches!(i, Item::Flow { ms: 2001, .. })).await;
    assert_eq!(
        flows(&seen),
        [("n1".to_string(), 2000), ("n3".to_string(), 2001)]
    );
    let status = client
        .server_status(ServerStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.unavailable_nodes, ["n2"]);

    // n2 comes back (a new process: a fresh ring) with new flows; the stream picks it up.
    let mut back = TestNode::start("n2", At::Unix(dir.path().join("n2.sock")), 1023);
    back.write(3000, Verdict::Forwarded);
    let seen = until(
        &mut stream,
        |i| matches!(i, Item::Flow { node, .. } if node == "n2"),
    )
    .await;
    assert!(
        seen.contains(&Item::Status {
            state: NodeState::NodeConnected,
            nodes: vec!["n2".into()]
        }),
        "{seen:?}"
    );
    assert_eq!(flows(&seen).last().unwrap(), &("n2".to_string(), 3000));
    back.write(3001, Verdict::Forwarded);
    let seen = until(&mut stream, |i| matches!(i, Item::Flow { .. })).await;
    assert_eq!(
        flows(&seen),
        [("n2".to_string(), 3001)],
        "nothing sent twice"
    );

    // n3 leaves the cluster: gone.
    relay.peers.set_members(
        &[
            ("n1", nodes[0].address.as_str()),
            ("n2", back.address.as_str()),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect(),
    );
    let seen = until_state(&mut stream, NodeState::NodeGone).await;
    assert_eq!(
        seen.last().unwrap(),
        &Item::Status {
            state: NodeState::NodeGone,
            nodes: vec!["n3".into()]
        }
    );
}

/// Lets the nodes' follow streams start: a flow written before a node has positioned its
/// reader is history, which a follow-only request does not ask for.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// A predicate that is true on its `n`-th call.
fn false_after(n: usize) -> bool {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    CALLS.fetch_add(1, Ordering::Relaxed) + 1 >= n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_nodes_are_named_and_do_not_hold_the_stream() {
    let dir = tempdir();
    let mut n1 = TestNode::start("n1", At::Unix(dir.path().join("n1.sock")), 63);
    n1.write(5, Verdict::Forwarded);
    let ghost = format!("unix://{}", dir.path().join("ghost.sock").display());
    let relay = TestRelay::start(
        dir.path(),
        &[("n1", &n1.address), ("ghost", &ghost)],
        quick_dialer(None),
    )
    .await;
    relay.connected(1).await;
    let mut client = relay.client().await;
    let items = collect(&mut client, GetFlowsRequest::default()).await;
    assert_eq!(
        items[0],
        Item::Status {
            state: NodeState::NodeConnected,
            nodes: vec!["n1".into()]
        }
    );
    assert_eq!(
        items[1],
        Item::Status {
            state: NodeState::NodeUnavailable,
            nodes: vec!["ghost".into()]
        }
    );
    assert_eq!(flows(&items), [("n1".to_string(), 5)]);
    let status = client
        .server_status(ServerStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.num_connected_nodes.unwrap().value, 1);
    assert_eq!(status.num_unavailable_nodes.unwrap().value, 1);
    assert_eq!(status.unavailable_nodes, ["ghost"]);

    // A quiet follow stream still delivers within the drain timeout.
    let mut stream = follow(&mut client).await;
    until_state(&mut stream, NodeState::NodeUnavailable).await;
    settle().await;
    let sent = std::time::Instant::now();
    n1.write(6, Verdict::Forwarded);
    let seen = until(&mut stream, |i| matches!(i, Item::Flow { .. })).await;
    assert_eq!(flows(&seen), [("n1".to_string(), 6)]);
    assert!(
        sent.elapsed() < Duration::from_millis(1500),
        "{:?}",
        sent.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_the_nodes_and_mtls_to_the_clients() {
    let pki = lab::pki::Pki::generate("relay");
    let node_tls = observer::listen::TlsFiles {
        cert: pki.server_cert.clone(),
        key: pki.server_key.clone(),
        client_cas: vec![pki.ca.clone()],
    };
    let mut n1 = TestNode::start("n1", At::Tls(node_tls.clone()), 63);
    n1.write(1, Verdict::Forwarded);
    let trusted = TlsOptions {
        enabled: true,
        ca_cert_files: vec![pki.ca.clone()],
        client_cert_file: Some(pki.client_cert.clone()),
        client_key_file: Some(pki.client_key.clone()),
        ..Default::default()
    };

    // The relay listens on TCP with mTLS too.
    let opts = observe_relay::options::Options {
        listen_address: "127.0.0.1:0".into(),
        disable_server_tls: false,
        tls_relay_server_cert_file: Some(pki.server_cert.clone()),
        tls_relay_server_key_file: Some(pki.server_key.clone()),
        tls_relay_client_ca_files: vec![pki.ca.clone()],
        ..options()
    };
    let relay = TestRelay::start_with(
        &opts,
        &[("n1", &n1.address)],
        quick_dialer(Some(trusted.clone())),
    )
    .await;
    relay.connected(1).await;
    assert!(
        relay.address.starts_with("tls://127.0.0.1:"),
        "{}",
        relay.address
    );
    let server = relay.address.replace("127.0.0.1", "localhost");
    let channel = observe_proto::client::connect_with(&server, Duration::from_secs(5), &trusted)
        .await
        .expect("mTLS client");
    let mut client = observe_proto::observer::observer_client::ObserverClient::new(channel);
    let items = collect(&mut client, GetFlowsRequest::default()).await;
    assert_eq!(flows(&items), [("n1".to_string(), 1)]);

    // Without a client certificate the relay refuses the client...
    let anonymous = TlsOptions {
        client_cert_file: None,
        client_key_file: None,
        ..trusted.clone()
    };
    let refused = match observe_proto::client::connect_with(
        &server,
        Duration::from_secs(5),
        &anonymous,
    )
    .await
    {
        Err(_) => true,
        Ok(ch) => observe_proto::observer::observer_client::ObserverClient::new(ch)
            .server_status(ServerStatusRequest {})
            .await
            .is_err(),
    };
    assert!(refused, "a client without a certificate was served");

    // ...and a relay without one is refused by the node, which it reports.
    let dir = tempdir();
    let lone = TestRelay::start(
        dir.path(),
        &[("n1", &n1.address)],
        quick_dialer(Some(anonymous)),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut client = lone.client().await;
    let status = client
        .server_status(ServerStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.unavailable_nodes, ["n1"]);
    let nodes = client
        .get_nodes(GetNodesRequest {})
        .await
        .unwrap()
        .into_inner()
        .nodes;
    assert_eq!(nodes[0].state(), NodeState::NodeUnavailable);
    assert!(nodes[0].tls.as_ref().unwrap().enabled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_node_does_not_hold_the_others_and_is_dropped_from_the_stream() {
    let dir = tempdir();
    let mut n1 = TestNode::start("n1", At::Unix(dir.path().join("n1.sock")), 63);
    let mut n2 = TestNode::start("n2", At::Unix(dir.path().join("n2.sock")), 63);
    n1.write(1, Verdict::Forwarded);
    n2.write(2, Verdict::Forwarded);
    let front = dir.path().join("n2-front.sock");
    let freezer = support::freezer::Freezer::start(&front, &dir.path().join("n2.sock"));
    let n2_front = format!("unix://{}", front.display());
    let relay = TestRelay::start(
        dir.path(),
        &[("n1", &n1.address), ("n2", &n2_front)],
        quick_dialer(None),
    )
    .await;
    relay.connected(2).await;
    let mut client = relay.client().await;
    let mut stream = follow(&mut client).await;
    until_state(&mut stream, NodeState::NodeConnected).await;
    settle().await;

    // n2 hangs: n1's flows still arrive at once (within the drain timeout)...
    freezer.freeze(true);
    let sent = std::time::Instant::now();
    n1.write(10, Verdict::Forwarded);
    let seen = until(&mut stream, |i| matches!(i, Item::Flow { ms: 10, .. })).await;
    assert!(
        sent.elapsed() < Duration::from_millis(1500),
        "{:?}",
        sent.elapsed()
    );
    assert!(
        !seen
            .iter()
            .any(|i| matches!(i, Item::Flow { node, .. } if node == "n2"))
    );
    // ...a request that does not follow ends without it...
    let history = tokio::time::timeout(
        Duration::from_secs(8),
        collect(&mut client, GetFlowsRequest::default()),
    )
    .await
    .expect("a hung node does not hold a finite request");
    assert!(
        flows(&history).contains(&("n1".to_string(), 10)),
        "{history:?}"
    );
    // ...and the follow stream says so once the health check gives up on it.
    until(&mut stream, |i| {
        matches!(i, Item::Status { state: NodeState::NodeUnavailable, nodes } if nodes == &["n2"])
    })
    .await;

    // Thawed, it is read again from where it stopped.
    freezer.freeze(false);
    n2.write(20, Verdict::Forwarded);
    let seen = until(&mut stream, |i| matches!(i, Item::Flow { ms: 20, .. })).await;
    assert!(
        seen.contains(&Item::Status {
            state: NodeState::NodeConnected,
            nodes: vec!["n2".into()]
        }),
        "{seen:?}"
    );
}
