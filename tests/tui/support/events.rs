//! The agent's side of the dashboard's fixture cluster (`tui/tests/support/fixtures.rs`):
//! the datapath event of each [`Spec`], and the agent's real decoder with fake getters that
//! know the cluster's pods and policies.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use observer::decode::{BootClock, Decoder};
use observer::event::{MonitorEvent, Payload};
use observer::getters::{
    EndpointInfo, FakeEndpointGetter, FakeIdentityGetter, FakePolicyGetter, PolicyInfo, RuleInfo,
};
use probe_common::event::{FlowEvent, kind};

use super::fixtures::{self, NODE, Pod, PolicyName, REVISION, Spec, T0};

fn info(pod: &Pod) -> Arc<EndpointInfo> {
    Arc::new(EndpointInfo {
        id: pod.id,
        identity: pod.identity,
        namespace: "shop".into(),
        pod_name: pod.name.into(),
        labels: pod.labels(),
        node_name: NODE.into(),
    })
}

fn policy(p: PolicyName) -> PolicyInfo {
    PolicyInfo {
        kind: p.kind.into(),
        namespace: "shop".into(),
        name: p.name.into(),
        revision: REVISION,
    }
}

/// The decoder the agent would run, with the cluster of the fixtures.
pub fn decoder() -> Decoder {
    let endpoints = FakeEndpointGetter {
        on_endpoint_by_id: Some(Box::new(|id| fixtures::pod_by_id(id).map(info))),
        on_endpoint_by_ip: Some(Box::new(|ip| match ip {
            IpAddr::V4(v4) => fixtures::pod_by_ip(v4.octets()).map(info),
            IpAddr::V6(_) => None,
        })),
    };
    let identities = FakeIdentityGetter {
        on_identity_labels: Some(Box::new(|_| None)),
    };
    let policies = FakePolicyGetter {
        on_rules_by_cookie: Some(Box::new(|cookie| {
            fixtures::rules_by_cookie(cookie)
                .into_iter()
                .map(|(p, path)| RuleInfo {
                    policy: policy(p),
                    path: path.into(),
                })
                .collect()
        })),
        on_auditing_policies: Some(Box::new(|_| Vec::new())),
        on_selecting_policies: Some(Box::new(|(endpoint, _)| {
            fixtures::selecting_policies(endpoint)
                .into_iter()
                .map(policy)
                .collect()
        })),
    };
    Decoder::new(BootClock::new(UNIX_EPOCH))
        .with_endpoints(Arc::new(endpoints))
        .with_identities(Arc::new(identities))
        .with_policies(Arc::new(policies))
}

/// The datapath event of `spec`.
pub fn event(spec: Spec) -> MonitorEvent {
    let mut saddr = [0; 16];
    saddr[..4].copy_from_slice(&spec.src);
    let mut daddr = [0; 16];
    daddr[..4].copy_from_slice(&spec.dst);
    MonitorEvent {
        timestamp: UNIX_EPOCH + Duration::from_secs(T0),
        node_name: NODE.into(),
        payload: Payload::Flow(FlowEvent {
            timestamp_ns: spec.timestamp_ns(),
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
            tcp_flags: spec.tcp_flags(),
            endpoint_id: spec.endpoint,
            sport: spec.sport(),
            dport: spec.dport,
            cookie: spec.cookie,
            src_identity: Spec::identity(spec.src),
            dst_identity: Spec::identity(spec.dst),
            ifindex: spec.ifindex(),
            saddr,
            daddr,
            ..FlowEvent::default()
        }),
    }
}

/// What the agent's decoder makes of `spec`, with the fixture's UUID (the decoder's are
/// random).
pub fn decode(decoder: &mut Decoder, spec: Spec) -> observe_proto::flow::Flow {
    let mut flow = decoder.decode(&event(spec)).expect("fixture events decode");
    flow.uuid = format!("00000000-0000-4000-8000-{:012}", spec.at_ms);
    flow
}
