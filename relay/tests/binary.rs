//! The `observe-relay` binary: its flags, and a client that reads slowly while a node
//! floods. The relay's memory stays bounded (every queue on the way is), and what the
//! client misses is not silent: the node reports the flows its ring overwrote before the
//! relay could take them, the report reaches the client with the node's name, and
//! flows received plus flows reported lost equal the flows written.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use observe_proto::flow::Verdict;
use observe_proto::observer::GetFlowsRequest;
use observe_proto::relay::NodeState;
use support::*;

const RELAY: &str = env!("CARGO_BIN_EXE_observe-relay");

struct Relay(Child);

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Relay {
    fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.0.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

#[test]
fn bad_flags_are_refused_with_the_reason() {
    let out = Command::new(RELAY).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no nodes to read from"), "{err}");
    let out = Command::new(RELAY)
        .args(["--peer", "n1=10.0.0.1:4244"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--disable-server-tls"), "{err}");
    let out = Command::new(RELAY)
        .args(["--peer", "n1=not an address"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not an address"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_keeps_the_relay_small_and_losses_balance() {
    let dir = tempfile::Builder::new()
        .prefix("relay-bin-")
        .tempdir()
        .unwrap();
    let mut node = TestNode::start("n1", At::Unix(dir.path().join("n1.sock")), 4095);
    let sock = dir.path().join("relay.sock");
    let log = dir.path().join("relay.log");
    let relay = Relay(
        Command::new(RELAY)
            .args(["--listen-address", &format!("unix://{}", sock.display())])
            .args([
                "--peer",
                &format!("n1={}", node.address),
                "--disable-client-tls",
            ])
            .args(["--metrics-listen-address", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let server = format!("unix://{}", sock.display());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut client = loop {
        if let Ok(ch) = observe_proto::client::connect(&server, Duration::from_secs(1)).await {
            break observe_proto::observer::observer_client::ObserverClient::new(ch);
        }
        assert!(Instant::now() < deadline, "the relay did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut stream = loop {
        let mut s = client
            .get_flows(GetFlowsRequest {
                follow: true,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        if next(&mut s).await
            == (Item::Status {
                state: NodeState::NodeConnected,
                nodes: vec!["n1".into()],
            })
        {
            break s;
        }
        assert!(Instant::now() < deadline, "n1 never connected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let idle = relay.rss_kib();

    // 300,000 flows while the client reads nothing: far more than every buffer holds.
    const WRITTEN: i64 = 300_000;
    let mut peak = idle;
    for burst in 0..300 {
        for i in 0..1000 {
            node.append(burst * 1000 + i);
        }
        node.publish();
        if burst % 20 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
            peak = peak.max(relay.rss_kib());
        }
    }
    node.write(WRITTEN, Verdict::Forwarded);
    peak = peak.max(relay.rss_kib());
    assert!(
        peak < idle + 64 * 1024,
        "relay grew from {idle} KiB to {peak} KiB"
    );

    // Now read everything: received + reported lost = written.
    let (mut received, mut lost) = (0u64, 0u64);
    let deadline = Instant::now() + Duration::from_secs(30);
    while received + lost < (WRITTEN + 1) as u64 {
        assert!(
            Instant::now() < deadline,
            "{received} received + {lost} lost"
        );
        match next(&mut stream).await {
            Item::Flow { .. } => received += 1,
            Item::Lost { node, count } => {
                assert_eq!(node, "n1", "a loss names its node");
                lost += count;
            }
            Item::Status { .. } => {}
        }
    }
    assert_eq!(received + lost, (WRITTEN + 1) as u64);
    assert!(
        lost > 0,
        "the client read nothing for a while, yet nothing was lost"
    );
    assert!(
        received > 4095,
        "at least the ring and the buffers on the way arrive"
    );
    eprintln!("relay RSS idle {idle} KiB, peak {peak} KiB; {received} received, {lost} lost");

    // The relay's own metrics: its node, and the flows and losses it passed on.
    let page = metrics_page(&std::fs::read_to_string(&log).unwrap());
    assert!(
        page.contains("observe_relay_nodes{state=\"connected\"} 1\n"),
        "{page}"
    );
    assert!(
        page.contains(&format!("observe_relay_flows_total {received}\n")),
        "{page}"
    );
    assert!(
        page.contains("observe_relay_received_total{kind=\"lost_events\"}"),
        "{page}"
    );
    assert!(
        page.contains("observe_relay_merge_delay_seconds_count"),
        "{page}"
    );
    assert!(page.contains("observe_relay_streams 1\n"), "{page}");
}

/// `GET /metrics` from the address the relay logged.
fn metrics_page(log: &str) -> String {
    use std::io::{Read, Write};
    let addr = log
        .lines()
        .find_map(|l| l.split("relay metrics on http://").nth(1))
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("no metrics address in the log: {log}"));
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: relay\r\n\r\n")
        .unwrap();
    let mut page = String::new();
    conn.read_to_string(&mut page).unwrap();
    page
}
