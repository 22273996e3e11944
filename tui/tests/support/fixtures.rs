//! A small cluster (namespace `shop`: frontend, backend, db; a world host) and its
//! policies, as fake getters for the observer's decoder, and the flows that decoder makes
//! from synthetic datapath events.
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

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use observe_proto::flow::Flow;
use observer::decode::{BootClock, Decoder};
use observer::event::{MonitorEvent, Payload};
use observer::getters::{
    EndpointInfo, FakeEndpointGetter, FakeIdentityGetter, FakePolicyGetter, PolicyInfo, RuleInfo,
};
use probe_common::event::{FlowEvent, kind, obs_point};
use probe_common::{direction, drop_reason};

/// 2025-11-26T04:21:52Z, the time of the first fixture flow.
pub const T0: u64 = 1_764_130_912;

struct Pod {
    id: u32,
    identity: u32,
    name: &'static str,
    ip: [u8; 4],
}

const PODS: [Pod; 3] = [
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

fn info(pod: &Pod) -> Arc<EndpointInfo> {
    Arc::new(EndpointInfo {
        id: pod.id,
        identity: pod.identity,
        namespace: "shop".into(),
        pod_name: pod.name.into(),
        labels: vec![
            format!("k8s:app={}", pod.name),
            "k8s:io.kubernetes.pod.namespace=shop".into(),
        ],
        node_name: "node-1".into(),
    })
}

fn policy(kind: &str, name: &str) -> PolicyInfo {
    PolicyInfo {
        kind: kind.into(),
        namespace: "shop".into(),
        name: name.into(),
        revision: 3,
    }
}

/// The decoder the agent would run, with the cluster above.
pub fn decoder() -> Decoder {
    let endpoints = FakeEndpointGetter {
        on_endpoint_by_id: Some(Box::new(|id| PODS.iter().find(|p| p.id == id).map(info))),
        on_endpoint_by_ip: Some(Box::new(|ip| {
            PODS.iter()
                .find(|p| IpAddr::V4(Ipv4Addr::from(p.ip)) == ip)
                .map(info)
        })),
    };
    let identities = FakeIdentityGetter {
        on_identity_labels: Some(Box::new(|_| None)),
    };
    let policies = FakePolicyGetter {
        on_rules_by_cookie: Some(Box::new(|cookie| match cookie {
            1 => vec![RuleInfo {
                policy: policy("CiliumNetworkPolicy", "backend-ingress"),
                path: "spec.ingress[0]".into(),
            }],
            2 => vec![RuleInfo {
                policy: policy("CiliumNetworkPolicy", "frontend-never-db"),
                path: "spec.egressDeny[0]".into(),
            }],
            _ => vec![],
        })),
        on_selecting_policies: Some(Box::new(|(endpoint, _)| match endpoint {
            2 => vec![policy("CiliumNetworkPolicy", "backend-egress")],
            _ => vec![policy("NetworkPolicy", "db-ingress")],
        })),
    };
    Decoder::new(BootClock::new(UNIX_EPOCH))
        .with_endpoints(Arc::new(endpoints))
        .with_identities(Arc::new(identities))
        .with_policies(Arc::new(policies))
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

/// The datapath event of `spec`.
pub fn event(spec: Spec) -> MonitorEvent {
    let identity = |ip: [u8; 4]| PODS.iter().find(|p| p.ip == ip).map_or(2, |p| p.identity);
    let mut saddr = [0; 16];
    saddr[..4].copy_from_slice(&spec.src);
    let mut daddr = [0; 16];
    daddr[..4].copy_from_slice(&spec.dst);
    MonitorEvent {
        timestamp: UNIX_EPOCH + Duration::from_secs(T0),
        node_name: "node-1".into(),
        payload: Payload::Flow(FlowEvent {
            timestamp_ns: T0 * 1_000_000_000 + spec.at_ms * 1_000_000,
            kind: spec.kind,
            subtype: spec.subtype,
            reason: if spec.kind == kind::DROP {
                spec.subtype
            } else {
                0
            },
            direction: spec.direction,
            family: 4,
            protocol: spec.protocol,
            tcp_flags: if spec.protocol == 6 { 0x02 } else { 0 },
            endpoint_id: spec.endpoint,
            sport: 40_000 + (spec.at_ms % 1000) as u16,
            dport: spec.dport,
            cookie: spec.cookie,
            src_identity: identity(spec.src),
            dst_identity: identity(spec.dst),
            ifindex: 10 + u32::from(spec.endpoint),
            saddr,
            daddr,
            ..FlowEvent::default()
        }),
    }
}

/// Decodes `spec` as the agent would, with a UUID derived from its time (the decoder's
/// are random) so screens are the same on every run.
pub fn flow(spec: Spec) -> Flow {
    decode(&mut decoder(), spec)
}

fn decode(decoder: &mut Decoder, spec: Spec) -> Flow {
    let mut flow = decoder.decode(&event(spec)).expect("fixture events decode");
    flow.uuid = format!("00000000-0000-4000-8000-{:012}", spec.at_ms);
    flow
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
    let mut d = decoder();
    mixed(n).into_iter().map(|s| decode(&mut d, s)).collect()
}
