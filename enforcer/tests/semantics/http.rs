//! `rules.http` as the HTTP proxy judges requests: per side (egress of the source,
//! ingress of the destination), an allowing rule without HTTP rules opens the port, HTTP
//! rules of several allowing rules are an OR, and both sides must allow.

use std::net::IpAddr;

use enforcer::engine::{Engine, HttpJudgement};
use enforcer::policy::Direction;
use enforcer::policy::http::Request;

use crate::common::*;

/// `app=api` lets `app=web` GET /health and anything under /api/ with a token on 8080.
const API_INGRESS: &str = "  endpointSelector: {matchLabels: {app: api}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: web}}]\n    toPorts:\n    - ports: [{port: \"8080\", protocol: TCP}]\n      rules:\n        http:\n        - {method: GET, path: /health}\n        - {method: \"GET|POST\", path: \"/api/.*\", headers: [\"X-Token: s3cret\"]}\n";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn req(method: &str, path: &str, headers: &[(&str, &str)]) -> Request {
    Request {
        method: method.into(),
        path: path.into(),
        host: "api:8080".into(),
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
    }
}

fn judge(e: &Engine, from: &str, to: &str, port: u16, r: &Request) -> HttpJudgement {
    e.http_policy(ip(from), ip(to), port).judge(r)
}

const WEB: &str = "10.0.1.1";
const API: &str = "10.0.1.2";

#[test]
fn an_ingress_http_rule_allows_only_the_requests_it_names() {
    let e = engine(&cnp("shop", "api", API_INGRESS));
    let ok = judge(&e, WEB, API, 8080, &req("GET", "/health", &[]));
    assert!(ok.allowed);
    assert_eq!(ok.direction, Direction::Ingress);
    assert_eq!(ok.http_rule().as_deref(), Some("GET /health"));
    assert_eq!(ok.rule.unwrap().rule, "spec.ingress[0]");

    let post = judge(&e, WEB, API, 8080, &req("POST", "/health", &[]));
    assert!(!post.allowed);
    assert_eq!(post.direction, Direction::Ingress);
    assert_eq!(
        post.http_rule().as_deref(),
        Some("GET /health"),
        "the closest rule"
    );
    assert_eq!(post.closest.unwrap().name, "api");

    assert!(!judge(&e, WEB, API, 8080, &req("GET", "/admin", &[])).allowed);
    assert!(!judge(&e, WEB, API, 8080, &req("POST", "/api/items", &[])).allowed);
    let token = judge(
        &e,
        WEB,
        API,
        8080,
        &req("POST", "/api/items", &[("x-token", "s3cret")]),
    );
    assert!(token.allowed);
    assert_eq!(
        token.http_rule().as_deref(),
        Some("GET|POST /api/.* header x-token: s3cret")
    );
}

#[test]
fn an_allowing_rule_without_http_rules_opens_the_port_to_its_peers_only() {
    let open_to_monitor = "  endpointSelector: {matchLabels: {app: api}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: monitor}}]\n    toPorts: [{ports: [{port: \"8080\", protocol: TCP}]}]\n";
    let e = engine(&format!(
        "{}\n---\n{}",
        cnp("shop", "api", API_INGRESS),
        ccnp("monitor", open_to_monitor)
    ));
    // ops/monitor is 10.0.2.2: its requests are not narrowed.
    assert!(judge(&e, "10.0.2.2", API, 8080, &req("DELETE", "/admin", &[])).allowed);
    assert!(!judge(&e, WEB, API, 8080, &req("DELETE", "/admin", &[])).allowed);
}

#[test]
fn egress_http_rules_are_judged_for_the_source_and_both_sides_must_allow() {
    let web_egress = "  endpointSelector: {matchLabels: {app: web}}\n  egress:\n  - toEndpoints: [{matchLabels: {app: api}}]\n    toPorts:\n    - ports: [{port: \"8080\", protocol: TCP}]\n      rules: {http: [{method: GET}]}\n";
    let e = engine(&cnp("shop", "web", web_egress));
    let get = judge(&e, WEB, API, 8080, &req("GET", "/anything", &[]));
    assert!(get.allowed);
    assert_eq!(get.direction, Direction::Egress);
    let put = judge(&e, WEB, API, 8080, &req("PUT", "/anything", &[]));
    assert!(!put.allowed);
    assert_eq!(put.direction, Direction::Egress);

    let both = engine(&format!(
        "{}\n---\n{}",
        cnp("shop", "web", web_egress),
        cnp("shop", "api", API_INGRESS)
    ));
    assert!(judge(&both, WEB, API, 8080, &req("GET", "/health", &[])).allowed);
    let denied = judge(&both, WEB, API, 8080, &req("GET", "/admin", &[]));
    assert!(
        !denied.allowed,
        "egress allows GET, ingress does not allow /admin"
    );
    assert_eq!(denied.direction, Direction::Ingress);
}

#[test]
fn named_ports_and_ranges_carry_http_rules() {
    let named = "  endpointSelector: {matchLabels: {app: api}}\n  ingress:\n  - toPorts:\n    - ports: [{port: http, protocol: TCP}]\n      rules: {http: [{path: /ok}]}\n";
    let e = engine(&cnp("shop", "api", named));
    assert!(judge(&e, WEB, API, 8080, &req("GET", "/ok", &[])).allowed);
    assert!(!judge(&e, WEB, API, 8080, &req("GET", "/no", &[])).allowed);
    let range = "  endpointSelector: {matchLabels: {app: api}}\n  ingress:\n  - toPorts:\n    - ports: [{port: \"8000\", endPort: 8100, protocol: TCP}]\n      rules: {http: [{path: /ok}]}\n";
    let e = engine(&cnp("shop", "api", range));
    assert!(judge(&e, WEB, API, 8050, &req("GET", "/ok", &[])).allowed);
    assert!(!judge(&e, WEB, API, 8050, &req("GET", "/no", &[])).allowed);
}

#[test]
fn a_flow_the_l4_policy_denies_is_left_to_the_datapath() {
    // monitor (10.0.2.2) is not allowed at L3/L4: the proxy does not answer for the
    // datapath, which drops the upstream connection made from monitor's address.
    let e = engine(&cnp("shop", "api", API_INGRESS));
    let j = judge(&e, "10.0.2.2", API, 8080, &req("GET", "/health", &[]));
    assert!(j.allowed);
    assert_eq!(j.rule, None);
}

#[test]
fn the_matrix_marks_cells_that_go_through_the_http_proxy() {
    let e = engine(&cnp("shop", "api", API_INGRESS));
    let m = e.matrix(&[(6, 8080)]);
    let at = |name: &str| m.pods.iter().position(|p| p == name).expect(name);
    let cells = &m.ports[0].cells;
    assert_eq!(cells[at("shop/web")][at("shop/api")].symbol(), 'L');
    assert_eq!(cells[at("ops/monitor")][at("shop/api")].symbol(), 'X');
    assert_eq!(cells[at("shop/api")][at("shop/web")].symbol(), '.');
}
