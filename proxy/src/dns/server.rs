//! The DNS proxy's listeners and what they share. Each query is handled on its own task (over
//! TCP, each connection, its queries in order), so a slow upstream never holds up the
//! others. Where a query goes and whether it may go are the caller's: its original
//! destination ([`Route`] for the plain forwarder, the packet itself for the transparent
//! listeners) and a [`Judge`]. A [`Hold`] lets the caller keep an allowed answer until the
//! datapath knows its addresses. The listener forwards, answers, counts ([`Stats`]), and
//! reports each [`Exchange`] on a bounded channel ([`Report`]).
//!
//! - [`serve_udp`]: a plain forwarder on a UDP socket (tests, benchmarks).
//! - [`serve_transparent_udp`], [`serve_transparent_tcp`]: the listeners the datapath steers
//!   pods' DNS to ([`super::transparent`]).

mod tcp;
mod udp;

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::exchange::{Decision, Exchange, Outcome, UPSTREAM_TIMEOUT, Upstream, exchange};
use super::message::{Answer, Question};

pub use tcp::serve_transparent_tcp;
pub use udp::{serve_transparent_udp, serve_udp};

/// How long an answer may wait for its [`Hold`] by default.
pub const MAX_HOLD: Duration = Duration::from_millis(100);

/// How long a TCP connection may sit between queries by default.
pub const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a client's query was going: its original destination (a plain forwarder names one
/// upstream). `None` drops the query, counted as unroutable.
pub trait Route: Send + Sync + 'static {
    /// The original destination of a query from `client`.
    fn destination(&self, client: SocketAddr) -> Option<SocketAddr>;
}

/// Every query goes to one upstream (tests, benchmarks, a non-transparent proxy).
impl Route for SocketAddr {
    fn destination(&self, _client: SocketAddr) -> Option<SocketAddr> {
        Some(*self)
    }
}

/// Whether a query may go, and how.
pub trait Judge: Send + Sync + 'static {
    /// The decision for `question` from `client` to `server`.
    fn decide(&self, client: SocketAddr, server: SocketAddr, question: &Question) -> Decision;

    /// The decision with what the judge wants to remember of it, handed back in the
    /// query's [`Report`] (so whoever reads the reports sees the judgement that was
    /// applied, not a second one made later against newer rules).
    fn decide_noted(
        &self,
        client: SocketAddr,
        server: SocketAddr,
        question: &Question,
    ) -> (Decision, Option<JudgeNote>) {
        (self.decide(client, server, question), None)
    }

    /// Whether a transparent listener forwards to `server` from the pod's own address.
    /// That needs the server's answers steered back to the proxy, which the datapath does
    /// only for servers that are its endpoints; for the others (`false`) the query leaves
    /// from the node's address, as a masquerading node would send it.
    fn asks_as_the_pod(&self, _server: SocketAddr) -> bool {
        true
    }
}

impl<F> Judge for F
where
    F: Fn(SocketAddr, SocketAddr, &Question) -> Decision + Send + Sync + 'static,
{
    fn decide(&self, client: SocketAddr, server: SocketAddr, question: &Question) -> Decision {
        self(client, server, question)
    }
}

/// What an allowed answer waits for before it goes back to the pod: the agent uses it to
/// wait until the datapath knows the answer's addresses, so the pod's first packet to them
/// is not dropped. The listener waits at most [`Config::max_hold`] and then sends the answer
/// anyway, counted in [`Stats::released_unsettled`].
pub trait Hold: Send + Sync + 'static {
    /// Resolves when `answer`, to `client`, may go.
    fn settle(
        &self,
        client: SocketAddr,
        answer: &Answer,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
}

/// Nothing to wait for.
impl Hold for () {
    fn settle(
        &self,
        _client: SocketAddr,
        _answer: &Answer,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        Box::pin(std::future::ready(()))
    }
}

/// What carried a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// One datagram each way.
    Udp,
    /// Length-prefixed messages on a connection.
    Tcp,
}

/// What a [`Judge`] remembers of one decision, opaque to the proxy.
#[derive(Clone)]
pub struct JudgeNote(pub Arc<dyn std::any::Any + Send + Sync>);

impl JudgeNote {
    /// The note as the judge's own type, if it is one.
    pub fn get<T: 'static>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

impl std::fmt::Debug for JudgeNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JudgeNote")
    }
}

impl PartialEq for JudgeNote {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for JudgeNote {}

/// One handled query, for flows and the FQDN cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The pod that asked.
    pub client: SocketAddr,
    /// The server it asked.
    pub server: SocketAddr,
    /// What carried the query.
    pub transport: Transport,
    /// When the query arrived.
    pub received: Instant,
    /// What happened.
    pub exchange: Exchange,
    /// What the judge noted of its decision.
    pub note: Option<JudgeNote>,
}

/// The listeners' counters. Every query is counted once in `queries` and once in how it
/// ended, so they balance:
///
/// `queries = answered + refused + failed + malformed + unroutable`
///
/// and every query but the unroutable ones is reported or counted lost:
/// `queries - unroutable = reports + reports_lost`.
#[derive(Debug, Default)]
pub struct Stats {
    /// Queries received (datagrams; messages on TCP connections).
    pub queries: AtomicU64,
    /// Forwarded and answered.
    pub answered: AtomicU64,
    /// Refused by policy.
    pub refused: AtomicU64,
    /// Forwarded, no answer in time, or the forward failed.
    pub failed: AtomicU64,
    /// Not a query: dropped.
    pub malformed: AtomicU64,
    /// No original destination (or the proxy's own address): dropped.
    pub unroutable: AtomicU64,
    /// Answers sent before their [`Hold`] settled (it took longer than
    /// [`Config::max_hold`]). Not a way a query ends: a subset of `answered`.
    pub released_unsettled: AtomicU64,
    /// TCP connections accepted.
    pub tcp_connections: AtomicU64,
    /// Reports dropped because the channel was full.
    pub reports_lost: AtomicU64,
}

impl Stats {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// How many queries have ended, one way or another (equal to `queries` once every
    /// query's task is done).
    pub fn ended(&self) -> u64 {
        [
            &self.answered,
            &self.refused,
            &self.failed,
            &self.malformed,
            &self.unroutable,
        ]
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum()
    }
}

/// The listeners' settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// How long an upstream may take.
    pub upstream_timeout: Duration,
    /// How long an allowed answer may wait for its [`Hold`].
    pub max_hold: Duration,
    /// How long a TCP connection may sit between queries before it is closed.
    pub tcp_idle_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            upstream_timeout: UPSTREAM_TIMEOUT,
            max_hold: MAX_HOLD,
            tcp_idle_timeout: TCP_IDLE_TIMEOUT,
        }
    }
}

/// What handling a query needs, whatever carries it: judge, forward, hold, count, report.
/// Every listener takes one (clones share the judge, hold, channel and counters).
#[derive(Clone)]
pub struct Handler {
    judge: Arc<dyn Judge>,
    hold: Arc<dyn Hold>,
    reports: mpsc::Sender<Report>,
    stats: Arc<Stats>,
    config: Config,
}

impl Handler {
    /// Queries judged by `judge`, allowed answers held by `hold`, each reported on
    /// `reports` and counted in `stats`.
    pub fn new(
        judge: Arc<dyn Judge>,
        hold: Arc<dyn Hold>,
        reports: mpsc::Sender<Report>,
        stats: Arc<Stats>,
        config: Config,
    ) -> Self {
        Self {
            judge,
            hold,
            reports,
            stats,
            config,
        }
    }
}

impl Handler {
    /// A query arrived: counted; its arrival time.
    fn arrived(&self) -> Instant {
        Stats::bump(&self.stats.queries);
        Instant::now()
    }

    /// A query with nowhere to go: dropped, counted.
    fn unroutable(&self) {
        Stats::bump(&self.stats.unroutable);
    }

    /// Judges a query from `client` to `server` and, if allowed, forwards it on `upstream`;
    /// also what the judge noted.
    async fn exchange(
        &self,
        query: &[u8],
        client: SocketAddr,
        server: SocketAddr,
        upstream: &mut impl Upstream,
    ) -> (Exchange, Option<JudgeNote>) {
        let mut note = None;
        let exchange = exchange(query, upstream, self.config.upstream_timeout, |q| {
            let (decision, noted) = self.judge.decide_noted(client, server, q);
            note = noted;
            decision
        })
        .await;
        (exchange, note)
    }

    /// Waits (at most [`Config::max_hold`]) until an answer that parsed may go to `client`.
    async fn settle(&self, client: SocketAddr, exchange: &Exchange) {
        let Outcome::Answered {
            answer: Ok(answer), ..
        } = &exchange.outcome
        else {
            return;
        };
        let settled = self.hold.settle(client, answer);
        if tokio::time::timeout(self.config.max_hold, settled)
            .await
            .is_err()
        {
            Stats::bump(&self.stats.released_unsettled);
        }
    }

    /// Counts how a query ended and reports it (a full channel loses the report, counted,
    /// and never delays the next query).
    fn finish(&self, report: Report) {
        Stats::bump(match &report.exchange.outcome {
            Outcome::Answered { .. } => &self.stats.answered,
            Outcome::Refused { .. } => &self.stats.refused,
            Outcome::TimedOut { .. } | Outcome::Failed { .. } => &self.stats.failed,
            Outcome::Malformed(_) => &self.stats.malformed,
        });
        if self.reports.try_send(report).is_err() {
            Stats::bump(&self.stats.reports_lost);
        }
    }
}
