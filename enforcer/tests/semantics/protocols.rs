//! Protocols without ports: VRRP (112) and IGMP (2), which Cilium's `toPorts` accepts
//! besides TCP, UDP, SCTP and ANY. Their port must be absent or `0`; ANY does not cover
//! them; a Kubernetes NetworkPolicy still takes only TCP, UDP and SCTP.

use enforcer::mapstate::PortRange;
use enforcer::policy::model::{L4, PortSel};

use crate::common::*;

const VRRP: u8 = 112;
const IGMP: u8 = 2;

/// The errors parsing `yaml` reports (panics if it parses).
fn errors(yaml: &str) -> Vec<String> {
    match enforcer::manifest::parse_str("test.yaml", yaml) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

fn one_error(yaml: &str) -> String {
    let errs = errors(yaml);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    errs[0].clone()
}

#[test]
fn cilium_policies_accept_vrrp_and_igmp_without_a_port_or_with_port_zero() {
    let objects = objects(&cnp(
        "shop",
        "p",
        "  endpointSelector: {}\n  ingress:\n  - toPorts:\n    - ports:\n      - protocol: VRRP\n      - {port: \"0\", protocol: igmp}\n      - {port: 0, protocol: Vrrp}\n",
    ));
    let enforcer::manifest::Object::Policy(p) = &objects[0] else {
        panic!("not a policy: {objects:?}")
    };
    let L4::Ports(ports) = &p.rules[0].ingress[0].l4 else {
        panic!("{:?}", p.rules[0].ingress[0].l4)
    };
    let got: Vec<(PortSel, Vec<u8>)> = ports
        .iter()
        .map(|s| (s.port.clone(), s.protocols.clone()))
        .collect();
    let all = PortSel::Range(PortRange::ALL);
    assert_eq!(
        got,
        vec![
            (all.clone(), vec![VRRP]),
            (all.clone(), vec![IGMP]),
            (all, vec![VRRP]),
        ]
    );
}

#[test]
fn a_port_number_with_vrrp_or_igmp_is_an_error_naming_the_path_and_value() {
    let err = one_error(&cnp(
        "shop",
        "p",
        "  endpointSelector: {}\n  ingress:\n  - toPorts:\n    - ports:\n      - {port: \"80\", protocol: TCP}\n      - {port: \"112\", protocol: VRRP}\n",
    ));
    assert!(
        err.contains("spec.ingress[0].toPorts[0].ports[1].port")
            && err.contains("invalid value \"112\"")
            && err.contains("\"0\" or no port (VRRP has no ports)"),
        "{err}"
    );
    let err = one_error(&cnp(
        "shop",
        "p",
        "  endpointSelector: {}\n  egress:\n  - toPorts: [{ports: [{port: igmp, protocol: IGMP}]}]\n",
    ));
    assert!(
        err.contains("spec.egress[0].toPorts[0].ports[0].port")
            && err.contains("invalid value \"igmp\"")
            && err.contains("IGMP has no ports"),
        "{err}"
    );
    let err = one_error(&cnp(
        "shop",
        "p",
        "  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: \"0\", endPort: 10, protocol: VRRP}]}]\n",
    ));
    assert!(
        err.contains("spec.ingress[0].toPorts[0].ports[0].endPort")
            && err.contains("VRRP has no ports"),
        "{err}"
    );
}

#[test]
fn vrrp_with_l7_rules_is_an_error_since_l7_needs_a_port() {
    let err = one_error(&cnp(
        "shop",
        "p",
        "  endpointSelector: {}\n  egress:\n  - toPorts: [{ports: [{port: \"\", protocol: VRRP}], rules: {dns: [{matchName: a.b}]}}]\n",
    ));
    assert!(
        err.contains("spec.egress[0].toPorts[0].ports[0]")
            && err.contains("L7 rules can not be used with VRRP, which has no ports"),
        "{err}"
    );
}

#[test]
fn an_unknown_protocol_is_invalid_and_the_message_lists_vrrp_and_igmp() {
    let err = one_error(&cnp(
        "shop",
        "p",
        "  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: \"0\", protocol: GRE}]}]\n",
    ));
    assert!(
        err.contains("spec.ingress[0].toPorts[0].ports[0].protocol")
            && err.contains("invalid value \"GRE\": expected TCP, UDP, SCTP, VRRP, IGMP or ANY"),
        "{err}"
    );
}

#[test]
fn a_kubernetes_network_policy_still_takes_only_tcp_udp_and_sctp() {
    for proto in ["VRRP", "IGMP", "ANY"] {
        let err = one_error(&knp(
            "shop",
            "k",
            &format!("  podSelector: {{}}\n  ingress:\n  - ports: [{{protocol: {proto}}}]\n"),
        ));
        assert!(
            err.contains("spec.ingress[0].ports[0].protocol")
                && err.contains(&format!(
                    "invalid value \"{proto}\": expected TCP, UDP or SCTP"
                )),
            "{err}"
        );
    }
}

#[test]
fn trace_allows_vrrp_where_the_policy_allows_it_and_denies_igmp_there() {
    let e = engine(&cnp(
        "shop",
        "vrrp",
        "  endpointSelector: {matchLabels: {app: api}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: web}}]\n    toPorts: [{ports: [{protocol: VRRP}]}]\n",
    ));
    let t = trace(&e, "shop/web", "shop/api", VRRP, 0);
    assert_eq!(
        (t.verdict.as_str(), t.protocol.as_str()),
        ("ALLOWED", "VRRP")
    );
    assert_eq!(t.ingress.matched_rules[0].rule, "spec.ingress[0]");
    let t = trace(&e, "shop/web", "shop/api", IGMP, 0);
    assert_eq!((t.verdict.as_str(), t.drop_reason), ("DENIED", Some(133)));
    assert_eq!(t.protocol, "IGMP");
    assert!(
        t.ingress
            .hints
            .iter()
            .any(|h| h.contains("allows this peer on VRRP, not IGMP")),
        "{:?}",
        t.ingress.hints
    );
    // Only from the selected peer, and TCP gains nothing.
    assert_eq!(
        trace(&e, "ops/monitor", "shop/api", VRRP, 0).drop_reason,
        Some(133)
    );
    assert_eq!(tcp(&e, "shop/web", "shop/api", 80), DEFAULT_DENY);
}

#[test]
fn any_does_not_cover_vrrp_or_igmp_but_an_l3_rule_does() {
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: api}}\n  ingress:\n  - toPorts: [{ports: [{port: \"0\", protocol: ANY}]}]\n",
    ));
    assert_eq!(tcp(&e, "shop/web", "shop/api", 80), OK);
    for proto in [VRRP, IGMP] {
        assert_eq!(
            trace(&e, "shop/web", "shop/api", proto, 0).drop_reason,
            Some(133)
        );
    }
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: api}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: web}}]\n",
    ));
    for proto in [VRRP, IGMP] {
        assert_eq!(
            trace(&e, "shop/web", "shop/api", proto, 0).verdict,
            "ALLOWED"
        );
    }
}

#[test]
fn a_vrrp_deny_drops_vrrp_and_leaves_igmp_allowed() {
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: api}}\n  ingress:\n  - fromEndpoints: [{}]\n  ingressDeny:\n  - toPorts: [{ports: [{protocol: VRRP}]}]\n",
    ));
    assert_eq!(
        trace(&e, "shop/web", "shop/api", VRRP, 0).drop_reason,
        Some(181)
    );
    assert_eq!(
        trace(&e, "shop/web", "shop/api", IGMP, 0).verdict,
        "ALLOWED"
    );
}

#[test]
fn the_matrix_gets_a_vrrp_table_when_a_policy_names_vrrp() {
    let e = engine(&cnp(
        "shop",
        "vrrp",
        "  endpointSelector: {matchLabels: {app: api}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: web}}]\n    toPorts: [{ports: [{protocol: VRRP}, {port: \"80\", protocol: TCP}]}]\n",
    ));
    let m = e.matrix(&[]);
    let tables: Vec<(&str, u16)> = m
        .ports
        .iter()
        .map(|t| (t.protocol.as_str(), t.port))
        .collect();
    assert_eq!(tables, vec![("TCP", 80), ("VRRP", 0)]);
    let text = m.to_text();
    assert!(
        text.contains("\nVRRP\n") && !text.contains("VRRP/0"),
        "{text}"
    );
}
