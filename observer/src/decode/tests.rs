//! Decoder fixtures: each builds a datapath event and checks the fields `hubble observe`
//! prints for it. The expected compact line sits above each test; `compact()` renders
//! just enough of that format to compare.

use std::net::IpAddr;
use std::sync::Arc;

use observe_proto::flow::{
    DropReason, Flow, PolicyVerdictKind, TraceObservationPoint, TrafficDirection, Verdict, layer4,
};
use probe_common::conntrack::state;
use probe_common::event::{FlowEvent, event_flags, kind, obs_point, verdict};
use probe_common::ipcache::{FAMILY_V4, FAMILY_V6};
use probe_common::{direction, drop_reason};

use super::*;
use crate::event::LostSource;
use crate::getters::{
    EndpointInfo, FakeEndpointGetter, FakeLinkGetter, FakePolicyGetter, GetterSource, Getters,
    PolicyInfo, RuleInfo,
};

const XWING: [u8; 4] = [10, 0, 1, 23];
const DEATHSTAR: [u8; 4] = [10, 0, 2, 45];

fn v4(addr: [u8; 4]) -> [u8; 16] {
    let mut out = [0; 16];
    out[..4].copy_from_slice(&addr);
    out
}

fn endpoint(id: u32, identity: u32, pod: &str) -> Arc<EndpointInfo> {
    Arc::new(EndpointInfo {
        id,
        identity,
        namespace: "default".into(),
        pod_name: pod.into(),
        labels: vec![format!("k8s:app={pod}")],
        node_name: "k8s1".into(),
    })
}

/// xwing (endpoint 7, identity 27863) and deathstar (endpoint 9, identity 45219).
fn endpoints() -> FakeEndpointGetter {
    FakeEndpointGetter {
        on_endpoint_by_id: Some(Box::new(|id| match id {
            7 => Some(endpoint(7, 27863, "xwing")),
            9 => Some(endpoint(9, 45219, "deathstar")),
            _ => None,
        })),
        on_endpoint_by_ip: Some(Box::new(|ip| match ip {
            IpAddr::V4(a) if a.octets() == XWING => Some(endpoint(7, 27863, "xwing")),
            IpAddr::V4(a) if a.octets() == DEATHSTAR => Some(endpoint(9, 45219, "deathstar")),
            _ => None,
        })),
    }
}

fn policy_info(kind: &str, namespace: &str, name: &str) -> PolicyInfo {
    PolicyInfo {
        kind: kind.into(),
        namespace: namespace.into(),
        name: name.into(),
        revision: 4,
    }
}

fn policies() -> FakePolicyGetter {
    FakePolicyGetter {
        on_rules_by_cookie: Some(Box::new(|cookie| match cookie {
            3 => vec![RuleInfo {
                policy: policy_info("CiliumNetworkPolicy", "default", "allow-xwing"),
                path: "spec.ingress[0]".into(),
            }],
            5 => vec![RuleInfo {
                policy: policy_info("CiliumClusterwideNetworkPolicy", "", "deny-empire"),
                path: "spec.ingressDeny[1]".into(),
            }],
            _ => vec![],
        })),
        on_selecting_policies: Some(Box::new(|(endpoint, dir)| match (endpoint, dir) {
            (9, TrafficDirection::Ingress) => vec![
                policy_info("CiliumNetworkPolicy", "default", "deathstar-l7"),
                policy_info("NetworkPolicy", "default", "default-deny"),
            ],
            _ => vec![],
        })),
        on_auditing_policies: Some(Box::new(|(endpoint, dir)| match (endpoint, dir) {
            (9, TrafficDirection::Ingress) => vec![
                policy_info("CiliumNetworkPolicy", "default", "deathstar-l7"),
                policy_info("CiliumNetworkPolicy", "default", "lockdown"),
            ],
            _ => vec![],
        })),
    }
}

fn decoder() -> Decoder {
    Decoder::new(BootClock::unix_epoch())
        .with_endpoints(Arc::new(endpoints()))
        .with_policies(Arc::new(policies()))
        .with_links(Arc::new(FakeLinkGetter {
            on_link_name: Some(Box::new(|i| Some(format!("lxc{i}")))),
        }))
}

/// A SYN from xwing:42704 to deathstar:80, seen at deathstar's hook (ingress).
fn syn_to_deathstar() -> FlowEvent {
    FlowEvent {
        timestamp_ns: 1_724_923_541_279_000_000,
        direction: direction::INGRESS,
        family: FAMILY_V4,
        protocol: 6,
        tcp_flags: 0x02,
        ct_state: state::NEW,
        endpoint_id: 9,
        sport: 42704,
        dport: 80,
        ifindex: 14,
        src_identity: 27863,
        dst_identity: 45219,
        saddr: v4(XWING),
        daddr: v4(DEATHSTAR),
        ..FlowEvent::default()
    }
}

/// Renders `src (id) arrow dst (id) TYPE VERDICT (Summary)` like Hubble's compact output.
fn compact(flow: &Flow) -> String {
    let side = |ep: &observe_proto::flow::Endpoint, ip: &str, port: u32| {
        let host = if ep.pod_name.is_empty() {
            ip.to_string()
        } else {
            format!("{}/{}", ep.namespace, ep.pod_name)
        };
        let id = match probe_common::identity::name(ep.identity) {
            Some(name) => name.to_string(),
            None => format!("ID:{}", ep.identity),
        };
        match port {
            0 => format!("{host} ({id})"),
            _ => format!("{host}:{port} ({id})"),
        }
    };
    let (sport, dport) = match flow.l4.as_ref().and_then(|l| l.protocol.as_ref()) {
        Some(layer4::Protocol::Tcp(t)) => (t.source_port, t.destination_port),
        Some(layer4::Protocol::Udp(u)) => (u.source_port, u.destination_port),
        _ => (0, 0),
    };
    let ip = flow.ip.clone().unwrap_or_default();
    let src = side(flow.source.as_ref().unwrap(), &ip.source, sport);
    let dst = side(flow.destination.as_ref().unwrap(), &ip.destination, dport);
    let (kind, verdict) = match flow.event_type.unwrap().r#type as u8 {
        kind::DROP => (
            drop_reason::text(flow.drop_reason_desc as u8).to_string(),
            "DROPPED".to_string(),
        ),
        kind::POLICY_VERDICT => {
            let dir = flow.traffic_direction().as_str_name();
            let v = match flow.verdict() {
                Verdict::Dropped => "DENIED",
                Verdict::Audit => "AUDITED",
                _ => "ALLOWED",
            };
            (
                format!(
                    "policy-verdict:{} {dir}",
                    match_name(flow.policy_match_type)
                ),
                v.into(),
            )
        }
        _ => (
            match flow.trace_observation_point() {
                TraceObservationPoint::ToEndpoint => "to-endpoint".into(),
                TraceObservationPoint::FromEndpoint => "from-endpoint".into(),
                other => other.as_str_name().to_string(),
            },
            flow.verdict().as_str_name().to_string(),
        ),
    };
    #[allow(deprecated, reason = "Summary is what compact output prints")]
    let summary = &flow.summary;
    // A reply is printed with its sides swapped so the client stays on the left.
    let (left, arrow, right) = match flow.is_reply.map(|b| b.value) {
        Some(false) => (src, "->", dst),
        Some(true) => (dst, "<-", src),
        None => (src, "<>", dst),
    };
    format!("{left} {arrow} {right} {kind} {verdict} ({summary})")
}

fn match_name(match_type: u32) -> &'static str {
    u8::try_from(match_type)
        .ok()
        .and_then(probe_common::policy::match_type::name)
        .unwrap_or("unknown")
}

fn decode(ev: FlowEvent) -> Flow {
    decoder().decode_flow_event(&ev, "k8s1").expect("decodes")
}

// default/xwing:42704 (ID:27863) -> default/deathstar:80 (ID:45219) Policy denied DROPPED (TCP Flags: SYN)
#[test]
fn default_deny_drop_names_the_selecting_policies() {
    let flow = decode(FlowEvent {
        kind: kind::DROP,
        subtype: drop_reason::POLICY_DENIED,
        reason: drop_reason::POLICY_DENIED,
        ..syn_to_deathstar()
    });
    assert_eq!(
        compact(&flow),
        "default/xwing:42704 (ID:27863) -> default/deathstar:80 (ID:45219) Policy denied DROPPED (TCP Flags: SYN)"
    );
    assert_eq!(flow.drop_reason_desc(), DropReason::PolicyDenied);
    assert_eq!(flow.event_type.unwrap().sub_type, 133);
    assert_eq!(flow.traffic_direction(), TrafficDirection::Ingress);
    assert!(flow.ingress_denied_by.is_empty());
    let attribution = flow.attribution.unwrap();
    assert_eq!(attribution.kind(), PolicyVerdictKind::DefaultDeny);
    let names: Vec<_> = attribution
        .selecting_policies
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["deathstar-l7", "default-deny"]);
    assert_eq!(flow.interface.unwrap().name, "lxc14");
    assert_eq!(flow.time.unwrap().to_string(), "2024-08-29T09:25:41.279Z");
    assert_eq!(flow.node_name, "k8s1");
}

// default/xwing:42704 (ID:27863) -> default/deathstar:80 (ID:45219) Policy denied by denylist DROPPED (TCP Flags: SYN)
#[test]
fn explicit_deny_drop_names_the_deny_rule() {
    let flow = decode(FlowEvent {
        kind: kind::DROP,
        subtype: drop_reason::POLICY_DENY,
        reason: drop_reason::POLICY_DENY,
        cookie: 5,
        ..syn_to_deathstar()
    });
    assert_eq!(
        compact(&flow),
        "default/xwing:42704 (ID:27863) -> default/deathstar:80 (ID:45219) Policy denied by denylist DROPPED (TCP Flags: SYN)"
    );
    assert_eq!(flow.drop_reason_desc(), DropReason::PolicyDeny);
    let denied = &flow.ingress_denied_by[0];
    assert_eq!(
        (denied.name.as_str(), denied.namespace.as_str()),
        ("deny-empire", "")
    );
    assert_eq!(denied.kind, "CiliumClusterwideNetworkPolicy");
    assert_eq!(denied.revision, 4);
    let attribution = flow.attribution.unwrap();
    assert_eq!(attribution.kind(), PolicyVerdictKind::ExplicitDeny);
    assert_eq!(attribution.rules[0].path, "spec.ingressDeny[1]");
    assert!(attribution.selecting_policies.is_empty());
}

// default/xwing:42704 (ID:27863) -> default/deathstar:80 (ID:45219) policy-verdict:L3-L4 INGRESS ALLOWED (TCP Flags: SYN)
#[test]
fn allowed_policy_verdict_names_the_allowing_policy() {
    let flow = decode(FlowEvent {
        kind: kind::POLICY_VERDICT,
        verdict: verdict::ALLOWED,
        match_type: probe_common::policy::match_type::L3_L4,
        cookie: 3,
        flags: event_flags::ENFORCED,
        ..syn_to_deathstar()
    });
    assert_eq!(
        compact(&flow),
        "default/xwing:42704 (ID:27863) -> default/deathstar:80 (ID:45219) policy-verdict:L3-L4 INGRESS ALLOWED (TCP Flags: SYN)"
    );
    assert_eq!(flow.verdict(), Verdict::Forwarded);
    assert_eq!(flow.policy_match_type, 2);
    assert_eq!(flow.ingress_allowed_by[0].name, "allow-xwing");
    assert_eq!(flow.attribution.unwrap().kind(), PolicyVerdictKind::Allowed);
}

// default/xwing:42704 (ID:27863) -> default/deathstar:80 (ID:45219) policy-verdict:none INGRESS DENIED (TCP Flags: SYN)
#[test]
fn denied_policy_verdict_is_dropped_with_its_reason() {
    let flow = decode(FlowEvent {
        kind: kind::POLICY_VERDICT,
        verdict: verdict::DENIED,
        reason: drop_reason::POLICY_DENIED,
        ..syn_to_deathstar()
    });
    assert_eq!(
        compact(&flow),
        "default/xwing:42704 (ID:27863) -> default/deathstar:80 (ID:45219) policy-verdict:none INGRESS DENIED (TCP Flags: SYN)"
    );
    assert_eq!(flow.verdict(), Verdict::Dropped);
    assert_eq!(flow.drop_reason_desc(), DropReason::PolicyDenied);
    assert_eq!(
        flow.attribution.unwrap().kind(),
        PolicyVerdictKind::DefaultDeny
    );
}

// default/xwing:42704 (ID:27863) -> default/deathstar:80 (ID:45219) policy-verdict:L3-L4 INGRESS AUDITED (TCP Flags: SYN)
#[test]
fn an_audited_deny_is_audit_and_names_the_deny_it_would_be() {
    let flow = decode(FlowEvent {
        kind: kind::POLICY_VERDICT,
        verdict: verdict::AUDIT,
        reason: drop_reason::POLICY_DENY,
        match_type: probe_common::policy::match_type::L3_L4,
        cookie: 5,
        flags: event_flags::ENFORCED | event_flags::AUDITED,
        ..syn_to_deathstar()
    });
    assert_eq!(
        compact(&flow),
        "default/xwing:42704 (ID:27863) -> default/deathstar:80 (ID:45219) policy-verdict:L3-L4 INGRESS AUDITED (TCP Flags: SYN)"
    );
    assert_eq!(flow.verdict(), Verdict::Audit);
    // As in Hubble: the flow was not dropped, so no drop reason.
    assert_eq!(flow.drop_reason_desc(), DropReason::Unknown);
    assert_eq!(flow.ingress_denied_by[0].name, "deny-empire");
    assert!(flow.ingress_allowed_by.is_empty());
    let attribution = flow.attribution.unwrap();
    assert_eq!(attribution.kind(), PolicyVerdictKind::ExplicitDeny);
    assert_eq!(attribution.rules[0].path, "spec.ingressDeny[1]");
}

#[test]
fn an_audited_default_deny_names_the_policies_with_those_in_audit_mode() {
    let flow = decode(FlowEvent {
        kind: kind::POLICY_VERDICT,
        verdict: verdict::AUDIT,
        reason: drop_reason::POLICY_DENIED,
        flags: event_flags::AUDITED,
        ..syn_to_deathstar()
    });
    assert_eq!(flow.verdict(), Verdict::Audit);
    let attribution = flow.attribution.unwrap();
    assert_eq!(attribution.kind(), PolicyVerdictKind::DefaultDeny);
    let names: Vec<&str> = attribution
        .selecting_policies
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["deathstar-l7", "lockdown"]);
}

// default/xwing:42704 (ID:27863) <- default/deathstar:80 (ID:45219) from-endpoint FORWARDED (TCP Flags: SYN, ACK)
#[test]
fn reply_trace_flips_arrow_and_direction() {
    // deathstar answers: the packet leaves deathstar (egress at its hook), src and dst
    // swap, and conntrack says REPLY.
    let syn = syn_to_deathstar();
    let flow = decode(FlowEvent {
        kind: kind::TRACE,
        subtype: obs_point::FROM_ENDPOINT,
        direction: direction::EGRESS,
        ct_state: state::REPLY,
        tcp_flags: 0x12,
        sport: 80,
        dport: 42704,
        saddr: syn.daddr,
        daddr: syn.saddr,
        src_identity: 45219,
        dst_identity: 27863,
        cookie: 3,
        ..syn
    });
    assert_eq!(
        compact(&flow),
        "default/xwing:42704 (ID:27863) <- default/deathstar:80 (ID:45219) from-endpoint FORWARDED (TCP Flags: SYN, ACK)"
    );
    // The flow itself keeps the packet's source and destination.
    assert_eq!(flow.source.as_ref().unwrap().pod_name, "deathstar");
    assert_eq!(
        flow.trace_observation_point(),
        TraceObservationPoint::FromEndpoint
    );
    assert_eq!(flow.event_type.unwrap().sub_type, 5);
    assert_eq!(
        flow.traffic_direction(),
        TrafficDirection::Ingress,
        "an ingress connection"
    );
    assert_eq!(flow.trace_reason(), observe_proto::flow::TraceReason::Reply);
    assert_eq!(flow.ingress_allowed_by[0].name, "allow-xwing");
}

// default/xwing (ID:27863) -> 203.0.113.9 (world) to-endpoint FORWARDED (ICMPv4 EchoRequest)
#[test]
fn icmp_trace_to_world_uses_reserved_labels() {
    let flow = decode(FlowEvent {
        kind: kind::TRACE,
        subtype: obs_point::TO_ENDPOINT,
        direction: direction::EGRESS,
        protocol: 1,
        icmp_type: 8,
        sport: 0,
        dport: 0,
        endpoint_id: 0,
        src_identity: 27863,
        dst_identity: 2,
        daddr: v4([203, 0, 113, 9]),
        ..syn_to_deathstar()
    });
    assert_eq!(
        compact(&flow),
        "default/xwing (ID:27863) -> 203.0.113.9 (world) to-endpoint FORWARDED (ICMPv4 EchoRequest)"
    );
    assert_eq!(flow.destination.unwrap().labels, ["reserved:world"]);
    assert_eq!(flow.trace_observation_point, 101);
}

// [fd00::1]:5353 (ID:27863) -> [fd00::2]:53 (ID:45219) Stale or unroutable IP DROPPED (UDP)
// (without getters: addresses instead of pod names)
#[test]
fn ipv6_udp_drop_for_another_reason_has_no_attribution() {
    let flow = Decoder::new(BootClock::unix_epoch())
        .decode_flow_event(
            &FlowEvent {
                kind: kind::DROP,
                subtype: 151,
                family: FAMILY_V6,
                protocol: 17,
                sport: 5353,
                dport: 53,
                saddr: "fd00::1".parse::<std::net::Ipv6Addr>().unwrap().octets(),
                daddr: "fd00::2".parse::<std::net::Ipv6Addr>().unwrap().octets(),
                ..syn_to_deathstar()
            },
            "k8s1",
        )
        .unwrap();
    assert_eq!(flow.drop_reason_desc(), DropReason::StaleOrUnroutableIp);
    assert_eq!(flow.is_reply.map(|b| b.value), Some(false));
    assert_eq!(flow.ip.unwrap().destination, "fd00::2");
    assert_eq!(flow.attribution, None);
    #[allow(deprecated, reason = "Summary is what compact output prints")]
    let summary = flow.summary;
    assert_eq!(summary, "UDP");
}

#[test]
fn uuids_are_distinct_version_4() {
    let mut decoder = Decoder::new(BootClock::unix_epoch());
    let ev = FlowEvent {
        kind: kind::TRACE,
        ..FlowEvent::default()
    };
    let a = decoder.decode_flow_event(&ev, "n").unwrap().uuid;
    let b = decoder.decode_flow_event(&ev, "n").unwrap().uuid;
    assert_ne!(a, b);
    let parsed = uuid::Uuid::parse_str(&a).unwrap();
    assert_eq!(parsed.get_version_num(), 4);
}

/// Counts its loads; the getters of load `n` name the interface `load{n}`.
#[derive(Default)]
struct CountingSource(std::sync::atomic::AtomicU32);

impl GetterSource for CountingSource {
    fn load(&self) -> Getters {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        Getters {
            links: Arc::new(FakeLinkGetter {
                on_link_name: Some(Box::new(move |_| Some(format!("load{n}")))),
            }),
            ..Getters::default()
        }
    }
}

#[test]
fn a_getter_source_is_loaded_once_per_flow_in_place_of_the_getters_set_one_by_one() {
    let source = Arc::new(CountingSource::default());
    let mut decoder = decoder().with_getter_source(source.clone());
    let trace = FlowEvent {
        kind: kind::TRACE,
        ..syn_to_deathstar()
    };
    let names: Vec<_> = (0..3)
        .map(|_| {
            let flow = decoder.decode_flow_event(&trace, "n").unwrap();
            flow.interface.unwrap().name
        })
        .collect();
    assert_eq!(names, ["load1", "load2", "load3"]);
    assert_eq!(source.0.load(std::sync::atomic::Ordering::Relaxed), 3);
}

#[test]
fn a_stored_event_is_built_later_from_the_answers_of_the_moment_it_was_seen() {
    let source = Arc::new(CountingSource::default());
    let mut decoder = decoder().with_getter_source(source.clone());
    let trace = FlowEvent {
        kind: kind::TRACE,
        ..syn_to_deathstar()
    };
    let node: Arc<str> = Arc::from("n");
    let stored: Vec<_> = (0..3)
        .map(|_| decoder.store_flow_event(&trace, &node).unwrap())
        .collect();
    // The state changes (a fourth load would answer `load4`) before the flows are read.
    let built: Vec<_> = stored.iter().map(|s| s.to_flow()).collect();
    let names: Vec<_> = built
        .iter()
        .map(|f| f.interface.clone().unwrap().name)
        .collect();
    assert_eq!(names, ["load1", "load2", "load3"]);
    assert_eq!(
        source.0.load(std::sync::atomic::Ordering::Relaxed),
        3,
        "building a flow asks no getter"
    );
    // Built twice, a stored event is the same flow (same id and time).
    assert_eq!(stored[0].to_flow(), built[0]);
    assert_eq!(Some(stored[0].time()), built[0].time);
}

#[test]
fn a_stored_event_is_small() {
    // The flow ring keeps one per event (behind an Arc); the budget is 512 B per
    // flow, allocation included.
    let size = size_of::<crate::event::DecodedEvent>();
    assert!(size <= 320, "DecodedEvent is {size} B");
}

/// `payload` as the ring-buffer source hands it to the pipeline.
fn monitor(payload: Payload) -> MonitorEvent {
    MonitorEvent {
        timestamp: std::time::SystemTime::UNIX_EPOCH,
        node_name: "n".into(),
        payload,
    }
}

#[test]
fn a_record_too_short_for_an_event_is_a_truncation_worth_logging() {
    let mut decoder = Decoder::new(BootClock::unix_epoch());
    let err = decoder
        .decode(&monitor(Payload::from_record(&[0; 79])))
        .unwrap_err();
    assert_eq!(err, ParseError::Truncated { need: 80, got: 79 });
    assert!(!err.is_benign());
}

#[test]
fn loss_reports_and_unknown_kinds_are_benign_errors() {
    let mut decoder = Decoder::new(BootClock::unix_epoch());
    let lost = MonitorEvent {
        timestamp: std::time::SystemTime::UNIX_EPOCH,
        node_name: "n".into(),
        payload: Payload::Lost {
            source: LostSource::KernelRing,
            count: 3,
            cpu: Some(1),
        },
    };
    assert_eq!(decoder.decode(&lost), Err(ParseError::NotAFlow));
    let unknown = FlowEvent {
        kind: 200,
        ..FlowEvent::default()
    };
    let err = decoder.decode_flow_event(&unknown, "n").unwrap_err();
    assert!(err.is_benign());
}

#[test]
fn any_byte_pattern_decodes_or_fails_cleanly() {
    // Deterministic pseudo-random records, plus every value of the kind, family and
    // protocol bytes: nothing may panic, with or without getters.
    let mut rng = UuidSource { state: 42 };
    let mut plain = Decoder::new(BootClock::unix_epoch());
    let mut enriched = decoder();
    for i in 0..20_000u32 {
        let mut bytes = [0u8; 80];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next_u64().to_ne_bytes());
        }
        // Bias the small enumerations towards values the decoder handles.
        bytes[8] = [kind::DROP, kind::TRACE, kind::POLICY_VERDICT, i as u8][i as usize % 4];
        bytes[11] = [FAMILY_V4, FAMILY_V6, i as u8][i as usize % 3];
        let ev = FlowEvent::from_bytes(&bytes).unwrap();
        let _ = plain.decode_flow_event(&ev, "n");
        let _ = enriched.decode_flow_event(&ev, "n");
        let _ = plain.decode(&monitor(Payload::from_record(&bytes[..(i as usize % 81)])));
    }
}

#[test]
fn an_aggregated_trace_event_carries_its_connection_s_counters() {
    let event = FlowEvent {
        kind: kind::TRACE,
        ct_state: state::ESTABLISHED,
        tcp_flags: 0x11,
        flags: probe_common::event::event_flags::COUNTED,
        ..syn_to_deathstar()
    };
    let counters = probe_common::event::ConnectionCounters {
        packets_fwd: 120,
        packets_rev: 118,
        bytes_fwd: 9_000,
        bytes_rev: 1_200_000,
        first_seen_ns: event.timestamp_ns - 2_000_000_000,
        tcp_flags_seen: 0x1b12,
        pad: [0; 6],
    };
    let mut d = decoder();
    let flow = d
        .decode(&monitor(Payload::Counted(event, Box::new(counters))))
        .expect("a flow");
    let c = flow.connection.expect("counters");
    assert_eq!((c.forward_packets, c.reply_packets), (120, 118));
    assert_eq!((c.forward_bytes, c.reply_bytes), (9_000, 1_200_000));
    let time = flow.time.unwrap();
    let first = c.first_seen.unwrap();
    assert_eq!(
        time.seconds - first.seconds,
        2,
        "first seen two seconds before"
    );
    // 0x12 opening (SYN, ACK), 0x1b replying (FIN, SYN, PSH, ACK).
    let (fwd, rev) = (c.forward_tcp_flags.unwrap(), c.reply_tcp_flags.unwrap());
    assert!(fwd.syn && fwd.ack && !fwd.fin);
    assert!(rev.fin && rev.psh);
    // A plain event has none.
    let plain = d.decode(&monitor(Payload::Flow(event))).expect("a flow");
    assert_eq!(plain.connection, None);
}

/// A drop, a policy verdict and a trace of the SYN to deathstar, and a trace to the
/// world seen on an egress hook without an interface: the destination labelled by its
/// reserved identity alone.
fn kinds_and_peers() -> [FlowEvent; 4] {
    [
        FlowEvent {
            kind: kind::DROP,
            subtype: drop_reason::POLICY_DENIED,
            reason: drop_reason::POLICY_DENIED,
            ..syn_to_deathstar()
        },
        FlowEvent {
            kind: kind::POLICY_VERDICT,
            ..syn_to_deathstar()
        },
        FlowEvent {
            kind: kind::TRACE,
            ..syn_to_deathstar()
        },
        FlowEvent {
            kind: kind::TRACE,
            direction: direction::EGRESS,
            endpoint_id: 7,
            daddr: v4([203, 0, 113, 7]),
            dst_identity: 2,
            ifindex: 0,
            ..syn_to_deathstar()
        },
    ]
}

/// A flow built partly (what filters look at) and completed is the flow built whole,
/// field for field, for drops, verdicts and traces.
#[test]
fn a_completed_flow_is_the_whole_flow() {
    let mut decoder = decoder();
    for ev in kinds_and_peers() {
        let stored = decoder
            .store_flow_event(&ev, &Arc::from("k8s1"))
            .expect("decodes");
        let whole = stored.to_flow();
        for detail in [Detail::Header, Detail::Endpoints, Detail::Full] {
            let mut completed = stored.build(detail);
            stored.complete(&mut completed, detail);
            assert_eq!(completed, whole, "kind {} from {detail:?}", ev.kind);
        }
    }
}

/// A flow built into an earlier flow is the flow built afresh, whatever the earlier one
/// held (another kind, direction, peer, interface or detail): only string allocations are
/// reused.
#[test]
fn a_flow_built_into_an_earlier_one_is_the_flow_built_afresh() {
    let stored = store_all(&mut decoder(), &events_of_every_shape());
    let mut reused = stored[0].to_flow();
    for _ in 0..2 {
        for s in &stored {
            for detail in [Detail::Full, Detail::Header, Detail::Endpoints] {
                s.build_into(detail, &mut reused);
                assert_eq!(reused, s.build(detail), "kind {} at {detail:?}", s.kind());
            }
        }
    }
}

/// Events of every shape a stream writes from the event itself: traces of both
/// directions and observation points, replies, each transport and family, a peer without
/// an interface, a packet that is not IP, a drop for a reason other than policy; and the
/// kinds [`kinds_and_peers`] has (policy verdicts and policy drops among them).
fn events_of_every_shape() -> Vec<FlowEvent> {
    let trace = FlowEvent {
        kind: kind::TRACE,
        ..syn_to_deathstar()
    };
    let v6 = |text: &str| text.parse::<std::net::Ipv6Addr>().unwrap().octets();
    let mut events = kinds_and_peers().to_vec();
    events.extend([
        FlowEvent {
            protocol: 17,
            subtype: obs_point::TO_ENDPOINT,
            ..trace
        },
        FlowEvent {
            protocol: 1,
            icmp_type: 8,
            ct_state: state::REPLY,
            flags: event_flags::IS_REPLY,
            ..trace
        },
        FlowEvent {
            family: FAMILY_V6,
            saddr: v6("2001:db8::1"),
            daddr: v6("2001:db8::2"),
            tcp_flags: 0x18,
            ct_state: state::ESTABLISHED,
            ..trace
        },
        FlowEvent {
            family: FAMILY_V6,
            protocol: 58,
            icmp_type: 1,
            icmp_code: 4,
            saddr: v6("2001:db8::1"),
            daddr: v6("2001:db8::2"),
            ..trace
        },
        FlowEvent {
            family: 0,
            protocol: 0,
            ..trace
        },
        FlowEvent {
            protocol: 47,
            ifindex: 0,
            direction: direction::EGRESS,
            ..trace
        },
        FlowEvent {
            kind: kind::DROP,
            subtype: drop_reason::INVALID_PACKET,
            reason: drop_reason::INVALID_PACKET,
            ..trace
        },
    ]);
    events
}

/// Each of `events` as the ring keeps it.
fn store_all(decoder: &mut Decoder, events: &[FlowEvent]) -> Vec<StoredFlow> {
    let node = Arc::from("k8s1");
    let store = |ev| decoder.store_flow_event(ev, &node).expect("decodes");
    events.iter().map(store).collect()
}

/// A stored event's response written from the event, without building its flow, decodes
/// to the response of its whole flow, for every kind of event (also those with policy
/// attribution and a peer known only by its identity); each side+identity is encoded once.
#[test]
fn a_response_written_from_the_event_carries_the_whole_flow() {
    use observe_proto::observer::{GetFlowsResponse, get_flows_response::ResponseTypes};
    use prost::Message;

    let mut decoder = decoder();
    let mut endpoints = EndpointEncodings::default();
    let mut buffers = WireBuffers::default();
    let mut stored = store_all(&mut decoder, &events_of_every_shape());
    // And an aggregated trace, with its connection's counters.
    let counted = FlowEvent {
        kind: kind::TRACE,
        ct_state: state::ESTABLISHED,
        flags: event_flags::COUNTED,
        ..syn_to_deathstar()
    };
    let counters = probe_common::event::ConnectionCounters {
        packets_fwd: 3,
        bytes_fwd: 180,
        tcp_flags_seen: 0x1212,
        ..Default::default()
    };
    let payload = Payload::Counted(counted, Box::new(counters));
    match decoder.decode_event(&monitor(payload)) {
        Ok(DecodedEvent::Datapath(s)) => stored.push(s),
        _ => panic!("a stored datapath event"),
    }
    let (mut decided, mut counted) = (0, 0);
    for stored in &stored {
        let ev = &stored.event;
        let whole = stored.to_flow();
        // Twice: the second time from the stream's cached endpoint encodings.
        let _ = stored.encode_response(&mut endpoints, "node-a", &mut buffers);
        let cached = endpoints.len();
        let bytes = stored.encode_response(&mut endpoints, "node-a", &mut buffers);
        assert_eq!(
            endpoints.len(),
            cached,
            "kind {}: sides encoded again",
            ev.kind
        );
        decided += usize::from(whole.attribution.is_some());
        counted += usize::from(whole.connection.is_some());
        let expected = GetFlowsResponse {
            response_types: Some(ResponseTypes::Flow(whole)),
            node_name: "node-a".into(),
            time: Some(stored.time()),
        };
        let response = GetFlowsResponse::decode(bytes).expect("decodes");
        assert_eq!(
            response, expected,
            "kind {} protocol {}",
            ev.kind, ev.protocol
        );
    }
    assert_eq!(
        (decided, counted),
        (2, 1),
        "attribution for a policy verdict and drop"
    );
}

/// Written from the event or built, a response is the same for any byte pattern that
/// decodes: pseudo-random events of every kind, family and protocol.
#[test]
fn a_written_response_is_the_built_one_for_any_event() {
    use observe_proto::observer::{GetFlowsResponse, get_flows_response::ResponseTypes};
    use prost::Message;

    let mut rng = UuidSource { state: 7 };
    let mut decoder = decoder();
    let mut endpoints = EndpointEncodings::default();
    let mut buffers = WireBuffers::default();
    let mut compared = 0;
    for i in 0..5_000u32 {
        let mut bytes = [0u8; 80];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next_u64().to_ne_bytes());
        }
        bytes[8] = [kind::DROP, kind::TRACE, kind::POLICY_VERDICT][i as usize % 3];
        bytes[11] = [FAMILY_V4, FAMILY_V6, i as u8][i as usize % 3];
        let ev = FlowEvent::from_bytes(&bytes).unwrap();
        let Ok(stored) = decoder.store_flow_event(&ev, &Arc::from("k8s1")) else {
            continue;
        };
        let bytes = stored.encode_response(&mut endpoints, "n", &mut buffers);
        let response = GetFlowsResponse::decode(bytes).expect("decodes");
        let expected = GetFlowsResponse {
            response_types: Some(ResponseTypes::Flow(stored.to_flow())),
            node_name: "n".into(),
            time: Some(stored.time()),
        };
        assert_eq!(response, expected, "event {i}: {ev:?}");
        compared += 1;
    }
    assert!(compared > 1_000, "only {compared} events decoded");
}
