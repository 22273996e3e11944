//! The network side against an in-process agent: the flow stream's history, filtering on
//! the agent, rejected filters, reconnecting after an agent restart, and skipping (not
//! blocking) when the UI's queue is full.

mod support;

use std::time::Duration;

use observe_proto::flow::FlowFilter;
use observe_tui::client::{FlowStream, STREAM_QUEUE, StreamRequest};
use observe_tui::filter::{self, FilterSpec, Filters};
use observe_tui::msg::Msg;
use support::agent::{Agent, temp_dir};
use support::fixtures;
use tokio::runtime::Runtime;

/// The client's runtime; its own thread runs the stream task while the test blocks.
fn client_runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

fn stream(rt: &Runtime, agent: &Agent, filter: FilterSpec, history: u64) -> FlowStream {
    let address = agent.address();
    rt.block_on(async {
        let channel = observe_proto::client::connect(&address, Duration::from_secs(5))
            .await
            .expect("connects");
        FlowStream::spawn(channel, StreamRequest { filter, history })
    })
}

/// The next message, failing after 10 s.
fn next(rt: &Runtime, s: &mut FlowStream) -> Msg {
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), s.rx.recv()).await })
        .expect("a message within 10 s")
        .expect("the stream task runs")
}

/// The next `n` flows' destination ports, skipping other messages.
fn ports(rt: &Runtime, s: &mut FlowStream, n: usize) -> Vec<u32> {
    let mut out = Vec::new();
    while out.len() < n {
        if let Msg::Flow(flow) = next(rt, s) {
            out.push(observe_describe::l4::of(&flow).destination_port);
        }
    }
    out
}

#[test]
fn the_stream_sends_history_then_follows_new_flows() {
    let dir = temp_dir("history");
    let agent = Agent::start(&dir.path().join("agent.sock"));
    agent.send(&fixtures::mixed(3));
    let rt = client_runtime();
    let mut s = stream(&rt, &agent, FilterSpec::none(), 100);
    assert!(matches!(next(&rt, &mut s), Msg::Connected));
    assert_eq!(ports(&rt, &mut s, 3), vec![8080, 5432, 53]);
    agent.send(&[fixtures::world_drop(5_000)]);
    assert_eq!(ports(&rt, &mut s, 1), vec![443]);
}

#[test]
fn the_filter_is_applied_by_the_agent() {
    let dir = temp_dir("filter");
    let agent = Agent::start(&dir.path().join("agent.sock"));
    agent.send(&fixtures::mixed(6));
    let rt = client_runtime();
    let spec = filter::parse("--verdict DROPPED --not --to-port 443").unwrap();
    let mut s = stream(&rt, &agent, spec, 100);
    assert!(matches!(next(&rt, &mut s), Msg::Connected));
    assert_eq!(
        ports(&rt, &mut s, 2),
        vec![5432, 5432],
        "drops, not to port 443"
    );
}

#[test]
fn a_filter_the_agent_rejects_ends_the_stream_with_the_reason() {
    let dir = temp_dir("rejected");
    let agent = Agent::start(&dir.path().join("agent.sock"));
    let rt = client_runtime();
    let bad = FilterSpec {
        line: "--from-ip nonsense".into(),
        filters: Filters {
            whitelist: vec![FlowFilter {
                source_ip: vec!["nonsense".into()],
                ..Default::default()
            }],
            blacklist: vec![],
        },
    };
    let mut s = stream(&rt, &agent, bad, 0);
    let Msg::FilterRejected(reason) = next(&rt, &mut s) else {
        panic!("rejected")
    };
    assert!(reason.contains("nonsense"), "{reason}");
}

#[test]
fn the_stream_reconnects_after_the_agent_restarts_and_says_why_it_was_down() {
    let dir = temp_dir("restart");
    let socket = dir.path().join("agent.sock");
    let agent = Agent::start(&socket);
    let rt = client_runtime();
    let mut s = stream(&rt, &agent, FilterSpec::none(), 0);
    assert!(matches!(next(&rt, &mut s), Msg::Connected));
    agent.send(&[fixtures::allowed(0)]);
    assert_eq!(ports(&rt, &mut s, 1), vec![8080]);

    drop(agent);
    let Msg::Disconnected(reason) = next(&rt, &mut s) else {
        panic!("disconnected")
    };
    assert!(!reason.is_empty());

    let agent = Agent::start(&socket);
    loop {
        match next(&rt, &mut s) {
            Msg::Connected => break,
            Msg::Disconnected(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
    // The restarted agent's flows are newer than the last one seen, so they arrive.
    agent.send(&[fixtures::default_deny(60_000)]);
    assert_eq!(ports(&rt, &mut s, 1), vec![5432]);
}

#[test]
fn a_flood_the_ui_cannot_take_is_skipped_and_counted_not_blocked() {
    let dir = temp_dir("flood");
    let agent = Agent::start(&dir.path().join("agent.sock"));
    let rt = client_runtime();
    let mut s = stream(&rt, &agent, FilterSpec::none(), 0);
    assert!(matches!(next(&rt, &mut s), Msg::Connected));
    // Nobody reads the queue while the flood arrives.
    let flood: Vec<_> = (0..3 * STREAM_QUEUE as u64)
        .map(fixtures::allowed)
        .collect();
    for chunk in flood.chunks(1000) {
        agent.send(chunk);
    }
    std::thread::sleep(Duration::from_millis(500));
    let (mut flows, mut skipped, mut lost) = (0u64, 0u64, 0u64);
    while flows + skipped + lost < flood.len() as u64 {
        match next(&rt, &mut s) {
            Msg::Flow(_) => flows += 1,
            Msg::Skipped(n) => skipped += n,
            Msg::Lost(_, l) => lost += l.num_events_lost,
            other => panic!("unexpected {other:?}"),
        }
    }
    // Where the flood overflowed depends on the machine's load: the UI's queue (skipped)
    // or, when the stream itself fell behind, the agent's ring (lost): counted either way.
    assert!(skipped + lost > 0, "the flood overflowed and was counted");
    assert_eq!(
        flows + skipped + lost,
        flood.len() as u64,
        "every flow is accounted for"
    );
}

#[test]
fn through_a_relay_the_stream_carries_every_node_with_its_name() {
    use observe_relay::get_flows::MergeConfig;
    use observe_relay::metrics::RelayMetrics;
    use observe_relay::peers::{Dialer, Peers};
    use observe_relay::service::RelayService;
    use std::sync::Arc;

    let dir = temp_dir("relay");
    let n1 = Agent::start_named(&dir.path().join("n1.sock"), "n1");
    let n2 = Agent::start_named(&dir.path().join("n2.sock"), "n2");
    n1.send(&fixtures::mixed(2));
    n2.send(&fixtures::mixed(2));
    let rt = client_runtime();
    let relay_socket = dir.path().join("relay.sock");
    let relay = format!("unix://{}", relay_socket.display());
    let peers = rt.block_on(async {
        let peers = Peers::new(Dialer {
            tls: None,
            ..Dialer::default()
        });
        peers.set_members(
            &[("n1", n1.address()), ("n2", n2.address())]
                .into_iter()
                .map(|(n, a)| (n.to_string(), a))
                .collect(),
        );
        let merge = MergeConfig {
            sort_max: 100,
            sort_timeout: Duration::from_millis(100),
            relay_name: "relay".into(),
        };
        let service = RelayService::new(peers.clone(), merge, Arc::new(RelayMetrics::new(None)));
        let listener = observer::server::bind_unix(&relay_socket).expect("relay socket");
        let bound = observe_relay::serve::Bound::Unix(listener, relay_socket.clone());
        tokio::spawn(observe_relay::serve::serve(
            service,
            bound,
            std::future::pending(),
        ));
        peers
    });
    // The relay dials its nodes in the background: wait until both answer.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while peers
        .snapshot()
        .iter()
        .filter(|p| p.channel.is_some())
        .count()
        < 2
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the relay reached its nodes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut s = rt.block_on(async {
        let channel = observe_proto::client::connect(&relay, Duration::from_secs(5))
            .await
            .expect("connects to the relay");
        FlowStream::spawn(
            channel,
            StreamRequest {
                filter: FilterSpec::none(),
                history: 100,
            },
        )
    });
    assert!(matches!(next(&rt, &mut s), Msg::Connected));
    let mut nodes = Vec::new();
    while nodes.len() < 4 {
        if let Msg::Flow(flow) = next(&rt, &mut s) {
            nodes.push(flow.node_name.clone());
        }
    }
    nodes.sort();
    assert_eq!(nodes, ["n1", "n1", "n2", "n2"]);
    // A node's later flows arrive through the same stream.
    n2.send(&[fixtures::world_drop(9_000)]);
    loop {
        if let Msg::Flow(flow) = next(&rt, &mut s) {
            assert_eq!(flow.node_name, "n2");
            break;
        }
    }
}
