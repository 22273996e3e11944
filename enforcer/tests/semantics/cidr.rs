//! CIDR rules: world and CIDR identities only, with `except`.

use enforcer::cluster::PodKey;

use crate::common::*;

#[test]
fn cidr_set_except_carves_out_addresses() {
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: web}}\n  egress:\n  - toCIDRSet:\n    - cidr: 203.0.113.0/24\n      except: [203.0.113.128/25]\n",
    ));
    assert_eq!(tcp(&e, "shop/web", "203.0.113.10", 443), OK);
    assert_eq!(tcp(&e, "shop/web", "203.0.113.200", 443), DEFAULT_DENY);
    assert_eq!(tcp(&e, "shop/web", "198.51.100.1", 443), DEFAULT_DENY);
}

#[test]
fn cidr_rules_never_match_pods_or_nodes() {
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: web}}\n  egress:\n  - toCIDR: [10.0.0.0/8]\n",
    ));
    assert_eq!(
        tcp(&e, "shop/web", "shop/db", 80),
        DEFAULT_DENY,
        "10.0.2.1 is a pod"
    );
    assert_eq!(
        tcp(&e, "shop/web", "10.10.0.2", 80),
        DEFAULT_DENY,
        "10.10.0.2 is a node"
    );
    assert_eq!(
        tcp(&e, "shop/web", "10.99.0.1", 80),
        OK,
        "unknown 10.x address: a CIDR identity"
    );
}

#[test]
fn a_host_cidr_naming_a_pod_or_node_address_keeps_their_identity_in_the_ipcache() {
    // 10.0.1.2 is shop/api, 10.10.0.2 node n2: the /32 CIDR identities the policy creates
    // must not take those addresses over in the datapath's ipcache either.
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: web}}\n  egress:\n  - toCIDR: [10.0.1.2/32, 10.10.0.2/32]\n",
    ));
    let api = e
        .endpoint(&PodKey::new("shop", "api"))
        .expect("api")
        .identity;
    let ipcache = e.ipcache("n1");
    let at = |addr: &str| -> Vec<u32> {
        ipcache
            .iter()
            .filter(|c| c.cidr.to_string() == format!("{addr}/32"))
            .map(|c| c.identity)
            .collect()
    };
    assert_eq!(at("10.0.1.2"), vec![api], "one entry, the pod's");
    assert_eq!(at("10.10.0.2"), vec![e.node_identity("n2", "n1")]);
    for (addr, identity) in [
        ("10.0.1.2", api),
        ("10.10.0.2", e.node_identity("n2", "n1")),
    ] {
        assert_eq!(
            e.resolve_ip(addr.parse().unwrap(), "n1"),
            identity,
            "{addr}"
        );
    }
    assert_eq!(tcp(&e, "shop/web", "shop/api", 80), DEFAULT_DENY);
}

#[test]
fn zero_prefix_is_the_whole_ipv4_world() {
    let e = engine(&cnp(
        "shop",
        "p",
        "  endpointSelector: {matchLabels: {app: web}}\n  egress:\n  - toCIDR: [0.0.0.0/0]\n",
    ));
    assert_eq!(tcp(&e, "shop/web", "192.0.2.1", 80), OK);
    assert_eq!(tcp(&e, "shop/web", "2001:db8::1", 80), DEFAULT_DENY);
}

#[test]
fn nested_cidrs_from_other_policies_still_match_their_parent() {
    let wide = cnp(
        "shop",
        "wide",
        "  endpointSelector: {matchLabels: {app: web}}\n  egress:\n  - toCIDR: [198.51.100.0/24]\n",
    );
    let narrow = cnp(
        "shop",
        "narrow",
        "  endpointSelector: {matchLabels: {app: api}}\n  egress:\n  - toCIDR: [198.51.100.7/32]\n",
    );
    let e = engine(&format!("{wide}\n---\n{narrow}"));
    assert_eq!(tcp(&e, "shop/web", "198.51.100.7", 80), OK);
    assert_eq!(tcp(&e, "shop/api", "198.51.100.8", 80), DEFAULT_DENY);
}
