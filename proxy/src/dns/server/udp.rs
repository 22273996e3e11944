//! The UDP listeners: every datagram is one query, handled on its own [`Task`]. The plain
//! forwarder ([`serve_udp`]) forwards from a socket of its own and replies from the
//! listener; the transparent one ([`serve_transparent_udp`]) forwards from the pod's
//! address and replies from its DNS server's ([`crate::dns::transparent`]).
//!
//! A pod's resolver may send several queries from one socket at once (glibc sends A and
//! AAAA together). Forwarded transparently, each would need its own socket with the same
//! addresses, and the kernel would hand every answer to just one of them; so the queries of
//! one pod socket to one server go upstream one after another ([`Lanes`]).

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::sync::OwnedMutexGuard;

use super::{Handler, JudgeNote, Report, Route, Transport};
use crate::dns::exchange::{Exchange, Lazy, MAX_MESSAGE};
use crate::dns::transparent::{recv_with_original_destination, reply_udp, upstream_udp};

/// Serves queries on `socket` until it fails, forwarding each to where `route` says from a
/// socket of its own; each reply goes back from `socket`.
pub async fn serve_udp(
    socket: Arc<UdpSocket>,
    route: Arc<dyn Route>,
    handler: Handler,
) -> io::Result<()> {
    let path = Path::Forwarder {
        listener: socket.clone(),
    };
    let mut buf = vec![0; MAX_MESSAGE];
    loop {
        let (n, client) = socket.recv_from(&mut buf).await?;
        let received = handler.arrived();
        let Some(server) = route.destination(client) else {
            handler.unroutable();
            continue;
        };
        Task::spawn(&handler, &path, &buf[..n], client, server, received);
    }
}

/// Serves the queries the datapath steers to `socket` (a UDP listener from
/// [`crate::dns::transparent::bind`]) until it fails: each goes to its original destination
/// from the pod's address, and its reply back from that destination's. A datagram without
/// an original destination, or addressed to `socket` itself, is dropped as unroutable.
pub async fn serve_transparent_udp(socket: Arc<UdpSocket>, handler: Handler) -> io::Result<()> {
    let own = socket.local_addr()?;
    let path = Path::Transparent {
        lanes: Arc::default(),
    };
    let mut buf = vec![0; MAX_MESSAGE];
    loop {
        let datagram = match recv_with_original_destination(&socket, &mut buf).await {
            Ok(datagram) => Some(datagram),
            // This datagram only (a sender that is no IP address): not the socket's failure.
            Err(e) if e.kind() == io::ErrorKind::InvalidData => None,
            Err(e) => return Err(e),
        };
        let received = handler.arrived();
        let routable = datagram.filter(|(_, _, server)| *server != Some(own));
        let Some((n, client, Some(server))) = routable else {
            handler.unroutable();
            continue;
        };
        Task::spawn(&handler, &path, &buf[..n], client, server, received);
    }
}

/// How a query goes upstream and its reply comes back.
#[derive(Clone)]
enum Path {
    /// From a socket of the proxy's own; replies from the listener.
    Forwarder { listener: Arc<UdpSocket> },
    /// From the pod's address; replies from the server's.
    Transparent { lanes: Arc<Lanes> },
}

/// One query's task.
struct Task {
    handler: Handler,
    path: Path,
}

impl Task {
    /// Handles `query` on a task of its own, so a slow upstream holds up no other query.
    fn spawn(
        handler: &Handler,
        path: &Path,
        query: &[u8],
        client: SocketAddr,
        server: SocketAddr,
        received: Instant,
    ) {
        let task = Task {
            handler: handler.clone(),
            path: path.clone(),
        };
        tokio::spawn(task.run(query.to_vec(), client, server, received));
    }

    async fn run(self, query: Vec<u8>, client: SocketAddr, server: SocketAddr, received: Instant) {
        let (exchange, note) = self.exchange(&query, client, server).await;
        self.handler.settle(client, &exchange).await;
        if let Some(reply) = exchange.outcome.reply() {
            // A client that went away is not the proxy's failure.
            let _ = self.reply(server, client, reply).await;
        }
        self.handler.finish(Report {
            client,
            server,
            transport: Transport::Udp,
            received,
            exchange,
            note,
        });
    }

    /// Judges and forwards the query; its upstream socket is closed when this returns.
    async fn exchange(
        &self,
        query: &[u8],
        client: SocketAddr,
        server: SocketAddr,
    ) -> (Exchange, Option<JudgeNote>) {
        match &self.path {
            Path::Forwarder { .. } => {
                let mut upstream = Lazy::new(|| own_socket(server));
                self.handler
                    .exchange(query, client, server, &mut upstream)
                    .await
            }
            Path::Transparent { .. } if !self.handler.judge.asks_as_the_pod(server) => {
                let mut upstream = Lazy::new(|| own_socket(server));
                self.handler
                    .exchange(query, client, server, &mut upstream)
                    .await
            }
            Path::Transparent { lanes } => {
                let _lane = lanes.enter((client, server)).await;
                let mut upstream = Lazy::new(|| upstream_udp(client, server));
                self.handler
                    .exchange(query, client, server, &mut upstream)
                    .await
            }
        }
    }

    async fn reply(&self, server: SocketAddr, client: SocketAddr, reply: &[u8]) -> io::Result<()> {
        match &self.path {
            Path::Forwarder { listener } => listener.send_to(reply, client).await.map(drop),
            Path::Transparent { .. } => reply_udp(server, client, reply).await,
        }
    }
}

/// A fresh socket toward `server` for one query (its own source port, as the pod's
/// query had).
async fn own_socket(server: SocketAddr) -> io::Result<UdpSocket> {
    let local: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local).await?;
    socket.connect(server).await?;
    Ok(socket)
}

/// A pod socket and its server.
type LaneKey = (SocketAddr, SocketAddr);

/// One query upstream at a time per pod socket and server; a lane lives while a query is
/// in it or waiting for it.
#[derive(Debug, Default)]
struct Lanes(Mutex<HashMap<LaneKey, Arc<tokio::sync::Mutex<()>>>>);

impl Lanes {
    /// Waits for the lane of `key`; it is free again when the [`Lane`] drops.
    async fn enter(self: &Arc<Self>, key: LaneKey) -> Lane {
        let lane = self.map().entry(key).or_default().clone();
        let guard = lane.lock_owned().await;
        Lane {
            lanes: self.clone(),
            key,
            guard: Some(guard),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<LaneKey, Arc<tokio::sync::Mutex<()>>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A query's turn in its lane.
struct Lane {
    lanes: Arc<Lanes>,
    key: LaneKey,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Drop for Lane {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = self.lanes.map();
        // Only the map holds it: no query is in the lane or waiting for it.
        if map
            .get(&self.key)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            map.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use hickory_proto::rr::RecordType;
    use tokio::sync::mpsc;

    use super::*;
    use crate::dns::exchange::{Decision, Outcome};
    use crate::dns::message::tests::{query, server};
    use crate::dns::message::{Answer, Question, Refusal, parse_response};
    use crate::dns::server::{Config, Hold, Stats};
    use crate::dns::testnet::{self, SERVER, Served, recv};

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
        let handler = Handler::new(
            Arc::new(judge),
            Arc::new(()),
            tx,
            stats.clone(),
            Config::default(),
        );
        tokio::spawn(serve_udp(socket, Arc::new(upstream), handler));
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
        assert_eq!(first.transport, Transport::Udp);
        let second = reports.recv().await.unwrap();
        assert_eq!(second.exchange.question.unwrap().name, "evil.example.");
        assert_eq!(stats.queries.load(Ordering::Relaxed), 2);
        assert_eq!(stats.answered.load(Ordering::Relaxed), 1);
        assert_eq!(stats.refused.load(Ordering::Relaxed), 1);
        assert_eq!(stats.ended(), 2);
    }

    /// A judge that notes the name it judged.
    struct Noting;

    impl crate::dns::server::Judge for Noting {
        fn decide(&self, _: SocketAddr, _: SocketAddr, _: &Question) -> Decision {
            Decision::Forward
        }

        fn decide_noted(
            &self,
            _: SocketAddr,
            _: SocketAddr,
            q: &Question,
        ) -> (Decision, Option<JudgeNote>) {
            (Decision::Forward, Some(JudgeNote(Arc::new(q.name.clone()))))
        }
    }

    #[tokio::test]
    async fn the_report_carries_what_the_judge_noted_of_its_decision() {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = socket.local_addr().unwrap();
        let (tx, mut rx) = mpsc::channel(4);
        let handler = Handler::new(
            Arc::new(Noting),
            Arc::new(()),
            tx,
            Arc::new(Stats::default()),
            Config::default(),
        );
        tokio::spawn(serve_udp(socket, Arc::new(upstream().await), handler));
        ask(addr, 7, "api.partner.com.").await;
        let report = rx.recv().await.unwrap();
        let note = report.note.expect("a note");
        assert_eq!(
            note.get::<String>().map(String::as_str),
            Some("api.partner.com.")
        );
        assert!(note.get::<u32>().is_none(), "only as the judge's own type");
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
        assert_eq!(stats.ended(), 5);
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

    #[tokio::test]
    async fn a_lane_is_one_query_at_a_time_and_goes_away_when_empty() {
        let lanes = Arc::new(Lanes::default());
        let key: LaneKey = (
            "192.0.2.10:4000".parse().unwrap(),
            "192.0.2.53:53".parse().unwrap(),
        );
        let first = lanes.enter(key).await;
        let second = tokio::spawn({
            let lanes = lanes.clone();
            async move { lanes.enter(key).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!second.is_finished(), "the second waits for the first");
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(1), second)
            .await
            .expect("the second gets its turn")
            .unwrap();
        assert_eq!(lanes.map().len(), 1);
        drop(second);
        assert!(lanes.map().is_empty());
    }

    /// Sends `name`'s A query (ID `id`) from `pod` to the pod's DNS server.
    async fn send(pod: &UdpSocket, id: u16, name: &str) {
        let q = query(id, name, RecordType::A);
        pod.send_to(&q, SERVER).await.unwrap();
    }

    #[test]
    fn a_steered_query_goes_on_from_the_pod_and_comes_back_from_the_server() {
        testnet::run(|mut lab| async move {
            let mut proxy = testnet::proxy(&mut lab, Arc::new(()), Config::default());
            let pod = lab.pod_udp();
            send(&pod, 1, "api.partner.com.").await;
            let (reply, from) = recv(&pod).await;
            assert_eq!(from, SERVER.into(), "answered as the server");
            let answer = parse_response(&reply).unwrap();
            assert_eq!((answer.id, answer.rcode), (1, 0));
            assert_eq!(answer.ips[0].0.to_string(), "203.0.113.10");
            let client = pod.local_addr().unwrap();
            assert_eq!(
                proxy.upstream.last_client(),
                Some(client),
                "asked as the pod"
            );
            let report = proxy.reports.recv().await.unwrap();
            assert_eq!(report.transport, Transport::Udp);
            assert_eq!((report.client, report.server), (client, SERVER.into()));
            assert!(matches!(report.exchange.outcome, Outcome::Answered { .. }));
            assert_eq!(proxy.stats.answered.load(Ordering::Relaxed), 1);
        });
    }

    #[test]
    fn a_refused_query_never_reaches_the_server() {
        testnet::run(|mut lab| async move {
            let mut proxy = testnet::proxy(&mut lab, Arc::new(()), Config::default());
            let pod = lab.pod_udp();
            send(&pod, 2, "evil.example.").await;
            let (reply, from) = recv(&pod).await;
            assert_eq!(from, SERVER.into());
            assert_eq!(parse_response(&reply).unwrap().rcode, 5);
            let report = proxy.reports.recv().await.unwrap();
            assert!(matches!(report.exchange.outcome, Outcome::Refused { .. }));
            assert_eq!(Served::get(&proxy.upstream.udp_queries), 0);
        });
    }

    #[test]
    fn queries_sent_together_from_one_pod_socket_are_all_answered() {
        testnet::run(|mut lab| async move {
            let proxy = testnet::proxy(&mut lab, Arc::new(()), Config::default());
            let pod = lab.pod_udp();
            // As glibc sends A and AAAA.
            for id in 10..14 {
                send(&pod, id, "api.partner.com.").await;
            }
            let mut ids = Vec::new();
            for _ in 10..14 {
                ids.push(parse_response(&recv(&pod).await.0).unwrap().id);
            }
            ids.sort_unstable();
            assert_eq!(ids, vec![10, 11, 12, 13]);
            assert_eq!(proxy.stats.answered.load(Ordering::Relaxed), 4);
        });
    }

    #[test]
    fn unroutable_and_malformed_datagrams_are_dropped_and_the_counters_balance() {
        testnet::run(|mut lab| async move {
            let proxy = testnet::proxy(&mut lab, Arc::new(()), Config::default());
            // Sent to the listener itself: its original destination is the proxy.
            let local = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
            let q = query(3, "api.partner.com.", RecordType::A);
            local
                .send_to(&q, (Ipv4Addr::LOCALHOST, proxy.port))
                .await
                .unwrap();
            let pod = lab.pod_udp();
            pod.send_to(b"not dns", SERVER).await.unwrap();
            send(&pod, 4, "evil.example.").await;
            send(&pod, 5, "api.partner.com.").await;
            let mut rcodes = vec![
                parse_response(&recv(&pod).await.0).unwrap().rcode,
                parse_response(&recv(&pod).await.0).unwrap().rcode,
            ];
            rcodes.sort_unstable();
            assert_eq!(rcodes, vec![0, 5]);
            let mut buf = [0; 512];
            let nothing =
                tokio::time::timeout(Duration::from_millis(100), local.recv(&mut buf)).await;
            assert!(nothing.is_err(), "no answer to an unroutable query");
            let stats = &proxy.stats;
            let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
            assert_eq!(get(&stats.queries), 4);
            assert_eq!(get(&stats.unroutable), 1);
            assert_eq!(get(&stats.malformed), 1);
            assert_eq!(get(&stats.refused), 1);
            assert_eq!(get(&stats.answered), 1);
            assert_eq!(stats.ended(), get(&stats.queries));
        });
    }

    /// A hold that takes `delay` (forever with `None`) and records what it was asked.
    #[derive(Default)]
    struct Recorder {
        delay: Option<Duration>,
        asked: Mutex<Vec<(SocketAddr, Answer)>>,
    }

    impl Hold for Recorder {
        fn settle(
            &self,
            client: SocketAddr,
            answer: &Answer,
        ) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
            self.asked.lock().unwrap().push((client, answer.clone()));
            match self.delay {
                Some(delay) => Box::pin(tokio::time::sleep(delay)),
                None => Box::pin(std::future::pending()),
            }
        }
    }

    /// Asks through a proxy whose hold takes `delay` (forever with `None`) and may wait
    /// `max_hold`: the answer comes after `at_least`, `unsettled` times released unsettled.
    fn held(delay: Option<Duration>, max_hold: Duration, at_least: Duration, unsettled: u64) {
        testnet::run(move |mut lab| async move {
            let hold = Arc::new(Recorder {
                delay,
                ..Recorder::default()
            });
            let config = Config {
                max_hold,
                ..Config::default()
            };
            let proxy = testnet::proxy(&mut lab, hold.clone(), config);
            let pod = lab.pod_udp();
            let started = Instant::now();
            send(&pod, 6, "api.partner.com.").await;
            let answer = parse_response(&recv(&pod).await.0).unwrap();
            let waited = started.elapsed();
            assert!(waited >= at_least, "{waited:?}");
            assert!(waited < Duration::from_secs(2), "{waited:?}");
            let asked = hold.asked.lock().unwrap().clone();
            assert_eq!(asked, vec![(pod.local_addr().unwrap(), answer)]);
            let released = proxy.stats.released_unsettled.load(Ordering::Relaxed);
            assert_eq!(released, unsettled);
            // A refusal is not held.
            send(&pod, 7, "evil.example.").await;
            assert_eq!(parse_response(&recv(&pod).await.0).unwrap().rcode, 5);
            assert_eq!(hold.asked.lock().unwrap().len(), 1);
        });
    }

    #[test]
    fn an_answer_waits_for_its_hold() {
        let delay = Duration::from_millis(150);
        held(Some(delay), Duration::from_secs(5), delay, 0);
    }

    #[test]
    fn an_answer_whose_hold_takes_too_long_goes_anyway_and_is_counted() {
        let max_hold = Duration::from_millis(150);
        held(None, max_hold, max_hold, 1);
    }
}
