//! One query through the proxy: read its question, judge it, and either answer it with a
//! refusal or forward it 1:1 to its original destination and relay the answer (no cache,
//! one upstream try, 10 s by default). The outcome ([`Exchange`]) is what the agent turns
//! into DNS flows and FQDN cache updates. DNS over TCP uses the same exchange with the
//! two-byte length framing of RFC 1035 §4.2.2 ([`read_framed`], [`write_framed`]).

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

/// Runs one UDP query: `decide` judges the question; an allowed query goes out on
/// `upstream` (a socket connected to the query's original destination) and the first
/// reply with the query's ID within `timeout` is relayed.
pub async fn exchange_udp(
    query: &[u8],
    upstream: &UdpSocket,
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
        Decision::Forward => forward_udp(query, question.id, upstream, timeout).await,
    };
    Exchange {
        question: Some(question),
        outcome,
    }
}

fn refused(query: &[u8], kind: Refusal) -> Outcome {
    match refusal(query, kind) {
        Ok(reply) => Outcome::Refused { reply },
        Err(e) => Outcome::Malformed(e),
    }
}

async fn forward_udp(query: &[u8], id: u16, upstream: &UdpSocket, timeout: Duration) -> Outcome {
    let started = Instant::now();
    if let Err(e) = upstream.send(query).await {
        return Outcome::Failed {
            error: e.to_string(),
            reply: refusal(query, Refusal::Refused).ok(),
        };
    }
    let mut buf = vec![0; MAX_MESSAGE];
    let wait = async {
        loop {
            let n = upstream.recv(&mut buf).await?;
            // A stray datagram (another ID) is not our answer.
            if n >= 2 && u16::from_be_bytes([buf[0], buf[1]]) == id {
                return Ok::<usize, std::io::Error>(n);
            }
        }
    };
    match tokio::time::timeout(timeout, wait).await {
        Ok(Ok(n)) => {
            let reply = buf[..n].to_vec();
            Outcome::Answered {
                answer: parse_response(&reply),
                reply,
                upstream: started.elapsed(),
            }
        }
        Ok(Err(e)) => Outcome::Failed {
            error: e.to_string(),
            reply: refusal(query, Refusal::Refused).ok(),
        },
        Err(_) => Outcome::TimedOut {
            reply: refusal(query, Refusal::Refused).unwrap_or_default(),
        },
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

    use super::*;
    use crate::dns::message::tests::{query, server};

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
}
