//! The datapath's verdicts and events on crafted frames, with `BPF_PROG_TEST_RUN`: both
//! programs, every verdict path. Each test loads its own datapath under a unique pin root,
//! registers the test-run interface (`lo`, ifindex 1: what `BPF_PROG_TEST_RUN` gives the
//! skb) as endpoint 7, applies a policy through the real reconciler, runs frames, and
//! checks the returned action and every event's fields.
//!
//! Needs root (skips otherwise).

mod datapath_common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use aya::programs::{TestRun, TestRunOptions};
use datapath_common::frame::{self, ACK, FIN, L4, SYN};
use datapath_common::{Entry, PinRoot, enforced, open};
use enforcer::datapath::attach::Hook;
use enforcer::datapath::events::EventReader;
use enforcer::datapath::loader::Program;
use enforcer::datapath::maps::MapOps;
use enforcer::datapath::{CookieTable, Datapath, DesiredState, EndpointInput, IpCacheInput};
use enforcer::mapstate::{Action, DirectionPolicy, EndpointPolicy, PortRange};
use enforcer::net::Cidr;
use enforcer::policy::Direction;
use probe_common::config::ProbeConfig;
use probe_common::conntrack::{ct_flags, lifetime, state};
use probe_common::event::{
    ConnectionCounters, FlowEvent, event_flags, kind, obs_point, trace_mode, verdict,
};
use probe_common::ipcache::{FAMILY_V4, FAMILY_V6, WORLD_IDENTITY};
use probe_common::policy::match_type;
use probe_common::{direction, drop_reason, tc_action};

/// The interface `BPF_PROG_TEST_RUN` runs the programs on (`lo` of the test's netns).
const TEST_IFINDEX: u32 = 1;
const ENDPOINT_ID: u16 = 7;
const LOCAL_ID: u32 = 1000;
const PEER_ID: u32 = 2000;
const OTHER_ID: u32 = 3000;
const LOCAL: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const OTHER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);
const WORLD: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const LOCAL6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
const PEER6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);

const HOST_ID: u32 = probe_common::identity::HOST;
/// The node's own address, and its host endpoint's id (host firewall).
const NODE: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 9);
const NODE_ENDPOINT_ID: u16 = 65535;

const TCP: u8 = 6;
const UDP: u8 = 17;
const ICMP: u8 = 1;
const ICMPV6: u8 = 58;
const SCTP: u8 = 132;

/// A loaded datapath with endpoint 7 on the test-run interface.
struct Harness {
    dp: Datapath,
    events: EventReader,
    cookies: CookieTable,
    /// Addresses written as zombies (expired DNS answers with open connections).
    zombies: Vec<IpAddr>,
    /// The endpoint is the node's host endpoint on a device: identity host, and LOCAL is
    /// the node's own address.
    host: bool,
    /// The node's host endpoint for the pods' programs (host firewall), NODE its address.
    node_policy: Option<EndpointPolicy>,
    _root: PinRoot,
}

impl Harness {
    /// Endpoint 7 with `ingress` and `egress` policy.
    fn new(ingress: DirectionPolicy, egress: DirectionPolicy) -> Self {
        let mut h = Self::unregistered();
        h.set_policy(ingress, egress);
        h
    }

    /// A datapath with no endpoint registered.
    fn unregistered() -> Self {
        let root = PinRoot::new();
        let mut dp = Datapath::load_or_adopt(root.path(), "node").expect("datapath loads");
        let events = dp.take_events().expect("events not taken yet");
        let mut h = Self {
            dp,
            events,
            cookies: CookieTable::new(),
            zombies: Vec::new(),
            host: false,
            node_policy: None,
            _root: root,
        };
        h.apply(None);
        h
    }

    /// The host endpoint (host firewall) on the test-run interface, LOCAL its address.
    fn host(ingress: DirectionPolicy, egress: DirectionPolicy) -> Self {
        let mut h = Self::unregistered();
        h.host = true;
        h.set_policy(ingress, egress);
        h
    }

    fn set_policy(&mut self, ingress: DirectionPolicy, egress: DirectionPolicy) {
        self.apply(Some(EndpointPolicy { ingress, egress }));
    }

    fn apply(&mut self, policy: Option<EndpointPolicy>) {
        let zombies = self.zombies.clone();
        let local_id = if self.host { HOST_ID } else { LOCAL_ID };
        let node_policy = self.node_policy.clone();
        let endpoints = policy
            .as_ref()
            .map(|policy| EndpointInput {
                ifindex: TEST_IFINDEX,
                endpoint_id: ENDPOINT_ID,
                identity: local_id,
                policy,
                host: self.host,
            })
            .into_iter()
            .chain(node_policy.as_ref().map(|policy| EndpointInput {
                ifindex: probe_common::endpoint::HOST_ENDPOINT_KEY,
                endpoint_id: NODE_ENDPOINT_ID,
                identity: HOST_ID,
                policy,
                host: true,
            }));
        let host = |ip: IpAddr, identity| IpCacheInput {
            cidr: Cidr::host(ip),
            identity,
            zombie: zombies.contains(&ip),
        };
        let ipcache = [
            host(LOCAL.into(), local_id),
            host(LOCAL6.into(), local_id),
            host(PEER.into(), PEER_ID),
            host(PEER6.into(), PEER_ID),
            host(OTHER.into(), OTHER_ID),
            host(NODE.into(), HOST_ID),
        ];
        let desired =
            DesiredState::build(endpoints, ipcache, &mut self.cookies).expect("valid inputs");
        self.dp.apply(&desired).expect("maps accept the state");
        self.cookies.release_unused(&desired.cookies());
    }

    /// Runs `frame` through the program of `hook`; returns its action and the events it sent.
    fn run(&mut self, hook: Hook, frame: &[u8]) -> (i32, Vec<FlowEvent>) {
        self.run_program(hook.program(), frame)
    }

    /// Runs `frame` through `program`; returns its action and the events it sent.
    fn run_program(&mut self, program: Program, frame: &[u8]) -> (i32, Vec<FlowEvent>) {
        let action = self.action_of(program, frame);
        (action, self.events.drain(64))
    }

    /// As [`Harness::run`], each event with the connection counters it carries.
    fn run_counted(
        &mut self,
        hook: Hook,
        frame: &[u8],
    ) -> (i32, Vec<(FlowEvent, Option<ConnectionCounters>)>) {
        let action = self.action_of(hook.program(), frame);
        (action, self.events.drain_counted(64))
    }

    /// Runs `frame` through `program` once; its action.
    fn action_of(&mut self, program: Program, frame: &[u8]) -> i32 {
        let prog = self.dp.program_mut(program).expect("loaded");
        let result = prog
            .test_run(TestRunOptions {
                data_in: Some(frame),
                ..TestRunOptions::default()
            })
            .expect("test run");
        result.return_value as i32
    }

    /// As [`Harness::run`], with the skb's mark set to `mark` (`__sk_buff.mark`, offset 8).
    fn run_marked(&mut self, hook: Hook, frame: &[u8], mark: u32) -> (i32, Vec<FlowEvent>) {
        let mut ctx = [0u8; 192];
        ctx[8..12].copy_from_slice(&mark.to_ne_bytes());
        let prog = self.dp.program_mut(hook.program()).expect("loaded");
        let result = prog
            .test_run(TestRunOptions {
                data_in: Some(frame),
                ctx_in: Some(&ctx),
                ..TestRunOptions::default()
            })
            .expect("test run");
        (result.return_value as i32, self.events.drain(64))
    }

    fn set_config(&mut self, config: ProbeConfig) {
        self.dp.config_map().set(&config).expect("config written");
    }

    /// The name of the first rule behind `cookie`.
    fn rule_of(&self, cookie: u32) -> String {
        self.cookies.rules(cookie).map_or_else(
            || format!("<no rules for cookie {cookie}>"),
            |r| r[0].policy.name.clone(),
        )
    }
}

fn v4_addr(a: Ipv4Addr) -> [u8; 16] {
    let mut out = [0; 16];
    out[..4].copy_from_slice(&a.octets());
    out
}

fn tcp(sport: u16, dport: u16, flags: u8) -> L4 {
    L4::Tcp {
        sport,
        dport,
        flags,
    }
}

fn one(events: &[FlowEvent], event_kind: u8) -> FlowEvent {
    let found: Vec<&FlowEvent> = events.iter().filter(|e| e.kind == event_kind).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one event of kind {event_kind}: {events:#?}"
    );
    *found[0]
}

fn kinds(events: &[FlowEvent]) -> Vec<u8> {
    events.iter().map(|e| e.kind).collect()
}

fn allow(identity: u32, protocol: u8, ports: PortRange, name: &str) -> Entry<'_> {
    (identity, protocol, ports, Action::Allow, name)
}

fn deny(identity: u32, protocol: u8, ports: PortRange, name: &str) -> Entry<'_> {
    (identity, protocol, ports, Action::Deny, name)
}

/// Asserts the fields every event of an egress TCP packet LOCAL:sport → PEER:dport carries.
fn assert_egress_tcp(e: &FlowEvent, sport: u16, dport: u16) {
    assert_eq!(e.direction, direction::EGRESS);
    assert_eq!((e.family, e.protocol), (FAMILY_V4, TCP));
    assert_eq!((e.saddr, e.daddr), (v4_addr(LOCAL), v4_addr(PEER)));
    assert_eq!((e.sport, e.dport), (sport, dport));
    assert_eq!((e.src_identity, e.dst_identity), (LOCAL_ID, PEER_ID));
    assert_eq!((e.endpoint_id, e.ifindex), (ENDPOINT_ID, TEST_IFINDEX));
    assert!(e.timestamp_ns > 0 && e.pkt_len > 0);
}

#[test]
fn egress_allowed_new_connection_reports_verdict_and_trace() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::new(
        open(),
        enforced(&[allow(PEER_ID, TCP, PortRange::single(80), "web")]),
    );
    let (action, events) = h.run(Hook::From, &frame::v4(LOCAL, PEER, &tcp(40000, 80, SYN)));
    assert_eq!(action, tc_action::PASS);
    assert_eq!(kinds(&events), vec![kind::POLICY_VERDICT, kind::TRACE]);
    let v = one(&events, kind::POLICY_VERDICT);
    assert_egress_tcp(&v, 40000, 80);
    assert_eq!(
        (v.verdict, v.reason, v.match_type),
        (verdict::ALLOWED, 0, match_type::L3_L4)
    );
    assert_eq!(v.ct_state, state::NEW);
    assert_eq!(v.tcp_flags, SYN);
    assert_eq!(v.flags & event_flags::ENFORCED, event_flags::ENFORCED);
    assert_eq!(h.rule_of(v.cookie), "web");
    let t = one(&events, kind::TRACE);
    assert_egress_tcp(&t, 40000, 80);
    assert_eq!(
        (t.subtype, t.ct_state, t.cookie),
        (obs_point::FROM_ENDPOINT, state::NEW, v.cookie)
    );
}

#[test]
fn egress_default_deny_drops_with_133() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::new(
        open(),
        enforced(&[allow(PEER_ID, TCP, PortRange::single(80), "web")]),
    );
    let (action, events) = h.run(Hook::From, &frame::v4(LOCAL, PEER, &tcp(40000, 81, SYN)));
    assert_eq!(action, tc_action::DROP);
    assert_eq!(kinds(&events), vec![kind::POLICY_VERDICT, kind::DROP]);
    let v = one(&events, kind::POLICY_VERDICT);
    assert_eq!(
        (v.verdict, v.reason, v.match_type, v.cookie),
        (
            verdict::DENIED,
            drop_reason::POLICY_DENIED,
            match_type::NONE,
            0
        )
    );
    let d = one(&events, kind::DROP);
    assert_egress_tcp(&d, 40000, 81);
    assert_eq!(
        (d.subtype, d.reason, d.ct_state),
        (
            drop_reason::POLICY_DENIED,
            drop_reason::POLICY_DENIED,
            state::NEW
        )
    );
    assert_eq!(d.flags & event_flags::ENFORCED, event_flags::ENFORCED);
    let counters = h.dp.counter_map().read().expect("counters");
    assert_eq!(
        counters
            .dropped
            .get(&(Direction::Egress, drop_reason::POLICY_DENIED)),
        Some(&1)
    );
    assert_eq!(counters.policy_lookups, 1);
}

#[test]
fn ingress_allowed_and_denied() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::new(
        enforced(&[allow(PEER_ID, TCP, PortRange::single(8443), "api")]),
        open(),
    );
    let (action, events) = h.run(Hook::To, &frame::v4(PEER, LOCAL, &tcp(50000, 8443, SYN)));
    assert_eq!(action, tc_action::PASS);
    let v = one(&events, kind::POLICY_VERDICT);
    assert_eq!(
        (v.direction, v.verdict, v.match_type),
        (direction::INGRESS, verdict::ALLOWED, match_type::L3_L4)
    );
    assert_eq!((v.src_identity, v.dst_identity), (PEER_ID, LOCAL_ID));
    assert_eq!(h.rule_of(v.cookie), "api");
    assert_eq!(one(&events, kind::TRACE).subtype, obs_point::TO_ENDPOINT);

    let (action, events) = h.run(Hook::To, &frame::v4(OTHER, LOCAL, &tcp(50000, 8443, SYN)));
    assert_eq!(action, tc_action::DROP);
    let d = one(&events, kind::DROP);
    assert_eq!(
        (d.direction, d.subtype),
        (direction::INGRESS, drop_reason::POLICY_DENIED)
    );
    assert_eq!(
        (d.src_identity, d.dst_identity, d.sport, d.dport),
        (OTHER_ID, LOCAL_ID, 50000, 8443)
    );
    assert_eq!((d.saddr, d.daddr), (v4_addr(OTHER), v4_addr(LOCAL)));
}

#[test]
fn a_deny_beats_a_broader_allow_and_names_its_rule() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::new(
        open(),
        enforced(&[
            allow(PEER_ID, 0, PortRange::ALL, "peer-all"),
            deny(0, TCP, PortRange::single(22), "no-ssh"),
        ]),
    );
    let (action, events) = h.run(Hook::From, &frame::v4(LOCAL, PEER, &tcp(40000, 22, SYN)));
    assert_eq!(action, tc_action::DROP);
    let d = one(&events, kind::DROP);
    assert_eq!(
        (d.subtype, d.match_type),
        (drop_reason::POLICY_DENY, match_type::L4_ONLY)
    );
    assert_eq!(h.rule_of(d.cookie), "no-ssh");
    let v = one(&events, kind::POLICY_VERDICT);
    assert_eq!(
        (v.verdict, v.reason, v.cookie),
        (verdict::DENIED, drop_reason::POLICY_DENY, d.cookie)
    );

    let (action, events) = h.run(Hook::From, &frame::v4(LOCAL, PEER, &tcp(40000, 23, SYN)));
    assert_eq!(action, tc_action::PASS);
    let v = one(&events, kind::POLICY_VERDICT);
    assert_eq!(v.match_type, match_type::L3_ONLY);
    assert_eq!(h.rule_of(v.cookie), "peer-all");
}

#[test]
fn wildcard_identity_entries_allow_every_peer_world_included() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::new(
        open(),
        enforced(&[allow(0, TCP, PortRange::single(443), "https-anywhere")]),
    );
    for (dst, peer_id) in [(PEER, PEER_ID), (WORLD, WORLD_IDENTITY)] {
        let (action, events) = h.run(Hook::From, &frame::v4(LOCAL, dst, &tcp(40001, 443, SYN)));
        assert_eq!(action, tc_action::PASS, "to {dst}");
        let v = one(&events, kind::POLICY_VERDICT);
        assert_eq!(
            (v.match_type, v.dst_identity),
            (match_type::L4_ONLY, peer_id)
        );
        assert_eq!(h.rule_of(v.cookie), "https-anywhere");
    }
    let (action, _) = h.run(Hook::From, &frame::v4(LOCAL, WORLD, &tcp(40001, 80, SYN)));
    assert_eq!(action, tc_action::DROP);
}

#[test]
fn port_ranges_match_exactly_at_both_edges() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::new(
        open(),
        enforced(&[allow(PEER_ID, TCP, PortRange::new(8080, 8090), "range")]),
    );
    for (port, allowed) in [
        (8079, false),
        (8080, true),
        (8085, true),
        (8090, true),
        (8091, false),
    ] {
        let (action, events) = h.run(
            Hook::From,
            &frame::v4(LOCAL, PEER, &tcp(40000 + port, port, SYN)),
        );
        let want = if allowed {
            tc_action::PASS
        } else {
            tc_action::DROP
        };
        assert_eq!(action, want, "port {port}");
        let v = one(&events, kind::POLICY_VERDICT);
        assert_eq!(v.dport, port);
        let want_match = if allowed {
            match_type::L3_L4
        } else {
            match_type::NONE
        };
        assert_eq!(v.match_type, want_match, "port {port}");
    }
}

#[test]
fn icmp_echo_types_are_matched_as_ports() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::new(
        open(),
        enforced(&[allow(PEER_ID, ICMP, PortRange::single(8), "ping")]),
    );
    let (action, events) = h.run(
        Hook::From,
        &frame::v4(
            LOCAL,
            PEER,
            &L4::Icmp {
                ty: 8,
                code: 0,
                id: 77,
            },
        ),
    );
    assert_eq!(action, tc_action::PASS);
    let v = one(&events, kind::POLICY_VERDICT);
    assert_eq!(
        (v.protocol, v.icmp_type, v.icmp_code, v.sport, v.dport),
        (ICMP, 8, 0, 0, 0)
    );
    assert_eq!(
        (v.match_type, h.rule_of(v.cookie)),
        (match_type::L3_L4, "ping".to_owned())
    );

    // Timestamp request (13) is another "port".
    let (action, events) = h.run(
        Hook::From,
        &frame::v4(
            LOCAL,
            PEER,
            &L4::Icmp {
                ty: 13,
                code: 0,
                id: 78,
            },
        ),
    );
    assert_eq!(action, tc_action::DROP);
    assert_eq!(
        (
            one(&events, kind::DROP).icmp_type,
            one(&events, kind::DROP).subtype
        ),
        (13, drop_reason::POLICY_DENIED)
    );

    // The echo reply comes back as a reply: no policy, even though ingress allows nothing
    // once enforced.
    h.set_policy(
        enforced(&[]),
        enforced(&[allow(PEER_ID, ICMP, PortRange::single(8), "ping")]),
    );
    h.set_config(ProbeConfig {
        trace_mode: trace_mode::ALL,
        ..ProbeConfig::DEFAULT
    });
    let (action, _) = h.run(
        Hook::From,
        &frame::v4(
            LOCAL,
            PEER,
            &L4::Icmp {
                ty: 8,
                code: 0,
                id: 79,
            },
        ),
    );
    assert_eq!(action, tc_action::PASS);
    let (action, events) = h.run(
        Hook::To,
        &frame::v4(
            PEER,
            LOCAL,
            &L4::Icmp {
                ty: 0,
                code: 0,
                id: 79,
            },
        ),
    );
    assert_eq!(action, tc_action::PASS);
    assert_eq!(kinds(&events), vec![kind::TRACE]);
    let t = one(&events, kind::TRACE);
    assert_eq!(
        (t.ct_state, t.flags & event_flags::IS_REPLY),
        (state::REPLY, event_flags::IS_REPLY)
    );
    assert_eq!(
        (t.src_identity, t.dst_identity),
        (PEER_ID, LOCAL_ID),
        "a traced reply still names its peer (looked up only when traced)"
    );
    // A reply with another id is a new flow, and ingress denies it.
    let (action, _) = h.run(
        Hook::To,
        &frame::v4(
            PEER,
            LOCAL,
            &L4::Icmp {
                ty: 0,
                code: 0,
                id: 80,
            },
        ),
    );
    assert_eq!(action, tc_action::DROP);
}

#[test]
fn icmpv6_echo_and_neighbour_discovery() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::new(
        enforced(&[]),
        enforced(&[allow(PEER_ID, ICMPV6, PortRange::single(128), "ping6")]),
    );
    let (action, events) = h.run(
        Hook::From,
        &frame::v6(
            LOCAL6,
            PEER6,
            &L4::Icmp {
                ty: 128,
                code: 0,
                id: 5,
            },
        ),
    );
    assert_eq!(action, tc_action::PASS);
    let v = one(&events, kind::POLICY_VERDICT);
    assert_eq!(
        (v.family, v.protocol, v.icmp_type, v.match_type),
        (FAMILY_V6, ICMPV6, 128, match_type::L3_L4)
    );
    assert_eq!((v.saddr, v.daddr), (LOCAL6.octets(), PEER6.octets()));
    assert_eq!((v.src_identity, v.dst_identity), (LOCAL_ID, PEER_ID));
    let (action, _) = h.run(
        Hook::To,
        &frame::v6(
            PEER6,
            LOCAL6,
            &L4::Icmp {
                ty: 129,
                code: 0,
                id: 5,
            },
        ),
    );
    assert_eq!(action, tc_action::PASS, "echo reply is a reply");
    let (action, events) = h.run(
        Hook::From,
        &frame::v6(
            LOCAL6,
            PEER6,
            &L4::Icmp {
                ty: 130,
                code: 0,
                id: 0,
            },
        ),
    );
    assert_eq!(action, tc_action::DROP, "MLD query is not allowed");
    assert_eq!(one(&events, kind::DROP).icmp_type, 130);
    for nd in 133..=137 {
        let (action, events) = h.run(
            Hook::To,
            &frame::v6(
                PEER6,
                LOCAL6,
                &L4::Icmp {
                    ty: nd,
                    code: 0,
                    id: 0,
                },
            ),
        );
        assert_eq!(
            (action, events.len()),
            (tc_action::PASS, 0),
            "ND type {nd} passes silently"
        );
    }
}

#[test]
fn ipv6_tcp_and_extension_headers() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::new(
        open(),
        enforced(&[allow(PEER_ID, TCP, PortRange::single(80), "web")]),
    );
    let (action, events) = h.run(Hook::From, &frame::v6(LOCAL6, PEER6, &tcp(40000, 80, SYN)));
    assert_eq!(action, tc_action::PASS);
    assert_eq!(one(&events, kind::POLICY_VERDICT).dport, 80);
    let (action, events) = h.run(Hook::From, &frame::v6(LOCAL6, PEER6, &tcp(40000, 81, SYN)));
    assert_eq!(action, tc_action::DROP);
    let d = one(&events, kind::DROP);
    assert_eq!(
        (d.family, d.subtype, d.dport, d.dst_identity),
        (FAMILY_V6, drop_reason::POLICY_DENIED, 81, PEER_ID)
    );

    // Hop-by-hop, routing-less destination options: skipped to reach TCP.
    let ext = [(0, frame::ext_options()), (60, frame::ext_options())];
    let f = frame::v6_with(LOCAL6, PEER6, &ext, TCP, &tcp(40002, 80, SYN).bytes());
    let (action, events) = h.run(Hook::From, &f);
    assert_eq!(action, tc_action::PASS);
    assert_eq!(one(&events, kind::POLICY_VERDICT).sport, 40002);
    let f = frame::v6_with(LOCAL6, PEER6, &ext, TCP, &tcp(40002, 81, SYN).bytes());
    assert_eq!(h.run(Hook::From, &f).0, tc_action::DROP);

    // A chain that runs past the packet's end.
    let mut f = frame::v6_with(LOCAL6, PEER6, &[(0, frame::ext_options())], 0, &[]);
    f.truncate(f.len() - 4);
    let (action, events) = h.run(Hook::From, &f);
    assert_eq!(action, tc_action::DROP);
    assert_eq!(
        one(&events, kind::DROP).subtype,
        drop_reason::INVALID_IPV6_EXTENSION_HEADER
    );
    // Too many extension headers.
    let long: Vec<(u8, Vec<u8>)> = (0..9).map(|_| (60, frame::ext_options())).collect();
    let f = frame::v6_with(LOCAL6, PEER6, &long, TCP, &tcp(40003, 80, SYN).bytes());
    let (action, events) = h.run(Hook::From, &f);
    assert_eq!(
        (action, one(&events, kind::DROP).subtype),
        (tc_action::DROP, drop_reason::INVALID_IPV6_EXTENSION_HEADER)
    );
}

#[test]
fn sctp_ports_are_policed() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::new(
        enforced(&[allow(PEER_ID, SCTP, PortRange::single(3868), "diameter")]),
        open(),
    );
    let (action, events) = h.run(
        Hook::To,
        &frame::v4(
            PEER,
            LOCAL,
            &L4::Sctp {
                sport: 5000,
                dport: 3868,
            },
        ),
    );
    assert_eq!(action, tc_action::PASS);
    let v = one(&events, kind::POLICY_VERDICT);
    assert_eq!(
        (v.protocol, v.sport, v.dport, v.match_type),
        (SCTP, 5000, 3868, match_type::L3_L4)
    );
    let (action, _) = h.run(
        Hook::To,
        &frame::v4(
            PEER,
            LOCAL,
            &L4::Sctp {
                sport: 5000,
                dport: 3869,
            },
        ),
    );
    assert_eq!(action, tc_action::DROP);
}

/// The policy the engine computes for pod `test/router` (labels `app: router`) under
/// `policy` (a manifest): what the agent would install for it.
fn engine_policy(policy: &str) -> EndpointPolicy {
    use enforcer::cluster::PodKey;
    use enforcer::engine::{Engine, EngineConfig};
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: router, namespace: test, labels: {app: router}}\nstatus: {podIP: 10.0.0.1}\n---\n";
    let parsed = enforcer::manifest::parse_str("test.yaml", &format!("{pod}{policy}"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut engine = Engine::new(EngineConfig::default());
    engine
        .apply(parsed.into_objects())
        .unwrap_or_else(|e| panic!("{e}"));
    let ep = engine
        .endpoint(&PodKey::new("test", "router"))
        .expect("the pod is an endpoint");
    (*ep.policy).clone()
}

#[test]
fn vrrp_and_igmp_from_a_manifest_are_policed_as_whole_protocols() {
    if !lab::require_root() {
        return;
    }
    const VRRP: u8 = 112;
    const IGMP: u8 = 2;
    let vrrp_group = Ipv4Addr::new(224, 0, 0, 18);
    let all_hosts = Ipv4Addr::new(224, 0, 0, 1);
    let policy = engine_policy(
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: keepalived, namespace: test}\nspec:\n  endpointSelector: {matchLabels: {app: router}}\n  ingress:\n  - toPorts: [{ports: [{protocol: VRRP}]}]\n  egress:\n  - toPorts: [{ports: [{port: \"0\", protocol: IGMP}]}]\n",
    );
    let mut h = Harness::new(policy.ingress, policy.egress);

    // Ingress: the peer's VRRP advertisement passes; its IGMP query is dropped (133).
    let advert = frame::vrrp_advertisement(7, 100, Ipv4Addr::new(10, 0, 0, 254));
    let (action, events) = h.run(
        Hook::To,
        &frame::v4_with(PEER, vrrp_group, VRRP, &advert, 5, 1, 0),
    );
    assert_eq!(action, tc_action::PASS, "{events:#?}");
    let v = one(&events, kind::POLICY_VERDICT);
    assert_eq!(
        (v.direction, v.protocol, v.sport, v.dport, v.match_type),
        (direction::INGRESS, VRRP, 0, 0, match_type::PROTO_ONLY)
    );
    assert_eq!(v.src_identity, PEER_ID);
    assert_eq!(h.rule_of(v.cookie), "keepalived");
    // IGMP from a router carries the Router Alert option: IHL 6.
    let query = frame::igmp(0x11, Ipv4Addr::UNSPECIFIED);
    let (action, events) = h.run(
        Hook::To,
        &frame::v4_with(PEER, all_hosts, IGMP, &query, 6, 2, 0),
    );
    assert_eq!(action, tc_action::DROP);
    let d = one(&events, kind::DROP);
    assert_eq!(
        (d.subtype, d.direction, d.protocol),
        (drop_reason::POLICY_DENIED, direction::INGRESS, IGMP)
    );

    // IPv6 has no IGMP: its hosts manage groups with MLD, which is ICMPv6 (a query is type
    // 130), so an IGMP or VRRP rule does not let it through; `icmps` would.
    let all_nodes6 = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    let mld_query = L4::Icmp {
        ty: 130,
        code: 0,
        id: 0,
    };
    let (action, events) = h.run(Hook::To, &frame::v6(PEER6, all_nodes6, &mld_query));
    assert_eq!(action, tc_action::DROP);
    assert_eq!(one(&events, kind::DROP).subtype, drop_reason::POLICY_DENIED);

    // Egress: the endpoint's IGMP membership report passes, its own advertisement does not.
    let report = frame::igmp(0x16, Ipv4Addr::new(239, 1, 2, 3));
    let (action, events) = h.run(
        Hook::From,
        &frame::v4_with(LOCAL, Ipv4Addr::new(239, 1, 2, 3), IGMP, &report, 6, 3, 0),
    );
    assert_eq!(action, tc_action::PASS, "{events:#?}");
    let v = one(&events, kind::POLICY_VERDICT);
    assert_eq!((v.direction, v.protocol), (direction::EGRESS, IGMP));
    let (action, events) = h.run(
        Hook::From,
        &frame::v4_with(LOCAL, vrrp_group, VRRP, &advert, 5, 4, 0),
    );
    assert_eq!(action, tc_action::DROP);
    assert_eq!(one(&events, kind::DROP).subtype, drop_reason::POLICY_DENIED);
}

#[test]
fn replies_pass_without_policy_and_established_without_verdicts() {
    if !lab::require_root() {
        return;
    }
    // Ingress enforced with nothing allowed: only replies may come in.
    let mut h = Harness::new(
        enforced(&[]),
        enforced(&[allow(PEER_ID, TCP, PortRange::single(80), "web")]),
    );
    h.set_config(ProbeConfig {
        trace_mode: trace_mode::ALL,
        ..ProbeConfig::DEFAULT
    });
    assert_eq!(
        h.run(Hook::From, &frame::v4(LOCAL, PEER, &tcp(40000, 80, SYN)))
            .0,
        tc_action::PASS
    );

    let (action, events) = h.run(
        Hook::To,
        &frame::v4(PEER, LOCAL, &tcp(80, 40000, SYN | ACK)),
    );
    assert_eq!(action, tc_action::PASS);
    assert_eq!(
        kinds(&events),
        vec![kind::TRACE],
        "a reply is not a policy decision"
    );
    let t = one(&events, kind::TRACE);
    assert_eq!(
        (t.subtype, t.ct_state, t.direction),
        (obs_point::TO_ENDPOINT, state::REPLY, direction::INGRESS)
    );
    assert_eq!(t.flags & event_flags::IS_REPLY, event_flags::IS_REPLY);
    assert_eq!(
        (t.src_identity, t.dst_identity, t.sport, t.dport),
        (PEER_ID, LOCAL_ID, 80, 40000)
    );

    let (action, events) = h.run(Hook::From, &frame::v4(LOCAL, PEER, &tcp(40000, 80, ACK)));
    assert_eq!(action, tc_action::PASS);
    assert_eq!(kinds(&events), vec![kind::TRACE]);
    assert_eq!(one(&events, kind::TRACE).ct_state, state::ESTABLISHED);

    // Unsolicited traffic from the peer to the same port pair in the other direction is no
    // reply: the opening direction is part of the key.
    let (action, _) = h.run(Hook::To, &frame::v4(PEER, LOCAL, &tcp(80, 40001, SYN)));
    assert_eq!(action, tc_action::DROP);

    let ct = h.dp.conntrack_map().entries().expect("conntrack");
    assert_eq!(ct.len(), 1);
    let (key, entry) = ct[0];
    assert_eq!(
        (key.endpoint_id, key.direction, key.sport, key.dport),
        (ENDPOINT_ID, direction::EGRESS, 40000, 80)
    );
    assert_eq!((entry.packets_fwd, entry.packets_rev), (2, 1));
    assert_eq!(entry.flags, ct_flags::SEEN_REPLY | ct_flags::UNREPORTED);
    assert_eq!(
        entry.tcp_flags_seen,
        u16::from(SYN | ACK) | (u16::from(SYN | ACK) << 8)
    );
    let established_expiry = entry.expires_ns;
    let counters = h.dp.counter_map().read().expect("counters");
    assert_eq!((counters.ct_created, counters.policy_lookups), (1, 2));

    // A FIN moves the entry to the short closing lifetime.
    assert_eq!(
        h.run(
            Hook::From,
            &frame::v4(LOCAL, PEER, &tcp(40000, 80, FIN | ACK))
        )
        .0,
        tc_action::PASS
    );
    let (_, entry) = h.dp.conntrack_map().entries().expect("conntrack")[0];
    assert_eq!(
        entry.flags,
        ct_flags::SEEN_REPLY | ct_flags::CLOSING | ct_flags::UNREPORTED
    );
    assert!(
        entry.expires_ns
            < established_expiry - lifetime::TCP_ESTABLISHED_NS
                + lifetime::TCP_CLOSING_NS
                + lifetime::REFRESH_SLACK_NS
    );
}

#[test]
fn trace_modes_and_event_switches() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::new(
        open(),
        enforced(&[allow(PEER_ID, TCP, PortRange::single(80), "web")]),
    );
    h.set_config(ProbeConfig {
        trace_mode: trace_mode::OFF,
        ..ProbeConfig::DEFAULT
    });
    let (_, events) = h.run(Hook::From, &frame::v4(LOCAL, PEER, &tcp(40000, 80, SYN)));
    assert_eq!(kinds(&events), vec![kind::POLICY_VERDICT]);
    h.set_config(ProbeConfig {
        trace_mode: trace_mode::NEW_CONNECTIONS,
        ..ProbeConfig::DEFAULT
    });
    let (_, events) = h.run(Hook::From, &frame::v4(LOCAL, PEER, &tcp(40000, 80, ACK)));
    assert!(
        events.is_empty(),
        "established packets are not traced in NEW_CONNECTIONS mode"
    );
    h.dp.config_map()
        .set_trace_mode(trace_mode::ALL)
        .expect("config");
    let (_, events) = h.run(Hook::From, &frame::v4(LOCAL, PEER, &tcp(40000, 80, ACK)));
    assert_eq!(kinds(&events), vec![kind::TRACE]);

    h.set_config(ProbeConfig {
        policy_verdict_events: 0,
        drop_events: 0,
        ..ProbeConfig::DEFAULT
    });
    let (action, events) = h.run(Hook::From, &frame::v4(LOCAL, PEER, &tcp(40000, 81, SYN)));
    assert_eq!((action, events.len()), (tc_action::DROP, 0));
    assert_eq!(
        h.dp.counter_map()
            .read()
            .expect("counters")
            .dropped_with(drop_reason::POLICY_DENIED),
        1,
        "counted all the same"
    );
}

#[test]
fn aggregation_reports_connections_not_packets() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::new(
        open(),
        enforced(&[allow(PEER_ID, TCP, PortRange::single(80), "web")]),
    );
    h.set_config(ProbeConfig {
        trace_mode: trace_mode::AGGREGATE,
        aggregation_interval_ms: 60_000,
        ..ProbeConfig::DEFAULT
    });
    // One packet of the connection LOCAL:40000 → PEER:80, sent or answered; its length
    // and the events with their counters.
    let counted = |h: &mut Harness, sent: bool, flags: u8| {
        let (hook, frame) = if sent {
            (Hook::From, frame::v4(LOCAL, PEER, &tcp(40000, 80, flags)))
        } else {
            (Hook::To, frame::v4(PEER, LOCAL, &tcp(80, 40000, flags)))
        };
        let (action, events) = h.run_counted(hook, &frame);
        assert_eq!(action, tc_action::PASS);
        (frame.len(), events)
    };
    // The opening packet: its policy verdict and a trace event without counters.
    let (syn_len, events) = counted(&mut h, true, SYN);
    let kinds_of: Vec<u8> = events.iter().map(|(e, _)| e.kind).collect();
    assert_eq!(kinds_of, vec![kind::POLICY_VERDICT, kind::TRACE]);
    assert!(events.iter().all(|(_, c)| c.is_none()));
    // New flags in a direction are reported at once, with the connection's counters.
    let (_, events) = counted(&mut h, false, SYN | ACK);
    let [(reply, Some(c))] = events.as_slice() else {
        panic!("one counted reply event: {events:#?}");
    };
    assert_eq!((reply.kind, reply.ct_state), (kind::TRACE, state::REPLY));
    assert_ne!(reply.flags & event_flags::IS_REPLY, 0);
    assert_eq!(
        reply.src_identity, PEER_ID,
        "the peer is looked up for the report"
    );
    assert_eq!((c.packets_fwd, c.packets_rev), (1, 1));
    assert_eq!(c.bytes_fwd, syn_len as u64);
    let (_, events) = counted(&mut h, true, ACK);
    assert_eq!(events.len(), 1);
    // A flood of packets showing nothing new sends nothing...
    let mut flood_bytes = 0;
    for _ in 0..200 {
        let (len, events) = counted(&mut h, true, ACK);
        assert!(events.is_empty(), "no event per packet: {events:#?}");
        flood_bytes += len as u64;
        let (_, events) = counted(&mut h, false, ACK);
        assert!(events.is_empty());
    }
    // ... and the next report counts it all.
    let (_, events) = counted(&mut h, true, FIN | ACK);
    let [(fin, Some(c))] = events.as_slice() else {
        panic!("one counted event for the FIN: {events:#?}");
    };
    assert_eq!(
        (fin.ct_state, fin.tcp_flags),
        (state::ESTABLISHED, FIN | ACK)
    );
    assert_eq!((c.packets_fwd, c.packets_rev), (1 + 1 + 200 + 1, 1 + 200));
    assert!(c.bytes_fwd > flood_bytes);
    assert_eq!(
        c.tcp_flags_seen,
        u16::from(SYN | ACK | FIN) | (u16::from(SYN | ACK) << 8)
    );
    assert!(c.first_seen_ns > 0);
    // A connection that keeps sending is reported once per interval.
    h.dp.config_map()
        .update(|c| c.aggregation_interval_ms = 50)
        .expect("config");
    let (_, events) = counted(&mut h, true, FIN | ACK);
    assert!(events.is_empty(), "reported just now");
    std::thread::sleep(std::time::Duration::from_millis(120));
    let (_, events) = counted(&mut h, true, FIN | ACK);
    assert_eq!(events.len(), 1, "due once the interval passed");
    let (_, events) = counted(&mut h, true, FIN | ACK);
    assert!(events.is_empty(), "and not again before the next one");
    // Drops stay immediate.
    let (action, events) = h.run(Hook::From, &frame::v4(LOCAL, PEER, &tcp(40001, 81, SYN)));
    assert_eq!(action, tc_action::DROP);
    assert!(kinds(&events).contains(&kind::DROP));
}

#[test]
fn a_policy_change_cuts_the_established_flows_it_no_longer_allows() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::new(
        open(),
        enforced(&[allow(PEER_ID, TCP, PortRange::new(80, 81), "web")]),
    );
    assert_eq!(
        h.run(Hook::From, &frame::v4(LOCAL, PEER, &tcp(40000, 80, SYN)))
            .0,
        tc_action::PASS
    );
    assert_eq!(
        h.run(Hook::From, &frame::v4(LOCAL, PEER, &tcp(40001, 81, SYN)))
            .0,
        tc_action::PASS
    );

    // Port 81 is no longer allowed; port 80 is, by another rule.
    h.set_policy(
        open(),
        enforced(&[allow(PEER_ID, TCP, PortRange::single(80), "web-80")]),
    );
    let (action, events) = h.run(Hook::From, &frame::v4(LOCAL, PEER, &tcp(40001, 81, ACK)));
    assert_eq!(action, tc_action::DROP);
    assert_eq!(kinds(&events), vec![kind::POLICY_VERDICT, kind::DROP]);
    let d = one(&events, kind::DROP);
    assert_eq!(
        (d.subtype, d.ct_state),
        (drop_reason::POLICY_DENIED, state::ESTABLISHED)
    );
    // The entry is gone: the next packet is a new connection, denied again.
    let (action, events) = h.run(Hook::From, &frame::v4(LOCAL, PEER, &tcp(40001, 81, ACK)));
    assert_eq!(
        (action, one(&events, kind::DROP).ct_state),
        (tc_action::DROP, state::NEW)
    );

    // The flow on port 80 is re-admitted under the new rule, silently.
    let (action, events) = h.run(Hook::From, &frame::v4(LOCAL, PEER, &tcp(40000, 80, ACK)));
    assert_eq!(action, tc_action::PASS);
    assert!(events.is_empty(), "{events:#?}");
    let ct = h.dp.conntrack_map().entries().expect("conntrack");
    let (_, entry) = ct
        .iter()
        .find(|(k, _)| k.dport == 80)
        .expect("port 80 still tracked");
    assert_eq!(h.rule_of(entry.cookie), "web-80");
}

#[test]
fn icmp_errors_about_tracked_flows_are_related() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::new(
        enforced(&[]),
        enforced(&[allow(PEER_ID, UDP, PortRange::single(53), "dns")]),
    );
    h.set_config(ProbeConfig {
        trace_mode: trace_mode::ALL,
        ..ProbeConfig::DEFAULT
    });
    let query = L4::Udp {
        sport: 33333,
        dport: 53,
    };
    assert_eq!(
        h.run(Hook::From, &frame::v4(LOCAL, PEER, &query)).0,
        tc_action::PASS
    );

    let mut quoted = frame::ipv4_header(LOCAL, PEER, UDP, 16, 5, 1, 0);
    quoted.extend_from_slice(&query.bytes()[..8]);
    let unreachable = L4::IcmpError {
        ty: 3,
        code: 3,
        quoted,
    };
    let (action, events) = h.run(Hook::To, &frame::v4(PEER, LOCAL, &unreachable));
    assert_eq!(action, tc_action::PASS);
    let t = one(&events, kind::TRACE);
    assert_eq!(
        (t.ct_state, t.icmp_type, t.icmp_code),
        (state::RELATED, 3, 3)
    );

    // An error about a flow nobody opened is a packet of its own: denied by ingress.
    let mut quoted = frame::ipv4_header(LOCAL, PEER, UDP, 16, 5, 1, 0);
    quoted.extend_from_slice(
        &L4::Udp {
            sport: 33334,
            dport: 53,
        }
        .bytes()[..8],
    );
    let (action, events) = h.run(
        Hook::To,
        &frame::v4(
            PEER,
            LOCAL,
            &L4::IcmpError {
                ty: 3,
                code: 3,
                quoted,
            },
        ),
    );
    assert_eq!(
        (action, one(&events, kind::DROP).ct_state),
        (tc_action::DROP, state::NEW)
    );
}

#[test]
fn fragments_follow_their_first_fragment() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::new(
        open(),
        enforced(&[allow(PEER_ID, UDP, PortRange::single(5353), "mdns")]),
    );
    const MORE: u16 = 0x2000;
    let first = L4::Udp {
        sport: 4000,
        dport: 5353,
    }
    .bytes();
    let (action, events) = h.run(
        Hook::From,
        &frame::v4_with(LOCAL, PEER, UDP, &first, 5, 42, MORE),
    );
    assert_eq!(action, tc_action::PASS);
    assert_eq!(one(&events, kind::POLICY_VERDICT).dport, 5353);
    // Later fragments carry no UDP header: the recorded ports decide (the flow is tracked).
    let later = vec![0xab; 24];
    let (action, events) = h.run(
        Hook::From,
        &frame::v4_with(LOCAL, PEER, UDP, &later, 5, 42, 3),
    );
    assert_eq!(action, tc_action::PASS);
    assert!(events.is_empty(), "an established fragment: {events:#?}");
    let (action, _) = h.run(
        Hook::From,
        &frame::v4_with(LOCAL, PEER, UDP, &later, 5, 42, 6),
    );
    assert_eq!(action, tc_action::PASS);

    // A later fragment whose first fragment was never seen.
    let (action, events) = h.run(
        Hook::From,
        &frame::v4_with(LOCAL, PEER, UDP, &later, 5, 43, 3),
    );
    assert_eq!(action, tc_action::DROP);
    let d = one(&events, kind::DROP);
    assert_eq!(
        (d.subtype, d.saddr, d.daddr),
        (
            drop_reason::FRAG_NOT_SUPPORTED,
            v4_addr(LOCAL),
            v4_addr(PEER)
        )
    );

    // A denied datagram's later fragments are denied by the same rule, not as orphans.
    let denied = L4::Udp {
        sport: 4000,
        dport: 9999,
    }
    .bytes();
    assert_eq!(
        h.run(
            Hook::From,
            &frame::v4_with(LOCAL, PEER, UDP, &denied, 5, 44, MORE)
        )
        .0,
        tc_action::DROP
    );
    let (action, events) = h.run(
        Hook::From,
        &frame::v4_with(LOCAL, PEER, UDP, &later, 5, 44, 3),
    );
    assert_eq!(
        (
            action,
            one(&events, kind::DROP).subtype,
            one(&events, kind::DROP).dport
        ),
        (tc_action::DROP, drop_reason::POLICY_DENIED, 9999)
    );

    // IPv6: a fragment extension header.
    let first6 = frame::v6_with(
        LOCAL6,
        PEER6,
        &[(44, frame::ext_fragment(0, true, 7))],
        UDP,
        &L4::Udp {
            sport: 4000,
            dport: 5353,
        }
        .bytes(),
    );
    assert_eq!(h.run(Hook::From, &first6).0, tc_action::PASS);
    let later6 = frame::v6_with(
        LOCAL6,
        PEER6,
        &[(44, frame::ext_fragment(2, false, 7))],
        UDP,
        &later,
    );
    assert_eq!(h.run(Hook::From, &later6).0, tc_action::PASS);
    let orphan6 = frame::v6_with(
        LOCAL6,
        PEER6,
        &[(44, frame::ext_fragment(2, false, 8))],
        UDP,
        &later,
    );
    let (action, events) = h.run(Hook::From, &orphan6);
    assert_eq!(
        (action, one(&events, kind::DROP).subtype),
        (tc_action::DROP, drop_reason::FRAG_NOT_SUPPORTED)
    );
}

#[test]
fn malformed_and_truncated_packets() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::new(open(), open());
    let payload = tcp(1, 2, SYN).bytes();
    // IHL below 5.
    let (action, events) = h.run(
        Hook::From,
        &frame::v4_with(LOCAL, PEER, TCP, &payload, 4, 1, 0),
    );
    assert_eq!(
        (action, one(&events, kind::DROP).subtype),
        (tc_action::DROP, drop_reason::INVALID_PACKET)
    );
    // IHL 15 (60-byte header) in a packet too short for the options.
    let mut f = frame::v4_with(LOCAL, PEER, TCP, &[], 5, 1, 0);
    f[14] = 0x4f;
    f.extend_from_slice(&[0; 8]);
    let (action, events) = h.run(Hook::From, &f);
    let d = one(&events, kind::DROP);
    assert_eq!(
        (action, d.subtype, d.endpoint_id),
        (tc_action::DROP, drop_reason::INVALID_PACKET, ENDPOINT_ID)
    );
    // A TCP header cut at 10 bytes: the addresses are known, the ports are not.
    let (action, events) = h.run(
        Hook::From,
        &frame::v4_with(LOCAL, PEER, TCP, &payload[..10], 5, 1, 0),
    );
    let d = one(&events, kind::DROP);
    assert_eq!(
        (action, d.subtype),
        (tc_action::DROP, drop_reason::CT_TRUNCATED_OR_INVALID_HEADER)
    );
    assert_eq!(
        (d.saddr, d.daddr, d.dst_identity),
        (v4_addr(LOCAL), v4_addr(PEER), PEER_ID)
    );
    // Truncated UDP.
    let (action, events) = h.run(
        Hook::To,
        &frame::v4_with(PEER, LOCAL, UDP, &[0, 53, 0], 5, 1, 0),
    );
    assert_eq!(
        (action, one(&events, kind::DROP).subtype),
        (tc_action::DROP, drop_reason::CT_TRUNCATED_OR_INVALID_HEADER)
    );
}

#[test]
fn non_ip_traffic_arp_passes_and_the_rest_is_dropped() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::new(enforced(&[]), enforced(&[]));
    let (action, events) = h.run(Hook::From, &frame::arp());
    assert_eq!((action, events.len()), (tc_action::PASS, 0));
    let (action, events) = h.run(Hook::To, &frame::other(0x88cc));
    assert_eq!(action, tc_action::DROP);
    let d = one(&events, kind::DROP);
    assert_eq!(
        (d.subtype, d.family, d.direction, d.endpoint_id),
        (
            drop_reason::UNSUPPORTED_L3_PROTOCOL,
            0,
            direction::INGRESS,
            ENDPOINT_ID
        )
    );
}

#[test]
fn unknown_interface_fails_closed_with_203() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::unregistered();
    let (action, events) = h.run(Hook::From, &frame::v4(LOCAL, PEER, &tcp(40000, 80, SYN)));
    assert_eq!(action, tc_action::DROP);
    let d = one(&events, kind::DROP);
    assert_eq!(
        (d.subtype, d.endpoint_id, d.ifindex),
        (drop_reason::EP_NOT_READY, 0, TEST_IFINDEX)
    );
    assert_eq!(
        (d.dst_identity, d.flags & event_flags::ENFORCED),
        (PEER_ID, 0)
    );
    assert_eq!(
        h.run(Hook::From, &frame::arp()).0,
        tc_action::PASS,
        "ARP needs no endpoint"
    );
}

#[test]
fn unenforced_directions_pass_without_a_verdict_event() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::new(open(), open());
    let (action, events) = h.run(
        Hook::To,
        &frame::v4(OTHER, LOCAL, &L4::Udp { sport: 1, dport: 9 }),
    );
    assert_eq!(action, tc_action::PASS);
    // No policy decides here, so (like Cilium) no policy-verdict event; the trace event of
    // the new connection says it passed unenforced.
    assert!(
        events.iter().all(|e| e.kind != kind::POLICY_VERDICT),
        "{events:?}"
    );
    let t = one(&events, kind::TRACE);
    assert_eq!(t.flags & event_flags::ENFORCED, 0);
    assert_eq!(
        h.dp.counter_map().read().expect("counters").policy_lookups,
        0
    );
    // Unknown protocols are looked up with port 0: only whole-protocol entries allow them.
    h.set_policy(open(), enforced(&[allow(PEER_ID, 0, PortRange::ALL, "l3")]));
    let gre = frame::v4_with(LOCAL, PEER, 47, &[0; 16], 5, 1, 0);
    let (action, events) = h.run(Hook::From, &gre);
    assert_eq!(
        (action, one(&events, kind::POLICY_VERDICT).match_type),
        (tc_action::PASS, match_type::L3_ONLY)
    );
    h.set_policy(
        open(),
        enforced(&[allow(PEER_ID, TCP, PortRange::ALL, "tcp")]),
    );
    assert_eq!(h.run(Hook::From, &gre).0, tc_action::DROP);
}

#[test]
fn adoption_reuses_pinned_maps_and_reconciles_stale_entries() {
    if !lab::require_root() {
        return;
    }
    let root = PinRoot::new();
    let endpoint = |flags| probe_common::endpoint::EndpointInfo {
        endpoint_id: 9,
        flags,
        pad: 0,
        identity: 5,
        policy_revision: 3,
    };
    {
        let mut dp = Datapath::load_or_adopt(root.path(), "node").expect("first load");
        assert!(!dp.is_adopted());
        dp.endpoint_map().insert(&42, &endpoint(0)).expect("insert");
        dp.config_map()
            .set_trace_mode(trace_mode::ALL)
            .expect("config");
    }
    let mut dp = Datapath::load_or_adopt(root.path(), "node").expect("adoption");
    assert!(dp.is_adopted());
    assert_eq!(
        dp.endpoint_map().entries().expect("read").get(&42),
        Some(&endpoint(0)),
        "same map, same entries"
    );
    assert_eq!(
        dp.config_map().get().expect("config").trace_mode,
        trace_mode::ALL,
        "an adopted config is kept"
    );

    let policy = EndpointPolicy {
        ingress: open(),
        egress: enforced(&[allow(PEER_ID, TCP, PortRange::single(80), "web")]),
    };
    let mut cookies = CookieTable::starting_after(dp.max_pinned_cookie().expect("cookies"));
    let desired = DesiredState::build(
        [EndpointInput {
            ifindex: 43,
            endpoint_id: 10,
            identity: 6,
            policy: &policy,
            host: false,
        }],
        [],
        &mut cookies,
    )
    .expect("valid");
    let report = dp.apply(&desired).expect("apply");
    assert_eq!(report.removed_endpoints, vec![9]);
    let endpoints = dp.endpoint_map().entries().expect("read");
    assert_eq!(endpoints.keys().copied().collect::<Vec<_>>(), vec![43]);
    drop(dp);
    let mut dp = Datapath::load_or_adopt(root.path(), "node").expect("second adoption");
    assert_eq!(dp.policy_map().entries().expect("read"), desired.policy);
    assert!(
        CookieTable::starting_after(dp.max_pinned_cookie().expect("cookies"))
            .intern(&[datapath_common::rule("x")].into())
            > 1
    );
}

/// An agent of a newer build meets an older one's pins: a rebuilt map (conntrack) of
/// another layout is replaced by an empty one, and the rest is adopted; a map whose
/// contents only the agent's state can rebuild (endpoints) is refused with its pin named.
#[test]
fn pins_of_an_older_layout_are_replaced_when_rebuilt_and_refused_otherwise() {
    if !lab::require_root() {
        return;
    }
    let root = PinRoot::new();
    drop(Datapath::load_or_adopt(root.path(), "node").expect("first load"));
    let maps = root.path().join("node").join("maps");
    // OBS_FRAGS (an LRU hash of other key and value sizes) stands in for an older OBS_CT.
    std::fs::remove_file(maps.join("OBS_CT")).expect("unpin conntrack");
    std::fs::rename(maps.join("OBS_FRAGS"), maps.join("OBS_CT")).expect("older conntrack");
    let mut dp = Datapath::load_or_adopt(root.path(), "node").expect("loads over it");
    assert!(dp.is_adopted(), "the policy maps are adopted all the same");
    let replaced: Vec<&str> = dp.replaced_pins().iter().map(|p| p.map).collect();
    assert_eq!(replaced, ["OBS_CT"]);
    assert!(
        dp.conntrack_map()
            .entries()
            .expect("a working map")
            .is_empty()
    );
    drop(dp);
    let dp = Datapath::load_or_adopt(root.path(), "node").expect("and again");
    assert!(dp.replaced_pins().is_empty(), "the new pin is kept");
    drop(dp);

    std::fs::remove_file(maps.join("OBS_ENDPOINTS")).expect("unpin endpoints");
    std::fs::rename(maps.join("OBS_CT"), maps.join("OBS_ENDPOINTS")).expect("older endpoints");
    let err = Datapath::load_or_adopt(root.path(), "node").expect_err("refused");
    let text = err.to_string();
    assert!(
        text.contains("OBS_ENDPOINTS") && text.contains("remove the pin"),
        "{text}"
    );
}

/// A DNS rule's entry steers the connection to the DNS proxy: without a proxy socket the
/// packet is dropped with 178 ("Socket lookup failed"), never passed as if the rule were
/// L3/L4 only; the verdict says REDIRECTED. With the proxy's listener bound (in a lab
/// node's namespace, where this runs), the lookup finds it, and the packet is assigned to
/// it; `BPF_PROG_TEST_RUN` runs the program outside the tc ingress path, where the kernel
/// refuses the assign, so the drop becomes 179: proof the lookup found the listener.
#[test]
fn dns_rule_entries_go_to_the_proxy_and_drop_178_without_one() {
    if !lab::require_root() {
        return;
    }
    let mut lab = lab::Lab::new("dnsrun").expect("lab");
    let node = lab.add_node("n").expect("node");
    lab::in_netns(&node.netns, || {
        let egress = datapath_common::enforced_l7(
            &[allow(PEER_ID, UDP, PortRange::single(53), "dns")],
            enforcer::mapstate::L7Kind::Dns,
        );
        let mut h = Harness::new(open(), egress);
        let query = frame::v4(
            LOCAL,
            PEER,
            &L4::Udp {
                sport: 40000,
                dport: 53,
            },
        );
        let (action, events) = h.run(Hook::From, &query);
        assert_eq!(action, tc_action::DROP);
        assert_eq!(kinds(&events), vec![kind::POLICY_VERDICT, kind::DROP]);
        let v = one(&events, kind::POLICY_VERDICT);
        assert_eq!(v.verdict, verdict::ALLOWED);
        assert_ne!(v.flags & event_flags::REDIRECTED, 0, "a redirect verdict");
        let d = one(&events, kind::DROP);
        assert_eq!(d.subtype, drop_reason::PROXY_LOOKUP_FAILED);

        let listener = std::net::UdpSocket::bind("127.0.0.1:0").expect("proxy listener");
        let port = listener.local_addr().expect("bound").port();
        h.set_config(ProbeConfig {
            dns_proxy_port: port,
            ..ProbeConfig::DEFAULT
        });
        // The connection is tracked now: the established path steers too.
        let (action, events) = h.run(Hook::From, &query);
        assert_eq!(action, tc_action::DROP);
        let d = one(&events, kind::DROP);
        assert_eq!(d.subtype, drop_reason::PROXY_ASSIGN_FAILED);
        assert_eq!(d.ct_state, state::ESTABLISHED);

        // SCTP, which `protocol: ANY` also covers, cannot be proxied: drop 180.
        let sctp_dns = datapath_common::enforced_l7(
            &[allow(PEER_ID, SCTP, PortRange::single(53), "dns")],
            enforcer::mapstate::L7Kind::Dns,
        );
        h.set_policy(open(), sctp_dns);
        let sctp = frame::v4(
            LOCAL,
            PEER,
            &L4::Sctp {
                sport: 40000,
                dport: 53,
            },
        );
        let (action, events) = h.run(Hook::From, &sctp);
        assert_eq!(action, tc_action::DROP);
        assert_eq!(
            one(&events, kind::DROP).subtype,
            drop_reason::PROXY_UNKNOWN_PROTOCOL
        );

        // A plain L3/L4 entry on the same port is not steered.
        let plain = enforced(&[allow(PEER_ID, UDP, PortRange::single(53), "dns")]);
        h.set_policy(open(), plain);
        let other = frame::v4(
            LOCAL,
            PEER,
            &L4::Udp {
                sport: 40001,
                dport: 53,
            },
        );
        let (action, _) = h.run(Hook::From, &other);
        assert_eq!(action, tc_action::PASS);
    })
    .expect("in the node's namespace");
}

/// A zombie (an expired DNS-learned address with a connection still open) keeps its
/// identity for the open connection, while a new connection to it is decided as to the
/// world: here default deny.
#[test]
fn a_zombie_address_keeps_open_connections_and_refuses_new_ones() {
    if !lab::require_root() {
        return;
    }
    let egress = enforced(&[allow(PEER_ID, TCP, PortRange::single(443), "fqdn")]);
    let mut h = Harness::new(open(), egress.clone());
    let open_conn = frame::v4(LOCAL, PEER, &tcp(40000, 443, SYN));
    assert_eq!(h.run(Hook::From, &open_conn).0, tc_action::PASS);
    h.zombies = vec![PEER.into()];
    h.set_policy(open(), egress);
    let (action, _) = h.run(Hook::From, &frame::v4(LOCAL, PEER, &tcp(40000, 443, ACK)));
    assert_eq!(action, tc_action::PASS, "the open connection lives on");
    let (action, events) = h.run(Hook::From, &frame::v4(LOCAL, PEER, &tcp(40001, 443, SYN)));
    assert_eq!(action, tc_action::DROP, "a new connection to the zombie");
    let d = one(&events, kind::DROP);
    assert_eq!(d.subtype, drop_reason::POLICY_DENIED);
}

/// An HTTP rule's entry steers the connection to the HTTP proxy: at egress like a DNS rule
/// (drop 178 without the proxy's listener), at ingress by hairpinning the packet to the
/// veth's ingress (`TC_ACT_REDIRECT`), where the hairpin mark sends it to the proxy; the
/// proxy's own upstream connection (its mark) is decided but never steered again.
#[test]
fn http_rule_entries_go_to_the_http_proxy_and_the_proxys_own_connections_do_not() {
    if !lab::require_root() {
        return;
    }
    let http = |protocol| {
        datapath_common::enforced_l7(
            &[allow(PEER_ID, protocol, PortRange::single(8080), "http")],
            enforcer::mapstate::L7Kind::Http,
        )
    };
    let redirected = event_flags::REDIRECTED | event_flags::TO_HTTP_PROXY;
    // Egress: the endpoint's SYN, no HTTP proxy listening.
    let mut h = Harness::new(open(), http(TCP));
    let syn = frame::v4(LOCAL, PEER, &tcp(40000, 8080, SYN));
    let (action, events) = h.run(Hook::From, &syn);
    assert_eq!(action, tc_action::DROP);
    let v = one(&events, kind::POLICY_VERDICT);
    assert_eq!(v.flags & redirected, redirected, "to the HTTP proxy");
    assert_eq!(
        one(&events, kind::DROP).subtype,
        drop_reason::PROXY_LOOKUP_FAILED
    );

    // Ingress: the peer's SYN is hairpinned.
    h.set_policy(http(TCP), open());
    let to_local = frame::v4(PEER, LOCAL, &tcp(41000, 8080, SYN));
    let (action, events) = h.run(Hook::To, &to_local);
    assert_eq!(action, tc_action::REDIRECT, "back to the veth's ingress");
    let v = one(&events, kind::POLICY_VERDICT);
    assert_eq!(v.flags & redirected, redirected);
    // Its next packet too (conntrack remembers the redirect).
    let ack = frame::v4(PEER, LOCAL, &tcp(41000, 8080, ACK));
    assert_eq!(h.run(Hook::To, &ack).0, tc_action::REDIRECT);

    // The proxy's upstream connection from the peer's address: decided, not steered.
    let upstream = frame::v4(PEER, LOCAL, &tcp(42000, 8080, SYN));
    let (action, events) = h.run_marked(Hook::To, &upstream, probe_common::proxy::UPSTREAM_MARK);
    assert_eq!(action, tc_action::PASS);
    let v = one(&events, kind::POLICY_VERDICT);
    assert_eq!(v.verdict, verdict::ALLOWED);
    assert_eq!(v.flags & event_flags::REDIRECTED, 0, "not steered again");

    // A hairpinned packet arriving at the veth's ingress goes to the HTTP proxy's socket
    // (none here: drop 178, reported at the endpoint's ingress).
    let (action, events) = h.run_marked(Hook::From, &to_local, probe_common::proxy::HAIRPIN_MARK);
    assert_eq!(action, tc_action::DROP);
    let d = one(&events, kind::DROP);
    assert_eq!(d.subtype, drop_reason::PROXY_LOOKUP_FAILED);
    assert_eq!(d.direction, direction::INGRESS);
}

/// The benchmark's floors are in the object but not loaded with the datapath; loaded on
/// request, they run over the same maps and do their path's map operations: the new
/// connection's floor sends its two events and creates the very entry the probe would (the
/// probe then finds it established), and the established floor finds it too.
#[test]
fn floors_load_on_request_and_do_their_paths_map_operations() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::new(
        open(),
        enforced(&[allow(PEER_ID, TCP, PortRange::single(80), "web")]),
    );
    for floor in Program::FLOORS {
        let name = floor.name();
        assert!(h.dp.program_stats(floor).is_err(), "{name} loaded at start");
        h.dp.load_program(floor).expect("floor loads");
        h.dp.load_program(floor).expect("a second load is a no-op");
    }
    let syn = frame::v4(LOCAL, PEER, &tcp(40000, 80, SYN));
    let (action, events) = h.run_program(Program::NewConnectionFloor, &syn);
    assert_eq!(action, tc_action::PASS);
    assert_eq!(kinds(&events), vec![kind::POLICY_VERDICT, kind::TRACE]);
    let entries = h.dp.conntrack_map().entries().expect("conntrack read");
    let [(key, entry)] = entries[..] else {
        panic!("one conntrack entry expected: {entries:?}");
    };
    assert_eq!(
        (key.sport, key.dport, key.endpoint_id, key.direction),
        (40000, 80, ENDPOINT_ID, direction::EGRESS)
    );
    assert_eq!(
        (entry.peer_identity, h.rule_of(entry.cookie)),
        (PEER_ID, "web".into())
    );
    let ack = frame::v4(LOCAL, PEER, &tcp(40000, 80, ACK));
    assert_eq!(h.run(Hook::From, &ack), (tc_action::PASS, vec![]));
    let (action, events) = h.run_program(Program::EstablishedFloor, &ack);
    assert_eq!((action, events.len()), (tc_action::PASS, 0));
    let entries = h.dp.conntrack_map().entries().expect("conntrack read");
    assert_eq!(
        entries.len(),
        1,
        "the probe used the floor's entry: {entries:?}"
    );
    assert_eq!(
        entries[0].1.packets_fwd, 2,
        "the probe counted its packet on it"
    );
}

#[test]
fn an_audited_deny_passes_and_reports_audit_while_enforced_drops_stay() {
    if !lab::require_root() {
        return;
    }
    // Enforced: web may reach the peer on 80, nothing else; in audit mode, a policy that
    // would also deny 80 to the peer and allow 443 (443 stays dropped: the audited allow
    // changes no enforcement).
    let audit = enforced(&[
        deny(PEER_ID, TCP, PortRange::single(80), "audited-no-web"),
        allow(PEER_ID, TCP, PortRange::single(443), "audited-tls"),
    ]);
    let mut egress = enforced(&[allow(PEER_ID, TCP, PortRange::single(80), "web")]);
    egress.audit = Some(Box::new(audit));
    let mut h = Harness::new(open(), egress);
    let (action, events) = h.run(Hook::From, &frame::v4(LOCAL, PEER, &tcp(40000, 80, SYN)));
    assert_eq!(action, tc_action::PASS, "an audited deny forwards");
    assert_eq!(kinds(&events), vec![kind::POLICY_VERDICT, kind::TRACE]);
    let v = one(&events, kind::POLICY_VERDICT);
    assert_egress_tcp(&v, 40000, 80);
    assert_eq!(
        (v.verdict, v.reason, v.match_type),
        (verdict::AUDIT, drop_reason::POLICY_DENY, match_type::L3_L4)
    );
    assert_eq!(v.flags & event_flags::AUDITED, event_flags::AUDITED);
    assert_eq!(h.rule_of(v.cookie), "audited-no-web");
    // The audited connection's later packets pass as established.
    let (action, events) = h.run(Hook::From, &frame::v4(LOCAL, PEER, &tcp(40000, 80, ACK)));
    assert_eq!(action, tc_action::PASS);
    assert_eq!(kinds(&events), Vec::<u8>::new());

    let (action, events) = h.run(Hook::From, &frame::v4(LOCAL, PEER, &tcp(40001, 443, SYN)));
    assert_eq!(action, tc_action::DROP, "the enforced policy still decides");
    let v = one(&events, kind::POLICY_VERDICT);
    assert_eq!(
        (v.verdict, v.reason),
        (verdict::DENIED, drop_reason::POLICY_DENIED)
    );

    // Audit only, nothing enforced at ingress: the audited policy's default deny is
    // reported, and the connection passes.
    let mut ingress = open();
    ingress.audit = Some(Box::new(enforced(&[allow(
        OTHER_ID,
        TCP,
        PortRange::single(8080),
        "audited-ingress",
    )])));
    h.set_policy(ingress, open());
    let (action, events) = h.run(Hook::To, &frame::v4(PEER, LOCAL, &tcp(50000, 8080, SYN)));
    assert_eq!(action, tc_action::PASS);
    let v = one(&events, kind::POLICY_VERDICT);
    assert_eq!(
        (v.direction, v.verdict, v.reason, v.match_type),
        (
            direction::INGRESS,
            verdict::AUDIT,
            drop_reason::POLICY_DENIED,
            match_type::NONE
        )
    );
    assert_eq!(
        v.flags & event_flags::ENFORCED,
        0,
        "ingress is not enforced"
    );
    let (action, events) = h.run(Hook::To, &frame::v4(OTHER, LOCAL, &tcp(50001, 8080, SYN)));
    assert_eq!(action, tc_action::PASS);
    assert_eq!(
        kinds(&events),
        vec![kind::TRACE],
        "allowed by both: no verdict"
    );
}

#[test]
fn the_host_endpoint_decides_the_nodes_own_packets_on_a_device() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::host(
        enforced(&[allow(PEER_ID, TCP, PortRange::single(22), "ssh")]),
        open(),
    );
    let (action, events) = h.run(
        Hook::FromNetwork,
        &frame::v4(PEER, LOCAL, &tcp(40000, 22, SYN)),
    );
    assert_eq!(action, tc_action::PASS);
    assert_eq!(kinds(&events), vec![kind::POLICY_VERDICT, kind::TRACE]);
    let v = one(&events, kind::POLICY_VERDICT);
    assert_eq!(
        (v.direction, v.endpoint_id),
        (direction::INGRESS, ENDPOINT_ID)
    );
    assert_eq!((v.src_identity, v.dst_identity), (PEER_ID, HOST_ID));
    assert_eq!(h.rule_of(v.cookie), "ssh");
    let t = one(&events, kind::TRACE);
    assert_eq!(t.subtype, obs_point::FROM_NETWORK);
    // The node's reply leaves through the device's egress as a reply (traced with
    // trace mode "all").
    h.set_config(ProbeConfig {
        trace_mode: trace_mode::ALL,
        ..ProbeConfig::DEFAULT
    });
    let (action, events) = h.run(
        Hook::ToNetwork,
        &frame::v4(LOCAL, PEER, &tcp(22, 40000, SYN | ACK)),
    );
    assert_eq!(action, tc_action::PASS);
    let t = one(&events, kind::TRACE);
    assert_eq!(
        (t.subtype, t.ct_state),
        (obs_point::TO_NETWORK, state::REPLY)
    );
    h.set_config(ProbeConfig::DEFAULT);
    // Anything else to the node is dropped, with the host endpoint's id.
    let (action, events) = h.run(
        Hook::FromNetwork,
        &frame::v4(PEER, LOCAL, &tcp(40001, 80, SYN)),
    );
    assert_eq!(action, tc_action::DROP);
    let d = one(&events, kind::DROP);
    assert_eq!(
        (d.subtype, d.endpoint_id, d.dst_identity),
        (drop_reason::POLICY_DENIED, ENDPOINT_ID, HOST_ID)
    );
}

#[test]
fn the_host_endpoint_passes_what_the_node_forwards_without_a_decision_or_event() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::host(enforced(&[]), enforced(&[]));
    for (hook, frame) in [
        // A peer's packet for a pod (OTHER is not the node), and a pod's packet out.
        (
            Hook::FromNetwork,
            frame::v4(PEER, OTHER, &tcp(40000, 80, SYN)),
        ),
        (
            Hook::ToNetwork,
            frame::v4(OTHER, PEER, &tcp(40000, 80, SYN)),
        ),
    ] {
        let (action, events) = h.run(hook, &frame);
        assert_eq!(action, tc_action::PASS, "{hook:?}");
        assert!(events.is_empty(), "{hook:?}: {events:#?}");
    }
    // What an agent proxy sends for a pod from the node's address is the pod's, judged
    // by the proxy and the pod's own policy.
    let (action, events) = h.run_marked(
        Hook::ToNetwork,
        &frame::v4(LOCAL, PEER, &tcp(40000, 80, SYN)),
        probe_common::proxy::UPSTREAM_MARK,
    );
    assert_eq!(action, tc_action::PASS);
    assert!(events.is_empty(), "{events:#?}");
    // The node's own packet out is decided: default deny.
    let (action, _) = h.run(
        Hook::ToNetwork,
        &frame::v4(LOCAL, PEER, &tcp(40000, 80, SYN)),
    );
    assert_eq!(action, tc_action::DROP);
}

#[test]
fn new_connections_between_a_pod_and_its_node_are_decided_by_the_host_endpoint_too() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::unregistered();
    h.node_policy = Some(EndpointPolicy {
        ingress: enforced(&[allow(LOCAL_ID, TCP, PortRange::single(6443), "api")]),
        egress: enforced(&[]),
    });
    h.set_policy(open(), open());
    // The pod to its node: allowed by the host's ingress rule, with the host's verdict.
    let (action, events) = h.run(Hook::From, &frame::v4(LOCAL, NODE, &tcp(40000, 6443, SYN)));
    assert_eq!(action, tc_action::PASS);
    let v = one(&events, kind::POLICY_VERDICT);
    assert_eq!(
        (v.endpoint_id, v.direction, v.verdict),
        (NODE_ENDPOINT_ID, direction::INGRESS, verdict::ALLOWED)
    );
    assert_eq!((v.src_identity, v.dst_identity), (LOCAL_ID, HOST_ID));
    assert_eq!(h.rule_of(v.cookie), "api");
    // The reply passes on the pod's conntrack entry.
    let (action, _) = h.run(
        Hook::To,
        &frame::v4(NODE, LOCAL, &tcp(6443, 40000, SYN | ACK)),
    );
    assert_eq!(action, tc_action::PASS);
    // Any other port to the node: dropped by the host endpoint.
    let (action, events) = h.run(Hook::From, &frame::v4(LOCAL, NODE, &tcp(40001, 22, SYN)));
    assert_eq!(action, tc_action::DROP);
    let d = one(&events, kind::DROP);
    assert_eq!(
        (d.endpoint_id, d.direction, d.subtype),
        (
            NODE_ENDPOINT_ID,
            direction::INGRESS,
            drop_reason::POLICY_DENIED
        )
    );
    // The node to the pod: its egress denies everything.
    let (action, events) = h.run(Hook::To, &frame::v4(NODE, LOCAL, &tcp(40002, 80, SYN)));
    assert_eq!(action, tc_action::DROP);
    let d = one(&events, kind::DROP);
    assert_eq!(
        (d.endpoint_id, d.direction),
        (NODE_ENDPOINT_ID, direction::EGRESS)
    );
    // Other peers are the pod's business only.
    let (action, events) = h.run(Hook::From, &frame::v4(LOCAL, PEER, &tcp(40003, 22, SYN)));
    assert_eq!(action, tc_action::PASS);
    assert!(
        events.iter().all(|e| e.endpoint_id == ENDPOINT_ID),
        "{events:#?}"
    );
}

#[test]
fn without_a_host_endpoint_a_pod_and_its_node_are_judged_by_the_pod_alone() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::new(open(), open());
    let (action, events) = h.run(Hook::From, &frame::v4(LOCAL, NODE, &tcp(40000, 22, SYN)));
    assert_eq!(action, tc_action::PASS);
    assert!(
        events.iter().all(|e| e.endpoint_id == ENDPOINT_ID),
        "{events:#?}"
    );
}

#[test]
fn every_program_stays_well_within_the_verifiers_budget() {
    if !lab::require_root() {
        return;
    }
    let mut h = Harness::unregistered();
    for program in Program::ALL {
        let stats = h.dp.program_stats(program).expect("stats");
        eprintln!(
            "{} verified {}",
            program.name(),
            stats.verified_instructions
        );
        // The kernel's limit is 1,000,000 processed instructions per program.
        assert!(
            stats.verified_instructions < 700_000,
            "{} took {} verifier instructions",
            program.name(),
            stats.verified_instructions
        );
    }
}
