//! A filter judged on a flow built to the detail [`detail_of`] picks must decide as it does
//! on the whole flow, for every field the detail levels list, on events of every kind.

use std::net::IpAddr;
use std::sync::Arc;

use observe_proto::flow::{
    EventTypeFilter, FlowFilter, NetworkInterface, TcpFlags, TrafficDirection, Verdict,
};
use probe_common::event::{FlowEvent, kind, verdict};
use probe_common::{conntrack::state, direction};

use super::*;
use crate::decode::{BootClock, Decoder, StoredFlow};
use crate::getters::{EndpointInfo, FakeEndpointGetter, FakeIdentityGetter};

fn info(id: u32, identity: u32, pod: &str, app: &str) -> Arc<EndpointInfo> {
    Arc::new(EndpointInfo {
        id,
        identity,
        namespace: "default".into(),
        pod_name: pod.into(),
        labels: vec![format!("k8s:app={app}")],
        node_name: "node-1".into(),
    })
}

fn decoder() -> Decoder {
    Decoder::new(BootClock::unix_epoch())
        .with_endpoints(Arc::new(FakeEndpointGetter {
            on_endpoint_by_id: Some(Box::new(|id| {
                (id == 12).then(|| info(12, 4242, "web-0", "web"))
            })),
            on_endpoint_by_ip: Some(Box::new(|ip: IpAddr| {
                (ip == IpAddr::from([10, 0, 0, 2])).then(|| info(13, 5151, "db-0", "db"))
            })),
        }))
        .with_identities(Arc::new(FakeIdentityGetter {
            on_identity_labels: Some(Box::new(|_| None)),
        }))
}

/// Events of each kind, both directions, replies, drops.
fn events() -> Vec<StoredFlow> {
    let base = FlowEvent {
        kind: kind::TRACE,
        direction: direction::EGRESS,
        family: 4,
        protocol: 6,
        tcp_flags: 0x02,
        ct_state: state::NEW,
        endpoint_id: 12,
        sport: 43512,
        dport: 80,
        ifindex: 7,
        src_identity: 4242,
        dst_identity: 5151,
        saddr: [10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        daddr: [10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ..FlowEvent::default()
    };
    let variants = [
        base,
        FlowEvent {
            kind: kind::DROP,
            subtype: 133,
            ..base
        },
        FlowEvent {
            kind: kind::POLICY_VERDICT,
            verdict: verdict::DENIED,
            reason: 133,
            direction: direction::INGRESS,
            ..base
        },
        FlowEvent {
            ct_state: state::REPLY,
            tcp_flags: 0x12,
            protocol: 17,
            ..base
        },
    ];
    let mut decoder = decoder();
    let node: Arc<str> = Arc::from("node-1");
    variants
        .iter()
        .map(|ev| decoder.store_flow_event(ev, &node).expect("a flow"))
        .collect()
}

/// One filter per field the detail levels list, plus one they do not.
fn filters() -> Vec<FlowFilter> {
    let one = |f: FlowFilter| f;
    vec![
        one(FlowFilter {
            verdict: vec![Verdict::Dropped.into()],
            ..Default::default()
        }),
        one(FlowFilter {
            verdict: vec![Verdict::Forwarded.into()],
            ..Default::default()
        }),
        one(FlowFilter {
            source_ip: vec!["10.0.0.1".into()],
            ..Default::default()
        }),
        one(FlowFilter {
            destination_ip: vec!["10.0.0.0/24".into()],
            ..Default::default()
        }),
        one(FlowFilter {
            source_port: vec!["43512".into()],
            ..Default::default()
        }),
        one(FlowFilter {
            destination_port: vec!["80".into()],
            ..Default::default()
        }),
        one(FlowFilter {
            protocol: vec!["udp".into()],
            ..Default::default()
        }),
        one(FlowFilter {
            traffic_direction: vec![TrafficDirection::Ingress.into()],
            ..Default::default()
        }),
        one(FlowFilter {
            drop_reason_desc: vec![133],
            ..Default::default()
        }),
        one(FlowFilter {
            event_type: vec![EventTypeFilter {
                r#type: 1,
                ..Default::default()
            }],
            ..Default::default()
        }),
        one(FlowFilter {
            reply: vec![true],
            ..Default::default()
        }),
        one(FlowFilter {
            tcp_flags: vec![TcpFlags {
                syn: true,
                ..Default::default()
            }],
            ..Default::default()
        }),
        one(FlowFilter {
            node_name: vec!["node-1".into()],
            ..Default::default()
        }),
        one(FlowFilter {
            ip_version: vec![1],
            ..Default::default()
        }),
        one(FlowFilter {
            interface: vec![NetworkInterface {
                index: 7,
                name: String::new(),
            }],
            ..Default::default()
        }),
        one(FlowFilter {
            source_pod: vec!["default/web-0".into()],
            ..Default::default()
        }),
        one(FlowFilter {
            destination_label: vec!["k8s:app=db".into()],
            ..Default::default()
        }),
        one(FlowFilter {
            source_identity: vec![4242],
            ..Default::default()
        }),
        one(FlowFilter {
            destination_identity: vec![5151],
            ..Default::default()
        }),
        one(FlowFilter {
            source_fqdn: vec!["*.example.com".into()],
            ..Default::default()
        }),
    ]
}

#[test]
fn filters_decide_on_the_detail_they_ask_for_as_on_the_whole_flow() {
    let events = events();
    let (mut pairs, mut matched) = (0, 0);
    for filter in filters() {
        for (whitelist, blacklist) in [
            (vec![filter.clone()], vec![]),
            (vec![], vec![filter.clone()]),
        ] {
            let detail = detail_of(&whitelist, &blacklist);
            let compiled = observe_filter::build(&whitelist, &blacklist).expect("filter");
            for stored in &events {
                let whole = compiled.matches(&stored.to_flow());
                assert_eq!(
                    compiled.matches(&stored.build(detail)),
                    whole,
                    "{filter:?} at {detail:?} on {stored:?}"
                );
                pairs += 1;
                matched += usize::from(whole);
            }
        }
    }
    assert!(
        matched > pairs / 4 && matched < pairs * 3 / 4,
        "{matched} of {pairs}"
    );
}

#[test]
fn each_filter_asks_for_the_least_detail_it_reads() {
    let of = |f: FlowFilter| detail_of(&[f], &[]);
    assert_eq!(
        of(FlowFilter {
            verdict: vec![2],
            destination_port: vec!["53".into()],
            ..Default::default()
        }),
        Detail::Header
    );
    assert_eq!(
        of(FlowFilter {
            verdict: vec![2],
            source_pod: vec!["default/".into()],
            ..Default::default()
        }),
        Detail::Endpoints
    );
    assert_eq!(
        of(FlowFilter {
            uuid: vec!["x".into()],
            ..Default::default()
        }),
        Detail::Full,
        "a field the levels do not list needs the whole flow"
    );
    let pod = FlowFilter {
        source_pod: vec!["a/".into()],
        ..Default::default()
    };
    let dns = FlowFilter {
        dns_query: vec!["x".into()],
        ..Default::default()
    };
    assert_eq!(
        detail_of(&[pod], &[dns]),
        Detail::Full,
        "the blacklist counts too"
    );
    assert_eq!(detail_of(&[], &[]), Detail::Header);
}
