//! The datapath on real traffic: two pods on one lab node, the programs attached (tcx) to
//! their host-side veths inside the node's namespace, no observer. Real TCP, UDP and ICMP
//! over IPv4 and IPv6 must be allowed or dropped exactly as the policy says, in both
//! directions, and every drop must arrive as a DROP event with the right reason and
//! identities. A second test restarts the agent (drops the `Datapath`, loads a new one
//! that adopts the pins) while a client keeps probing: nothing changes, at no instant.
//!
//! Needs root (skips otherwise).

mod datapath_common;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use datapath_common::{Entry, enforced, open};
use enforcer::datapath::attach::{AttachMode, Interface};
use enforcer::datapath::events::EventReader;
use enforcer::datapath::{CookieTable, Datapath, DesiredState, EndpointInput, IpCacheInput};
use enforcer::mapstate::{Action, EndpointPolicy, PortRange};
use enforcer::net::Cidr;
use lab::{BpffsDir, Lab, PodRef, TcpServer, UdpEcho, in_netns, ping, tcp_connect, udp_roundtrip};
use probe_common::event::{FlowEvent, kind};
use probe_common::{direction, drop_reason};

const A_ID: u32 = 1001;
const B_ID: u32 = 1002;
const TIMEOUT: Duration = Duration::from_secs(2);
/// For probes expected to fail (their SYN or datagram is dropped).
const SHORT: Duration = Duration::from_millis(400);

const TCP: u8 = 6;
const UDP: u8 = 17;

fn allow(identity: u32, protocol: u8, ports: PortRange, name: &str) -> Entry<'_> {
    (identity, protocol, ports, Action::Allow, name)
}

/// The lab's policy:
/// - a egress: everything to b except TCP/8081 (an explicit deny, 181);
/// - a ingress: only pings from b (so replies to a's own connections must pass conntrack);
/// - b ingress: from a, TCP/8080, UDP/5353 and pings; nothing else (133);
/// - b egress: not enforced.
fn policies() -> (EndpointPolicy, EndpointPolicy) {
    let a = EndpointPolicy {
        ingress: enforced(&[
            allow(B_ID, 1, PortRange::single(8), "a-ping"),
            allow(B_ID, 58, PortRange::single(128), "a-ping6"),
        ]),
        egress: enforced(&[
            allow(B_ID, 0, PortRange::ALL, "a-to-b"),
            (
                B_ID,
                TCP,
                PortRange::single(8081),
                Action::Deny,
                "a-no-8081",
            ),
        ]),
    };
    let b = EndpointPolicy {
        ingress: enforced(&[
            allow(A_ID, TCP, PortRange::single(8080), "b-web"),
            allow(A_ID, UDP, PortRange::single(5353), "b-dns"),
            allow(A_ID, 1, PortRange::single(8), "b-ping"),
            allow(A_ID, 58, PortRange::single(128), "b-ping6"),
        ]),
        egress: open(),
    };
    (a, b)
}

fn desired(a: &PodRef, b: &PodRef, cookies: &mut CookieTable) -> DesiredState {
    let (pa, pb) = policies();
    let endpoints = [
        EndpointInput {
            ifindex: a.host_ifindex,
            endpoint_id: 1,
            identity: A_ID,
            policy: &pa,
            host: false,
        },
        EndpointInput {
            ifindex: b.host_ifindex,
            endpoint_id: 2,
            identity: B_ID,
            policy: &pb,
            host: false,
        },
    ];
    let mut ipcache = Vec::new();
    for (pod, identity) in [(a, A_ID), (b, B_ID)] {
        ipcache.extend(pod.ips().map(|ip| IpCacheInput {
            cidr: Cidr::host(ip),
            identity,
            zombie: false,
        }));
    }
    DesiredState::build(endpoints, ipcache, cookies).expect("valid inputs")
}

/// Loads (or adopts) the datapath inside the node's namespace and attaches it to both
/// pods' host veths.
fn start(node_netns: &str, pins: &BpffsDir, pods: [&PodRef; 2]) -> Datapath {
    let pin_root = pins.path().to_path_buf();
    let ifnames: Vec<String> = pods.iter().map(|p| p.host_ifname.clone()).collect();
    in_netns(node_netns, move || {
        let mut dp = Datapath::load_or_adopt(&pin_root, "node1").expect("datapath loads");
        for name in ifnames {
            let attached = dp.attach(&Interface::Name(name)).expect("attached");
            assert_ne!(attached.from, AttachMode::Netlink, "this kernel has tcx");
        }
        dp
    })
    .expect("node namespace entered")
}

fn sock(ip: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(ip, port)
}

/// The address in an event's address field, by family.
fn addr(family: u8, bytes: [u8; 16]) -> Option<IpAddr> {
    match family {
        4 => Some(IpAddr::from([bytes[0], bytes[1], bytes[2], bytes[3]])),
        6 => Some(IpAddr::from(bytes)),
        _ => None,
    }
}

/// Whether `e` is about a packet between `x` and `y` (either way).
fn between(e: &FlowEvent, x: IpAddr, y: IpAddr) -> bool {
    let (src, dst) = (addr(e.family, e.saddr), addr(e.family, e.daddr));
    (src, dst) == (Some(x), Some(y)) || (src, dst) == (Some(y), Some(x))
}

/// The DROP events among `events`.
fn drops(events: &[FlowEvent]) -> Vec<FlowEvent> {
    events
        .iter()
        .filter(|e| e.kind == kind::DROP)
        .copied()
        .collect()
}

/// Asserts that a drop of `reason` for a packet `src_id → dst_id` to `dport` was reported
/// in `direction`.
fn assert_dropped(
    events: &mut EventReader,
    reason: u8,
    dir: u8,
    (src_id, dst_id): (u32, u32),
    dport: u16,
) {
    let got = drops(&events.drain(10_000));
    let found = got.iter().any(|e| {
        e.subtype == reason
            && e.direction == dir
            && e.src_identity == src_id
            && e.dst_identity == dst_id
            && e.dport == dport
    });
    assert!(
        found,
        "no DROP {reason} dir {dir} {src_id}->{dst_id}:{dport} among {got:#?}"
    );
}

#[test]
fn real_traffic_between_two_pods_is_policed_both_ways() {
    if !lab::require_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let mut lab = Lab::new("dplab").expect("lab");
    let node = lab.add_node("node1").expect("node");
    let a = lab
        .add_pod(
            &node,
            "a",
            "10.0.1.1".parse().expect("ip"),
            Some("fd00::1:1".parse().expect("ip")),
        )
        .expect("pod a");
    let b = lab
        .add_pod(
            &node,
            "b",
            "10.0.1.2".parse().expect("ip"),
            Some("fd00::1:2".parse().expect("ip")),
        )
        .expect("pod b");
    let pins = lab.bpffs_dir("dp").expect("bpffs dir");
    let mut dp = start(&node.netns, &pins, [&a, &b]);
    let mut events = dp.take_events().expect("events");
    dp.apply(&desired(&a, &b, &mut CookieTable::new()))
        .expect("applied");

    for (a_ip, b_ip) in a.ips().zip(b.ips()) {
        let servers: Vec<TcpServer> = [8080, 8081, 8082]
            .iter()
            .map(|&p| TcpServer::start(&b.netns, sock(b_ip, p)).expect("server"))
            .collect();
        let udp = [5353, 5354].map(|p| UdpEcho::start(&b.netns, sock(b_ip, p)).expect("udp echo"));
        let on_a = TcpServer::start(&a.netns, sock(a_ip, 9090)).expect("server on a");
        events.drain(10_000);

        // a → b, allowed both ways by policy (the replies pass a's enforced ingress as replies).
        assert!(
            tcp_connect(&a.netns, sock(b_ip, 8080), TIMEOUT).expect("probe"),
            "a → {b_ip}:8080"
        );
        assert!(
            udp_roundtrip(&a.netns, sock(b_ip, 5353), TIMEOUT).expect("probe"),
            "a → {b_ip}:5353/udp"
        );
        assert!(
            ping(&a.netns, b_ip, 1, TIMEOUT).expect("probe"),
            "ping a → {b_ip}"
        );
        assert!(
            ping(&b.netns, a_ip, 1, TIMEOUT).expect("probe"),
            "ping b → {a_ip}"
        );
        let dropped: Vec<FlowEvent> = drops(&events.drain(10_000))
            .into_iter()
            .filter(|e| between(e, a_ip, b_ip))
            .collect();
        assert!(
            dropped.is_empty(),
            "allowed traffic was dropped: {dropped:#?}"
        );

        // a's egress denies TCP/8081 explicitly.
        assert!(
            !tcp_connect(&a.netns, sock(b_ip, 8081), SHORT).expect("probe"),
            "a → {b_ip}:8081"
        );
        assert_dropped(
            &mut events,
            drop_reason::POLICY_DENY,
            direction::EGRESS,
            (A_ID, B_ID),
            8081,
        );
        // b's ingress has no allow for TCP/8082 or UDP/5354.
        assert!(
            !tcp_connect(&a.netns, sock(b_ip, 8082), SHORT).expect("probe"),
            "a → {b_ip}:8082"
        );
        assert_dropped(
            &mut events,
            drop_reason::POLICY_DENIED,
            direction::INGRESS,
            (A_ID, B_ID),
            8082,
        );
        assert!(
            !udp_roundtrip(&a.netns, sock(b_ip, 5354), SHORT).expect("probe"),
            "a → {b_ip}:5354/udp"
        );
        assert_dropped(
            &mut events,
            drop_reason::POLICY_DENIED,
            direction::INGRESS,
            (A_ID, B_ID),
            5354,
        );
        // b → a: only pings may come in.
        assert!(
            !tcp_connect(&b.netns, sock(a_ip, 9090), SHORT).expect("probe"),
            "b → {a_ip}:9090"
        );
        assert_dropped(
            &mut events,
            drop_reason::POLICY_DENIED,
            direction::INGRESS,
            (B_ID, A_ID),
            9090,
        );

        assert_eq!(
            servers[1].accepted() + servers[2].accepted() + on_a.accepted(),
            0,
            "denied connections never arrived"
        );
        assert_eq!(udp[1].received(), 0, "denied datagrams never arrived");
    }
    let counters = dp.counter_map().read().expect("counters");
    assert!(
        counters.dropped_with(drop_reason::POLICY_DENY) >= 2,
        "{counters:?}"
    );
    assert_eq!(counters.ringbuf_lost, 0);
}

#[test]
fn a_restarted_agent_adopts_the_pinned_datapath_without_a_gap() {
    if !lab::require_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let mut lab = Lab::new("dprestart").expect("lab");
    let node = lab.add_node("node1").expect("node");
    let a = lab
        .add_pod(&node, "a", "10.0.2.1".parse().expect("ip"), None)
        .expect("pod a");
    let b = lab
        .add_pod(&node, "b", "10.0.2.2".parse().expect("ip"), None)
        .expect("pod b");
    let pins = lab.bpffs_dir("dp").expect("bpffs dir");
    let b_ip = IpAddr::V4(b.v4);
    let _allowed_server = TcpServer::start(&b.netns, sock(b_ip, 8080)).expect("server");
    let denied_server = TcpServer::start(&b.netns, sock(b_ip, 8082)).expect("server");

    let mut first = start(&node.netns, &pins, [&a, &b]);
    let mut cookies = CookieTable::new();
    first
        .apply(&desired(&a, &b, &mut cookies))
        .expect("applied");
    assert!(tcp_connect(&a.netns, sock(b_ip, 8080), TIMEOUT).expect("probe"));

    // A client probes both flows without pause while the agent goes away and comes back.
    let stop = Arc::new(AtomicBool::new(false));
    let (probes, failures) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let prober = {
        let (stop, probes, failures, netns) = (
            stop.clone(),
            probes.clone(),
            failures.clone(),
            a.netns.clone(),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::Acquire) {
                let allowed = tcp_connect(&netns, sock(b_ip, 8080), TIMEOUT).unwrap_or(false);
                let denied = tcp_connect(&netns, sock(b_ip, 8082), Duration::from_millis(150))
                    .unwrap_or(true);
                if !allowed || denied {
                    failures.fetch_add(1, Ordering::AcqRel);
                }
                probes.fetch_add(1, Ordering::AcqRel);
            }
        })
    };
    let wait_for_probes = |n: usize| {
        let target = probes.load(Ordering::Acquire) + n;
        while probes.load(Ordering::Acquire) < target {
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for_probes(3);
    drop(first); // the agent exits: only the pins keep the datapath
    wait_for_probes(3);
    let mut second = start(&node.netns, &pins, [&a, &b]);
    assert!(second.is_adopted());
    let adopted = second.adopted_links();
    assert_eq!(adopted.len(), 4, "{adopted:?}");
    assert!(adopted.iter().all(|l| l.updated), "{adopted:?}");
    let mut cookies = CookieTable::starting_after(second.max_pinned_cookie().expect("cookies"));
    second
        .apply(&desired(&a, &b, &mut cookies))
        .expect("re-applied");
    wait_for_probes(3);
    stop.store(true, Ordering::Release);
    prober.join().expect("prober");

    assert_eq!(
        failures.load(Ordering::Acquire),
        0,
        "of {} probes",
        probes.load(Ordering::Acquire)
    );
    assert_eq!(denied_server.accepted(), 0);
    // Detaching removes the pins: the datapath stops enforcing.
    in_netns(&node.netns, || {
        second
            .detach(&Interface::Name(a.host_ifname.clone()))
            .expect("detached");
        second
            .detach(&Interface::Name(b.host_ifname.clone()))
            .expect("detached");
    })
    .expect("node namespace entered");
    assert!(
        tcp_connect(&a.netns, sock(b_ip, 8082), TIMEOUT).expect("probe"),
        "no enforcement after detach"
    );
}
