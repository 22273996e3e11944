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
//! Floors: next to the empty program, the object has a floor program per path (`probe-ebpf`'s
//! `floor`): the same header reads and map operations as the probe on that path, on the
//! same maps, and nothing else. Each is measured as its path is, in the same run, and the
//! last table gives probe / floor against its goal (established ≤ 1.3, new ≤ 1.5).
//!
//! Aggregation: one connection flooded in each trace mode (no trace events, aggregated
//! with a 1 s interval, an event per packet): ns/packet and events per second.
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
/// Singles between drains: 4 events each (probe and floor), so at most 1,000 events
/// (88 KB) wait in the ring, well below the 256 KiB at which every event would force a
/// wake-up (`probe_common::wakeup::PENDING_BYTES`).
const SINGLES_PER_DRAIN: u16 = 250;
/// First source ports of the probe's and the floor's new connections (distinct, so each
/// finds no entry), clear of the established flows' 40_000 and 40_001.
const PROBE_SPORTS: u16 = 20_000;
const FLOOR_SPORTS: u16 = 30_000;
/// Goals for probe / floor.
const ESTABLISHED_GOAL: f64 = 1.3;
const NEW_CONNECTION_GOAL: f64 = 1.5;

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
        audit: None,
    }
}

impl Bench {
    fn new(root: &PinRoot) -> Self {
        let mut dp = Datapath::load_or_adopt(&root.0, "bench").expect("datapath loads");
        for floor in Program::FLOORS {
            dp.load_program(floor).expect("floor loads");
        }
        let events = Arc::new(Mutex::new(dp.take_events().expect("events")));
        Self { dp, events }
    }

    fn install(&mut self, entries: u32) {
        self.install_policy(egress_policy(entries));
    }

    /// [`Bench::install`], with a policy in audit mode that would deny the peer's port
    /// beside it: every new connection is decided twice and reported AUDIT.
    fn install_audited(&mut self, entries: u32) {
        let mut egress = egress_policy(entries);
        let mut audit = egress.clone();
        let denied = MapValue {
            action: Action::Deny,
            rules: Arc::from(vec![rule()]),
            l7: L7Kind::None,
        };
        let key = MapKey {
            identity: PEER_ID,
            protocol: 6,
            ports: PortRange::single(80),
        };
        audit.state.entries.insert(key, denied);
        egress.audit = Some(Box::new(audit));
        self.install_policy(egress);
    }

    fn install_policy(&mut self, egress: DirectionPolicy) {
        self.install_as(egress, false);
    }

    /// The endpoint on the test-run interface with `egress` policy: a pod's, or with
    /// `host` the node's host endpoint on a device (host firewall), LOCAL its address.
    fn install_as(&mut self, egress: DirectionPolicy, host: bool) {
        let policy = EndpointPolicy {
            ingress: DirectionPolicy::default(),
            egress,
        };
        let identity = if host {
            probe_common::identity::HOST
        } else {
            1000
        };
        let ep = EndpointInput {
            ifindex: 1,
            endpoint_id: 7,
            identity,
            policy: &policy,
            host,
        };
        let address = |ip: Ipv4Addr, identity| IpCacheInput {
            cidr: Cidr::host(IpAddr::V4(ip)),
            identity,
            zombie: false,
        };
        let peers = [address(PEER, PEER_ID), address(LOCAL, identity)];
        let desired = DesiredState::build([ep], peers, &mut CookieTable::new()).expect("valid");
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
        self.interleaved(&[program], frame, want)[0]
    }

    /// [`Bench::batches`] of several programs on one frame, a batch of each in turn, so
    /// that all of them see the same machine (other load comes and goes).
    fn interleaved(&mut self, programs: &[Program], frame: &[u8], want: i32) -> Vec<f64> {
        let mut samples = vec![Vec::with_capacity(BATCHES); programs.len()];
        for _ in 0..BATCHES {
            for (program, samples) in programs.iter().zip(&mut samples) {
                let (action, ns) = self.run(*program, frame, BATCH);
                assert_eq!(action, want);
                samples.push(ns);
                self.drain();
            }
        }
        samples.into_iter().map(median).collect()
    }

    /// One single run of `program` on a new connection from source port `sport`.
    fn single(&mut self, program: Program, sport: u16) -> f64 {
        let (action, ns) = self.run(program, &syn(sport), 1);
        assert_eq!(action, tc_action::PASS);
        ns
    }

    /// Median ns of single runs of new allowed connections, of the floor on other new
    /// connections, and of the noop, interleaved so that all three see the same machine.
    fn singles(&mut self) -> Singles {
        let (mut probe, mut floor, mut noop) = (Vec::new(), Vec::new(), Vec::new());
        for i in 1..=SINGLES {
            probe.push(self.single(Program::FromEndpoint, PROBE_SPORTS + i));
            floor.push(self.single(Program::NewConnectionFloor, FLOOR_SPORTS + i));
            noop.push(self.single(Program::Noop, PROBE_SPORTS + i));
            if i % SINGLES_PER_DRAIN == 0 {
                self.drain();
            }
        }
        self.drain();
        Singles {
            probe: median(probe),
            floor: median(floor),
            noop: median(noop),
        }
    }
}

/// Medians of [`Bench::singles`].
struct Singles {
    probe: f64,
    floor: f64,
    noop: f64,
}

/// The SYN of a new connection to the peer's allowed port.
fn syn(sport: u16) -> Vec<u8> {
    frame::v4(
        LOCAL,
        PEER,
        &L4::Tcp {
            sport,
            dport: 80,
            flags: frame::SYN,
        },
    )
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

/// One path's probe, floor and empty-program figures.
struct PathCost {
    path: &'static str,
    entries: u32,
    probe: f64,
    floor: f64,
    empty: f64,
    goal: f64,
}

fn latency_rows(bench: &mut Bench, entries: u32, rows: &mut Vec<Row>, paths: &mut Vec<PathCost>) {
    bench.install(entries);
    let first = rows.len();
    let new = new_connection_rows(bench, entries, rows);
    audited_rows(bench, entries, new.probe, rows);
    paths.push(new);
    bench.install(entries);
    let established = established_rows(bench, entries, rows);
    let noop = established.empty;
    // The batch baseline heads the entries' rows, as it is the baseline of most of them.
    rows.insert(
        first,
        Row {
            scenario: "noop (baseline)",
            entries,
            ns: noop,
            baseline: noop,
        },
    );
    paths.push(established);
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
    let denied = frame::v4(
        LOCAL,
        PEER,
        &L4::Tcp {
            sport: 40_000,
            dport: 81,
            flags: frame::SYN,
        },
    );
    let denied_ns = bench.batches(Program::FromEndpoint, &denied, tc_action::DROP);
    rows.push(Row {
        scenario: "denied (verdict+drop events)",
        entries,
        ns: denied_ns,
        baseline: noop,
    });
}

/// New connections: the probe, its floor and the noop, single runs.
fn new_connection_rows(bench: &mut Bench, entries: u32, rows: &mut Vec<Row>) -> PathCost {
    let new = bench.singles();
    rows.push(Row {
        scenario: "new connection, allowed (verdict+trace events)",
        entries,
        ns: new.probe,
        baseline: new.noop,
    });
    rows.push(Row {
        scenario: "  its floor (same map ops and events)",
        entries,
        ns: new.floor,
        baseline: new.noop,
    });
    rows.push(Row {
        scenario: "  noop, single runs (baseline of the rows above)",
        entries,
        ns: new.noop,
        baseline: new.noop,
    });
    PathCost {
        path: "new connection",
        entries,
        probe: new.probe,
        floor: new.floor,
        empty: new.noop,
        goal: NEW_CONNECTION_GOAL,
    }
}

/// New connections under a policy in audit mode that would deny them: against the noop,
/// and against the same connections without it (`enforced_ns`, measured just before).
fn audited_rows(bench: &mut Bench, entries: u32, enforced_ns: f64, rows: &mut Vec<Row>) {
    bench.install_audited(entries);
    let audited = bench.singles();
    rows.push(Row {
        scenario: "new connection, audited (AUDIT verdict+trace)",
        entries,
        ns: audited.probe,
        baseline: audited.noop,
    });
    rows.push(Row {
        scenario: "  x the same connection, not audited",
        entries,
        ns: audited.probe,
        baseline: enforced_ns,
    });
}

/// Established packets: the probe, its floor and the noop, interleaved batches.
fn established_rows(bench: &mut Bench, entries: u32, rows: &mut Vec<Row>) -> PathCost {
    let allowed = frame::v4(
        LOCAL,
        PEER,
        &L4::Tcp {
            sport: 40_000,
            dport: 80,
            flags: frame::ACK,
        },
    );
    // The first run creates the entry; the batches then measure established packets.
    assert_eq!(
        bench.run(Program::FromEndpoint, &allowed, 1).0,
        tc_action::PASS
    );
    bench.drain();
    let programs = [
        Program::Noop,
        Program::FromEndpoint,
        Program::EstablishedFloor,
    ];
    let [noop, probe, floor] = bench.interleaved(&programs, &allowed, tc_action::PASS)[..] else {
        unreachable!("one median per program")
    };
    rows.push(Row {
        scenario: "established (no events)",
        entries,
        ns: probe,
        baseline: noop,
    });
    rows.push(Row {
        scenario: "  its floor (same map ops)",
        entries,
        ns: floor,
        baseline: noop,
    });
    PathCost {
        path: "established",
        entries,
        probe,
        floor,
        empty: noop,
        goal: ESTABLISHED_GOAL,
    }
}

/// The host firewall on a node device (`to_network`): a packet the node forwards for a
/// pod (passed without a decision: one ipcache lookup), and an established packet of the
/// node's own, each against the noop of the same batches.
fn device_rows(bench: &mut Bench, entries: u32, rows: &mut Vec<Row>) {
    bench.install_as(egress_policy(entries), true);
    let ack = |src| {
        frame::v4(
            src,
            PEER,
            &L4::Tcp {
                sport: 40_000,
                dport: 80,
                flags: frame::ACK,
            },
        )
    };
    let pod = Ipv4Addr::new(10, 0, 9, 9);
    let programs = [Program::Noop, Program::ToNetwork];
    let [noop, forwarded] = bench.interleaved(&programs, &ack(pod), tc_action::PASS)[..] else {
        unreachable!("one median per program")
    };
    assert_eq!(
        bench.run(Program::ToNetwork, &ack(LOCAL), 1).0,
        tc_action::PASS
    );
    bench.drain();
    let [noop2, own] = bench.interleaved(&programs, &ack(LOCAL), tc_action::PASS)[..] else {
        unreachable!("one median per program")
    };
    rows.push(Row {
        scenario: "node device: forwarded for a pod (no decision)",
        entries,
        ns: forwarded,
        baseline: noop,
    });
    rows.push(Row {
        scenario: "node device: the node's own, established",
        entries,
        ns: own,
        baseline: noop2,
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

/// One connection flooded with established packets in each trace mode: `(mode, ns/packet,
/// packets, events, seconds)`. The cost is the median over batches, as for the other
/// rows; the events are counted over two seconds of single runs (one packet per
/// `BPF_PROG_TEST_RUN`), because within a repeated run the coarse clock that aggregation
/// intervals are measured with did not advance on this VM. With `--trace all` every
/// packet is an event; aggregated (a 1 s interval), the flood is a report per interval.
fn aggregation_flood(bench: &mut Bench) -> Vec<(&'static str, f64, u64, u64, f64)> {
    bench.install(100);
    let flood = frame::v4(
        LOCAL,
        PEER,
        &L4::Tcp {
            sport: 40_002,
            dport: 80,
            flags: frame::ACK,
        },
    );
    let modes = [
        ("new (no trace events)", trace_mode::NEW_CONNECTIONS),
        ("aggregate, 1 s interval", trace_mode::AGGREGATE),
        ("all (an event per packet)", trace_mode::ALL),
    ];
    let mut out = Vec::new();
    for (name, mode) in modes {
        bench
            .dp
            .config_map()
            .set(&ProbeConfig {
                trace_mode: mode,
                aggregation_interval_ms: 1_000,
                ..ProbeConfig::DEFAULT
            })
            .expect("config");
        bench.run(Program::FromEndpoint, &flood, 1);
        bench.drain();
        let ns = bench.batches(Program::FromEndpoint, &flood, tc_action::PASS);
        let (mut packets, mut events) = (0u64, 0u64);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(2) {
            let (action, _) = bench.run(Program::FromEndpoint, &flood, 1);
            assert_eq!(action, tc_action::PASS);
            packets += 1;
            if packets.is_multiple_of(1_000) {
                events += bench.drain() as u64;
            }
        }
        events += bench.drain() as u64;
        out.push((name, ns, packets, events, start.elapsed().as_secs_f64()));
    }
    out
}

/// Probe against floor against empty program, per path: `probe / floor` is what the
/// probe's logic costs over its map operations; `net` is the same with the empty
/// program's cost taken off both.
fn print_floors(paths: &[PathCost]) {
    println!(
        "\n{:<16} {:>8} {:>9} {:>9} {:>9} {:>12} {:>6} {:>6}",
        "path", "entries", "probe ns", "floor ns", "empty ns", "probe/floor", "net", "goal"
    );
    for p in paths {
        let ratio = p.probe / p.floor;
        let met = if ratio <= p.goal { "met" } else { "missed" };
        println!(
            "{:<16} {:>8} {:>9.1} {:>9.1} {:>9.1} {:>12.2} {:>6.2} {:>6} {met}",
            p.path,
            p.entries,
            p.probe,
            p.floor,
            p.empty,
            ratio,
            (p.probe - p.empty) / (p.floor - p.empty),
            format!("≤{}", p.goal),
        );
    }
    println!();
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
    let (mut rows, mut paths) = (Vec::new(), Vec::new());
    for entries in [100, 100_000] {
        latency_rows(&mut bench, entries, &mut rows, &mut paths);
    }
    device_rows(&mut bench, 100, &mut rows);
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
    print_floors(&paths);
    println!("one connection flooded with established packets, per trace mode:");
    for (mode, ns, packets, events, seconds) in aggregation_flood(&mut bench) {
        println!(
            "  {mode:<26} {ns:>6.1} ns/packet; {packets} packets in {seconds:.1} s: {events} events ({:.1}/s)",
            events as f64 / seconds,
        );
    }
    let (sent, received, lost, rate) = event_rate(&mut bench);
    println!(
        "events to a userspace reader: sent {sent}, received {received}, lost {lost}: {:.2} M events/s",
        rate / 1e6
    );
    for program in Program::ALL.into_iter().chain(Program::FLOORS) {
        if let Ok(s) = bench.dp.program_stats(program) {
            println!(
                "{:<21} {:>5} insns, {:>6} verified, {:>6} bytes jited",
                program.name(),
                s.instructions,
                s.verified_instructions,
                s.jited_bytes
            );
        }
    }
}
