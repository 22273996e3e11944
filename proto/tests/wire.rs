//! Wire format: binary round trips, and the field numbers Hubble clients depend on, read
//! back from the compiled descriptor set so a renumbering cannot slip through.

use observe_proto::flow::{
    self, Endpoint, Flow, FlowFilter, Ip, IpVersion, Layer4, LostEvent, LostEventSource, Tcp,
    TcpFlags, TrafficDirection, Verdict, layer4,
};
use observe_proto::observer::{GetFlowsResponse, get_flows_response};
use observe_proto::{FILE_DESCRIPTOR_SET, Timestamp};
use prost::Message;
use prost_types::{DescriptorProto, FileDescriptorSet};

fn sample_flow() -> Flow {
    Flow {
        time: Some(Timestamp {
            seconds: 1_704_068_434,
            nanos: 567_000_000,
        }),
        uuid: "5b0e5c2e-8f4c-4d43-9c55-0c4a1e4b8a01".into(),
        verdict: Verdict::Dropped.into(),
        drop_reason_desc: flow::DropReason::PolicyDenied.into(),
        ip: Some(Ip {
            source: "10.0.0.1".into(),
            destination: "10.0.0.2".into(),
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
            id: 12,
            identity: 27863,
            namespace: "default".into(),
            pod_name: "xwing".into(),
            labels: vec!["k8s:app=xwing".into()],
            ..Default::default()
        }),
        traffic_direction: TrafficDirection::Ingress.into(),
        is_reply: Some(false.into()),
        attribution: Some(flow::Attribution {
            kind: flow::PolicyVerdictKind::DefaultDeny.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn flow_response_round_trips_through_the_wire_format() {
    let response = GetFlowsResponse {
        response_types: Some(get_flows_response::ResponseTypes::Flow(sample_flow())),
        node_name: "k8s1".into(),
        time: sample_flow().time,
    };
    let bytes = response.encode_to_vec();
    assert_eq!(
        GetFlowsResponse::decode(bytes.as_slice()).unwrap(),
        response
    );
}

#[test]
fn lost_event_response_round_trips_through_the_wire_format() {
    let response = GetFlowsResponse {
        response_types: Some(get_flows_response::ResponseTypes::LostEvents(LostEvent {
            source: LostEventSource::HubbleRingBuffer.into(),
            num_events_lost: 7,
            cpu: Some(3.into()),
            first: Some(Timestamp::default()),
            last: Some(Timestamp {
                seconds: 5,
                nanos: 0,
            }),
        })),
        node_name: "k8s1".into(),
        time: None,
    };
    let bytes = response.encode_to_vec();
    assert_eq!(
        GetFlowsResponse::decode(bytes.as_slice()).unwrap(),
        response
    );
}

#[test]
fn extension_fields_are_skipped_by_a_decoder_that_does_not_know_them() {
    // A Hubble client's Flow has no field 50001: decoding must keep every Hubble field.
    #[derive(Clone, PartialEq, prost::Message)]
    struct HubbleFlowSubset {
        #[prost(string, tag = "34")]
        uuid: String,
        #[prost(int32, tag = "2")]
        verdict: i32,
    }
    let bytes = sample_flow().encode_to_vec();
    let theirs = HubbleFlowSubset::decode(bytes.as_slice()).unwrap();
    assert_eq!(theirs.uuid, sample_flow().uuid);
    assert_eq!(theirs.verdict, Verdict::Dropped as i32);
}

fn descriptors() -> FileDescriptorSet {
    FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("descriptor set decodes")
}

fn message(fds: &FileDescriptorSet, package: &str, name: &str) -> DescriptorProto {
    fds.file
        .iter()
        .filter(|f| f.package() == package)
        .flat_map(|f| f.message_type.iter())
        .find(|m| m.name() == name)
        .unwrap_or_else(|| panic!("{package}.{name} missing"))
        .clone()
}

fn assert_numbers(fds: &FileDescriptorSet, package: &str, msg: &str, expected: &[(&str, i32)]) {
    let descriptor = message(fds, package, msg);
    for (field, number) in expected {
        let found = descriptor
            .field
            .iter()
            .find(|f| f.name() == *field)
            .unwrap_or_else(|| panic!("{package}.{msg}.{field} missing"));
        assert_eq!(found.number(), *number, "{package}.{msg}.{field}");
    }
}

/// The field numbers the hand writers use (`observe_proto::writer::flow_field`) are the
/// schema's.
#[test]
fn the_writers_flow_field_numbers_are_the_schemas() {
    use observe_proto::writer::flow_field as f;
    let fds = descriptors();
    #[rustfmt::skip]
    let written = [
        ("time", f::TIME), ("verdict", f::VERDICT), ("drop_reason", f::DROP_REASON),
        ("IP", f::IP), ("l4", f::L4), ("source", f::SOURCE), ("destination", f::DESTINATION),
        ("Type", f::TYPE), ("node_name", f::NODE_NAME), ("reply", f::REPLY),
        ("event_type", f::EVENT_TYPE), ("traffic_direction", f::TRAFFIC_DIRECTION),
        ("policy_match_type", f::POLICY_MATCH_TYPE),
        ("trace_observation_point", f::TRACE_OBSERVATION_POINT),
        ("drop_reason_desc", f::DROP_REASON_DESC), ("is_reply", f::IS_REPLY),
        ("interface", f::INTERFACE), ("uuid", f::UUID), ("trace_reason", f::TRACE_REASON),
        ("Summary", f::SUMMARY),
    ];
    let expected: Vec<(&str, i32)> = written.iter().map(|&(n, t)| (n, t as i32)).collect();
    assert_numbers(&fds, "flow", "Flow", &expected);
}

#[test]
fn flow_fields_keep_hubble_numbers() {
    let fds = descriptors();
    #[rustfmt::skip]
    assert_numbers(&fds, "flow", "Flow", &[
        ("time", 1), ("uuid", 34), ("emitter", 41), ("verdict", 2), ("drop_reason", 3),
        ("auth_type", 35), ("ethernet", 4), ("IP", 5), ("l4", 6), ("tunnel", 39),
        ("source", 8), ("destination", 9), ("Type", 10), ("node_name", 11),
        ("node_labels", 37), ("source_names", 13), ("destination_names", 14), ("l7", 15),
        ("reply", 16), ("event_type", 19), ("source_service", 20),
        ("destination_service", 21), ("traffic_direction", 22), ("policy_match_type", 23),
        ("trace_observation_point", 24), ("trace_reason", 36), ("file", 38),
        ("ip_trace_id", 40), ("drop_reason_desc", 25), ("is_reply", 26),
        ("debug_capture_point", 27), ("interface", 28), ("proxy_port", 29),
        ("trace_context", 30), ("sock_xlate_point", 31), ("socket_cookie", 32),
        ("cgroup_id", 33), ("Summary", 100000), ("extensions", 150000),
        ("egress_allowed_by", 21001), ("ingress_allowed_by", 21002),
        ("egress_denied_by", 21004), ("ingress_denied_by", 21005), ("policy_log", 21006),
        ("aggregate", 21007), ("attribution", 50001),
    ]);
    #[rustfmt::skip]
    assert_numbers(&fds, "flow", "Endpoint", &[
        ("ID", 1), ("identity", 2), ("cluster_name", 7), ("namespace", 3), ("labels", 4),
        ("pod_name", 5), ("workloads", 6),
    ]);
    #[rustfmt::skip]
    assert_numbers(&fds, "flow", "LostEvent", &[
        ("source", 1), ("num_events_lost", 2), ("cpu", 3), ("first", 4), ("last", 5),
    ]);
    #[rustfmt::skip]
    assert_numbers(&fds, "flow", "Policy", &[
        ("name", 1), ("namespace", 2), ("labels", 3), ("revision", 4), ("kind", 5),
    ]);
}

#[test]
fn flow_filter_fields_keep_hubble_numbers_and_extensions_use_new_ones() {
    let fds = descriptors();
    #[rustfmt::skip]
    assert_numbers(&fds, "flow", "FlowFilter", &[
        ("uuid", 29), ("source_ip", 1), ("source_ip_xlated", 34), ("source_pod", 2),
        ("source_fqdn", 7), ("source_label", 10), ("source_service", 16),
        ("source_workload", 26), ("source_cluster_name", 37), ("destination_ip", 3),
        ("destination_pod", 4), ("destination_fqdn", 8), ("destination_label", 11),
        ("destination_service", 17), ("destination_workload", 27),
        ("destination_cluster_name", 38), ("traffic_direction", 30), ("verdict", 5),
        ("drop_reason_desc", 33), ("interface", 35), ("event_type", 6),
        ("http_status_code", 9), ("protocol", 12), ("source_port", 13),
        ("destination_port", 14), ("reply", 15), ("dns_query", 18),
        ("source_identity", 19), ("destination_identity", 20), ("http_method", 21),
        ("http_path", 22), ("http_url", 31), ("http_header", 32), ("tcp_flags", 23),
        ("node_name", 24), ("node_labels", 36), ("ip_version", 25), ("trace_id", 28),
        ("ip_trace_id", 39), ("encrypted", 40), ("experimental", 999),
        ("policy", 50001), ("policy_kind", 50002), ("allowed_by", 50003),
        ("denied_by", 50004), ("drop_reason", 50005), ("deny_kind", 50006),
    ]);
    // A default FlowFilter (what old clients send) sets none of our extensions.
    let empty = FlowFilter::default();
    assert!(empty.policy.is_empty() && empty.deny_kind.is_empty());
}

#[test]
fn observer_messages_keep_hubble_numbers() {
    let fds = descriptors();
    #[rustfmt::skip]
    assert_numbers(&fds, "observer", "GetFlowsRequest", &[
        ("number", 1), ("first", 9), ("follow", 3), ("blacklist", 5), ("whitelist", 6),
        ("since", 7), ("until", 8), ("field_mask", 10), ("experimental", 999),
        ("extensions", 150000),
    ]);
    #[rustfmt::skip]
    assert_numbers(&fds, "observer", "GetFlowsResponse", &[
        ("flow", 1), ("node_status", 2), ("lost_events", 3), ("node_name", 1000),
        ("time", 1001),
    ]);
    #[rustfmt::skip]
    assert_numbers(&fds, "observer", "ServerStatusResponse", &[
        ("num_flows", 1), ("max_flows", 2), ("seen_flows", 3), ("uptime_ns", 4),
        ("num_connected_nodes", 5), ("num_unavailable_nodes", 6), ("unavailable_nodes", 7),
        ("version", 8), ("flows_rate", 9), ("lost_events", 50001),
    ]);
    #[rustfmt::skip]
    assert_numbers(&fds, "observer", "Node", &[
        ("name", 1), ("version", 2), ("address", 3), ("state", 4), ("tls", 5),
        ("uptime_ns", 6), ("num_flows", 7), ("max_flows", 8), ("seen_flows", 9),
    ]);
    assert_numbers(
        &fds,
        "relay",
        "NodeStatusEvent",
        &[("state_change", 1), ("node_names", 2), ("message", 3)],
    );
}

#[test]
fn service_methods_match_hubble() {
    let fds = descriptors();
    let service = fds
        .file
        .iter()
        .flat_map(|f| f.service.iter().map(move |s| (f.package(), s)))
        .find(|(package, s)| *package == "observer" && s.name() == "Observer")
        .map(|(_, s)| s.clone())
        .expect("observer.Observer");
    let methods: Vec<_> = service
        .method
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    assert_eq!(
        methods,
        [
            "GetFlows",
            "GetAgentEvents",
            "GetDebugEvents",
            "GetNodes",
            "GetNamespaces",
            "ServerStatus"
        ]
    );
}

#[test]
fn enum_numbers_keep_hubble_values() {
    use flow::{DropReason, TraceObservationPoint as Point};
    assert_eq!(Point::ToEndpoint as i32, 101);
    assert_eq!(Point::FromEndpoint as i32, 5);
    assert_eq!(Point::ToCrypto as i32, 13);
    assert_eq!(DropReason::PolicyDenied as i32, 133);
    assert_eq!(DropReason::PolicyDeny as i32, 181);
    assert_eq!(DropReason::DropPuntProxy as i32, 205);
    assert_eq!(LostEventSource::PerfEventRingBuffer as i32, 1);
    assert_eq!(LostEventSource::ObserverEventsQueue as i32, 2);
    assert_eq!(LostEventSource::HubbleRingBuffer as i32, 3);
    assert_eq!(flow::TraceReason::Reply as i32, 3);
    assert_eq!(Verdict::Translated as i32, 7);
}
