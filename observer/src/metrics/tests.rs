//! Handler tests: each family counts what Hubble's handler counts, with Hubble's label
//! values, and the policy label names the deciding policies.

use observe_proto::Timestamp;
use observe_proto::flow::{
    Attribution, CiliumEventType, DropReason, Endpoint, IcmPv6, Ip, IpVersion, Layer4, Policy,
    PolicyRule, PolicyVerdictKind, Tcp, TcpFlags, TrafficDirection, Verdict, layer4,
};

use super::*;

fn tcp(dport: u32, flags: TcpFlags) -> Option<Layer4> {
    Some(Layer4 {
        protocol: Some(layer4::Protocol::Tcp(Tcp {
            source_port: 40000,
            destination_port: dport,
            flags: Some(flags),
        })),
    })
}

fn ipv4() -> Option<Ip> {
    Some(Ip {
        source: "10.0.0.1".into(),
        destination: "10.0.0.2".into(),
        ip_version: IpVersion::IPv4.into(),
        ..Ip::default()
    })
}

fn event_type(kind: i32, sub: i32) -> Option<CiliumEventType> {
    Some(CiliumEventType {
        r#type: kind,
        sub_type: sub,
    })
}

fn default_deny_drop() -> Flow {
    Flow {
        time: Some(Timestamp::now()),
        verdict: Verdict::Dropped.into(),
        drop_reason_desc: DropReason::PolicyDenied.into(),
        event_type: event_type(1, 133),
        ip: ipv4(),
        l4: tcp(9090, TcpFlags::default()),
        traffic_direction: TrafficDirection::Ingress.into(),
        attribution: Some(Attribution {
            kind: PolicyVerdictKind::DefaultDeny.into(),
            selecting_policies: vec![Policy {
                namespace: "e2e".into(),
                name: "server-ingress".into(),
                ..Policy::default()
            }],
            ..Attribution::default()
        }),
        ..Flow::default()
    }
}

fn allowed_verdict(source_identity: u32) -> Flow {
    Flow {
        verdict: Verdict::Forwarded.into(),
        event_type: event_type(5, 0),
        traffic_direction: TrafficDirection::Ingress.into(),
        policy_match_type: 2,
        source: Some(Endpoint {
            identity: source_identity,
            ..Endpoint::default()
        }),
        attribution: Some(Attribution {
            kind: PolicyVerdictKind::Allowed.into(),
            rules: vec![PolicyRule {
                namespace: "e2e".into(),
                name: "allow-client".into(),
                ..PolicyRule::default()
            }],
            ..Attribution::default()
        }),
        ..Flow::default()
    }
}

fn syn_to_endpoint() -> Flow {
    Flow {
        verdict: Verdict::Forwarded.into(),
        event_type: event_type(4, 0),
        ip: ipv4(),
        l4: tcp(
            8080,
            TcpFlags {
                syn: true,
                ..TcpFlags::default()
            },
        ),
        is_reply: Some(false.into()),
        ..Flow::default()
    }
}

fn echo_request_v6() -> Flow {
    Flow {
        verdict: Verdict::Forwarded.into(),
        event_type: event_type(4, 0),
        l4: Some(Layer4 {
            protocol: Some(layer4::Protocol::IcmPv6(IcmPv6 {
                r#type: 128,
                code: 0,
            })),
        }),
        ..Flow::default()
    }
}

/// The value of the sample `name{labels}` in a page.
fn value(page: &str, name: &str, labels: &str) -> Option<f64> {
    let prefix = if labels.is_empty() {
        format!("{name} ")
    } else {
        format!("{name}{{{labels}}} ")
    };
    page.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.parse().ok())
}

fn render(names: &[&str], flows: &[Flow]) -> String {
    let names: Vec<String> = names.iter().map(ToString::to_string).collect();
    let metrics = Metrics::new(&names).unwrap();
    let mut hook = metrics.hook();
    for flow in flows {
        assert!(hook.on_decoded_flow(flow).is_continue());
    }
    metrics.render()
}

#[test]
fn every_family_counts_with_hubbles_labels() {
    let page = render(
        &[],
        &[
            default_deny_drop(),
            default_deny_drop(),
            allowed_verdict(1234),
            allowed_verdict(1),
            syn_to_endpoint(),
            echo_request_v6(),
        ],
    );
    let v = |name, labels| value(&page, name, labels);
    assert_eq!(
        v(
            "hubble_drop_total",
            r#"reason="POLICY_DENIED",protocol="TCP",policy="e2e/server-ingress""#
        ),
        Some(2.0)
    );
    assert_eq!(
        v(
            "hubble_policy_verdicts_total",
            r#"direction="ingress",match="l3-l4",action="forwarded",policy="e2e/allow-client""#
        ),
        Some(1.0),
        "the host's verdict is skipped: {page}"
    );
    assert_eq!(
        v(
            "hubble_flows_processed_total",
            r#"protocol="TCP",type="Drop",subtype="",verdict="DROPPED""#
        ),
        Some(2.0)
    );
    assert_eq!(
        v(
            "hubble_flows_processed_total",
            r#"protocol="TCP",type="Trace",subtype="to-endpoint",verdict="FORWARDED""#
        ),
        Some(1.0)
    );
    assert_eq!(
        v(
            "hubble_flows_processed_total",
            r#"protocol="Unknown L4",type="PolicyVerdict",subtype="",verdict="FORWARDED""#
        ),
        Some(2.0)
    );
    assert_eq!(
        v(
            "hubble_port_distribution_total",
            r#"protocol="TCP",port="8080""#
        ),
        Some(1.0)
    );
    assert_eq!(
        v("hubble_tcp_flags_total", r#"flag="SYN",family="IPv4""#),
        Some(1.0)
    );
    assert_eq!(
        v("hubble_icmp_total", r#"family="IPv6",type="EchoRequest""#),
        Some(1.0)
    );
    assert_eq!(
        v("observerd_pipeline_latency_seconds_count", ""),
        Some(2.0),
        "timed flows"
    );
    for family in [
        "hubble_drop_total counter",
        "hubble_flows_processed_total counter",
        "hubble_policy_verdicts_total counter",
        "hubble_port_distribution_total counter",
        "hubble_tcp_flags_total counter",
        "hubble_icmp_total counter",
        "observerd_pipeline_latency_seconds histogram",
    ] {
        assert!(page.contains(&format!("# TYPE {family}\n")), "{family}");
    }
}

#[test]
fn replies_and_unknown_directions_are_not_port_distribution() {
    let mut reply = syn_to_endpoint();
    reply.is_reply = Some(true.into());
    let mut unknown = syn_to_endpoint();
    unknown.is_reply = None;
    let page = render(&["port-distribution"], &[reply, unknown]);
    assert!(!page.contains("hubble_port_distribution_total{"), "{page}");
}

#[test]
fn only_the_named_metrics_are_registered() {
    let page = render(&["drop"], &[default_deny_drop(), syn_to_endpoint()]);
    assert!(page.contains("# TYPE hubble_drop_total counter"));
    assert!(!page.contains("hubble_flows_processed_total"));
    let err = Metrics::new(&["drops".to_string()]).unwrap_err();
    assert!(
        err.to_string().contains("expected one of drop, flow"),
        "{err}"
    );
}

#[test]
fn the_policy_label_is_bounded() {
    let flows: Vec<Flow> = (0..POLICY_LABEL_LIMIT + 10)
        .map(|i| {
            let mut f = default_deny_drop();
            if let Some(a) = &mut f.attribution {
                a.selecting_policies[0].name = format!("p{i}");
            }
            f
        })
        .collect();
    let page = render(&["drop"], &flows);
    let series = page
        .lines()
        .filter(|l| l.starts_with("hubble_drop_total{"))
        .count();
    assert_eq!(series, POLICY_LABEL_LIMIT + 1, "the limit plus `other`");
    assert_eq!(
        value(
            &page,
            "hubble_drop_total",
            r#"reason="POLICY_DENIED",protocol="TCP",policy="other""#
        ),
        Some(10.0)
    );
}
