//! JSON form: what `hubble observe -o jsonpb` prints (protojson with the original proto
//! field names, enums as names, 64-bit integers as strings, timestamps in UTC with `Z`),
//! and reading such lines back.
#![allow(
    deprecated,
    reason = "Hubble still fills its deprecated drop_reason and Summary"
)]

use observe_proto::Timestamp;
use observe_proto::flow::{
    self, Endpoint, Flow, Ip, IpVersion, Layer4, LostEventSource, Tcp, TcpFlags, TrafficDirection,
    Verdict, layer4,
};
use observe_proto::observer::{GetFlowsResponse, get_flows_response::ResponseTypes};
use serde_json::{Value, json};

/// A line in the shape Hubble prints for a policy drop (`-o jsonpb`), written from the
/// documented field names and JSON mapping rules, with one field newer than our schema.
const HUBBLE_DROP_LINE: &str = r#"{"flow":{"time":"2024-08-29T09:25:41.279133245Z","uuid":"0f3e8f1a-6d2c-4f0e-9a51-3b1f6a9c2d77","verdict":"DROPPED","drop_reason":133,"ethernet":{"source":"6e:0f:aa:10:20:30","destination":"9a:1b:cc:40:50:60"},"IP":{"source":"10.0.1.23","destination":"10.0.2.45","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":42704,"destination_port":80,"flags":{"SYN":true}}},"source":{"ID":1107,"identity":27863,"namespace":"default","labels":["k8s:app.kubernetes.io/name=xwing","k8s:io.kubernetes.pod.namespace=default","k8s:org=alliance"],"pod_name":"xwing"},"destination":{"ID":2091,"identity":45219,"namespace":"default","labels":["k8s:class=deathstar","k8s:org=empire"],"pod_name":"deathstar-689f66b57d-2jf5v","workloads":[{"name":"deathstar","kind":"Deployment"}]},"Type":"L3_L4","node_name":"kind-worker","node_labels":["kubernetes.io/hostname=kind-worker"],"event_type":{"type":1,"sub_type":133},"traffic_direction":"INGRESS","file":{"name":"bpf_lxc.c","line":2045},"drop_reason_desc":"POLICY_DENIED","is_reply":false,"interface":{"index":14,"name":"lxc8a2b"},"Summary":"TCP Flags: SYN","emitter":{"name":"Hubble","version":"1.19.4"},"some_future_field":{"x":1}},"node_name":"kind-worker","time":"2024-08-29T09:25:41.279133245Z"}"#;

/// A policy verdict with the allowing policy, as correlation fills it.
const HUBBLE_VERDICT_LINE: &str = r#"{"flow":{"time":"2025-05-07T13:18:01.952Z","verdict":"FORWARDED","IP":{"source":"100.120.143.6","destination":"100.120.55.189","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":45980,"destination_port":3002,"flags":{"SYN":true}}},"source":{"identity":8534524},"destination":{"identity":8568632},"Type":"L3_L4","event_type":{"type":5},"traffic_direction":"EGRESS","policy_match_type":1,"is_reply":false,"Summary":"TCP Flags: SYN","egress_allowed_by":[{"name":"allow-egress-test-cnp","namespace":"default","labels":["k8s:io.cilium.k8s.policy.derived-from=CiliumNetworkPolicy","k8s:io.cilium.k8s.policy.name=allow-egress-test-cnp","k8s:io.cilium.k8s.policy.namespace=default"],"revision":"12","kind":"CiliumNetworkPolicy"}]},"node_name":"node-1"}"#;

/// A lost-events report.
const HUBBLE_LOST_LINE: &str = r#"{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"1","cpu":0},"node_name":"k8s1","time":"2024-01-01T00:20:34.567Z"}"#;

fn dropped_flow() -> Flow {
    Flow {
        time: Some(Timestamp {
            seconds: 1_724_923_541,
            nanos: 279_000_000,
        }),
        verdict: Verdict::Dropped.into(),
        drop_reason: 133,
        drop_reason_desc: flow::DropReason::PolicyDenied.into(),
        ip: Some(Ip {
            source: "10.0.1.23".into(),
            destination: "10.0.2.45".into(),
            ip_version: IpVersion::IPv4.into(),
            ..Default::default()
        }),
        l4: Some(Layer4 {
            protocol: Some(layer4::Protocol::Tcp(Tcp {
                source_port: 42704,
                destination_port: 80,
                flags: Some(TcpFlags {
                    syn: true,
                    ..Default::default()
                }),
            })),
        }),
        source: Some(Endpoint {
            id: 1107,
            identity: 27863,
            pod_name: "xwing".into(),
            ..Default::default()
        }),
        r#type: flow::FlowType::L3L4.into(),
        event_type: Some(flow::CiliumEventType {
            r#type: 1,
            sub_type: 133,
        }),
        traffic_direction: TrafficDirection::Ingress.into(),
        is_reply: Some(false.into()),
        summary: "TCP Flags: SYN".into(),
        ingress_denied_by: vec![flow::Policy {
            name: "deny-db".into(),
            namespace: "default".into(),
            revision: 7,
            kind: "CiliumNetworkPolicy".into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[test]
fn flow_serializes_with_hubble_field_names() {
    let value = serde_json::to_value(dropped_flow()).unwrap();
    assert_eq!(
        value,
        json!({
            "time": "2024-08-29T09:25:41.279Z",
            "verdict": "DROPPED",
            "drop_reason": 133,
            "IP": {"source": "10.0.1.23", "destination": "10.0.2.45", "ipVersion": "IPv4"},
            "l4": {"TCP": {"source_port": 42704, "destination_port": 80, "flags": {"SYN": true}}},
            "source": {"ID": 1107, "identity": 27863, "pod_name": "xwing"},
            "Type": "L3_L4",
            "event_type": {"type": 1, "sub_type": 133},
            "traffic_direction": "INGRESS",
            "drop_reason_desc": "POLICY_DENIED",
            "is_reply": false,
            "Summary": "TCP Flags: SYN",
            "ingress_denied_by": [{
                "name": "deny-db", "namespace": "default", "revision": "7",
                "kind": "CiliumNetworkPolicy"
            }],
        })
    );
}

#[test]
fn extensions_serialize_under_their_proto_names() {
    let flow = Flow {
        attribution: Some(flow::Attribution {
            kind: flow::PolicyVerdictKind::DefaultDeny.into(),
            direction: TrafficDirection::Ingress.into(),
            rules: vec![],
            selecting_policies: vec![flow::Policy {
                name: "db".into(),
                namespace: "prod".into(),
                kind: "NetworkPolicy".into(),
                ..Default::default()
            }],
            closest_rule: None,
            fqdn_history: None,
            l7_rule: String::new(),
        }),
        ..Default::default()
    };
    let value = serde_json::to_value(flow).unwrap();
    assert_eq!(
        value,
        json!({"attribution": {
            "kind": "DEFAULT_DENY",
            "direction": "INGRESS",
            "selecting_policies": [{"name": "db", "namespace": "prod", "kind": "NetworkPolicy"}],
        }})
    );
}

#[test]
fn hubble_drop_line_parses() {
    let response: GetFlowsResponse = serde_json::from_str(HUBBLE_DROP_LINE).unwrap();
    assert_eq!(response.node_name, "kind-worker");
    let Some(ResponseTypes::Flow(flow)) = response.response_types else {
        panic!("expected a flow");
    };
    assert_eq!(flow.verdict(), Verdict::Dropped);
    assert_eq!(flow.drop_reason_desc(), flow::DropReason::PolicyDenied);
    assert_eq!(flow.time.unwrap().nanos, 279_133_245);
    assert_eq!(flow.traffic_direction(), TrafficDirection::Ingress);
    assert_eq!(flow.is_reply.map(|b| b.value), Some(false));
    let ip = flow.ip.as_ref().unwrap();
    assert_eq!(
        (ip.source.as_str(), ip.ip_version()),
        ("10.0.1.23", IpVersion::IPv4)
    );
    let Some(layer4::Protocol::Tcp(tcp)) = flow.l4.and_then(|l4| l4.protocol) else {
        panic!("expected TCP");
    };
    assert_eq!((tcp.source_port, tcp.destination_port), (42704, 80));
    assert!(tcp.flags.unwrap().syn);
    let destination = flow.destination.unwrap();
    assert_eq!(destination.identity, 45219);
    assert_eq!(destination.workloads[0].kind, "Deployment");
    assert_eq!(flow.interface.unwrap().name, "lxc8a2b");
    assert_eq!(flow.file.unwrap().line, 2045);
    assert_eq!(flow.summary, "TCP Flags: SYN");
}

#[test]
fn hubble_verdict_line_parses_with_policy_names() {
    let response: GetFlowsResponse = serde_json::from_str(HUBBLE_VERDICT_LINE).unwrap();
    let Some(ResponseTypes::Flow(flow)) = response.response_types else {
        panic!("expected a flow");
    };
    assert_eq!(flow.event_type.unwrap().r#type, 5);
    assert_eq!(flow.policy_match_type, 1);
    let policy = &flow.egress_allowed_by[0];
    assert_eq!(
        (policy.name.as_str(), policy.revision),
        ("allow-egress-test-cnp", 12)
    );
}

#[test]
fn hubble_lost_events_line_parses() {
    let response: GetFlowsResponse = serde_json::from_str(HUBBLE_LOST_LINE).unwrap();
    let Some(ResponseTypes::LostEvents(lost)) = response.response_types else {
        panic!("expected lost events");
    };
    assert_eq!(lost.source(), LostEventSource::HubbleRingBuffer);
    assert_eq!(lost.num_events_lost, 1);
    assert_eq!(lost.cpu.map(|c| c.value), Some(0));
}

#[test]
fn enum_names_newer_than_this_schema_read_as_unknown() {
    let flow: Flow =
        serde_json::from_str(r#"{"verdict":"FORWARDED","drop_reason_desc":"SOME_FUTURE_REASON"}"#)
            .unwrap();
    assert_eq!(flow.drop_reason_desc(), flow::DropReason::Unknown);
    assert_eq!(flow.verdict(), Verdict::Forwarded);
}

#[test]
fn lower_camel_case_names_are_accepted_too() {
    // protojson accepts both spellings when parsing; so do we.
    let flow: Flow =
        serde_json::from_str(r#"{"trafficDirection":"EGRESS","dropReasonDesc":"POLICY_DENY"}"#)
            .unwrap();
    assert_eq!(flow.traffic_direction(), TrafficDirection::Egress);
    assert_eq!(flow.drop_reason_desc(), flow::DropReason::PolicyDeny);
}

#[test]
fn response_round_trips_through_json() {
    let response = GetFlowsResponse {
        response_types: Some(ResponseTypes::Flow(dropped_flow())),
        node_name: "k8s1".into(),
        time: dropped_flow().time,
    };
    let text = serde_json::to_string(&response).unwrap();
    let back: GetFlowsResponse = serde_json::from_str(&text).unwrap();
    assert_eq!(back, response);
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["node_name"], "k8s1");
    assert_eq!(value["time"], "2024-08-29T09:25:41.279Z");
    assert_eq!(value["flow"]["verdict"], "DROPPED");
}
