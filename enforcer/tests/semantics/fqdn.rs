//! `toFQDNs`: addresses the DNS proxy learned for a name are selected by the selectors that
//! name matches, and only those addresses, only while they are learned.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use enforcer::engine::trace::{Trace, TraceRequest};

use crate::common::*;

const PARTNER: &str = "  endpointSelector: {matchLabels: {app: web}}\n  egress:\n  - toFQDNs:\n    - matchName: api.partner.com\n    - matchPattern: \"*.cdn.example\"\n    toPorts:\n    - ports:\n      - {port: \"443\", protocol: TCP}\n";

fn names(entries: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<IpAddr>> {
    entries
        .iter()
        .map(|(name, ips)| {
            (
                (*name).to_string(),
                ips.iter().map(|ip| ip.parse().unwrap()).collect(),
            )
        })
        .collect()
}

#[test]
fn a_learned_address_of_a_selected_name_is_allowed_on_the_rule_s_ports_only() {
    let mut e = engine(&cnp("shop", "partner", PARTNER));
    assert_eq!(
        tcp(&e, "shop/web", "203.0.113.10", 443),
        DEFAULT_DENY,
        "nothing learned yet"
    );
    let changes = e.set_dns_names(names(&[
        ("API.Partner.com", &["203.0.113.10"]),
        ("edge.cdn.example.", &["198.51.100.7"]),
        ("evil.example", &["192.0.2.66"]),
    ]));
    assert!(changes.ipcache, "learned addresses enter the ipcache");
    assert_eq!(tcp(&e, "shop/web", "203.0.113.10", 443), OK);
    assert_eq!(tcp(&e, "shop/web", "198.51.100.7", 443), OK, "matchPattern");
    assert_eq!(tcp(&e, "shop/web", "203.0.113.10", 80), DEFAULT_DENY);
    assert_eq!(
        tcp(&e, "shop/web", "192.0.2.66", 443),
        DEFAULT_DENY,
        "a name no selector matches"
    );
    assert_eq!(
        tcp(&e, "shop/web", "203.0.113.11", 443),
        DEFAULT_DENY,
        "an address never answered"
    );
    assert_eq!(
        e.dns_names_of("203.0.113.10".parse().unwrap()),
        vec!["api.partner.com."]
    );
}

#[test]
fn a_forgotten_address_is_denied_again_and_its_identity_released() {
    let mut e = engine(&cnp("shop", "partner", PARTNER));
    e.set_dns_names(names(&[("api.partner.com", &["203.0.113.10"])]));
    let ip: IpAddr = "203.0.113.10".parse().unwrap();
    let learned = e.resolve_ip(ip, "n1");
    assert!(learned > 0x0100_0000, "a local identity: {learned:#x}");
    e.set_dns_names(BTreeMap::new());
    assert_eq!(tcp(&e, "shop/web", "203.0.113.10", 443), DEFAULT_DENY);
    assert_ne!(e.resolve_ip(ip, "n1"), learned, "back to world");
}

#[test]
fn a_policy_applied_after_the_names_were_learned_selects_them() {
    let mut e = engine("");
    e.set_dns_names(names(&[("api.partner.com", &["203.0.113.10"])]));
    apply(&mut e, &cnp("shop", "partner", PARTNER));
    assert_eq!(tcp(&e, "shop/web", "203.0.113.10", 443), OK);
}

#[test]
fn a_learned_address_inside_a_cidr_rule_is_still_matched_by_it() {
    let spec = format!(
        "{PARTNER}  - toCIDR: [203.0.113.0/24]\n    toPorts:\n    - ports:\n      - {{port: \"8443\", protocol: TCP}}\n"
    );
    let mut e = engine(&cnp("shop", "partner", &spec));
    e.set_dns_names(names(&[("api.partner.com", &["203.0.113.10"])]));
    assert_eq!(tcp(&e, "shop/web", "203.0.113.10", 443), OK, "toFQDNs");
    assert_eq!(tcp(&e, "shop/web", "203.0.113.10", 8443), OK, "toCIDR");
}

fn trace_dns(e: &enforcer::engine::Engine, to: &str, proto: u8, port: u16, name: &str) -> Trace {
    let req = TraceRequest {
        from: target("shop/web"),
        to: target(to),
        protocol: proto,
        dport: port,
        reply: false,
    };
    e.trace_dns(&req, name).unwrap()
}

#[test]
fn trace_with_a_dns_name_takes_the_address_as_its_answer() {
    let e = engine(&cnp("shop", "partner", PARTNER));
    let allowed = trace_dns(&e, "203.0.113.10", 6, 443, "api.partner.com");
    assert_eq!(allowed.verdict, "ALLOWED");
    assert!(
        allowed
            .egress
            .notes
            .iter()
            .any(|n| n == "203.0.113.10 taken as a DNS answer for api.partner.com (--dns-name)"),
        "{:#?}",
        allowed.egress.notes
    );
    assert_eq!(
        trace_dns(&e, "203.0.113.10", 6, 443, "evil.example").verdict,
        "DENIED"
    );
    // The trace changes nothing: the engine learned no name.
    assert_eq!(tcp(&e, "shop/web", "203.0.113.10", 443), DEFAULT_DENY);
}

#[test]
fn trace_with_a_dns_name_says_which_dns_rule_allows_the_query() {
    let dns = "  endpointSelector: {matchLabels: {app: web}}\n  egress:\n  - toCIDR: [192.0.2.53/32]\n    toPorts:\n    - ports:\n      - {port: \"53\", protocol: UDP}\n      rules:\n        dns:\n        - matchName: api.partner.com\n        - matchPattern: \"*.cdn.example\"\n";
    let e = engine(&cnp("shop", "dns", dns));
    let ok = trace_dns(&e, "192.0.2.53", 17, 53, "edge.CDN.example");
    assert!(
        ok.egress.notes.iter().any(|n| n.starts_with(
            "DNS query for edge.CDN.example allowed by the DNS rule \"*.cdn.example\" of CiliumNetworkPolicy shop/dns spec.egress[0]"
        )),
        "{:#?}",
        ok.egress.notes
    );
    let refused = trace_dns(&e, "192.0.2.53", 17, 53, "www.partner.com");
    assert!(
        refused.egress.notes.iter().any(|n| n.contains(
            "matches none of the DNS rules of CiliumNetworkPolicy shop/dns spec.egress[0] (api.partner.com, *.cdn.example): the DNS proxy answers REFUSED"
        )),
        "{:#?}",
        refused.egress.notes
    );
}

/// Egress DNS to `app: api` (the cluster's DNS server here) with DNS rules, and to
/// `app: db` on port 53 without any.
const DNS_RULES: &str = "  endpointSelector: {matchLabels: {app: web}}\n  egress:\n  - toEndpoints: [{matchLabels: {app: api}}]\n    toPorts:\n    - ports: [{port: \"53\", protocol: ANY}]\n      rules:\n        dns:\n        - matchName: api.partner.com\n        - matchPattern: \"*.cdn.example\"\n  - toEndpoints: [{matchLabels: {app: db}}]\n    toPorts:\n    - ports: [{port: \"53\", protocol: UDP}]\n";

fn judge(
    e: &enforcer::engine::Engine,
    server: &str,
    protocol: u8,
    name: &str,
) -> enforcer::engine::DnsJudgement {
    let web = enforcer::cluster::PodKey::new("shop", "web");
    e.judge_dns(&web, server.parse().unwrap(), protocol, 53, name)
}

#[test]
fn the_dns_proxy_allows_the_names_a_dns_rule_selects_and_refuses_the_rest() {
    let e = engine(&cnp("shop", "dns", DNS_RULES));
    let ok = judge(&e, "10.0.1.2", 17, "API.partner.com.");
    assert!(ok.allowed);
    assert_eq!(ok.selector.as_deref(), Some("api.partner.com"));
    assert_eq!(ok.rule.unwrap().rule, "spec.egress[0]");
    let cdn = judge(&e, "10.0.1.2", 6, "edge.cdn.example");
    assert_eq!(cdn.selector.as_deref(), Some("*.cdn.example"), "TCP too");
    let no = judge(&e, "10.0.1.2", 17, "evil.example.");
    assert!(!no.allowed);
    assert_eq!(
        no.closest.unwrap().dns,
        vec!["api.partner.com", "*.cdn.example"]
    );
}

#[test]
fn a_rule_without_dns_rules_lets_every_name_through_and_a_denied_flow_none() {
    let e = engine(&cnp("shop", "dns", DNS_RULES));
    let open = judge(&e, "10.0.2.1", 17, "anything.example.");
    assert!(open.allowed, "port 53 to db has no DNS rules");
    assert_eq!(open.selector, None);
    let denied = judge(&e, "10.0.2.1", 6, "anything.example.");
    assert!(!denied.allowed, "TCP/53 to db is not allowed at all");
    assert_eq!(denied.closest, None);
}
