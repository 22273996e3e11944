//! Whole-pipeline benchmark, kernel to client (root only; `cargo xtask bench pipeline`):
//!
//! - latency from the datapath's timestamp of a packet to a gRPC client following
//!   `GetFlows` (what `observe flows -f` does), p50/p99/max with hdrhistogram, at a moderate
//!   steady rate;
//! - events/s through the whole pipeline (kernel ring buffer → reader → queue → decoder →
//!   flow ring → follower) at increasing offered rates, with the losses of each step, and
//!   the highest rate delivered with zero loss.
//!
//! The agent runs with `--trace all`, so every UDP packet between two pods makes two events
//! (from-endpoint and to-endpoint).
//!
//! - the same pipeline offered far more than a UDP flood can: the agent's own program run
//!   with `BPF_PROG_TEST_RUN` ([`test_run`]) at up to 2M events/s, each rate with what the
//!   agent saw and what it counted lost, and whether they balance with what was offered;
//!   first with no client (the agent alone), then with a `GetFlows` follower, with the
//!   CPU time the follower's own thread spent per flow it received (the client's share of
//!   the machine: receiving, HTTP/2 and protobuf decoding); then with a follower that
//!   reads the stream as `observe-relay` reads a node's (each response's kind and time,
//!   the flow left encoded: [`observe_proto::raw`]), which leaves the agent's own cost the
//!   bound rather than the client's decoding.

#[path = "../../tests/agent_e2e/common.rs"]
#[allow(
    dead_code,
    reason = "the shared harness has helpers only the tests use"
)]
mod common;

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use hdrhistogram::Histogram;
use observe_proto::flow::FlowFilter;
use observe_proto::observer::get_flows_response::ResponseTypes;
use observe_proto::observer::observer_client::ObserverClient;
use observe_proto::observer::{GetFlowsRequest, GetFlowsResponse, ServerStatusRequest};
use observe_proto::raw::{self, Kind, RawResponse};
use prost::Message;
use tonic::Streaming;

use common::{Cluster, ip};

#[path = "support/cpu.rs"]
mod cpu;
#[path = "pipeline/test_run.rs"]
mod test_run;

const PORT: u16 = 9000;

/// Counters a follower thread fills.
#[derive(Clone)]
struct Tally {
    received: Arc<AtomicU64>,
    lost: Arc<AtomicU64>,
    latency: Arc<Mutex<Histogram<u64>>>,
    stop: Arc<AtomicBool>,
    /// The follower thread's CPU time (user + system) as it last published it, in µs:
    /// what receiving and decoding the stream costs the client.
    cpu_us: Arc<AtomicU64>,
}

impl Tally {
    /// Publishes the calling (follower) thread's CPU time.
    fn publish_cpu(&self) {
        let us = (cpu::thread_cpu_secs() * 1e6) as u64;
        self.cpu_us.store(us, Ordering::Relaxed);
    }

    /// Counts a decoded response.
    fn decoded(&self, response: GetFlowsResponse) {
        match response.response_types {
            Some(ResponseTypes::Flow(f)) => {
                self.flow(f.time.map(|t| raw::nanos(t.seconds, t.nanos)))
            }
            Some(ResponseTypes::LostEvents(l)) => {
                self.lost.fetch_add(l.num_events_lost, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    /// Counts a response read raw (a loss report is decoded for its count).
    fn raw(&self, response: RawResponse) {
        match response.kind {
            Kind::Flow => self.flow(response.time),
            Kind::LostEvents => {
                if let Ok(lost) = GetFlowsResponse::decode(response.bytes) {
                    self.decoded(lost);
                }
            }
            Kind::NodeStatus | Kind::Other => {}
        }
    }

    /// Counts a flow of time `t` (ns since the epoch) and its delay.
    fn flow(&self, t: Option<i64>) {
        self.received.fetch_add(1, Ordering::Relaxed);
        let Some(t) = t else { return };
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        let micros = u64::try_from((now - t) / 1_000).unwrap_or(0).max(1);
        if let Ok(mut h) = self.latency.lock() {
            let _ = h.record(micros);
        }
    }
}

/// How a follower reads the stream.
#[derive(Clone, Copy)]
enum Reading {
    /// Every response decoded, as `hubble observe` and `observe flows` do.
    Decoded,
    /// Each response's kind and time only, the flow left encoded, as `observe-relay`
    /// reads a node's stream (loss reports are decoded: their counts are needed).
    Raw,
}

struct Follower {
    tally: Tally,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Follower {
    /// Follows flows to the bench port on its own runtime and thread, reading as `reading`.
    fn start(server: String, reading: Reading) -> Self {
        let tally = Tally {
            received: Arc::new(AtomicU64::new(0)),
            lost: Arc::new(AtomicU64::new(0)),
            latency: Arc::new(Mutex::new(
                Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram"),
            )),
            stop: Arc::new(AtomicBool::new(false)),
            cpu_us: Arc::new(AtomicU64::new(0)),
        };
        let t = tally.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(follow(server, t, reading));
        });
        std::thread::sleep(Duration::from_millis(300));
        Self {
            tally,
            thread: Some(thread),
        }
    }

    fn received(&self) -> u64 {
        self.tally.received.load(Ordering::Relaxed)
    }

    fn lost(&self) -> u64 {
        self.tally.lost.load(Ordering::Relaxed)
    }

    /// The follower thread's CPU time so far (published every 1,024 messages and when
    /// the stream is idle), in µs.
    fn cpu_us(&self) -> u64 {
        self.tally.cpu_us.load(Ordering::Relaxed)
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.tally.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The follower's request: every flow to the bench port, followed.
fn request() -> GetFlowsRequest {
    let filter = FlowFilter {
        destination_port: vec![PORT.to_string()],
        ..Default::default()
    };
    GetFlowsRequest {
        follow: true,
        whitelist: vec![filter],
        ..Default::default()
    }
}

async fn follow(server: String, tally: Tally, reading: Reading) {
    let channel = observe_proto::client::connect(&server, Duration::from_secs(2))
        .await
        .expect("connect");
    match reading {
        Reading::Decoded => {
            let mut client = ObserverClient::new(channel);
            let stream = client.get_flows(request()).await.expect("get_flows");
            drain(stream.into_inner(), &tally, Tally::decoded).await;
        }
        Reading::Raw => {
            let stream = raw::get_flows(channel, request()).await;
            drain(stream.expect("get_flows"), &tally, Tally::raw).await;
        }
    }
}

/// Reads `stream` until the follower is stopped, counting each message with `count`; the
/// CPU time is published every 1,024 messages and whenever the stream is idle.
async fn drain<T>(mut stream: Streaming<T>, tally: &Tally, count: impl Fn(&Tally, T)) {
    let mut messages = 0u64;
    while !tally.stop.load(Ordering::SeqCst) {
        let Ok(Ok(Some(message))) =
            tokio::time::timeout(Duration::from_millis(200), stream.message()).await
        else {
            tally.publish_cpu();
            continue;
        };
        messages += 1;
        if messages.is_multiple_of(1024) {
            tally.publish_cpu();
        }
        count(tally, message);
    }
}

/// Sends UDP datagrams from the client pod to the server pod at `pps` for `secs`; returns
/// how many were sent.
fn send(netns: &str, pps: u64, secs: f64) -> u64 {
    let target = SocketAddr::new(ip("server", false), PORT);
    lab::in_netns(netns, move || {
        let socket = UdpSocket::bind("0.0.0.0:0").expect("bind");
        let start = Instant::now();
        let total = (pps as f64 * secs) as u64;
        let mut sent = 0u64;
        while sent < total {
            // Pace in small batches against the wall clock.
            let due = (start.elapsed().as_secs_f64() * pps as f64) as u64;
            while sent < due.min(total) {
                if socket.send_to(b"bench", target).is_ok() {
                    sent += 1;
                }
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        sent
    })
    .expect("sender")
}

/// Flows seen by the agent and events it lost per source, from ServerStatus.
fn status_by_source(c: &Cluster) -> (u64, Vec<(i32, u64)>) {
    let mut client = ObserverClient::new(c.channel());
    let s =
        c.rt.block_on(client.server_status(ServerStatusRequest {}))
            .expect("status")
            .into_inner();
    let lost = s
        .lost_events
        .iter()
        .map(|l| (l.source, l.num_events_lost))
        .collect();
    (s.seen_flows, lost)
}

/// User + system CPU time of process `pid` so far (`/proc/PID/stat`), in milliseconds.
fn cpu_ms(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 11 and 12 after the name.
    // SAFETY: sysconf has no preconditions.
    let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap_or(100);
    (ticks(11) + ticks(12)) * 1000 / hz.max(1)
}

/// The machine's cores.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// (flows seen by the agent, events it lost) from ServerStatus.
fn status_counters(c: &Cluster) -> (u64, u64) {
    let (seen, lost) = status_by_source(c);
    (seen, lost.iter().map(|(_, n)| n).sum())
}

fn main() {
    let Some(c) = Cluster::with_agent_args("bench", &["--trace", "all", "--max-flows", "65535"])
    else {
        return;
    };
    let server_netns = c.endpoint("server").netns;
    let client_netns = c.endpoint("client").netns;
    // A sink that never answers: no replies or ICMP errors to count.
    let _sink = lab::in_netns(&server_netns, || {
        UdpSocket::bind(("::", PORT)).expect("sink")
    })
    .expect("sink netns");
    let follower = Follower::start(c.server(), Reading::Decoded);

    let sent = send(&client_netns, 2_000, 3.0);
    std::thread::sleep(Duration::from_secs(1));
    let h = follower
        .tally
        .latency
        .lock()
        .map(|h| h.clone())
        .expect("histogram");
    println!("pipeline benchmark (observerd --trace all: 2 events per UDP packet)");
    println!(
        "  kernel -> GetFlows follower latency at 4000 events/s: p50 {} us, p99 {} us, max {} us ({} samples; {} packets sent, {} flows received)",
        h.value_at_quantile(0.50),
        h.value_at_quantile(0.99),
        h.max(),
        h.len(),
        sent,
        follower.received()
    );
    println!(
        "  offered events/s   seen by agent/s   to follower      lost (agent)   lost (stream)"
    );
    let mut best = 0u64;
    for pps in [5_000u64, 10_000, 20_000, 40_000, 80_000] {
        let (seen0, lost0) = status_counters(&c);
        let (recv0, slost0) = (follower.received(), follower.lost());
        let start = Instant::now();
        let sent = send(&client_netns, pps, 2.0);
        let elapsed = start.elapsed().as_secs_f64();
        std::thread::sleep(Duration::from_millis(1500));
        let (seen1, lost1) = status_counters(&c);
        let (recv, slost) = (follower.received() - recv0, follower.lost() - slost0);
        let expected = 2 * sent;
        let zero_loss = recv >= expected && lost1 == lost0 && slost == 0;
        if zero_loss {
            best = best.max((expected as f64 / elapsed) as u64);
        }
        println!(
            "  {:>16.0}   {:>15.0}   {:>13}   {:>12}   {:>13}{}",
            expected as f64 / elapsed,
            (seen1 - seen0) as f64 / elapsed,
            format!("{recv}/{expected}"),
            lost1 - lost0,
            slost,
            if zero_loss { "" } else { "   <- loss" }
        );
    }
    println!("  highest rate delivered to the follower with zero loss: {best} events/s");
    drop(follower);
    println!(
        "  load from BPF_PROG_TEST_RUN on the agent's from_endpoint (one event per run, 2 s per rate), no client:"
    );
    let alone = offered_by_test_run(&c, None, &[]);
    // The last rate's loss notices reach the ring up to about two seconds after its
    // losses (see `settle`): let them land before a follower starts at the ring's end.
    std::thread::sleep(NOTICE_DELAY);
    println!("  the same with a GetFlows follower attached (decoding every response):");
    let decoded = Follower::start(c.server(), Reading::Decoded);
    offered_by_test_run(&c, Some(&decoded), &alone);
    drop(decoded);
    std::thread::sleep(NOTICE_DELAY);
    println!(
        "  the same with a follower reading the stream as observe-relay does (kind and time; the flow not decoded):"
    );
    offered_by_test_run(&c, Some(&Follower::start(c.server(), Reading::Raw)), &alone);
}

/// The longest a loss notice trails its losses: the agent polls the kernel's counter once
/// a second and writes each source's notice at most once a second (as Hubble paces its
/// lost events), a little later when its pipeline is busy.
const NOTICE_DELAY: Duration = Duration::from_millis(3000);

/// With a follower, waits until what it got and was told adds up to `total` (its tally
/// before the rate plus what the rate offered), at most [`NOTICE_DELAY`]: a rate's last
/// loss notice may reach the stream after the rate ended. A gap left after that is shown
/// as unaccounted.
fn settle(follower: Option<&Follower>, total: u64) {
    let Some(f) = follower else { return };
    let deadline = Instant::now() + NOTICE_DELAY;
    while f.received() + f.lost() < total && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The pipeline offered events by the agent's own program (see [`test_run`]), with or
/// without a follower attached: per rate what the agent saw, lost per source (kernel
/// ring, event queue), what the follower received and was told it lost, the balances,
/// and the agent's CPU time (user + system) per million events it saw. With a follower,
/// also the agent's CPU per flow it streamed: its CPU beyond what it spent at the same
/// rate alone (`alone`, this function's result without a follower), over the flows the
/// follower got. Last, the CPU each party spent at the rate (the agent's over the whole
/// tally; the follower's and the load generator's over their own threads), against the
/// CPU time the machine's cores give in the 2 s of load: on a small VM the three share
/// them.
/// Returns the agent's CPU (ms) at each rate.
fn offered_by_test_run(c: &Cluster, follower: Option<&Follower>, alone: &[u64]) -> Vec<u64> {
    let client = c.endpoint("client");
    let (std::net::IpAddr::V4(src), std::net::IpAddr::V4(dst)) =
        (ip("client", false), ip("server", false))
    else {
        unreachable!("IPv4 pod addresses")
    };
    let frame = test_run::udp_frame(src, dst, 40_000, PORT);
    let pid = c.agent_pid().expect("the agent runs");
    println!(
        "  offered/s   achieved/s        seen   lost ring  lost queue   unaccounted | follower got   told lost   unaccounted  its CPU ns per flow | agent CPU ms per 1M seen  agent CPU ns per streamed flow | CPU ms: agent + follower + load (of {} in 2 s)",
        cores() * 2_000
    );
    let mut cpus = Vec::new();
    let tally = |f: Option<&Follower>| f.map_or((0, 0), |f| (f.received(), f.lost()));
    let follower_cpu = |f: Option<&Follower>| f.map_or(0, Follower::cpu_us);
    let node = c.node.netns.clone();
    for (i, rate) in [100_000u64, 250_000, 500_000, 1_000_000, 2_000_000]
        .into_iter()
        .enumerate()
    {
        let (seen0, lost0) = status_by_source(c);
        let (got0, told0) = tally(follower);
        let (cpu0, follower_cpu0) = (cpu_ms(pid), follower_cpu(follower));
        let ifname = client.interface.clone();
        let ifindex = client.ifindex;
        let frame = frame.clone();
        let (offered, achieved, generator_ms) = lab::in_netns(&node, move || {
            let prog = test_run::from_endpoint(&ifname);
            let cpu0 = cpu::thread_cpu_secs();
            let (offered, achieved) = test_run::offer(&prog, &frame, ifindex, rate, 2.0);
            let ms = ((cpu::thread_cpu_secs() - cpu0) * 1e3) as u64;
            (offered, achieved, ms)
        })
        .expect("node namespace");
        std::thread::sleep(Duration::from_millis(2500));
        settle(follower, got0 + told0 + offered);
        let (seen1, lost1) = status_by_source(c);
        let cpu = cpu_ms(pid) - cpu0;
        let delta = |source: i32| {
            let at = |l: &[(i32, u64)]| {
                l.iter()
                    .filter(|(s, _)| *s == source)
                    .map(|(_, n)| n)
                    .sum::<u64>()
            };
            at(&lost1) - at(&lost0)
        };
        // Hubble's LostEventSource: 1 PERF_EVENT_RING_BUFFER, 2 OBSERVER_EVENTS_QUEUE.
        let (ring, queue) = (delta(1), delta(2));
        let seen = seen1 - seen0;
        let (got1, told1) = tally(follower);
        let (got, told) = (got1 - got0, told1 - told0);
        let follower_us = follower_cpu(follower) - follower_cpu0;
        let follower_ns = follower_us * 1_000 / got.max(1);
        let agent_gap = i128::from(offered) - i128::from(seen + ring + queue);
        // A follower should learn of every event it did not get: the agent's own losses
        // and the ring's overruns both reach it as lost-event notices.
        let stream = match follower {
            Some(_) => {
                let gap = i128::from(offered) - i128::from(got + told);
                format!("{got:>12}   {told:>9}   {gap:>11}  {follower_ns:>19}")
            }
            None => format!("{:>12}   {:>9}   {:>11}  {:>19}", "-", "-", "-", "-"),
        };
        let streaming = match (follower, alone.get(i)) {
            (Some(_), Some(&alone)) => {
                format!("{:>8}", cpu.saturating_sub(alone) * 1_000_000 / got.max(1))
            }
            _ => format!("{:>8}", "-"),
        };
        let machine = format!("{cpu} + {} + {generator_ms}", follower_us / 1_000);
        println!(
            "  {rate:>9}   {achieved:>10.0}   {seen:>9}   {ring:>9}   {queue:>9}   {agent_gap:>11} | {stream} | {:>6}                    {streaming} | {machine:>20}",
            cpu * 1_000_000 / seen.max(1)
        );
        cpus.push(cpu);
    }
    cpus
}
