//! Every value parser: what it accepts, and that a rejection says what is accepted.

use observe_proto::flow::{DropReason, IpVersion, TrafficDirection, Verdict};

use super::*;

/// Asserts `result` failed with a message containing `needle`.
fn rejects<T: std::fmt::Debug>(result: Result<T, String>, needle: &str) {
    match result {
        Ok(v) => panic!("accepted: {v:?}"),
        Err(e) => assert!(e.contains(needle), "{e:?} should mention {needle:?}"),
    }
}

#[test]
fn verdicts_are_proto_enum_names_in_any_case() {
    assert_eq!(verdict("DROPPED"), Ok(Verdict::Dropped));
    assert_eq!(verdict("translated"), Ok(Verdict::Translated));
    rejects(verdict("DENIED"), "FORWARDED, DROPPED, AUDIT");
}

#[test]
fn drop_reasons_by_name_or_code() {
    assert_eq!(
        drop_reason_desc("POLICY_DENIED"),
        Ok(DropReason::PolicyDenied)
    );
    assert_eq!(drop_reason_desc("policy_deny"), Ok(DropReason::PolicyDeny));
    rejects(drop_reason_desc("NOPE"), "POLICY_DENIED");
    assert_eq!(drop_reason_code("133"), Ok(133));
    assert_eq!(
        drop_reason_code("250"),
        Ok(250),
        "codes newer than the enum"
    );
    assert_eq!(drop_reason_code("POLICY_DENY"), Ok(181));
    rejects(drop_reason_code("0"), "start at 1");
    rejects(drop_reason_code("nope"), "133 or POLICY_DENIED");
}

#[test]
fn identities_by_number_or_reserved_name() {
    assert_eq!(identity("12345"), Ok(12345));
    assert_eq!(identity("world"), Ok(2));
    assert_eq!(identity("Remote-Node"), Ok(6));
    rejects(identity("planet"), "host, world");
}

#[test]
fn addresses_and_cidrs() {
    assert_eq!(ip("10.0.0.1"), Ok("10.0.0.1".into()));
    assert_eq!(ip("fd00::/8"), Ok("fd00::/8".into()));
    rejects(ip("10.0.0.300"), "IP address or CIDR");
    rejects(ip("10.0.0.0/33"), "IP address or CIDR");
    rejects(ip("10.0.0.0/"), "IP address or CIDR");
}

#[test]
fn ports_are_numbers() {
    assert_eq!(port("053"), Ok("53".into()));
    rejects(port("65536"), "0 to 65535");
    rejects(port("http"), "0 to 65535");
}

#[test]
fn tcp_flags_are_all_required() {
    let flags = tcp_flags("syn,ACK").unwrap();
    assert!(flags.syn && flags.ack && !flags.fin);
    rejects(tcp_flags("syn,bogus"), "unknown TCP flag \"bogus\"");
}

#[test]
fn small_enums() {
    assert_eq!(ip_version("v6"), Ok(IpVersion::IPv6));
    assert_eq!(ip_version("4"), Ok(IpVersion::IPv4));
    rejects(ip_version("v5"), "none, v4 or v6");
    assert_eq!(traffic_direction("Egress"), Ok(TrafficDirection::Egress));
    rejects(traffic_direction("inbound"), "ingress or egress");
    assert_eq!(protocol("ICMPv6"), Ok("icmpv6".into()));
    rejects(protocol("quic"), "tcp, udp");
}

#[test]
fn names_with_namespaces_and_kinds() {
    assert_eq!(namespaced("shop/"), Ok("shop/".into()));
    assert_eq!(namespaced("frontend"), Ok("frontend".into()));
    rejects(namespaced("a/b/c"), "[NAMESPACE/]NAME-PREFIX");
    rejects(namespaced(""), "[NAMESPACE/]NAME-PREFIX");
    let w = workload("StatefulSet/db").unwrap();
    assert_eq!((w.kind.as_str(), w.name.as_str()), ("StatefulSet", "db"));
    assert_eq!(workload("db").unwrap().kind, "");
    rejects(workload("/"), "[KIND/]NAME");
    assert_eq!(policy_name("shop/db-ingress"), Ok("shop/db-ingress".into()));
    assert_eq!(policy_name("deny-world"), Ok("deny-world".into()));
    rejects(policy_name("/x"), "NAMESPACE/NAME");
    rejects(policy_name("shop/"), "NAMESPACE/NAME");
    assert_eq!(
        policy_kind("ccnp"),
        Ok("CiliumClusterwideNetworkPolicy".into())
    );
    assert_eq!(policy_kind("NetworkPolicy"), Ok("NetworkPolicy".into()));
    rejects(policy_kind("gnp"), "CiliumNetworkPolicy (CNP)");
}

#[test]
fn numbers_and_free_text() {
    assert_eq!(ip_trace_id("42"), Ok(42));
    rejects(ip_trace_id("0"), "greater than 0");
    assert_eq!(non_empty("k8s*"), Ok("k8s*".into()));
    rejects(non_empty(""), "must not be empty");
}
