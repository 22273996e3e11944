//! One query through the proxy: read its question, judge it, and either answer it with a
//! refusal or forward it 1:1 to its original destination and relay the answer (no cache,
//! one upstream try, 10 s by default). The outcome ([`Exchange`]) is what the agent turns
//! into DNS flows and FQDN cache updates.
//!
//! Judging and forwarding are the same whatever carries the query ([`exchange`]); only the
//! round trip to the upstream differs ([`Upstream`]): a UDP socket ([`exchange_udp`]), or a
//! stream with the two-byte length framing of RFC 1035 §4.2.2 ([`Framed`], [`exchange_tcp`],
//! [`read_framed`], [`write_framed`]). An upstream may be opened at its first allowed query
//! ([`Lazy`]), so a refused query opens nothing.

use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UdpSocket;

use super::message::{Answer, DnsError, Question, Refusal, parse_query, parse_response, refusal};

/// Cilium's upstream timeout.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest DNS message over UDP with EDNS (and the most a TCP frame can hold).
pub const MAX_MESSAGE: usize = 65_535;

/// What the proxy does with a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Forward it upstream.
    Forward,
    /// Answer it with this refusal.
    Refuse(Refusal),
}

/// How a query ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Forwarded; the upstream answered.
    Answered {
        /// The answer's bytes, relayed as they came.
        reply: Vec<u8>,
        /// What the answer says (`Err` if it does not parse: relayed anyway, counted).
        answer: Result<Answer, DnsError>,
        /// Time from forwarding to the answer.
        upstream: Duration,
    },
    /// Denied: answered with a refusal.
    Refused {
        /// The refusal's bytes.
        reply: Vec<u8>,
    },
    /// Forwarded; no answer in time. The client gets a refusal (Cilium answers internal
    /// errors like denials).
    TimedOut {
        /// The refusal's bytes.
        reply: Vec<u8>,
    },
    /// Forwarding failed (the socket said why).
    Failed {
        /// The error.
        error: String,
        /// The refusal's bytes, when one could be written.
        reply: Option<Vec<u8>>,
    },
    /// Not a query the proxy can judge: dropped without reply, counted.
    Malformed(DnsError),
}

impl Outcome {
    /// The bytes to send back to the client, if any.
    pub fn reply(&self) -> Option<&[u8]> {
        match self {
            Self::Answered { reply, .. } | Self::Refused { reply } | Self::TimedOut { reply } => {
                Some(reply)
            }
            Self::Failed { reply, .. } => reply.as_deref(),
            Self::Malformed(_) => None,
        }
    }
}

/// One query's story.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// The question, when the query parsed.
    pub question: Option<Question>,
    /// How it ended.
    pub outcome: Outcome,
}

/// Where allowed queries go: one message out, messages back.
pub trait Upstream: Send {
    /// Sends one query.
    fn send(&mut self, query: &[u8]) -> impl Future<Output = io::Result<()>> + Send;

    /// Waits for the next message back (not necessarily the answer: [`exchange`] skips
    /// those with another ID).
    fn recv(&mut self) -> impl Future<Output = io::Result<Vec<u8>>> + Send;

    /// The last query failed or timed out: whatever the upstream holds (a half-read TCP
    /// frame, a late answer) is not to be trusted with the next one.
    fn abandon(&mut self) {}
}

/// A UDP socket connected to the upstream.
impl Upstream for &UdpSocket {
    async fn send(&mut self, query: &[u8]) -> io::Result<()> {
        UdpSocket::send(self, query).await.map(drop)
    }

    async fn recv(&mut self) -> io::Result<Vec<u8>> {
        recv_datagram(self).await
    }
}

/// A UDP socket connected to the upstream, owned (one query's own socket).
impl Upstream for UdpSocket {
    async fn send(&mut self, query: &[u8]) -> io::Result<()> {
        UdpSocket::send(self, query).await.map(drop)
    }

    async fn recv(&mut self) -> io::Result<Vec<u8>> {
        recv_datagram(self).await
    }
}

async fn recv_datagram(socket: &UdpSocket) -> io::Result<Vec<u8>> {
    let mut buf = vec![0; MAX_MESSAGE];
    let n = socket.recv(&mut buf).await?;
    // A copy of its own size: the report keeps it.
    Ok(buf[..n].to_vec())
}

/// A stream to the upstream carrying length-prefixed messages (DNS over TCP).
#[derive(Debug)]
pub struct Framed<S>(pub S);

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Upstream for Framed<S> {
    async fn send(&mut self, query: &[u8]) -> io::Result<()> {
        write_framed(&mut self.0, query).await
    }

    async fn recv(&mut self) -> io::Result<Vec<u8>> {
        read_framed(&mut self.0).await?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the upstream closed the connection before answering",
            )
        })
    }
}

/// An upstream opened by `open` when the first allowed query goes out, kept for the next
/// ones, and dropped (to be opened again) when a query through it fails or times out.
pub struct Lazy<U, F> {
    open: F,
    upstream: Option<U>,
}

impl<U, F> Lazy<U, F> {
    /// An upstream that `open` will open.
    pub fn new(open: F) -> Self {
        Self {
            open,
            upstream: None,
        }
    }

    /// Whether the upstream is open now.
    pub fn is_open(&self) -> bool {
        self.upstream.is_some()
    }
}

impl<U, F> std::fmt::Debug for Lazy<U, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lazy")
            .field("open", &self.is_open())
            .finish()
    }
}

impl<U, F, Fut> Upstream for Lazy<U, F>
where
    U: Upstream,
    F: FnMut() -> Fut + Send,
    Fut: Future<Output = io::Result<U>> + Send,
{
    async fn send(&mut self, query: &[u8]) -> io::Result<()> {
        let upstream = match &mut self.upstream {
            Some(upstream) => upstream,
            None => self.upstream.insert((self.open)().await?),
        };
        upstream.send(query).await
    }

    async fn recv(&mut self) -> io::Result<Vec<u8>> {
        match &mut self.upstream {
            Some(upstream) => upstream.recv().await,
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "no query went to the upstream",
            )),
        }
    }

    fn abandon(&mut self) {
        self.upstream = None;
    }
}

/// Runs one query: `decide` judges the question; an allowed query goes out on `upstream`
/// and the first message back with the query's ID within `timeout` (opening the upstream
/// included) is relayed.
pub async fn exchange(
    query: &[u8],
    upstream: &mut impl Upstream,
    timeout: Duration,
    decide: impl FnOnce(&Question) -> Decision,
) -> Exchange {
    let question = match parse_query(query) {
        Ok(q) => q,
        Err(e) => {
            return Exchange {
                question: None,
                outcome: Outcome::Malformed(e),
            };
        }
    };
    let outcome = match decide(&question) {
        Decision::Refuse(kind) => refused(query, kind),
        Decision::Forward => forward(query, question.id, upstream, timeout).await,
    };
    Exchange {
        question: Some(question),
        outcome,
    }
}

/// [`exchange`] over UDP: `upstream` is a socket connected to the query's original
/// destination.
pub async fn exchange_udp(
    query: &[u8],
    upstream: &UdpSocket,
    timeout: Duration,
    decide: impl FnOnce(&Question) -> Decision,
) -> Exchange {
    exchange(query, &mut &*upstream, timeout, decide).await
}

/// [`exchange`] over TCP: `upstream` is a stream to the query's original destination,
/// carrying framed messages.
pub async fn exchange_tcp<S: AsyncRead + AsyncWrite + Unpin + Send>(
    query: &[u8],
    upstream: &mut S,
    timeout: Duration,
    decide: impl FnOnce(&Question) -> Decision,
) -> Exchange {
    exchange(query, &mut Framed(upstream), timeout, decide).await
}

fn refused(query: &[u8], kind: Refusal) -> Outcome {
    match refusal(query, kind) {
        Ok(reply) => Outcome::Refused { reply },
        Err(e) => Outcome::Malformed(e),
    }
}

async fn forward(
    query: &[u8],
    id: u16,
    upstream: &mut impl Upstream,
    timeout: Duration,
) -> Outcome {
    let started = Instant::now();
    let result = tokio::time::timeout(timeout, ask(query, id, upstream)).await;
    match result {
        Ok(Ok(reply)) => Outcome::Answered {
            answer: parse_response(&reply),
            reply,
            upstream: started.elapsed(),
        },
        Ok(Err(e)) => {
            upstream.abandon();
            Outcome::Failed {
                error: e.to_string(),
                reply: refusal(query, Refusal::Refused).ok(),
            }
        }
        Err(_) => {
            upstream.abandon();
            Outcome::TimedOut {
                reply: refusal(query, Refusal::Refused).unwrap_or_default(),
            }
        }
    }
}

/// Sends `query` and waits for the message back with its `id`.
async fn ask(query: &[u8], id: u16, upstream: &mut impl Upstream) -> io::Result<Vec<u8>> {
    upstream.send(query).await?;
    loop {
        let reply = upstream.recv().await?;
        // A stray message (another ID) is not our answer.
        if reply.len() >= 2 && u16::from_be_bytes([reply[0], reply[1]]) == id {
            return Ok(reply);
        }
    }
}

/// Reads one length-prefixed DNS message from a TCP stream; `None` at a clean end.
pub async fn read_framed(
    stream: &mut (impl AsyncRead + Unpin),
) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0; 2];
    match stream.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut message = vec![0; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut message).await?;
    Ok(Some(message))
}

/// Writes one DNS message with its two-byte length.
pub async fn write_framed(
    stream: &mut (impl AsyncWrite + Unpin),
    message: &[u8],
) -> std::io::Result<()> {
    let len = u16::try_from(message.len()).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "a {}-byte DNS message does not fit a TCP frame",
                message.len()
            ),
        )
    })?;
    let mut frame = Vec::with_capacity(message.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(message);
    stream.write_all(&frame).await
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use hickory_proto::rr::RecordType;

    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::DuplexStream;

    use super::*;
    use crate::dns::message::tests::{query, replies, server};

    async fn upstream(to: SocketAddr) -> UdpSocket {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        socket.connect(to).await.unwrap();
        socket
    }

    #[tokio::test]
    async fn an_allowed_query_is_forwarded_and_its_answer_relayed() {
        let up = upstream(server(Duration::ZERO).await).await;
        let q = query(77, "api.partner.com.", RecordType::A);
        let ex = exchange_udp(&q, &up, UPSTREAM_TIMEOUT, |_| Decision::Forward).await;
        assert_eq!(ex.question.unwrap().name, "api.partner.com.");
        let Outcome::Answered { reply, answer, .. } = ex.outcome else {
            panic!("answered");
        };
        let answer = answer.unwrap();
        assert_eq!(answer.id, 77, "the stray reply with another ID was skipped");
        assert_eq!(answer.ips, vec![("203.0.113.10".parse().unwrap(), 60)]);
        assert_eq!(parse_response(&reply).unwrap(), answer);
    }

    #[tokio::test]
    async fn a_denied_query_is_refused_without_leaving_the_proxy() {
        // No server at all: a forwarded query would time out.
        let up = upstream("127.0.0.1:9".parse().unwrap()).await;
        let q = query(5, "evil.example.", RecordType::A);
        let ex = exchange_udp(&q, &up, Duration::from_millis(50), |_| {
            Decision::Refuse(Refusal::Refused)
        })
        .await;
        let reply = ex.outcome.reply().unwrap();
        assert_eq!(parse_response(reply).unwrap().rcode, 5);
        assert!(matches!(ex.outcome, Outcome::Refused { .. }));
    }

    #[tokio::test]
    async fn an_upstream_that_does_not_answer_in_time_gets_the_client_a_refusal() {
        let up = upstream(server(Duration::from_secs(5)).await).await;
        let q = query(6, "slow.example.", RecordType::A);
        let ex = exchange_udp(&q, &up, Duration::from_millis(100), |_| Decision::Forward).await;
        let Outcome::TimedOut { reply } = &ex.outcome else {
            panic!("{:?}", ex.outcome);
        };
        assert_eq!(parse_response(reply).unwrap().rcode, 5);
    }

    #[tokio::test]
    async fn a_malformed_query_is_dropped_and_never_judged() {
        let up = upstream("127.0.0.1:9".parse().unwrap()).await;
        let ex = exchange_udp(b"\x00\x01garbage", &up, UPSTREAM_TIMEOUT, |_| {
            panic!("judged a malformed query")
        })
        .await;
        assert!(matches!(ex.outcome, Outcome::Malformed(_)));
        assert!(ex.outcome.reply().is_none());
    }

    #[tokio::test]
    async fn tcp_frames_carry_whole_messages_and_end_cleanly() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        let q = query(8, "a.io.", RecordType::A);
        write_framed(&mut client, &q).await.unwrap();
        write_framed(&mut client, &q).await.unwrap();
        drop(client);
        assert_eq!(read_framed(&mut server).await.unwrap(), Some(q.clone()));
        assert_eq!(read_framed(&mut server).await.unwrap(), Some(q));
        assert_eq!(read_framed(&mut server).await.unwrap(), None);
        let (mut c, _s) = tokio::io::duplex(16);
        assert!(write_framed(&mut c, &vec![0; 70_000]).await.is_err());
    }

    /// A stream to a TCP upstream answering as [`server`] does (a stray frame first);
    /// `answers` 0 closes the connection at the first query.
    fn tcp_upstream(answers: usize) -> DuplexStream {
        let (client, mut server) = tokio::io::duplex(4096);
        tokio::spawn(async move {
            for _ in 0..answers {
                let Ok(Some(q)) = read_framed(&mut server).await else {
                    return;
                };
                for reply in replies(&q).into_iter().flatten() {
                    write_framed(&mut server, &reply).await.unwrap();
                }
            }
        });
        client
    }

    #[tokio::test]
    async fn a_tcp_exchange_skips_stray_frames_and_relays_the_answer() {
        let mut up = tcp_upstream(1);
        let q = query(21, "api.partner.com.", RecordType::A);
        let ex = exchange_tcp(&q, &mut up, UPSTREAM_TIMEOUT, |_| Decision::Forward).await;
        let Outcome::Answered { answer, .. } = ex.outcome else {
            panic!("{:?}", ex.outcome);
        };
        assert_eq!(answer.unwrap().id, 21);
        // The upstream went away: a refusal for the pod, and the failure said.
        let ex = exchange_tcp(&q, &mut up, UPSTREAM_TIMEOUT, |_| Decision::Forward).await;
        let Outcome::Failed { reply, .. } = &ex.outcome else {
            panic!("{:?}", ex.outcome);
        };
        assert_eq!(parse_response(reply.as_ref().unwrap()).unwrap().rcode, 5);
    }

    #[tokio::test]
    async fn a_lazy_upstream_opens_at_the_first_allowed_query_and_again_after_a_failure() {
        let opened = Arc::new(AtomicUsize::new(0));
        let mut up = Lazy::new({
            let opened = opened.clone();
            move || {
                // The first connection dies at once; the next answers.
                let answers = if opened.fetch_add(1, Ordering::Relaxed) == 0 {
                    0
                } else {
                    9
                };
                async move { Ok(Framed(tcp_upstream(answers))) }
            }
        });
        let refuse = |_: &Question| Decision::Refuse(Refusal::Refused);
        let q = query(1, "evil.example.", RecordType::A);
        let ex = exchange(&q, &mut up, UPSTREAM_TIMEOUT, refuse).await;
        assert!(matches!(ex.outcome, Outcome::Refused { .. }));
        assert!(!up.is_open(), "a refused query opens nothing");
        let q = query(2, "api.partner.com.", RecordType::A);
        let ex = exchange(&q, &mut up, UPSTREAM_TIMEOUT, |_| Decision::Forward).await;
        assert!(matches!(ex.outcome, Outcome::Failed { .. }), "{ex:?}");
        assert!(!up.is_open(), "a failed upstream is dropped");
        for id in 3..6 {
            let q = query(id, "api.partner.com.", RecordType::A);
            let ex = exchange(&q, &mut up, UPSTREAM_TIMEOUT, |_| Decision::Forward).await;
            assert!(matches!(ex.outcome, Outcome::Answered { .. }), "{ex:?}");
        }
        assert_eq!(
            opened.load(Ordering::Relaxed),
            2,
            "reopened once, then kept"
        );
    }
}
