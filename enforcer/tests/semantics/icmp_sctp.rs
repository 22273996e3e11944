//! ICMP types and SCTP.

use crate::common::*;

#[test]
fn icmp_rules_allow_only_their_types() {
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: api}}\n  ingress:\n  - icmps:\n    - fields: [{type: EchoRequest}, {type: 128, family: IPv6}]\n",
    ));
    assert_eq!(trace(&e, "shop/web", "shop/api", 1, 8).verdict, "ALLOWED");
    assert_eq!(
        trace(&e, "shop/web", "shop/api", 1, 13).drop_reason,
        Some(133)
    );
    assert_eq!(
        trace(&e, "shop/web", "shop/api", 58, 128).verdict,
        "ALLOWED"
    );
    assert_eq!(
        trace(&e, "shop/web", "shop/api", 58, 8).drop_reason,
        Some(133)
    );
    assert_eq!(tcp(&e, "shop/web", "shop/api", 8), DEFAULT_DENY);
}

#[test]
fn any_protocol_ports_do_not_allow_icmp_but_l3_rules_do() {
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: api}}\n  ingress:\n  - toPorts: [{ports: [{port: \"0\", protocol: ANY}]}]\n",
    ));
    assert_eq!(
        trace(&e, "shop/web", "shop/api", 1, 8).drop_reason,
        Some(133)
    );
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: api}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: web}}]\n",
    ));
    assert_eq!(trace(&e, "shop/web", "shop/api", 1, 8).verdict, "ALLOWED");
}

#[test]
fn sctp_is_its_own_protocol() {
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: api}}\n  ingress:\n  - toPorts: [{ports: [{port: \"3868\", protocol: SCTP}]}]\n",
    ));
    assert_eq!(
        trace(&e, "shop/web", "shop/api", 132, 3868).verdict,
        "ALLOWED"
    );
    assert_eq!(tcp(&e, "shop/web", "shop/api", 3868), DEFAULT_DENY);
}
