//! Datapath cost per packet, with `BPF_PROG_TEST_RUN`, and the event rate from the kernel to
//! a userspace reader. Needs root (prints a skip line otherwise).
//!
//! Per-packet figures are the kernel's own timing of the program runs (`duration` of
//! `BPF_PROG_TEST_RUN`, the average over `repeat` runs of one skb), medians over batches.
//! Batches are small enough for their events to fit the ring buffer, which is drained
//! between batches, so event emission is part of the cost and no event is lost.
//!
//! A new connection cannot be repeated on one skb (the first run creates the conntrack
//! entry, the next ones are established), so it is measured with `repeat = 1` on a fresh
//! source port each time, against a noop baseline measured the same way.
//!
//! Run: `cargo bench -p enforcer --features datapath --bench datapath`.

#[path = "../tests/datapath_common/frame.rs"]
#[allow(dead_code, reason = "the bench uses a few of the test frames")]
mod frame;

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aya::programs::{TestRun, TestRunOptions};
use enforcer::datapath::events::EventReader;
use enforcer::datapath::loader::Program;
use enforcer::datapath::{CookieTable, Datapath, DesiredState, EndpointInput, IpCacheInput};
use enforcer::mapstate::{
    Action, DirectionPolicy, EndpointPolicy, L7Kind, MapKey, MapState, MapValue, PortRange,
};
use enforcer::net::Cidr;
use enforcer::policy::origin::{PolicyKind, PolicyRef, RuleRef};
use frame::L4;
use probe_common::config::ProbeConfig;
use probe_common::event::trace_mode;
use probe_common::tc_action;

const LOCAL: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const PEER_ID: u32 = 2000;
/// Runs per batch: 2 events each at most, well within the 4 MiB ring (~43k records).
const BATCH: u32 = 10_000;
const BATCHES: usize = 30;
/// Events per burst in the event-rate run: with the reader at most one burst behind, the
/// ring (~47k records of 88 bytes) never holds more than two bursts.
const BURST: u32 = 20_000;
/// New connections measured one by one.
const SINGLES: u16 = 3_000;

/// Removes the bench's pin root on exit.
struct PinRoot(PathBuf);

impl Drop for PinRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Bench {
    dp: Datapath,
    events: Arc<Mutex<EventReader>>,
}

fn rule() -> RuleRef {
    let policy = Arc::new(PolicyRef {
        kind: PolicyKind::CiliumNetworkPolicy,
        namespace: "bench".into(),
        name: "web".into(),
    });
    RuleRef {
        policy,
        path: "spec.egress[0]".into(),
    }
}

/// An egress policy with `entries` entries: TCP/80 to the peer, and fillers for other
/// identities.
fn egress_policy(entries: u32) -> DirectionPolicy {
    let value = MapValue {
        action: Action::Allow,
        rules: Arc::from(vec![rule()]),
        l7: L7Kind::None,
    };
    let mut state = MapState::default();
    state.entries.insert(
        MapKey {
            identity: PEER_ID,
            protocol: 6,
            ports: PortRange::single(80),
        },
        value.clone(),
    );
    for i in 1..entries {
        let key = MapKey {
            identity: 100_000 + i,
            protocol: 6,
            ports: PortRange::single(80 + (i % 1000) as u16),
        };
        state.entries.insert(key, value.clone());
    }
    DirectionPolicy {
        enforced: true,
        selecting: vec![],
        state,
    }
}

impl Bench {
    fn new(root: &PinRoot) -> Self {
        let mut dp = Datapath::load_or_adopt(&root.0, "bench").expect("datapath loads");
        let events = Arc::new(Mutex::new(dp.take_events().expect("events")));
        Self { dp, events }
    }

    fn install(&mut self, entries: u32) {
        let policy = EndpointPolicy {
            ingress: DirectionPolicy::default(),
            egress: egress_policy(entries),
        };
        let ep = EndpointInput {
            ifindex: 1,
            endpoint_id: 7,
            identity: 1000,
            policy: &policy,
        };
        let peer = IpCacheInput {
            cidr: Cidr::host(IpAddr::V4(PEER)),
            identity: PEER_ID,
            zombie: false,
        };
        let desired = DesiredState::build([ep], [peer], &mut CookieTable::new()).expect("valid");
        self.dp.apply(&desired).expect("applied");
        self.dp.conntrack_map().clear().expect("conntrack cleared");
    }

    /// Average ns per run of `repeat` runs, as the kernel measured it.
    fn run(&mut self, program: Program, frame: &[u8], repeat: u32) -> (i32, f64) {
        let prog = self.dp.program_mut(program).expect("loaded");
        let r = prog
            .test_run(TestRunOptions {
                data_in: Some(frame),
                repeat,
                ..TestRunOptions::default()
            })
            .expect("test run");
        (r.return_value as i32, r.duration.as_nanos() as f64)
    }

    fn drain(&self) -> usize {
        self.events.lock().expect("reader").drain(usize::MAX).len()
    }

    /// Median ns/packet over batches of `frame`, draining events between batches.
    fn batches(&mut self, program: Program, frame: &[u8], want: i32) -> f64 {
        let mut samples = Vec::with_capacity(BATCHES);
        for _ in 0..BATCHES {
            let (action, ns) = self.run(program, frame, BATCH);
            assert_eq!(action, want);
            samples.push(ns);
            self.drain();
        }
        median(samples)
    }

    /// Median ns of single runs of new allowed connections (and of the noop on the same
    /// frames, for the baseline measured the same way).
    fn singles(&mut self) -> (f64, f64) {
        let (mut new, mut noop) = (Vec::new(), Vec::new());
        for sport in 1..=SINGLES {
            let f = frame::v4(
                LOCAL,
                PEER,
                &L4::Tcp {
                    sport: 20_000 + sport,
                    dport: 80,
                    flags: frame::SYN,
                },
            );
            let (action, ns) = self.run(Program::FromEndpoint, &f, 1);
            assert_eq!(action, tc_action::PASS);
            new.push(ns);
            noop.push(self.run(Program::Noop, &f, 1).1);
            if sport % 1000 == 0 {
                self.drain();
            }
        }
        self.drain();
        (median(new), median(noop))
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

struct Row {
    scenario: &'static str,
    entries: u32,
    ns: f64,
    baseline: f64,
}

fn latency_rows(bench: &mut Bench, entries: u32, rows: &mut Vec<Row>) {
    bench.install(entries);
    let allowed = frame::v4(
        LOCAL,
        PEER,
        &L4::Tcp {
            sport: 40_000,
            dport: 80,
            flags: frame::ACK,
        },
    );
    let denied = frame::v4(
        LOCAL,
        PEER,
        &L4::Tcp {
            sport: 40_000,
            dport: 81,
            flags: frame::SYN,
        },
    );
    let noop = bench.batches(Program::Noop, &allowed, tc_action::PASS);
    rows.push(Row {
        scenario: "noop (baseline)",
        entries,
        ns: noop,
        baseline: noop,
    });
    let (new, noop_single) = bench.singles();
    rows.push(Row {
        scenario: "new connection, allowed (verdict+trace events)",
        entries,
        ns: new,
        baseline: noop_single,
    });
    rows.push(Row {
        scenario: "  noop, single runs (baseline of the row above)",
        entries,
        ns: noop_single,
        baseline: noop_single,
    });
    // The first run creates the entry; the batches then measure established packets.
    assert_eq!(
        bench.run(Program::FromEndpoint, &allowed, 1).0,
        tc_action::PASS
    );
    bench.drain();
    let established = bench.batches(Program::FromEndpoint, &allowed, tc_action::PASS);
    rows.push(Row {
        scenario: "established (no events)",
        entries,
        ns: established,
        baseline: noop,
    });
    let reply = frame::v4(
        PEER,
        LOCAL,
        &L4::Tcp {
            sport: 80,
            dport: 40_000,
            flags: frame::ACK,
        },
    );
    let reply_ns = bench.batches(Program::ToEndpoint, &reply, tc_action::PASS);
    rows.push(Row {
        scenario: "reply (no events)",
        entries,
        ns: reply_ns,
        baseline: noop,
    });
    let denied_ns = bench.batches(Program::FromEndpoint, &denied, tc_action::DROP);
    rows.push(Row {
        scenario: "denied (verdict+drop events)",
        entries,
        ns: denied_ns,
        baseline: noop,
    });
}

/// Events/s from the kernel to a reader thread blocked in poll(2), with the producer
/// pacing itself so that nothing is lost: bursts of one trace event per run, the next burst
/// only once the reader has caught up.
fn event_rate(bench: &mut Bench) -> (u64, u64, u64, f64) {
    bench.install(100);
    bench
        .dp
        .config_map()
        .set(&ProbeConfig {
            trace_mode: trace_mode::ALL,
            ..ProbeConfig::DEFAULT
        })
        .expect("config");
    let established = frame::v4(
        LOCAL,
        PEER,
        &L4::Tcp {
            sport: 40_001,
            dport: 80,
            flags: frame::ACK,
        },
    );
    bench.run(Program::FromEndpoint, &established, 1);
    bench.drain();
    let lost_before = bench
        .dp
        .counter_map()
        .read()
        .expect("counters")
        .ringbuf_lost;

    let received = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (events, received, done) = (bench.events.clone(), received.clone(), done.clone());
        std::thread::spawn(move || {
            let mut reader = events.lock().expect("reader");
            let mut pollfd = libc::pollfd {
                fd: reader.as_fd().as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            while !done.load(Ordering::Acquire) {
                // SAFETY: one valid pollfd.
                unsafe { libc::poll(&mut pollfd, 1, 50) };
                let n = reader.drain(usize::MAX).len() as u64;
                received.fetch_add(n, Ordering::Release);
            }
            let n = reader.drain(usize::MAX).len() as u64;
            received.fetch_add(n, Ordering::Release);
        })
    };
    let mut sent = 0u64;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        let (action, _) = bench.run(Program::FromEndpoint, &established, BURST);
        assert_eq!(action, tc_action::PASS);
        sent += u64::from(BURST);
        while received.load(Ordering::Acquire) + u64::from(BURST) < sent {
            std::hint::spin_loop();
        }
    }
    while received.load(Ordering::Acquire) < sent && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(1));
    }
    let elapsed = start.elapsed().as_secs_f64();
    done.store(true, Ordering::Release);
    reader.join().expect("reader thread");
    let lost = bench
        .dp
        .counter_map()
        .read()
        .expect("counters")
        .ringbuf_lost
        - lost_before;
    let received = received.load(Ordering::Acquire);
    (sent, received, lost, received as f64 / elapsed)
}

fn main() {
    if !lab::require_root() {
        return;
    }
    let root = PinRoot(PathBuf::from(format!(
        "/sys/fs/bpf/obs-bench-{}",
        std::process::id()
    )));
    let mut bench = Bench::new(&root);
    let mut rows = Vec::new();
    for entries in [100, 100_000] {
        latency_rows(&mut bench, entries, &mut rows);
    }
    println!(
        "{:<50} {:>8} {:>10} {:>8}",
        "scenario", "entries", "ns/packet", "x noop"
    );
    for r in &rows {
        println!(
            "{:<50} {:>8} {:>10.1} {:>8.2}",
            r.scenario,
            r.entries,
            r.ns,
            r.ns / r.baseline
        );
    }
    let (sent, received, lost, rate) = event_rate(&mut bench);
    println!(
        "events to a userspace reader: sent {sent}, received {received}, lost {lost}: {:.2} M events/s",
        rate / 1e6
    );
    for program in [Program::FromEndpoint, Program::ToEndpoint, Program::Noop] {
        if let Ok(s) = bench.dp.program_stats(program) {
            println!(
                "{:<14} {:>5} insns, {:>6} verified, {:>6} bytes jited",
                program.name(),
                s.instructions,
                s.verified_instructions,
                s.jited_bytes
            );
        }
    }
}
