//! The transparent HTTP proxy inside the agent: what makes `rules.http` real on this node.
//!
//! [`start`] binds the proxy's listeners (TCP on 127.0.0.1 and ::1), tells the datapath
//! their port, and runs:
//! - the listeners, judged by the engine as the agent last published it
//!   ([`super::proxy_view`]: one rule lookup per connection and policy change, one match
//!   per request), connecting upstream from the client's own address when the
//!   destination is an endpoint of this node, so the destination's policy sees the
//!   client's identity and never the node's;
//! - the reporter, which turns every handled request into a request flow and a response
//!   flow in the pipeline, and reports the proxy's lost reports as lost events.
//!
//! The steering route the datapath's marked packets need is the DNS proxy's
//! ([`super::dns_proxy::install_steering`]), installed before either proxy starts.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use enforcer::engine::HttpPolicy;
use enforcer::policy::Direction;
use observe_proxy::http::server::{Config, Handler, Judge};
use observe_proxy::http::upstream::Transparent;
use observe_proxy::http::{HttpReport, Stats, Verdict, serve};
use probe_common::proxy::UPSTREAM_MARK;
use tokio::sync::mpsc;

use super::Agent;
use super::options::Options;
use super::proxy_support::{Reporter, lock, watch};
use super::proxy_view::{ProxyView, SharedProxyView, rule_info};
use crate::event::Payload;
use crate::l7::{HttpDirection, HttpKind, HttpRecord, HttpVerdict};
use crate::pipeline::EventSender;

/// Reports waiting for the reporter; a full channel loses reports, counted.
const REPORT_QUEUE: usize = 4096;

/// Binds and runs the HTTP proxy (see the module doc); returns its port.
pub fn start(
    agent: Arc<Mutex<Agent>>,
    sender: EventSender,
    opts: &Options,
    node_name: Arc<str>,
    stats: Arc<Stats>,
) -> Result<u16> {
    let listeners =
        observe_proxy::http::bind(opts.http_proxy_port).context("cannot bind the HTTP proxy")?;
    let port = listeners.port;
    lock(&agent).set_http_proxy_port(port)?;
    tracing::info!(port, "HTTP proxy listening (TCP on 127.0.0.1 and ::1)");
    let view = lock(&agent).proxy_view();
    let judge: Arc<dyn Judge> = Arc::new(AgentJudge { view: view.clone() });
    let local = view.clone();
    let connector = Arc::new(Transparent {
        as_the_client: Arc::new(move |server| {
            local.load().is_some_and(|v| v.is_local(server.ip()))
        }),
        mark: UPSTREAM_MARK,
    });
    let config = Config {
        header_read_timeout: opts.http_header_read_timeout,
        ..Config::default()
    };
    let (tx, rx) = mpsc::channel(REPORT_QUEUE);
    let handler = Handler::new(judge, connector, tx, stats.clone(), config);
    let mut listening = vec![listeners.v4];
    match listeners.v6 {
        Some(v6) => listening.push(v6),
        None => tracing::warn!(
            "the HTTP proxy has no IPv6 listener (::1 cannot be bound): IPv6 HTTP on ports \
             with HTTP rules is dropped (178)"
        ),
    }
    for listener in listening {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        watch("HTTP", tokio::spawn(serve(listener, handler.clone())));
    }
    let lost = stats.clone();
    let reporter = Reporter {
        view,
        sender,
        node_name,
        reports_lost: Arc::new(move || lost.reports_lost.load(Ordering::Relaxed)),
    };
    tokio::spawn(reporter.run(rx, |view, report| {
        records(view, report)
            .into_iter()
            .map(|r| (r.time, Payload::Http(Box::new(r))))
            .collect()
    }));
    Ok(port)
}

/// How the metrics read `stats`.
pub fn counters(stats: Arc<Stats>) -> crate::metrics::ReadHttpCounters {
    Arc::new(move || {
        let n = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        crate::metrics::HttpProxyCounters {
            connections: n(&stats.connections),
            requests: n(&stats.requests),
            forwarded: n(&stats.forwarded),
            denied: n(&stats.denied),
            upstream_errors: n(&stats.upstream_errors),
            parse_errors: n(&stats.parse_errors),
            header_timeouts: n(&stats.header_timeouts),
            reports_lost: n(&stats.reports_lost),
        }
    })
}

impl Agent {
    /// Tells the datapath where the HTTP proxy listens.
    pub fn set_http_proxy_port(&mut self, port: u16) -> Result<()> {
        self.datapath
            .config_map()
            .update(|c| c.http_proxy_port = port)
            .context("cannot tell the datapath the HTTP proxy's port")
    }
}

/// The proxy's judge: the engine as the agent last published it.
struct AgentJudge {
    view: SharedProxyView,
}

impl Judge for AgentJudge {
    fn generation(&self) -> u64 {
        self.view.generation()
    }

    fn policy(
        &self,
        client: std::net::SocketAddr,
        server: std::net::SocketAddr,
    ) -> Option<(u64, Arc<HttpPolicy>)> {
        let view = self.view.load()?;
        Some((view.generation, Arc::new(view.http_policy(client, server))))
    }
}

/// The request flow and the response flow of one report.
fn records(view: &ProxyView, report: &HttpReport) -> Vec<HttpRecord> {
    let j = &report.judgement;
    let direction = match j.direction {
        Direction::Ingress => HttpDirection::Ingress,
        Direction::Egress => HttpDirection::Egress,
    };
    let decider = match direction {
        HttpDirection::Ingress => report.server.ip(),
        HttpDirection::Egress => report.client.ip(),
    };
    let verdict = match report.verdict {
        Verdict::Forwarded => HttpVerdict::Forwarded,
        Verdict::Denied => HttpVerdict::Denied,
        Verdict::Error => HttpVerdict::Error,
    };
    let request = HttpRecord {
        time: report.received,
        kind: HttpKind::Request,
        client: report.client,
        server: report.server,
        client_identity: view.identity_of(report.client.ip()),
        server_identity: view.identity_of(report.server.ip()),
        direction,
        endpoint_id: u32::from(view.endpoint_id_of(decider)),
        method: report.request.method.to_string(),
        url: report.request.url(report.server),
        protocol: report.request.protocol(),
        headers: report.request.shown_headers(),
        code: 0,
        verdict,
        latency: None,
        allowed_by: j.rule.as_deref().map(rule_info),
        closest_rule: j.closest.as_deref().map(rule_info),
        l7_rule: j.http_rule(),
    };
    let response = HttpRecord {
        time: report.received + report.latency,
        kind: HttpKind::Response,
        code: u32::from(report.status),
        latency: Some(report.latency),
        ..request.clone()
    };
    vec![request, response]
}
