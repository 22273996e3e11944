//! HTTP-aware policy end to end: HTTP servers in lab pods and on a lab host outside the
//! cluster, policies with `rules.http` at ingress and egress, and the agent's transparent
//! HTTP proxy judging every request on keep-alive connections: allowed ones reach the
//! server from the client's own address (its identity survives the proxy), denied ones get
//! `403 Access denied` at once with a DROPPED L7 flow naming the closest rule.

use std::net::SocketAddr;
use std::time::Duration;

use lab::{HttpRequest, HttpResponse, HttpServer};
use observe_proto::flow::{FlowFilter, Verdict, layer7};

use crate::common::*;

/// The server lets the client GET /health, and POST /submit with a token, on 8000-8100.
const SERVER_HTTP: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: server-http, namespace: e2e}
spec:
  endpointSelector: {matchLabels: {app: server}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts:
    - ports: [{port: "8000", endPort: 8100, protocol: TCP}]
      rules:
        http:
        - {method: GET, path: /health}
        - {method: POST, path: /submit, headers: ["X-Token: s3cret"]}
  - fromEntities: [world]
    toPorts:
    - ports: [{port: "8000", endPort: 8100, protocol: TCP}]
      rules:
        http: [{method: GET, path: "/public/.*"}]
"#;

const WAIT: Duration = Duration::from_secs(5);

fn get(path: &str) -> HttpRequest {
    HttpRequest::new("GET", path)
}

fn statuses(responses: &[HttpResponse]) -> Vec<u16> {
    responses.iter().map(|r| r.status).collect()
}

struct HttpLab {
    c: Cluster,
    server: HttpServer,
    at: SocketAddr,
}

impl HttpLab {
    fn new(tag: &str, policies: &str) -> Option<Self> {
        let c = Cluster::new(tag)?;
        c.apply(policies).expect("policies apply");
        let netns = c.endpoint("server").netns;
        let at: SocketAddr = "10.77.0.2:8080".parse().expect("addr");
        let server = HttpServer::start(&netns, at).expect("http server");
        Some(Self { c, server, at })
    }

    fn send(&self, from: &str, requests: &[HttpRequest]) -> Vec<HttpResponse> {
        let netns = self.c.endpoint(from).netns;
        lab::http_requests(&netns, self.at, requests, WAIT).expect("requests")
    }

    /// HTTP flows to the server (`to_server`: requests) or from it (responses).
    fn http_flows(&self, verdict: Verdict, to_server: bool) -> Vec<observe_proto::flow::Flow> {
        let pod = vec!["e2e/server".to_string()];
        let mut filter = FlowFilter {
            verdict: vec![verdict as i32],
            ..Default::default()
        };
        if to_server {
            filter.destination_pod = pod;
        } else {
            filter.source_pod = pod;
        }
        self.c
            .flows(filter, 200)
            .into_iter()
            .filter(|f| {
                f.l7.as_ref()
                    .is_some_and(|l7| matches!(l7.record, Some(layer7::Record::Http(_))))
            })
            .collect()
    }
}

fn http_of(flow: &observe_proto::flow::Flow) -> &observe_proto::flow::Http {
    match flow.l7.as_ref().and_then(|l7| l7.record.as_ref()) {
        Some(layer7::Record::Http(h)) => h,
        _ => panic!("an HTTP flow"),
    }
}

#[test]
fn an_ingress_http_rule_answers_403_to_what_it_does_not_allow_on_one_keep_alive_connection() {
    let Some(l) = HttpLab::new("e2ehttp", SERVER_HTTP) else {
        return;
    };
    let token = HttpRequest {
        headers: vec![("X-Token".into(), "s3cret".into())],
        ..HttpRequest::new("POST", "/submit")
    };
    let large = HttpRequest {
        body: 4 << 20,
        ..token.clone()
    };
    let responses = l.send(
        "client",
        &[
            get("/health"),
            HttpRequest::new("POST", "/health"),
            get("/admin"),
            token.clone(),
            HttpRequest::new("POST", "/submit"),
            large,
            get("/health"),
        ],
    );
    assert_eq!(statuses(&responses), [200, 403, 403, 200, 403, 200, 200]);
    assert_eq!(responses[1].body, "Access denied\r\n");
    assert_eq!(
        responses[5].body,
        format!("POST /submit {} from 10.77.0.1", 4 << 20)
    );
    // The client's own address reached the server every time, never the node's.
    let clients = l.server.clients();
    assert_eq!(clients.len(), 4, "denied requests never reach the server");
    assert!(
        clients.iter().all(|ip| ip.to_string() == "10.77.0.1"),
        "{clients:?}"
    );

    // The intruder is not allowed at L3/L4: its connection never opens.
    assert!(l.send("intruder", &[get("/health")]).is_empty());

    // IPv6 goes through the proxy's ::1 listener the same way.
    let server_ns = l.c.endpoint("server").netns;
    let at6: SocketAddr = "[fd00:77::2]:8080".parse().expect("addr");
    let _server6 = HttpServer::start(&server_ns, at6).expect("v6 server");
    let client_ns = l.c.endpoint("client").netns;
    let v6 = lab::http_requests(&client_ns, at6, &[get("/health"), get("/admin")], WAIT)
        .expect("requests");
    assert_eq!(statuses(&v6), [200, 403]);
    assert_eq!(v6[0].body, "GET /health 0 from fd00:77::1");

    let dropped = l.http_flows(Verdict::Dropped, true);
    let post = dropped
        .iter()
        .find(|f| http_of(f).method == "POST" && http_of(f).url.ends_with("/health"))
        .expect("a DROPPED flow for POST /health");
    assert_eq!(post.source.as_ref().unwrap().pod_name, "client");
    let a = post.attribution.as_ref().expect("attribution");
    assert_eq!(a.closest_rule.as_ref().unwrap().name, "server-http");
    assert_eq!(a.closest_rule.as_ref().unwrap().path, "spec.ingress[0]");
    assert_eq!(a.l7_rule, "GET /health");
    let responses = l.http_flows(Verdict::Forwarded, false);
    assert!(
        responses
            .iter()
            .any(|f| http_of(f).code == 200 && f.l7.as_ref().unwrap().latency_ns > 0),
        "a response flow with its status and latency"
    );
    // Hubble's HTTP filters, applied by the agent.
    let filtered = l.c.flows(
        FlowFilter {
            http_method: vec!["post".into()],
            http_status_code: vec!["4+".into()],
            http_path: vec!["/heal.*".into()],
            ..Default::default()
        },
        50,
    );
    assert!(!filtered.is_empty(), "the 403 response to POST /health");
    assert!(
        filtered
            .iter()
            .all(|f| http_of(f).method == "POST" && http_of(f).code == 403),
        "{filtered:?}"
    );
    // The live trace gives the proxy's verdict on a request.
    let trace = l.c.trace_request(observe_proto::control::TraceRequest {
        from: "e2e/client".into(),
        to: "e2e/server".into(),
        protocol: 6,
        dport: 8080,
        http_method: "POST".into(),
        http_path: "/health".into(),
        ..Default::default()
    });
    let verdict = trace["l7_verdict"].as_str().unwrap_or_default();
    assert!(
        verdict.starts_with("DENIED: the HTTP proxy answers 403"),
        "{trace}"
    );
    let allowed = l
        .http_flows(Verdict::Forwarded, true)
        .into_iter()
        .find(|f| http_of(f).url.ends_with("/health"))
        .expect("the allowed request's flow");
    assert_eq!(allowed.ingress_allowed_by[0].name, "server-http");
}

#[test]
fn the_world_reaches_only_what_the_world_rule_allows_and_enforcement_survives_a_restart() {
    let Some(mut l) = HttpLab::new("e2ehttpw", SERVER_HTTP) else {
        return;
    };
    let node = l.c.node.clone();
    let host =
        l.c.lab
            .add_world_host(&node, "outside", "203.0.113.30".parse().expect("v4"), None)
            .expect("world host");
    let world = |l: &HttpLab, requests: &[HttpRequest]| {
        lab::http_requests(&host.netns, l.at, requests, WAIT).expect("requests")
    };
    let responses = world(&l, &[get("/public/a"), get("/health")]);
    assert_eq!(statuses(&responses), [200, 403]);
    assert_eq!(responses[0].body, "GET /public/a 0 from 203.0.113.30");

    l.c.stop_agent();
    l.c.start_agent();
    // New connections are judged by the restarted proxy.
    assert_eq!(
        statuses(&world(&l, &[get("/public/b"), get("/admin")])),
        [200, 403]
    );
    assert_eq!(
        statuses(&l.send("client", &[get("/health"), get("/admin")])),
        [200, 403]
    );
}

/// The client may only GET from the server; the server's ingress is L3/L4 only.
const CLIENT_EGRESS: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: client-get, namespace: e2e}
spec:
  endpointSelector: {matchLabels: {app: client}}
  egress:
  - toEndpoints: [{matchLabels: {app: server}}]
    toPorts:
    - ports: [{port: "8080", protocol: TCP}]
      rules: {http: [{method: GET}]}
  - toCIDR: [203.0.113.40/32]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules: {http: [{method: GET, path: /ok}]}
"#;

/// The server accepts only the intruder (a pod the client is not).
const SERVER_INTRUDER_ONLY: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: server-intruder-only, namespace: e2e}
spec:
  endpointSelector: {matchLabels: {app: server}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: intruder}}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
"#;

#[test]
fn egress_http_rules_keep_the_client_s_identity_and_never_gain_the_node_s() {
    let Some(mut l) = HttpLab::new("e2ehttpe", CLIENT_EGRESS) else {
        return;
    };
    let responses = l.send(
        "client",
        &[get("/x"), HttpRequest::new("DELETE", "/x"), get("/y")],
    );
    assert_eq!(statuses(&responses), [200, 403, 200]);
    assert_eq!(responses[0].body, "GET /x 0 from 10.77.0.1");

    // To a lab host outside the cluster, by CIDR.
    let node = l.c.node.clone();
    let lab_host =
        l.c.lab
            .add_world_host(&node, "partner", "203.0.113.40".parse().expect("v4"), None)
            .expect("world host");
    let partner = HttpServer::start(&lab_host.netns, "203.0.113.40:80".parse().expect("addr"))
        .expect("partner server");
    let netns = l.c.endpoint("client").netns;
    let to_partner = |requests: &[HttpRequest]| {
        lab::http_requests(&netns, partner.local_addr(), requests, WAIT).expect("requests")
    };
    assert_eq!(
        statuses(&to_partner(&[get("/ok"), get("/nope")])),
        [200, 403]
    );

    // The server's ingress allows only the intruder. Through the proxy, the client still
    // speaks as itself: the server's policy drops it (the proxy answers 503 once its
    // upstream connection times out), where the node's address would have passed as
    // allow-localhost.
    l.c.apply(SERVER_INTRUDER_ONLY).expect("applies");
    let before = l.server.clients().len();
    let responses = l.send("client", &[get("/x")]);
    assert_eq!(statuses(&responses), [503]);
    assert_eq!(
        l.server.clients().len(),
        before,
        "nothing reached the server"
    );
    let errors = l.http_flows(Verdict::Error, true);
    assert!(!errors.is_empty(), "an ERROR flow for the failed upstream");
}

/// A pod with a named container port, and the client's egress HTTP rule on that name.
const NAMED_PORT: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: e2e, labels: {app: api}}
spec:
  containers:
  - name: api
    ports:
    - {name: web, containerPort: 8080}
status: {podIPs: [{ip: 10.77.0.9}]}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: client-to-api, namespace: e2e}
spec:
  endpointSelector: {matchLabels: {app: client}}
  egress:
  - toEndpoints: [{matchLabels: {app: api}}]
    toPorts:
    - ports: [{port: web, protocol: TCP}]
      rules:
        http:
        - method: GET
          headerMatches:
          - {name: X-Env, value: prod}
"#;

#[test]
fn an_egress_http_rule_on_a_named_port_with_a_header_match() {
    let Some(c) = Cluster::new("e2ehttpn") else {
        return;
    };
    c.apply(NAMED_PORT).expect("applies");
    let api = HttpServer::start(
        &c.endpoint("api").netns,
        "10.77.0.9:8080".parse().expect("addr"),
    )
    .expect("api server");
    let prod = HttpRequest {
        headers: vec![("X-Env".into(), "prod".into())],
        ..get("/items")
    };
    let netns = c.endpoint("client").netns;
    let responses = lab::http_requests(&netns, api.local_addr(), &[prod, get("/items")], WAIT)
        .expect("requests");
    assert_eq!(statuses(&responses), [200, 403]);
    assert_eq!(responses[0].body, "GET /items 0 from 10.77.0.1");
}

#[test]
fn whatif_previews_http_verdicts_request_by_request() {
    let Some(l) = HttpLab::new("e2ehttpwhatif", SERVER_HTTP) else {
        return;
    };
    let responses = l.send("client", &[get("/health"), get("/health"), get("/admin")]);
    assert_eq!(statuses(&responses), [200, 200, 403]);
    std::thread::sleep(Duration::from_millis(300));
    let dir = tempfile::tempdir().expect("dir");
    let candidate = dir.path().join("submit-only.yaml");
    // `server-http` without its `GET /health` rule.
    let submit_only = SERVER_HTTP.replace("        - {method: GET, path: /health}\n", "");
    assert_ne!(submit_only, SERVER_HTTP);
    std::fs::write(&candidate, submit_only).expect("write");
    let report = crate::cli::breaking_whatif(&l.c, &candidate);
    let changes = report["changes"].as_array().expect("changes");
    // GET /health passes today and would get a 403; GET /admin is refused either way.
    let health: Vec<_> = changes
        .iter()
        .filter(|c| c["request"] == "GET /health")
        .collect();
    assert_eq!(health.len(), 1, "{report}");
    assert_eq!(
        (health[0]["now"].as_str(), health[0]["would_be"].as_str()),
        (Some("ALLOWED"), Some("DENIED"))
    );
    assert!(
        health[0]["because"]
            .as_str()
            .unwrap_or_default()
            .contains("no HTTP rule allows GET /health")
    );
    assert!(
        !changes.iter().any(|c| c["request"] == "GET /admin"),
        "{report}"
    );
}
