//! A small cluster (namespace `shop`: frontend, backend, db; a world host) and its
//! policies, synthetic datapath events on it, and the flows the agent's decoder makes of
//! them, built directly as protobuf values (so the dashboard's tests need no agent).
//! `tests/tui/decoder.rs` at the workspace root feeds the same events to the real decoder
//! and checks that it makes exactly these flows.
//!
//! | endpoint | id | identity | address |
//! |---|---|---|---|
//! | shop/frontend | 1 | 1001 | 10.0.1.1 |
//! | shop/backend | 2 | 1002 | 10.0.1.2 |
//! | shop/db | 3 | 1003 | 10.0.1.3 |
//! | world | - | 2 | 203.0.113.7 |
//!
//! Rule cookies: 1 = CNP shop/backend-ingress spec.ingress[0] (allow), 2 = CNP
//! shop/frontend-never-db spec.egressDeny[0] (deny). Policies selecting the backend: CNP
//! shop/backend-egress; any other endpoint: KNP shop/db-ingress.

use std::net::Ipv4Addr;

use observe_proto::Timestamp;
use observe_proto::flow::{
    Attribution, CiliumEventType, DropReason, Endpoint, Flow, FlowType, Ip, IpVersion, Layer4,
    NetworkInterface, Policy, PolicyRule, PolicyVerdictKind, Tcp, TcpFlags, TraceObservationPoint,
    TrafficDirection, Udp, Verdict, layer4,
};
use probe_common::event::{kind, obs_point};
use probe_common::{direction, drop_reason};

/// 2025-11-26T04:21:52Z, the time of the first fixture flow.
pub const T0: u64 = 1_764_130_912;

/// The node every endpoint runs on.
pub const NODE: &str = "node-1";

/// A pod of the cluster.
pub struct Pod {
    pub id: u32,
    pub identity: u32,
    pub name: &'static str,
    pub ip: [u8; 4],
}

/// The pods of namespace `shop`.
pub const PODS: [Pod; 3] = [
    Pod {
        id: 1,
        identity: 1001,
        name: "frontend",
        ip: [10, 0, 1, 1],
    },
    Pod {
        id: 2,
        identity: 1002,
        name: "backend",
        ip: [10, 0, 1, 2],
    },
    Pod {
        id: 3,
        identity: 1003,
        name: "db",
        ip: [10, 0, 1, 3],
    },
];
/// The world host.
pub const WORLD: [u8; 4] = [203, 0, 113, 7];
/// The reserved identity of the world.
const WORLD_IDENTITY: u32 = 2;

impl Pod {
    /// The pod's labels, as the agent's endpoint registry has them.
    pub fn labels(&self) -> Vec<String> {
        vec![
            format!("k8s:app={}", self.name),
            "k8s:io.kubernetes.pod.namespace=shop".into(),
        ]
    }
}

/// The pod with id `id`.
pub fn pod_by_id(id: u32) -> Option<&'static Pod> {
    PODS.iter().find(|p| p.id == id)
}

/// The pod with address `ip`.
pub fn pod_by_ip(ip: [u8; 4]) -> Option<&'static Pod> {
    PODS.iter().find(|p| p.ip == ip)
}

/// A policy of the cluster: kind and name (namespace `shop`, revision 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PolicyName {
    pub kind: &'static str,
    pub name: &'static str,
}

/// The revision of every policy.
pub const REVISION: u64 = 3;

/// The rules behind a rule cookie: policy and rule path.
pub fn rules_by_cookie(cookie: u32) -> Vec<(PolicyName, &'static str)> {
    match cookie {
        1 => vec![(
            PolicyName {
                kind: "CiliumNetworkPolicy",
                name: "backend-ingress",
            },
            "spec.ingress[0]",
        )],
        2 => vec![(
            PolicyName {
                kind: "CiliumNetworkPolicy",
                name: "frontend-never-db",
            },
            "spec.egressDeny[0]",
        )],
        _ => vec![],
    }
}

/// The policies selecting endpoint `id` (in either direction).
pub fn selecting_policies(id: u32) -> Vec<PolicyName> {
    match id {
        2 => vec![PolicyName {
            kind: "CiliumNetworkPolicy",
            name: "backend-egress",
        }],
        _ => vec![PolicyName {
            kind: "NetworkPolicy",
            name: "db-ingress",
        }],
    }
}

/// What a synthetic event says.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub kind: u8,
    pub subtype: u8,
    pub direction: u8,
    /// Endpoint id whose hook saw the packet.
    pub endpoint: u16,
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub protocol: u8,
    pub dport: u16,
    pub cookie: u32,
    /// Milliseconds after [`T0`].
    pub at_ms: u64,
}

impl Spec {
    /// The source port of the event.
    pub fn sport(&self) -> u16 {
        40_000 + (self.at_ms % 1000) as u16
    }

    /// The kernel timestamp of the event (the fixture's boot clock reads zero at the Unix
    /// epoch).
    pub fn timestamp_ns(&self) -> u64 {
        T0 * 1_000_000_000 + self.at_ms * 1_000_000
    }

    /// The TCP flags of the event: a SYN for TCP.
    pub fn tcp_flags(&self) -> u8 {
        if self.protocol == 6 { 0x02 } else { 0 }
    }

    /// The identity of the address `ip`: its pod's, else the world's.
    pub fn identity(ip: [u8; 4]) -> u32 {
        pod_by_ip(ip).map_or(WORLD_IDENTITY, |p| p.identity)
    }

    /// The interface the hook runs on (the endpoint's host-side veth).
    pub fn ifindex(&self) -> u32 {
        10 + u32::from(self.endpoint)
    }
}

/// The flow the agent's decoder makes of `spec`, with a UUID derived from its time (the
/// decoder's are random) so screens are the same on every run.
pub fn flow(spec: Spec) -> Flow {
    let dropped = spec.kind == kind::DROP;
    let drop_reason = if dropped { u32::from(spec.subtype) } else { 0 };
    let drop_reason_desc = i32::try_from(drop_reason)
        .ok()
        .and_then(|c| DropReason::try_from(c).ok())
        .unwrap_or(DropReason::Unknown);
    let traffic_direction = match spec.direction {
        direction::INGRESS => TrafficDirection::Ingress,
        direction::EGRESS => TrafficDirection::Egress,
        _ => TrafficDirection::Unknown,
    };
    let (sport, dport) = (u32::from(spec.sport()), u32::from(spec.dport));
    let (protocol, summary) = if spec.protocol == 6 {
        let flags = TcpFlags {
            syn: true,
            ..Default::default()
        };
        let tcp = Tcp {
            source_port: sport,
            destination_port: dport,
            flags: Some(flags),
        };
        (layer4::Protocol::Tcp(tcp), "TCP Flags: SYN")
    } else {
        let udp = Udp {
            source_port: sport,
            destination_port: dport,
        };
        (layer4::Protocol::Udp(udp), "UDP")
    };
    let local = pod_by_id(u32::from(spec.endpoint));
    let (source, destination) = match spec.direction {
        direction::EGRESS => (local.or(pod_by_ip(spec.src)), pod_by_ip(spec.dst)),
        _ => (pod_by_ip(spec.src), local.or(pod_by_ip(spec.dst))),
    };
    #[allow(
        deprecated,
        reason = "the decoder still fills drop_reason and Summary, as Hubble does"
    )]
    let mut flow = Flow {
        time: Some(Timestamp::from_unix_nanos(i128::from(spec.timestamp_ns()))),
        uuid: format!("00000000-0000-4000-8000-{:012}", spec.at_ms),
        verdict: if dropped {
            Verdict::Dropped
        } else {
            Verdict::Forwarded
        }
        .into(),
        drop_reason,
        drop_reason_desc: drop_reason_desc.into(),
        summary: summary.into(),
        ip: Some(Ip {
            source: Ipv4Addr::from(spec.src).to_string(),
            destination: Ipv4Addr::from(spec.dst).to_string(),
            ip_version: IpVersion::IPv4.into(),
            ..Default::default()
        }),
        l4: Some(Layer4 {
            protocol: Some(protocol),
        }),
        source: Some(endpoint(source, Spec::identity(spec.src))),
        destination: Some(endpoint(destination, Spec::identity(spec.dst))),
        r#type: FlowType::L3L4.into(),
        node_name: NODE.into(),
        event_type: Some(CiliumEventType {
            r#type: i32::from(spec.kind),
            sub_type: i32::from(spec.subtype),
        }),
        traffic_direction: traffic_direction.into(),
        trace_observation_point: observation_point(spec).into(),
        interface: Some(NetworkInterface {
            index: spec.ifindex(),
            name: String::new(),
        }),
        ..Default::default()
    };
    let verdict_kind = match (dropped, spec.subtype) {
        (true, drop_reason::POLICY_DENIED) => Some(PolicyVerdictKind::DefaultDeny),
        (true, drop_reason::POLICY_DENY) => Some(PolicyVerdictKind::ExplicitDeny),
        (true, _) => None,
        (false, _) if spec.cookie != 0 => Some(PolicyVerdictKind::Allowed),
        (false, _) => None,
    };
    let Some(verdict_kind) = verdict_kind else {
        return flow;
    };
    let (rules, selecting) = match verdict_kind {
        PolicyVerdictKind::DefaultDeny => (vec![], selecting_policies(u32::from(spec.endpoint))),
        _ => (rules_by_cookie(spec.cookie), vec![]),
    };
    let mut named: Vec<PolicyName> = rules.iter().map(|(p, _)| *p).collect();
    named.sort();
    named.dedup();
    let named: Vec<Policy> = named.into_iter().map(policy).collect();
    match (verdict_kind, traffic_direction) {
        (PolicyVerdictKind::Allowed, TrafficDirection::Ingress) => flow.ingress_allowed_by = named,
        (PolicyVerdictKind::Allowed, TrafficDirection::Egress) => flow.egress_allowed_by = named,
        (PolicyVerdictKind::ExplicitDeny, TrafficDirection::Ingress) => {
            flow.ingress_denied_by = named
        }
        (PolicyVerdictKind::ExplicitDeny, TrafficDirection::Egress) => {
            flow.egress_denied_by = named
        }
        _ => {}
    }
    flow.attribution = Some(Attribution {
        kind: verdict_kind.into(),
        direction: traffic_direction.into(),
        rules: rules
            .iter()
            .map(|(p, path)| PolicyRule {
                kind: p.kind.into(),
                namespace: "shop".into(),
                name: p.name.into(),
                path: (*path).into(),
            })
            .collect(),
        selecting_policies: selecting.into_iter().map(policy).collect(),
        closest_rule: None,
        fqdn_history: None,
        l7_rule: String::new(),
    });
    flow
}

/// Where a trace event was seen: the monitor's "to endpoint" (0) is the proto's 101, the
/// other points keep their numbers; drops have none.
fn observation_point(spec: Spec) -> TraceObservationPoint {
    match (spec.kind, spec.subtype) {
        (kind::TRACE, obs_point::TO_ENDPOINT) => TraceObservationPoint::ToEndpoint,
        (kind::TRACE, point @ 1..=13) => {
            TraceObservationPoint::try_from(i32::from(point)).unwrap_or_default()
        }
        _ => TraceObservationPoint::UnknownPoint,
    }
}

/// One side of a flow: the pod's fields, or the world's reserved label.
fn endpoint(pod: Option<&Pod>, identity: u32) -> Endpoint {
    match pod {
        Some(pod) => Endpoint {
            id: pod.id,
            identity,
            namespace: "shop".into(),
            pod_name: pod.name.into(),
            labels: pod.labels(),
            ..Default::default()
        },
        None => Endpoint {
            identity,
            labels: vec!["reserved:world".into()],
            ..Default::default()
        },
    }
}

/// Hubble's `Policy`, with the labels Cilium puts on rules derived from a policy object.
fn policy(p: PolicyName) -> Policy {
    Policy {
        name: p.name.into(),
        namespace: "shop".into(),
        labels: vec![
            format!("k8s:io.cilium.k8s.policy.derived-from={}", p.kind),
            format!("k8s:io.cilium.k8s.policy.name={}", p.name),
            "k8s:io.cilium.k8s.policy.namespace=shop".into(),
        ],
        revision: REVISION,
        kind: p.kind.into(),
    }
}

const FRONTEND: [u8; 4] = PODS[0].ip;
const BACKEND: [u8; 4] = PODS[1].ip;
const DB: [u8; 4] = PODS[2].ip;

/// shop/frontend → shop/db:5432/TCP dropped at db's ingress: no rule of KNP
/// shop/db-ingress allows it (133 POLICY_DENIED).
pub fn default_deny(at_ms: u64) -> Spec {
    Spec {
        kind: kind::DROP,
        subtype: drop_reason::POLICY_DENIED,
        direction: direction::INGRESS,
        endpoint: 3,
        src: FRONTEND,
        dst: DB,
        protocol: 6,
        dport: 5432,
        cookie: 0,
        at_ms,
    }
}

/// shop/frontend → shop/db:5432/TCP dropped at frontend's egress by the deny rule of
/// CNP shop/frontend-never-db (181 POLICY_DENY).
pub fn explicit_deny(at_ms: u64) -> Spec {
    Spec {
        kind: kind::DROP,
        subtype: drop_reason::POLICY_DENY,
        direction: direction::EGRESS,
        endpoint: 1,
        src: FRONTEND,
        dst: DB,
        protocol: 6,
        dport: 5432,
        cookie: 2,
        at_ms,
    }
}

/// shop/frontend → shop/backend:8080/TCP forwarded, allowed by CNP shop/backend-ingress.
pub fn allowed(at_ms: u64) -> Spec {
    Spec {
        kind: kind::TRACE,
        subtype: obs_point::TO_ENDPOINT,
        direction: direction::INGRESS,
        endpoint: 2,
        src: FRONTEND,
        dst: BACKEND,
        protocol: 6,
        dport: 8080,
        cookie: 1,
        at_ms,
    }
}

/// shop/backend → world 203.0.113.7:443/TCP dropped at backend's egress (default deny).
pub fn world_drop(at_ms: u64) -> Spec {
    Spec {
        kind: kind::DROP,
        subtype: drop_reason::POLICY_DENIED,
        direction: direction::EGRESS,
        endpoint: 2,
        src: BACKEND,
        dst: WORLD,
        protocol: 6,
        dport: 443,
        cookie: 0,
        at_ms,
    }
}

/// shop/frontend → shop/backend:53/UDP forwarded.
pub fn dns(at_ms: u64) -> Spec {
    Spec {
        kind: kind::TRACE,
        subtype: obs_point::TO_ENDPOINT,
        direction: direction::INGRESS,
        endpoint: 2,
        src: FRONTEND,
        dst: BACKEND,
        protocol: 17,
        dport: 53,
        cookie: 1,
        at_ms,
    }
}

/// A mixed sequence of `n` specs, 100 ms apart: mostly allowed traffic, with default
/// denies, explicit denies and a world drop among it.
pub fn mixed(n: usize) -> Vec<Spec> {
    (0..n)
        .map(|i| {
            let at = i as u64 * 100;
            match i % 6 {
                0 | 3 => allowed(at),
                1 => default_deny(at),
                2 => dns(at),
                4 => explicit_deny(at),
                _ => world_drop(at),
            }
        })
        .collect()
}

/// The flows of [`mixed`].
pub fn mixed_flows(n: usize) -> Vec<Flow> {
    mixed(n).into_iter().map(flow).collect()
}
