//! Flow builders and a table runner shared by the per-field filter tests.

use observe_proto::flow::{
    Endpoint, Flow, FlowFilter, Ip, IpVersion, Layer4, Tcp, TcpFlags, Udp, Verdict, layer4,
};

use super::{FilterError, build};

/// A forwarded flow with nothing else set.
pub fn forwarded() -> Flow {
    Flow {
        verdict: Verdict::Forwarded.into(),
        ..Default::default()
    }
}

/// A dropped flow with nothing else set.
pub fn dropped() -> Flow {
    Flow {
        verdict: Verdict::Dropped.into(),
        ..Default::default()
    }
}

/// `flow` with IPv4 or IPv6 source and destination addresses.
pub fn with_ips(mut flow: Flow, source: &str, destination: &str) -> Flow {
    let version = if source.contains(':') {
        IpVersion::IPv6
    } else {
        IpVersion::IPv4
    };
    flow.ip = Some(Ip {
        source: source.into(),
        destination: destination.into(),
        ip_version: version.into(),
        ..Default::default()
    });
    flow
}

/// `flow` with a TCP layer.
pub fn with_tcp(mut flow: Flow, sport: u32, dport: u32, flags: TcpFlags) -> Flow {
    flow.l4 = Some(Layer4 {
        protocol: Some(layer4::Protocol::Tcp(Tcp {
            source_port: sport,
            destination_port: dport,
            flags: Some(flags),
        })),
    });
    flow
}

/// `flow` with a UDP layer.
pub fn with_udp(mut flow: Flow, sport: u32, dport: u32) -> Flow {
    flow.l4 = Some(Layer4 {
        protocol: Some(layer4::Protocol::Udp(Udp {
            source_port: sport,
            destination_port: dport,
        })),
    });
    flow
}

/// An endpoint in `namespace` named `pod` with `labels`.
pub fn endpoint(namespace: &str, pod: &str, identity: u32, labels: &[&str]) -> Endpoint {
    Endpoint {
        identity,
        namespace: namespace.into(),
        pod_name: pod.into(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
        ..Default::default()
    }
}

/// `flow` with source and destination endpoints.
pub fn with_endpoints(mut flow: Flow, source: Endpoint, destination: Endpoint) -> Flow {
    flow.source = Some(source);
    flow.destination = Some(destination);
    flow
}

/// Compiles `filter` as the only whitelist entry and checks it against each flow.
#[track_caller]
pub fn check(filter: FlowFilter, cases: &[(&str, Flow, bool)]) {
    let compiled = build(std::slice::from_ref(&filter), &[]).expect("filter compiles");
    for (name, flow, want) in cases {
        assert_eq!(
            compiled.matches(flow),
            *want,
            "case {name:?} with {filter:?}"
        );
    }
}

/// Compiles `filter` and returns the error.
#[track_caller]
pub fn build_err(filter: FlowFilter) -> FilterError {
    match build(&[filter], &[]) {
        Ok(_) => panic!("filter should not compile"),
        Err(err) => err,
    }
}
