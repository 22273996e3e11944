//! The transparent TCP listener: each connection the datapath steers to it is one pod's
//! connection to its DNS server (the accepted stream's local address), served on its own
//! task ([`Connection`]): queries in order, each answered on the stream. The connection to
//! the server, from the pod's address, is opened at the first allowed query and kept for the
//! next ones; a refused query never leaves the proxy. The pod closing its side, or leaving
//! the connection idle ([`Config::tcp_idle_timeout`]), ends both.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use super::{Handler, Report, Stats, Transport};
use crate::dns::exchange::{Framed, Lazy, read_framed, write_framed};
use crate::dns::transparent::upstream_tcp;

/// How long accepting waits after the process ran out of file descriptors or memory.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves the connections the datapath steers to `listener` (a TCP listener from
/// [`crate::dns::transparent::bind`]) until accepting fails for good. A connection addressed
/// to `listener` itself has nowhere to go: its first query is dropped as unroutable and the
/// connection closed.
pub async fn serve_transparent_tcp(listener: TcpListener, handler: Handler) -> io::Result<()> {
    let own = listener.local_addr()?;
    loop {
        let (stream, client) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                handle_accept_error(e).await?;
                continue;
            }
        };
        Stats::bump(&handler.stats.tcp_connections);
        let server = stream.local_addr().ok().filter(|s| *s != own);
        let connection = Connection {
            handler: handler.clone(),
            stream,
            client,
        };
        tokio::spawn(connection.run(server));
    }
}

/// Whether accepting can go on after `error`: a connection that died before it was
/// accepted, or (after a pause) a lack of descriptors or memory, can; anything else ends the
/// listener.
async fn handle_accept_error(error: io::Error) -> io::Result<()> {
    match error.kind() {
        io::ErrorKind::ConnectionAborted
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::Interrupted => Ok(()),
        _ if matches!(
            error.raw_os_error(),
            Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
        ) =>
        {
            tokio::time::sleep(ACCEPT_BACKOFF).await;
            Ok(())
        }
        _ => Err(error),
    }
}

/// One pod's connection.
struct Connection {
    handler: Handler,
    stream: TcpStream,
    client: SocketAddr,
}

impl Connection {
    /// Serves the connection's queries to `server` (`None`: unroutable) until it ends.
    async fn run(mut self, server: Option<SocketAddr>) {
        let Some(server) = server else {
            if self.next_query().await.is_some() {
                self.handler.arrived();
                self.handler.unroutable();
            }
            return;
        };
        let client = self.client;
        let from_pod = self.handler.judge.asks_as_the_pod(server);
        let mut upstream = Lazy::new(move || async move {
            if from_pod {
                upstream_tcp(client, server).await.map(Framed)
            } else {
                TcpStream::connect(server).await.map(Framed)
            }
        });
        while let Some(query) = self.next_query().await {
            let received = self.handler.arrived();
            let (exchange, note) = self
                .handler
                .exchange(&query, client, server, &mut upstream)
                .await;
            self.handler.settle(client, &exchange).await;
            let sent = match exchange.outcome.reply() {
                Some(reply) => write_framed(&mut self.stream, reply).await,
                None => Ok(()),
            };
            self.handler.finish(Report {
                client,
                server,
                transport: Transport::Tcp,
                received,
                exchange,
                note,
            });
            if sent.is_err() {
                return;
            }
        }
    }

    /// The next query, or `None` when the pod closed the connection, broke it, or left it
    /// idle too long.
    async fn next_query(&mut self) -> Option<Vec<u8>> {
        let idle = self.handler.config.tcp_idle_timeout;
        match tokio::time::timeout(idle, read_framed(&mut self.stream)).await {
            Ok(Ok(query)) => query,
            Ok(Err(_)) | Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    use std::time::Instant;

    use hickory_proto::rr::RecordType;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::dns::exchange::Outcome;
    use crate::dns::message::parse_response;
    use crate::dns::message::tests::query;
    use crate::dns::server::Config;
    use crate::dns::testnet::{self, SERVER, Served};

    /// Asks `name` (ID `id`) on `stream`: the answer's response code.
    async fn ask(stream: &mut TcpStream, id: u16, name: &str) -> u16 {
        write_framed(stream, &query(id, name, RecordType::A))
            .await
            .unwrap();
        let reply = tokio::time::timeout(Duration::from_secs(5), read_framed(stream))
            .await
            .expect("an answer in time")
            .unwrap()
            .expect("an answer");
        let answer = parse_response(&reply).unwrap();
        assert_eq!(answer.id, id);
        answer.rcode
    }

    #[test]
    fn queries_on_a_connection_are_answered_in_order_over_one_upstream_connection() {
        testnet::run(|mut lab| async move {
            let mut proxy = testnet::proxy(&mut lab, Arc::new(()), Config::default());
            let mut pod = lab.pod_tcp().await;
            let client = pod.local_addr().unwrap();
            let upstream = proxy.upstream.clone();
            // Refused: nothing opened upstream.
            assert_eq!(ask(&mut pod, 1, "evil.example.").await, 5);
            assert_eq!(Served::get(&upstream.tcp_connections), 0);
            assert_eq!(ask(&mut pod, 2, "api.partner.com.").await, 0);
            assert_eq!(upstream.last_client(), Some(client), "asked as the pod");
            assert_eq!(ask(&mut pod, 3, "www.partner.com.").await, 0);
            assert_eq!(Served::get(&upstream.tcp_connections), 1, "one, reused");
            assert_eq!(Served::get(&upstream.tcp_queries), 2);
            for id in 1..=3 {
                let report = proxy.reports.recv().await.unwrap();
                assert_eq!(report.transport, Transport::Tcp);
                assert_eq!((report.client, report.server), (client, SERVER.into()));
                assert_eq!(report.exchange.question.unwrap().id, id, "in order");
                let answered = matches!(report.exchange.outcome, Outcome::Answered { .. });
                assert_eq!(answered, id > 1);
            }
            // The pod closes: the proxy closes too.
            pod.shutdown().await.unwrap();
            let mut rest = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(5), pod.read_to_end(&mut rest));
            assert_eq!(read.await.expect("closed in time").unwrap(), 0);
            let stats = &proxy.stats;
            assert_eq!(stats.tcp_connections.load(Ordering::Relaxed), 1);
            assert_eq!(stats.queries.load(Ordering::Relaxed), 3);
            assert_eq!(stats.ended(), 3);
            assert_eq!(stats.refused.load(Ordering::Relaxed), 1);
        });
    }

    #[test]
    fn an_idle_connection_is_closed() {
        testnet::run(|mut lab| async move {
            let config = Config {
                tcp_idle_timeout: Duration::from_millis(200),
                ..Config::default()
            };
            let proxy = testnet::proxy(&mut lab, Arc::new(()), config);
            let mut pod = lab.pod_tcp().await;
            // The proxy waits from after the answer, so from before the query at least.
            let started = Instant::now();
            assert_eq!(ask(&mut pod, 1, "api.partner.com.").await, 0);
            let mut rest = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(5), pod.read_to_end(&mut rest));
            assert_eq!(read.await.expect("closed in time").unwrap(), 0);
            assert!(started.elapsed() >= Duration::from_millis(200));
            assert_eq!(proxy.stats.answered.load(Ordering::Relaxed), 1);
        });
    }

    #[test]
    fn a_connection_to_the_proxy_itself_is_unroutable() {
        testnet::run(|mut lab| async move {
            let proxy = testnet::proxy(&mut lab, Arc::new(()), Config::default());
            let mut direct = TcpStream::connect((std::net::Ipv4Addr::LOCALHOST, proxy.port))
                .await
                .unwrap();
            let q = query(1, "api.partner.com.", RecordType::A);
            write_framed(&mut direct, &q).await.unwrap();
            let mut rest = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(5), direct.read_to_end(&mut rest));
            assert_eq!(read.await.expect("closed in time").unwrap(), 0, "no answer");
            let stats = &proxy.stats;
            assert_eq!(stats.unroutable.load(Ordering::Relaxed), 1);
            assert_eq!(stats.ended(), stats.queries.load(Ordering::Relaxed));
            assert_eq!(Served::get(&proxy.upstream.tcp_connections), 0);
        });
    }
}
