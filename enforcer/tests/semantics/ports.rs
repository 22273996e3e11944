//! Ports: numbers, ranges, wildcards, named ports, protocol ANY.

use crate::common::*;

fn to_api(ports: &str) -> enforcer::engine::Engine {
    engine(&cnp(
        "shop",
        "p",
        &format!(
            "  endpointSelector: {{matchLabels: {{app: api}}}}\n  ingress:\n  - toPorts:\n    - ports: {ports}\n"
        ),
    ))
}

#[test]
fn end_port_ranges_include_both_edges() {
    let e = to_api("[{port: \"8080\", endPort: 8090, protocol: TCP}]");
    for (port, want) in [
        (8079, DEFAULT_DENY),
        (8080, OK),
        (8085, OK),
        (8090, OK),
        (8091, DEFAULT_DENY),
    ] {
        assert_eq!(tcp(&e, "shop/web", "shop/api", port), want, "port {port}");
    }
}

#[test]
fn port_zero_is_every_port_of_the_protocol() {
    let e = to_api("[{port: \"0\", protocol: UDP}]");
    assert_eq!(trace(&e, "shop/web", "shop/api", 17, 9).verdict, "ALLOWED");
    assert_eq!(tcp(&e, "shop/web", "shop/api", 9), DEFAULT_DENY);
}

#[test]
fn any_protocol_is_tcp_udp_and_sctp() {
    let e = to_api("[{port: \"53\", protocol: ANY}]");
    for proto in [6, 17, 132] {
        assert_eq!(
            trace(&e, "shop/web", "shop/api", proto, 53).verdict,
            "ALLOWED",
            "proto {proto}"
        );
    }
}

#[test]
fn ingress_named_port_resolves_against_the_destination_pod() {
    let e = to_api("[{port: http}]");
    assert_eq!(tcp(&e, "shop/web", "shop/api", 8080), OK);
    assert_eq!(tcp(&e, "shop/web", "shop/api", 9090), DEFAULT_DENY);
    // UDP 5353 is named "dns", not "http".
    assert_eq!(
        trace(&e, "shop/web", "shop/api", 17, 5353).verdict,
        "DENIED"
    );
}

#[test]
fn egress_named_port_resolves_per_destination() {
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: web}}\n  egress:\n  - toEndpoints: [{matchLabels: {tier: back}}]\n    toPorts: [{ports: [{port: http, protocol: TCP}]}]\n",
    ));
    assert_eq!(tcp(&e, "shop/web", "shop/api", 8080), OK);
    assert_eq!(tcp(&e, "shop/web", "shop/db", 9090), OK);
    assert_eq!(
        tcp(&e, "shop/web", "shop/db", 8080),
        DEFAULT_DENY,
        "8080 is api's http, not db's"
    );
}

#[test]
fn unresolvable_named_port_matches_nothing() {
    let e = to_api("[{port: grpc}]");
    assert_eq!(tcp(&e, "shop/web", "shop/api", 8080), DEFAULT_DENY);
}

#[test]
fn near_misses_are_explained() {
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: api}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: web}}]\n    toPorts: [{ports: [{port: \"8080\", protocol: TCP}]}]\n",
    ));
    let t = trace(&e, "shop/web", "shop/api", 6, 9000);
    assert_eq!(t.drop_reason, Some(133));
    assert!(
        t.ingress
            .hints
            .iter()
            .any(|h| h.contains("allows this peer on TCP/8080")),
        "{:?}",
        t.ingress.hints
    );
    let t = trace(&e, "shop/db", "shop/api", 6, 8080);
    assert!(
        t.ingress
            .hints
            .iter()
            .any(|h| h.contains("allows this port, but not from/to this peer")),
        "{:?}",
        t.ingress.hints
    );
    // A second policy allows web on 9000: the near miss of the first is no longer news.
    let mut e = e;
    apply(
        &mut e,
        &cnp(
            "shop",
            "q",
            "  endpointSelector: {matchLabels: {app: api}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: web}}]\n    toPorts: [{ports: [{port: \"9000\", protocol: TCP}]}]\n",
        ),
    );
    let t = trace(&e, "shop/web", "shop/api", 6, 9000);
    assert_eq!(t.drop_reason, None);
    assert!(t.ingress.hints.is_empty(), "{:?}", t.ingress.hints);
}
