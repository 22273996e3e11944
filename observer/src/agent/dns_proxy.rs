//! The transparent DNS proxy inside the agent: what it takes to make `rules.dns` and
//! `toFQDNs` real on this node.
//!
//! [`install_steering`] installs the node's steering route ([`observe_plumbing::steering`])
//! both proxies need. [`start`] binds the proxy's listeners (UDP and TCP on 127.0.0.1 and
//! ::1, the port of the previous run when there was one), tells the datapath the port,
//! and runs:
//! - the listeners, with the engine as their judge ([`AgentJudge`]: the query's flow and
//!   name against the rules that allow it, [`enforcer::engine::Engine::judge_dns`], on
//!   the [`super::proxy_view`] the agent publishes, so judging never waits for it) and
//!   the agent's FQDN state as their hold ([`AgentHold`]: an allowed answer's addresses
//!   reach the caches, the engine and the maps before the pod gets the answer, or the hold
//!   times out);
//! - the reporter, which turns every handled query into a query flow and an answer flow
//!   in the pipeline, and reports the proxy's lost reports as lost events;
//! - the expiry of learned addresses, every second.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use observe_proxy::dns::server::{
    Config, Handler, Hold, Judge, JudgeNote, Report, Stats, Transport, serve_transparent_tcp,
    serve_transparent_udp,
};
use observe_proxy::dns::{Answer, Decision, Outcome, Question, Refusal, transparent};
use probe_common::proxy::{MARK, MARK_MASK, ROUTE_TABLE, RULE_PRIORITY};
use tokio::sync::mpsc;

use super::Agent;
use super::options::{Options, RejectCode};
use super::proxy_support::{Reporter, lock, watch};
use super::proxy_view::{Judged, ProxyView, SharedProxyView, rule_info};
use crate::event::Payload;
use crate::l7::{DnsAnswer, DnsKind, DnsRecord, DnsVerdict};
use crate::pipeline::EventSender;

/// Reports waiting for the reporter; a full channel loses reports, counted.
const REPORT_QUEUE: usize = 4096;

/// How often learned addresses are checked for expiry.
const EXPIRY_INTERVAL: Duration = Duration::from_secs(1);

/// The running proxy.
pub struct DnsProxy {
    /// Its port.
    pub port: u16,
    /// Its counters.
    pub stats: Arc<Stats>,
}

/// Binds, steers and runs the DNS proxy (see the module doc). Runs in the node's network
/// namespace, where the agent runs.
pub fn start(
    agent: Arc<Mutex<Agent>>,
    sender: EventSender,
    opts: &Options,
    node_name: Arc<str>,
    stats: Arc<Stats>,
) -> Result<DnsProxy> {
    let saved = lock(&agent).fqdn().proxy_port;
    let wanted = if opts.dns_proxy_port != 0 {
        opts.dns_proxy_port
    } else {
        saved
    };
    let listeners = match transparent::bind(wanted) {
        Ok(l) => l,
        Err(e) if wanted != 0 && opts.dns_proxy_port == 0 => {
            tracing::warn!(
                "the DNS proxy's previous port {wanted} is taken ({e}); choosing another"
            );
            transparent::bind(0).context("cannot bind the DNS proxy")?
        }
        Err(e) => return Err(e).context("cannot bind the DNS proxy"),
    };
    let port = listeners.port;
    lock(&agent).set_dns_proxy_port(port)?;
    tracing::info!(
        port,
        "DNS proxy listening (UDP and TCP on 127.0.0.1 and ::1)"
    );

    let config = Config {
        max_hold: opts.tofqdns_proxy_response_max_delay,
        ..Config::default()
    };
    let view = lock(&agent).proxy_view();
    let judge: Arc<dyn Judge> = Arc::new(AgentJudge {
        view: view.clone(),
        refusal: match opts.dns_reject_response_code {
            RejectCode::Refused => Refusal::Refused,
            RejectCode::NameError => Refusal::NameError,
        },
    });
    let hold: Arc<dyn Hold> = Arc::new(AgentHold {
        agent: agent.clone(),
    });
    let (tx, rx) = mpsc::channel(REPORT_QUEUE);
    let mut pairs = vec![(listeners.udp, listeners.tcp)];
    match listeners.v6 {
        Some(v6) => pairs.push(v6),
        None => tracing::warn!(
            "the DNS proxy has no IPv6 listener (::1 cannot be bound): IPv6 DNS on ports \
             with DNS rules is dropped (178)"
        ),
    }
    let handler = Handler::new(judge, hold, tx, stats.clone(), config);
    let mut served = Vec::new();
    for (udp, tcp) in pairs {
        let udp = Arc::new(tokio::net::UdpSocket::from_std(udp)?);
        let tcp = tokio::net::TcpListener::from_std(tcp)?;
        served.push(tokio::spawn(serve_transparent_udp(udp, handler.clone())));
        served.push(tokio::spawn(serve_transparent_tcp(tcp, handler.clone())));
    }
    drop(handler);
    for task in served {
        watch("DNS", task);
    }
    let lost = stats.clone();
    let reporter = Reporter {
        view,
        sender,
        node_name,
        reports_lost: Arc::new(move || lost.reports_lost.load(Ordering::Relaxed)),
    };
    tokio::spawn(reporter.run(rx, |view, report| {
        records(view, report, SystemTime::now())
            .into_iter()
            .map(|r| (r.time, Payload::Dns(Box::new(r))))
            .collect()
    }));
    tokio::spawn(expire(agent));
    Ok(DnsProxy { port, stats })
}

/// Installs the route that delivers the packets the datapath steers to a proxy (DNS or
/// HTTP) locally, in the node's namespace, where the agent runs.
pub fn install_steering() -> Result<()> {
    observe_plumbing::steering::Steering {
        mark: MARK,
        mask: MARK_MASK,
        table: ROUTE_TABLE,
        priority: RULE_PRIORITY,
    }
    .install("")
    .context("cannot install the L7 proxies' steering route")
}

/// How the metrics read `stats`.
pub fn counters(stats: Arc<Stats>) -> crate::metrics::ReadCounters {
    Arc::new(move || {
        let n = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        crate::metrics::DnsProxyCounters {
            received: n(&stats.queries),
            answered: n(&stats.answered),
            refused: n(&stats.refused),
            failed: n(&stats.failed),
            malformed: n(&stats.malformed),
            unroutable: n(&stats.unroutable),
            released_unsettled: n(&stats.released_unsettled),
            reports_lost: n(&stats.reports_lost),
            tcp_connections: n(&stats.tcp_connections),
        }
    })
}

impl Agent {
    /// Tells the datapath where the DNS proxy listens, and keeps the port for the next run.
    pub fn set_dns_proxy_port(&mut self, port: u16) -> Result<()> {
        self.datapath
            .config_map()
            .update(|c| c.dns_proxy_port = port)
            .context("cannot tell the datapath the DNS proxy's port")?;
        self.fqdn.proxy_port = port;
        self.fqdn.save()
    }
}

/// The proxy's judge: the engine as the agent last published it.
struct AgentJudge {
    view: SharedProxyView,
    refusal: Refusal,
}

impl Judge for AgentJudge {
    fn decide(&self, client: SocketAddr, server: SocketAddr, question: &Question) -> Decision {
        self.decide_noted(client, server, question).0
    }

    /// The judgement goes into the report, so the query's flows name the rule that was
    /// applied, even when the agent published new rules in between.
    fn decide_noted(
        &self,
        client: SocketAddr,
        server: SocketAddr,
        question: &Question,
    ) -> (Decision, Option<JudgeNote>) {
        let judged = self
            .view
            .load()
            .and_then(|v| v.judge(client, server, &question.name));
        let decision = match &judged {
            Some(j) if j.judgement.allowed => Decision::Forward,
            _ => Decision::Refuse(self.refusal),
        };
        (decision, judged.map(|j| JudgeNote(Arc::new(j))))
    }

    /// Only a local endpoint's answers pass a program that steers them back.
    fn asks_as_the_pod(&self, server: SocketAddr) -> bool {
        self.view.load().is_some_and(|v| v.is_local(server.ip()))
    }
}

/// The proxy's hold: an answer waits until its addresses are in the maps.
struct AgentHold {
    agent: Arc<Mutex<Agent>>,
}

impl Hold for AgentHold {
    fn settle(
        &self,
        client: SocketAddr,
        answer: &Answer,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        if answer.ips.is_empty() {
            return Box::pin(std::future::ready(()));
        }
        let agent = self.agent.clone();
        // The addresses answer for the asked name and for every name of its CNAME chain,
        // so `toFQDNs` on a CDN's name selects them too (as Cilium's proxy records them).
        let names: Vec<String> = std::iter::once(answer.name.clone())
            .chain(answer.cnames.iter().cloned())
            .collect();
        let ips: Vec<_> = answer
            .ips
            .iter()
            .map(|(ip, ttl)| (*ip, Duration::from_secs(u64::from(*ttl))))
            .collect();
        let learn = tokio::task::spawn_blocking(move || {
            let now = SystemTime::now();
            if let Err(e) = lock(&agent).learn_answer(client.ip(), &names, &ips, now) {
                tracing::warn!("cannot learn the answer for {}: {e:#}", names[0]);
            }
        });
        Box::pin(async move {
            let _ = learn.await;
        })
    }
}

/// Expires learned addresses every [`EXPIRY_INTERVAL`].
async fn expire(agent: Arc<Mutex<Agent>>) {
    let mut tick = tokio::time::interval(EXPIRY_INTERVAL);
    loop {
        tick.tick().await;
        let agent = agent.clone();
        let done =
            tokio::task::spawn_blocking(move || lock(&agent).collect_fqdn(SystemTime::now()));
        match done.await {
            Ok(Err(e)) => tracing::warn!("DNS cache expiry: {e:#}"),
            Err(e) => tracing::warn!("DNS cache expiry: {e}"),
            Ok(Ok(_)) => {}
        }
    }
}

/// The query flow and, when the pod got an answer, the answer flow of one report.
fn records(view: &ProxyView, report: &Report, now: SystemTime) -> Vec<DnsRecord> {
    let Some(question) = &report.exchange.question else {
        return Vec::new();
    };
    let judged = match report.note.as_ref().and_then(|n| n.get::<Judged>()) {
        Some(noted) => Cow::Borrowed(noted),
        // A query judged before the view existed, or by another judge: judged now.
        None => match view.judge(report.client, report.server, &question.name) {
            Some(now) => Cow::Owned(now),
            None => return Vec::new(),
        },
    };
    let elapsed = report.received.elapsed();
    let asked = now.checked_sub(elapsed).unwrap_or(now);
    let verdict = match &report.exchange.outcome {
        Outcome::Answered { .. } => DnsVerdict::Forwarded,
        Outcome::Refused { .. } => DnsVerdict::Refused,
        _ => DnsVerdict::Error,
    };
    let query = DnsRecord {
        time: asked,
        kind: DnsKind::Query,
        client: report.client,
        server: report.server,
        tcp: report.transport == Transport::Tcp,
        endpoint_id: u32::from(judged.endpoint_id),
        client_identity: judged.identity,
        server_identity: judged.server_identity,
        query: question.name.clone(),
        qtypes: question.qtypes.clone(),
        answer: None,
        verdict,
        latency: None,
        allowed_by: judged.judgement.rule.as_ref().map(rule_info),
        closest_rule: judged.judgement.closest.as_ref().map(rule_info),
    };
    let answer = answer_of(&report.exchange.outcome).map(|answer| DnsRecord {
        time: now,
        kind: DnsKind::Answer,
        answer: Some(answer),
        latency: Some(elapsed),
        ..query.clone()
    });
    std::iter::once(query).chain(answer).collect()
}

/// What the pod was told: the upstream's answer, or the proxy's refusal.
fn answer_of(outcome: &Outcome) -> Option<DnsAnswer> {
    match outcome {
        Outcome::Answered {
            answer: Ok(answer), ..
        } => Some(DnsAnswer {
            rcode: u32::from(answer.rcode),
            ips: answer.ips.iter().map(|(ip, _)| *ip).collect(),
            ttl: answer.ttl(),
            cnames: answer.cnames.clone(),
            rrtypes: answer.rrtypes.clone(),
        }),
        Outcome::Refused { reply } | Outcome::TimedOut { reply } => {
            observe_proxy::dns::parse_response(reply)
                .ok()
                .map(|a| DnsAnswer {
                    rcode: u32::from(a.rcode),
                    ..DnsAnswer::default()
                })
        }
        _ => None,
    }
}
