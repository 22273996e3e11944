//! HTTP proxy benchmarks (no privileges; `cargo xtask bench proxy`), each against direct
//! requests to the same server with the same client in the same run, on loopback:
//!
//! - added latency at a steady 1,000 requests/s on one keep-alive connection: p50 and p99
//!   of request-to-response time through the proxy, and of the same requests sent
//!   straight to the server;
//! - requests/s through the proxy when it runs on one core (a current-thread runtime),
//!   with 16 keep-alive connections sending back to back, against the same load sent
//!   straight to the server, in five rounds that alternate the parties (each ratio is
//!   taken within its round; the median and range are printed).
//!
//! The server, the proxy and the client each run on their own thread. The proxy judges
//! every request against two HTTP rules (`GET /health`, `POST /submit` with a header), as
//! an ingress policy would, and reports every request on its channel.
//!
//! A third party runs the same way: a byte relay (`tokio::io::copy_bidirectional`, no
//! HTTP at all) in front of the same server. It makes the same four socket calls per
//! request as the proxy (read the request, send it on, read the response, send it back),
//! so its requests per CPU-second are the ceiling of any proxy on this kernel: the proxy
//! is reported against it as well as against the server. A fourth, the lean bound
//! ([`lean`]), parses both heads with `httparse` and judges them, and does nothing else:
//! what a relay written by hand on `httparse` instead of hyper could reach at best.
//!
//! This measures the proxy's own cost (parse, judge, forward, relay). The datapath's
//! redirect is measured by the lab tests, not here.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use enforcer::policy::http::{HeaderRequirement, HttpRule, Pattern};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use observe_proxy::http::server::{Config, Fixed, Handler};
use observe_proxy::http::{Stats, upstream::Direct};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

mod common;
#[path = "http/lean.rs"]
mod lean;

use common::{ThreadCpu, spawn_thread_runtime};

const RATE: u32 = 1_000;
const LATENCY_SECONDS: u32 = 5;
const ROUNDS: usize = 5;
const ROUND_SECONDS: f64 = 1.2;
const CONNECTIONS: usize = 16;

fn main() {
    let (server, server_cpu) =
        spawn_thread_runtime("http-server", || async { http_server().await });
    let (proxy, proxy_cpu) =
        spawn_thread_runtime("http-proxy", move || async move { proxy(server).await });
    let (relay, relay_cpu) =
        spawn_thread_runtime(
            "byte-relay",
            move || async move { byte_relay(server).await },
        );
    let (lean, lean_cpu) = spawn_thread_runtime("lean-http", move || async move {
        lean::serve(server, rules().0).await
    });
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    client.block_on(async {
        println!("HTTP proxy (loopback, against direct requests to the same server in this run)");
        let direct = latency(server).await;
        let proxied = latency(proxy).await;
        let relayed = latency(relay).await;
        println!(
            "  latency at {RATE} requests/s over {LATENCY_SECONDS} s, one keep-alive connection: \
             direct {}; through the proxy {}; through the byte relay {}",
            percentiles(&direct),
            against(&proxied, &direct),
            against(&relayed, &direct),
        );
        // Rounds alternate the parties, so that a slow spell of this VM weighs on all of
        // them alike; each ratio is taken within its round.
        let mut rounds = Vec::new();
        for _ in 0..ROUNDS {
            rounds.push(Round {
                direct: throughput(server, &server_cpu).await,
                proxied: throughput(proxy, &proxy_cpu).await,
                relayed: throughput(relay, &relay_cpu).await,
                lean: throughput(lean, &lean_cpu).await,
            });
        }
        for (i, r) in rounds.iter().enumerate() {
            println!(
                "  throughput round {}, {CONNECTIONS} keep-alive connections: direct {:.0} \
                 requests/s, through the proxy {:.0} ({:.2}x), through the byte relay {:.0}; per \
                 CPU-second of its thread: server {:.0}, proxy {:.0}, relay {:.0}; in the \
                 kernel: {:.0}% / {:.0}% / {:.0}%",
                i + 1,
                r.direct.rps,
                r.proxied.rps,
                r.proxied.rps / r.direct.rps,
                r.relayed.rps,
                r.direct.per_core(),
                r.proxied.per_core(),
                r.relayed.per_core(),
                r.direct.kernel * 100.0,
                r.proxied.kernel * 100.0,
                r.relayed.kernel * 100.0,
            );
        }
        let spread = |of: fn(&Round) -> f64| Spread::of(rounds.iter().map(of).collect());
        println!(
            "  per core, median of {ROUNDS} rounds (range): the proxy relays {} the requests the \
             server answers per CPU-second; the byte relay, doing no HTTP work, {}: the ceiling \
             of any proxy making the same socket calls; the proxy reaches {} of that ceiling",
            spread(|r| r.proxied.per_core() / r.direct.per_core()),
            spread(|r| r.relayed.per_core() / r.direct.per_core()),
            spread(|r| r.proxied.per_core() / r.relayed.per_core()),
        );
        println!(
            "  the lean bound (httparse heads, the same rules, nothing else): {} the server per \
             CPU-second, {} the byte relay",
            spread(|r| r.lean.per_core() / r.direct.per_core()),
            spread(|r| r.lean.per_core() / r.relayed.per_core()),
        );
        println!(
            "  (on loopback a send runs the receiver's TCP stack too: the proxy and the relay \
             send twice per request, the server once)"
        );
    });
}

/// `p50 X µs p99 Y µs` of `h`.
fn percentiles(h: &Histogram<u64>) -> String {
    format!(
        "p50 {} µs p99 {} µs",
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.99)
    )
}

/// The percentiles of `through`, and what they add to those of `direct`.
fn against(through: &Histogram<u64>, direct: &Histogram<u64>) -> String {
    let added = |q| {
        through
            .value_at_quantile(q)
            .saturating_sub(direct.value_at_quantile(q))
    };
    format!(
        "{}; added p50 {} µs p99 {} µs",
        percentiles(through),
        added(0.5),
        added(0.99)
    )
}

/// A server answering every request `200 ok`.
async fn http_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind server");
    let addr = listener.local_addr().expect("server address");
    tokio::task::spawn_local(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::task::spawn_local(async move {
                let service = hyper::service::service_fn(|_req| async {
                    Ok::<_, hyper::Error>(hyper::Response::new(Full::new(Bytes::from_static(
                        b"ok",
                    ))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// The two HTTP rules every request is judged against.
fn rules() -> Fixed {
    let rule = |m: &str, p: &str, headers: Vec<HeaderRequirement>| HttpRule {
        method: Some(Pattern::new(m).expect("method")),
        path: Some(Pattern::new(p).expect("path")),
        headers,
        ..HttpRule::default()
    };
    Fixed::ingress(
        "shop",
        "api",
        vec![
            rule(
                "POST",
                "/submit",
                vec![HeaderRequirement::parse("X-Token: s3cret")],
            ),
            rule("GET", "/health", Vec::new()),
        ],
    )
}

/// The proxy in front of `server`, with two HTTP rules.
async fn proxy(server: SocketAddr) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let addr = listener.local_addr().expect("proxy address");
    let judge = Arc::new(rules());
    let (tx, mut rx) = mpsc::channel(4096);
    tokio::task::spawn_local(async move { while rx.recv().await.is_some() {} });
    let handler = Handler::new(
        judge,
        Arc::new(Direct),
        tx,
        Arc::new(Stats::default()),
        Config::default(),
    );
    // Every connection's original destination is the server (no transparency here).
    tokio::task::spawn_local(async move {
        while let Ok((stream, client)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::task::spawn_local(observe_proxy::http::serve_connection(
                stream,
                client,
                server,
                handler.clone(),
            ));
        }
    });
    addr
}

/// A relay of bytes both ways between each connection and `server`, blind to HTTP.
async fn byte_relay(server: SocketAddr) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
    let addr = listener.local_addr().expect("relay address");
    tokio::task::spawn_local(async move {
        while let Ok((mut downstream, _)) = listener.accept().await {
            let _ = downstream.set_nodelay(true);
            tokio::task::spawn_local(async move {
                let Ok(mut upstream) = TcpStream::connect(server).await else {
                    return;
                };
                let _ = upstream.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut downstream, &mut upstream).await;
            });
        }
    });
    addr
}

type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

async fn connect(target: SocketAddr) -> Sender {
    let stream = TcpStream::connect(target).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    sender
}

async fn get(sender: &mut Sender) -> bool {
    if sender.ready().await.is_err() {
        return false;
    }
    let req = Request::get("/health")
        .header("host", "api:8080")
        .body(Empty::new())
        .expect("request");
    match sender.send_request(req).await {
        Ok(resp) => resp.status().is_success() && resp.into_body().collect().await.is_ok(),
        Err(_) => false,
    }
}

/// Request-to-response times (µs) of one request every millisecond.
async fn latency(target: SocketAddr) -> Histogram<u64> {
    let mut sender = connect(target).await;
    let mut hist = Histogram::<u64>::new_with_bounds(1, 10_000_000, 3).expect("histogram");
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / RATE);
    for _ in 0..RATE * LATENCY_SECONDS {
        ticker.tick().await;
        let started = Instant::now();
        assert!(get(&mut sender).await, "a 200");
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        hist.saturating_record(micros.max(1));
    }
    hist
}

/// The four parties' throughput in one round.
struct Round {
    direct: Throughput,
    proxied: Throughput,
    relayed: Throughput,
    lean: Throughput,
}

/// A ratio over the rounds: its median and range, shown as `0.43x (0.38-0.44)`.
struct Spread {
    median: f64,
    low: f64,
    high: f64,
}

impl Spread {
    fn of(mut ratios: Vec<f64>) -> Self {
        ratios.sort_by(f64::total_cmp);
        Self {
            median: ratios[ratios.len() / 2],
            low: ratios[0],
            high: ratios[ratios.len() - 1],
        }
    }
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.2}x ({:.2}-{:.2})", self.median, self.low, self.high)
    }
}

/// One party's throughput in one round.
struct Throughput {
    /// Answered requests per second.
    rps: f64,
    /// The share of a core the party's thread used meanwhile.
    cpu: f64,
    /// The share of that in the kernel.
    kernel: f64,
}

impl Throughput {
    /// Requests per CPU-second of the party's thread.
    fn per_core(&self) -> f64 {
        self.rps / self.cpu.max(1e-9)
    }
}

/// The throughput with `CONNECTIONS` connections sending back to back to `target` for
/// `ROUND_SECONDS`, `cpu` being the thread of the party measured.
async fn throughput(target: SocketAddr, cpu: &ThreadCpu) -> Throughput {
    tokio::time::sleep(Duration::from_millis(30)).await;
    let (cpu_before, system_before) = cpu.get();
    let answered = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(ROUND_SECONDS);
    let local = tokio::task::LocalSet::new();
    let started = Instant::now();
    for _ in 0..CONNECTIONS {
        let answered = answered.clone();
        local.spawn_local(async move {
            let mut sender = connect(target).await;
            while Instant::now() < deadline {
                if get(&mut sender).await {
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    local.await;
    let elapsed = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(30)).await;
    let (cpu_after, system_after) = cpu.get();
    let used = (cpu_after - cpu_before) as f64 / 1e9;
    let system = (system_after - system_before) as f64 / 1e9;
    Throughput {
        rps: answered.load(Ordering::Relaxed) as f64 / elapsed,
        cpu: used / elapsed,
        kernel: system / used.max(1e-9),
    }
}
