//! `observerd --trace aggregate`: a bulk TCP transfer between two pods costs a handful of
//! trace events (its handshake, its first data each way, its close), each carrying the
//! connection's packet and byte counts, which add up to what was sent; a UDP exchange,
//! which shows no TCP flags, is reported with its counts by the agent once it is quiet;
//! drops stay immediate.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use observe_proto::flow::{EventTypeFilter, Flow, FlowFilter, Verdict};

use crate::common::*;

/// Messages of `CHUNK` bytes the client sends, each echoed back by the server.
const MESSAGES: usize = 400;
const CHUNK: usize = 1_000;

#[test]
fn a_bulk_transfer_is_a_handful_of_events_with_its_counts() {
    let Some(c) = Cluster::with_agent_args(
        "e2eaggr",
        &[
            "--trace",
            "aggregate",
            "--monitor-aggregation-interval",
            "500ms",
        ],
    ) else {
        return;
    };
    c.apply(POLICIES).expect("policies");
    let _server = c.serve("server", &[8080], &[5353]);
    let port = transfer(&c.endpoint("client").netns, ip("server", false));

    let traces: Vec<Flow> = c
        .flows(trace_events(), 10_000)
        .into_iter()
        .filter(|f| ports(f).contains(&port))
        .collect();
    // Each endpoint's hook has its own connection entry: at each, the opening packet, the
    // handshake's reply, the first data each way and the FINs; never one per packet.
    assert!(
        (4..=24).contains(&traces.len()),
        "a handful of trace events for ~{} packets, got {}",
        4 * MESSAGES,
        traces.len()
    );
    let last = traces
        .iter()
        .filter_map(|f| f.connection.as_ref())
        .max_by_key(|c| c.forward_packets + c.reply_packets)
        .expect("counted events");
    let sent = (MESSAGES * CHUNK) as u64;
    assert!(
        last.forward_bytes > sent && last.reply_bytes > sent,
        "counts cover the transfer both ways: {last:?}"
    );
    assert!(
        last.forward_packets >= 10 && last.reply_packets >= 10,
        "{last:?}"
    );
    assert!(last.forward_tcp_flags.as_ref().is_some_and(|f| f.fin));
    assert!(last.first_seen.is_some());

    // A UDP request and its answer: the opening packet's event, then, once the exchange
    // is an interval old, the agent's report of both packets.
    assert!(c.reaches("client", "server", "udp", 5353, false));
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    let udp: Vec<_> = c
        .flows(trace_events(), 10_000)
        .into_iter()
        .filter(|f| udp_port(f) == Some(5353))
        .filter_map(|f| f.connection)
        .collect();
    assert!(
        udp.iter()
            .any(|c| c.forward_packets >= 1 && c.reply_packets >= 1),
        "the quiet exchange is reported with its counts: {udp:?}"
    );
    assert!(udp.len() <= 4, "once per hook, not per flush: {udp:?}");

    // Drops are not aggregated.
    assert!(!c.reaches("intruder", "server", "tcp", 8080, false));
    let drops = c.flows(filter("server", 8080, Verdict::Dropped), 10);
    assert!(!drops.is_empty(), "the intruder's drop is reported at once");
}

/// The client sends [`MESSAGES`] messages to `server`:8080 over one connection, reads each
/// echo, and closes; returns its local port.
fn transfer(netns: &str, server: std::net::IpAddr) -> u32 {
    lab::in_netns(netns, move || {
        let mut stream =
            TcpStream::connect_timeout(&SocketAddr::new(server, 8080), TIMEOUT).expect("connect");
        stream.set_read_timeout(Some(TIMEOUT)).expect("timeout");
        let port = stream.local_addr().expect("local address").port();
        let message = [b'x'; CHUNK];
        let mut echo = [0u8; CHUNK];
        for _ in 0..MESSAGES {
            stream.write_all(&message).expect("send");
            stream.read_exact(&mut echo).expect("echo");
        }
        stream
            .shutdown(std::net::Shutdown::Write)
            .expect("shutdown");
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
        u32::from(port)
    })
    .expect("client netns")
}

/// Trace events only (Hubble's type 4).
fn trace_events() -> FlowFilter {
    FlowFilter {
        event_type: vec![EventTypeFilter {
            r#type: 4,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Both ports of a TCP flow.
fn ports(flow: &Flow) -> Vec<u32> {
    use observe_proto::flow::layer4::Protocol;
    match flow.l4.as_ref().and_then(|l4| l4.protocol.as_ref()) {
        Some(Protocol::Tcp(tcp)) => vec![tcp.source_port, tcp.destination_port],
        _ => Vec::new(),
    }
}

/// The destination port of a UDP flow.
fn udp_port(flow: &Flow) -> Option<u32> {
    use observe_proto::flow::layer4::Protocol;
    match flow.l4.as_ref()?.protocol.as_ref()? {
        Protocol::Udp(udp) => Some(udp.destination_port),
        _ => None,
    }
}
