//! The DNS proxy's UDP listener: every datagram is one query, handled on its own task so a
//! slow upstream never holds up the others. Where a query goes (its original destination)
//! and whether it may go are the caller's ([`Route`], [`Judge`]); the listener forwards,
//! answers, counts, and reports each [`Exchange`] on a bounded channel. A full channel
//! never delays an answer: the report is dropped and counted, so the counters balance:
//! queries = reported + reports lost.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::exchange::{Decision, Exchange, MAX_MESSAGE, Outcome, UPSTREAM_TIMEOUT, exchange_udp};
use super::message::Question;

/// Where a client's query was going: its original destination (the datapath knows it; a
/// plain forwarder names one upstream). `None` drops the query, counted as unroutable.
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

/// Whether a query may go.
pub trait Judge: Send + Sync + 'static {
    /// The decision for `question` from `client` to `server`.
    fn decide(&self, client: SocketAddr, server: SocketAddr, question: &Question) -> Decision;
}

impl<F> Judge for F
where
    F: Fn(SocketAddr, SocketAddr, &Question) -> Decision + Send + Sync + 'static,
{
    fn decide(&self, client: SocketAddr, server: SocketAddr, question: &Question) -> Decision {
        self(client, server, question)
    }
}

/// One handled query, for flows and the FQDN cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The pod that asked.
    pub client: SocketAddr,
    /// The server it asked.
    pub server: SocketAddr,
    /// When the query arrived.
    pub received: Instant,
    /// What happened.
    pub exchange: Exchange,
}

/// The listener's counters.
#[derive(Debug, Default)]
pub struct Stats {
    /// Datagrams received.
    pub queries: AtomicU64,
    /// Forwarded and answered.
    pub answered: AtomicU64,
    /// Refused by policy.
    pub refused: AtomicU64,
    /// Forwarded, no answer in time, or the forward failed.
    pub failed: AtomicU64,
    /// Not a query: dropped.
    pub malformed: AtomicU64,
    /// No original destination: dropped.
    pub unroutable: AtomicU64,
    /// Reports dropped because the channel was full.
    pub reports_lost: AtomicU64,
}

impl Stats {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The listener's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// How long an upstream may take.
    pub upstream_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            upstream_timeout: UPSTREAM_TIMEOUT,
        }
    }
}

/// Serves queries on `socket` until it fails; each reply goes back from `socket`.
pub async fn serve_udp(
    socket: Arc<UdpSocket>,
    route: Arc<dyn Route>,
    judge: Arc<dyn Judge>,
    reports: mpsc::Sender<Report>,
    stats: Arc<Stats>,
    config: Config,
) -> std::io::Result<()> {
    let mut buf = vec![0; MAX_MESSAGE];
    loop {
        let (n, client) = socket.recv_from(&mut buf).await?;
        Stats::bump(&stats.queries);
        let received = Instant::now();
        let Some(server) = route.destination(client) else {
            Stats::bump(&stats.unroutable);
            continue;
        };
        let query = buf[..n].to_vec();
        let task = Task {
            socket: socket.clone(),
            judge: judge.clone(),
            reports: reports.clone(),
            stats: stats.clone(),
            config,
        };
        tokio::spawn(task.run(query, client, server, received));
    }
}

/// What one query's task needs.
struct Task {
    socket: Arc<UdpSocket>,
    judge: Arc<dyn Judge>,
    reports: mpsc::Sender<Report>,
    stats: Arc<Stats>,
    config: Config,
}

impl Task {
    async fn run(self, query: Vec<u8>, client: SocketAddr, server: SocketAddr, received: Instant) {
        let exchange = match upstream_socket(server).await {
            Ok(upstream) => {
                exchange_udp(&query, &upstream, self.config.upstream_timeout, |q| {
                    self.judge.decide(client, server, q)
                })
                .await
            }
            Err(e) => Exchange {
                question: None,
                outcome: Outcome::Failed {
                    error: e.to_string(),
                    reply: super::message::refusal(&query, super::message::Refusal::Refused).ok(),
                },
            },
        };
        if let Some(reply) = exchange.outcome.reply() {
            // A client that went away is not the proxy's failure.
            let _ = self.socket.send_to(reply, client).await;
        }
        Stats::bump(match &exchange.outcome {
            Outcome::Answered { .. } => &self.stats.answered,
            Outcome::Refused { .. } => &self.stats.refused,
            Outcome::TimedOut { .. } | Outcome::Failed { .. } => &self.stats.failed,
            Outcome::Malformed(_) => &self.stats.malformed,
        });
        let report = Report {
            client,
            server,
            received,
            exchange,
        };
        if self.reports.try_send(report).is_err() {
            Stats::bump(&self.stats.reports_lost);
        }
    }
}

/// A fresh socket toward `server` for one query (its own source port, as the pod's
/// query had).
async fn upstream_socket(server: SocketAddr) -> std::io::Result<UdpSocket> {
    let local: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local).await?;
    socket.connect(server).await?;
    Ok(socket)
}

#[cfg(test)]
mod tests {

    use hickory_proto::rr::RecordType;

    use super::*;
    use crate::dns::message::tests::{query, server};
    use crate::dns::message::{Refusal, parse_response};

    /// A DNS server answering every query with 203.0.113.10 (TTL 60).
    async fn upstream() -> SocketAddr {
        server(Duration::ZERO).await
    }

    /// A proxy in front of `upstream` allowing only `*.partner.com`, with a report channel
    /// of `capacity`.
    async fn proxy(
        upstream: SocketAddr,
        capacity: usize,
    ) -> (SocketAddr, mpsc::Receiver<Report>, Arc<Stats>) {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = socket.local_addr().unwrap();
        let (tx, rx) = mpsc::channel(capacity);
        let stats = Arc::new(Stats::default());
        let judge = |_: SocketAddr, _: SocketAddr, q: &Question| {
            if q.name.ends_with(".partner.com.") {
                Decision::Forward
            } else {
                Decision::Refuse(Refusal::Refused)
            }
        };
        tokio::spawn(serve_udp(
            socket,
            Arc::new(upstream),
            Arc::new(judge),
            tx,
            stats.clone(),
            Config::default(),
        ));
        (addr, rx, stats)
    }

    async fn ask(proxy: SocketAddr, id: u16, name: &str) -> Vec<u8> {
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client.connect(proxy).await.unwrap();
        client.send(&query(id, name, RecordType::A)).await.unwrap();
        let mut buf = vec![0; MAX_MESSAGE];
        let n = tokio::time::timeout(Duration::from_secs(5), client.recv(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        buf.truncate(n);
        buf
    }

    #[tokio::test]
    async fn allowed_queries_are_answered_by_the_upstream_and_denied_ones_refused() {
        let (proxy, mut reports, stats) = proxy(upstream().await, 16).await;
        let ok = parse_response(&ask(proxy, 1, "api.partner.com.").await).unwrap();
        assert_eq!((ok.id, ok.rcode), (1, 0));
        assert_eq!(ok.ips[0].0.to_string(), "203.0.113.10");
        let no = parse_response(&ask(proxy, 2, "evil.example.").await).unwrap();
        assert_eq!((no.id, no.rcode), (2, 5));
        let first = reports.recv().await.unwrap();
        assert!(matches!(first.exchange.outcome, Outcome::Answered { .. }));
        let second = reports.recv().await.unwrap();
        assert_eq!(second.exchange.question.unwrap().name, "evil.example.");
        assert_eq!(stats.queries.load(Ordering::Relaxed), 2);
        assert_eq!(stats.answered.load(Ordering::Relaxed), 1);
        assert_eq!(stats.refused.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_full_report_channel_loses_reports_not_answers_and_counts_them() {
        let (proxy, _reports, stats) = proxy(upstream().await, 1).await;
        for id in 0..5 {
            let reply = parse_response(&ask(proxy, id, "api.partner.com.").await).unwrap();
            assert_eq!(reply.rcode, 0);
        }
        // The counters balance: 5 queries = 1 reported (still queued) + 4 lost.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(stats.queries.load(Ordering::Relaxed), 5);
        assert_eq!(stats.reports_lost.load(Ordering::Relaxed), 4);
    }

    #[tokio::test]
    async fn a_datagram_that_is_not_a_query_gets_no_answer_and_is_counted() {
        let (proxy, mut reports, stats) = proxy(upstream().await, 4).await;
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client.send_to(b"not dns", proxy).await.unwrap();
        let report = reports.recv().await.unwrap();
        assert!(matches!(report.exchange.outcome, Outcome::Malformed(_)));
        assert_eq!(stats.malformed.load(Ordering::Relaxed), 1);
        // The listener is still serving.
        let ok = parse_response(&ask(proxy, 3, "www.partner.com.").await).unwrap();
        assert_eq!(ok.rcode, 0);
    }
}
