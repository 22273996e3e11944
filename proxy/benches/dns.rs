//! DNS proxy benchmarks (no privileges; `cargo xtask bench proxy`), each against direct DNS
//! to the same server in the same run, on loopback:
//!
//! - added latency at a steady 1,000 queries/s: p50 and p99 of query-to-answer time through
//!   the proxy, and of the same queries sent straight to the server;
//! - queries/s through the proxy when its listener runs on one core (a current-thread
//!   runtime), with 64 queries in flight, against the same load sent straight to the
//!   server.
//!
//! The server, the proxy and the client each run on their own thread. The proxy judges
//! every query against a `matchPattern` rule, as a policy would.
//!
//! This measures the proxy's own cost (parse, judge, forward, relay). It does not yet cover
//! the datapath's redirect or the answer-to-datapath time: those come with the transparent
//! steering.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use observe_proxy::dns::rules::{DnsRule, DnsRules, Judgement};
use observe_proxy::dns::server::{Config, Handler, Stats, serve_udp};
use observe_proxy::dns::{Decision, Question, Refusal};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

#[allow(
    dead_code,
    reason = "the DNS bench does not read the threads' CPU time"
)]
mod common;

use common::spawn_thread_runtime;

const RATE: u32 = 1_000;
const LATENCY_SECONDS: u32 = 5;
const THROUGHPUT_SECONDS: u64 = 3;
const IN_FLIGHT: usize = 64;

fn main() {
    let (server, _) = spawn_thread_runtime("dns-server", || async { dns_server().await });
    let (proxy, _) = spawn_thread_runtime("dns-proxy", move || async move { proxy(server).await });
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    client.block_on(async {
        println!("DNS proxy (loopback, against direct DNS to the same server in this run)");
        let direct = latency(server).await;
        let proxied = latency(proxy).await;
        println!(
            "  latency at {RATE} queries/s over {LATENCY_SECONDS} s: direct p50 {} p99 {}; \
             through the proxy p50 {} p99 {}; added p50 {} p99 {}",
            us(direct.value_at_quantile(0.5)),
            us(direct.value_at_quantile(0.99)),
            us(proxied.value_at_quantile(0.5)),
            us(proxied.value_at_quantile(0.99)),
            us(proxied
                .value_at_quantile(0.5)
                .saturating_sub(direct.value_at_quantile(0.5))),
            us(proxied
                .value_at_quantile(0.99)
                .saturating_sub(direct.value_at_quantile(0.99))),
        );
        let direct_qps = throughput(server).await;
        let proxied_qps = throughput(proxy).await;
        println!(
            "  throughput, {IN_FLIGHT} in flight, proxy on one core: direct {direct_qps:.0} \
             queries/s, through the proxy {proxied_qps:.0} queries/s ({:.2}x direct)",
            proxied_qps / direct_qps
        );
    });
}

fn us(micros: u64) -> String {
    format!("{:.3} ms", micros as f64 / 1000.0)
}

/// A DNS server answering every A query with 203.0.113.10, TTL 60.
async fn dns_server() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind server");
    let addr = socket.local_addr().expect("server address");
    tokio::task::spawn_local(async move {
        let mut buf = vec![0; 4096];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            let Ok(q) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut reply = Message::response(q.metadata.id, OpCode::Query);
            reply.add_queries(q.queries.iter().cloned());
            if let Some(query) = q.queries.first() {
                reply.add_answer(Record::from_rdata(
                    query.name().clone(),
                    60,
                    RData::A(A(Ipv4Addr::new(203, 0, 113, 10))),
                ));
            }
            if let Ok(bytes) = reply.to_vec() {
                let _ = socket.send_to(&bytes, peer).await;
            }
        }
    });
    addr
}

/// The proxy in front of `server`, allowing `*.partner.com`.
async fn proxy(server: SocketAddr) -> SocketAddr {
    let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind proxy"));
    let addr = socket.local_addr().expect("proxy address");
    let rules = DnsRules::new(vec![DnsRule {
        selector: enforcer::fqdn::NamePattern::pattern("*.partner.com").expect("pattern"),
        origin: (),
    }]);
    let judge = move |_: SocketAddr, _: SocketAddr, q: &Question| match rules.judge(&q.name) {
        Judgement::Allowed(_) => Decision::Forward,
        Judgement::Denied { .. } => Decision::Refuse(Refusal::Refused),
    };
    let (tx, mut rx) = mpsc::channel(4096);
    tokio::task::spawn_local(async move { while rx.recv().await.is_some() {} });
    let handler = Handler::new(
        Arc::new(judge),
        Arc::new(()),
        tx,
        Arc::new(Stats::default()),
        Config::default(),
    );
    tokio::task::spawn_local(serve_udp(socket, Arc::new(server), handler));
    addr
}

fn query(id: u16) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(
        Name::from_ascii("api.partner.com.").expect("name"),
        RecordType::A,
    ));
    m.to_vec().expect("query")
}

/// Query-to-answer times (µs) of one query every millisecond.
async fn latency(target: SocketAddr) -> Histogram<u64> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind client");
    socket.connect(target).await.expect("connect");
    let mut hist = Histogram::<u64>::new_with_bounds(1, 10_000_000, 3).expect("histogram");
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / RATE);
    let mut buf = vec![0; 4096];
    for i in 0..RATE * LATENCY_SECONDS {
        ticker.tick().await;
        let id = u16::try_from(i % 65_536).unwrap_or(0);
        let started = Instant::now();
        socket.send(&query(id)).await.expect("send");
        match tokio::time::timeout(Duration::from_secs(1), socket.recv(&mut buf)).await {
            Ok(Ok(_)) => {
                let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                hist.saturating_record(micros.max(1));
            }
            _ => hist.saturating_record(1_000_000),
        }
    }
    hist
}

/// Answered queries per second with `IN_FLIGHT` outstanding.
async fn throughput(target: SocketAddr) -> f64 {
    let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind client"));
    socket.connect(target).await.expect("connect");
    let template = query(0);
    for i in 0..IN_FLIGHT {
        let mut q = template.clone();
        q[..2].copy_from_slice(&u16::try_from(i).unwrap_or(0).to_be_bytes());
        socket.send(&q).await.expect("send");
    }
    let deadline = Instant::now() + Duration::from_secs(THROUGHPUT_SECONDS);
    let started = Instant::now();
    let mut answered = 0u64;
    let mut buf = vec![0; 4096];
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(200), socket.recv(&mut buf)).await {
            Ok(Ok(n)) if n >= 2 => {
                answered += 1;
                // Each answer frees a slot: send the next query with the same ID.
                let mut q = template.clone();
                q[..2].copy_from_slice(&buf[..2]);
                socket.send(&q).await.expect("send");
            }
            // A lost datagram: refill its slot.
            _ => {
                socket.send(&template).await.expect("send");
            }
        }
    }
    answered as f64 / started.elapsed().as_secs_f64()
}
