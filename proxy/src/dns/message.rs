//! DNS messages as the proxy sees them: the question of a query, the summary of an answer
//! (what Hubble's `l7.dns` carries: name, addresses with TTLs, CNAMEs, rcode, question and
//! record types), and the refusal the proxy writes for a denied query. Parsing is
//! hickory-proto's; anything it rejects, or a message that is not what its direction needs,
//! is a [`DnsError`], never a panic.

use std::net::IpAddr;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::{Name, RData};

/// Why bytes are not a usable DNS message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// The bytes do not parse as a DNS message.
    #[error("malformed DNS message: {0}")]
    Malformed(String),
    /// A response where a query was expected, or the reverse.
    #[error("a DNS {found} where a {expected} was expected")]
    Direction {
        /// `query` or `response`.
        expected: &'static str,
        /// What arrived.
        found: &'static str,
    },
    /// Not a standard query (an update, a notify...), or no question in it.
    #[error("not a standard query with a question (opcode {opcode}, {questions} questions)")]
    NotAQuestion {
        /// The message's opcode.
        opcode: u8,
        /// How many questions it had.
        questions: usize,
    },
}

/// The question of a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// The message ID.
    pub id: u16,
    /// The first question's name: lower-case, fully qualified (`api.partner.com.`).
    pub name: String,
    /// Every question's type (`A`, `AAAA`...), as Hubble prints them.
    pub qtypes: Vec<String>,
}

/// What an answer said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// The message ID.
    pub id: u16,
    /// The response code (0 NOERROR, 3 NXDOMAIN, 5 REFUSED...).
    pub rcode: u16,
    /// The first question's name, as in [`Question::name`] (empty without a question).
    pub name: String,
    /// Addresses of the A and AAAA records, each with its TTL in seconds, in message order.
    pub ips: Vec<(IpAddr, u32)>,
    /// Targets of the CNAME records, lower-case and fully qualified.
    pub cnames: Vec<String>,
    /// The questions' types.
    pub qtypes: Vec<String>,
    /// The answer records' types, in message order, without repeats.
    pub rrtypes: Vec<String>,
}

impl Answer {
    /// The shortest TTL of the addresses (Hubble's `ttl`), 0 without addresses.
    pub fn ttl(&self) -> u32 {
        self.ips.iter().map(|(_, ttl)| *ttl).min().unwrap_or(0)
    }
}

/// How a denied query is answered (Cilium's `--tofqdns-dns-reject-response-code`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Refusal {
    /// REFUSED (rcode 5), the default.
    #[default]
    Refused,
    /// NXDOMAIN (rcode 3), for resolvers (musl) that stop searching on REFUSED.
    NameError,
}

impl Refusal {
    /// The response code written.
    pub fn response_code(self) -> ResponseCode {
        match self {
            Self::Refused => ResponseCode::Refused,
            Self::NameError => ResponseCode::NXDomain,
        }
    }
}

impl std::str::FromStr for Refusal {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "refused" => Ok(Self::Refused),
            "nameError" => Ok(Self::NameError),
            other => Err(format!("{other:?}: expected refused or nameError")),
        }
    }
}

/// Reads the question of a query.
pub fn parse_query(bytes: &[u8]) -> Result<Question, DnsError> {
    let message = decode(bytes)?;
    expect(&message, MessageType::Query)?;
    if message.metadata.op_code != OpCode::Query || message.queries.is_empty() {
        return Err(DnsError::NotAQuestion {
            opcode: u8::from(message.metadata.op_code),
            questions: message.queries.len(),
        });
    }
    Ok(Question {
        id: message.metadata.id,
        name: canonical(message.queries[0].name()),
        qtypes: qtypes(&message),
    })
}

/// Reads what an answer says.
pub fn parse_response(bytes: &[u8]) -> Result<Answer, DnsError> {
    let message = decode(bytes)?;
    expect(&message, MessageType::Response)?;
    let mut answer = Answer {
        id: message.metadata.id,
        rcode: u16::from(message.metadata.response_code),
        name: message
            .queries
            .first()
            .map(|q| canonical(q.name()))
            .unwrap_or_default(),
        qtypes: qtypes(&message),
        ..Answer::default()
    };
    for record in &message.answers {
        let rrtype = record.record_type().to_string();
        if !answer.rrtypes.contains(&rrtype) {
            answer.rrtypes.push(rrtype);
        }
        match &record.data {
            RData::A(a) => answer.ips.push((IpAddr::V4(a.0), record.ttl)),
            RData::AAAA(aaaa) => answer.ips.push((IpAddr::V6(aaaa.0), record.ttl)),
            RData::CNAME(target) => answer.cnames.push(canonical(&target.0)),
            _ => {}
        }
    }
    Ok(answer)
}

/// The answer to a denied query: its ID, question and recursion flag, with `refusal`'s
/// response code and no records.
pub fn refusal(query: &[u8], refusal: Refusal) -> Result<Vec<u8>, DnsError> {
    let message = decode(query)?;
    expect(&message, MessageType::Query)?;
    let mut reply = Message::error_msg(
        message.metadata.id,
        message.metadata.op_code,
        refusal.response_code(),
    );
    reply.metadata.recursion_desired = message.metadata.recursion_desired;
    reply.metadata.recursion_available = true;
    reply.add_queries(message.queries.iter().cloned());
    reply
        .to_vec()
        .map_err(|e| DnsError::Malformed(e.to_string()))
}

fn decode(bytes: &[u8]) -> Result<Message, DnsError> {
    Message::from_vec(bytes).map_err(|e| DnsError::Malformed(e.to_string()))
}

fn expect(message: &Message, want: MessageType) -> Result<(), DnsError> {
    let name = |t: MessageType| match t {
        MessageType::Query => "query",
        MessageType::Response => "response",
    };
    if message.metadata.message_type == want {
        Ok(())
    } else {
        Err(DnsError::Direction {
            expected: name(want),
            found: name(message.metadata.message_type),
        })
    }
}

fn qtypes(message: &Message) -> Vec<String> {
    message
        .queries
        .iter()
        .map(|q| q.query_type().to_string())
        .collect()
}

/// Lower-case, with the final dot.
fn canonical(name: &Name) -> String {
    let mut text = name.to_ascii().to_ascii_lowercase();
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}

#[cfg(test)]
pub(crate) mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use std::net::SocketAddr;
    use std::time::Duration;

    use hickory_proto::op::Query;
    use hickory_proto::rr::rdata::{A, AAAA, CNAME};
    use hickory_proto::rr::{Record, RecordType};

    use tokio::net::UdpSocket;

    use super::*;
    use crate::dns::exchange::MAX_MESSAGE;

    /// A query for `name` of `qtype`, as a stub resolver writes it.
    pub(crate) fn query(id: u16, name: &str, qtype: RecordType) -> Vec<u8> {
        let mut m = Message::new(id, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
        m.to_vec().unwrap()
    }

    /// The answer to `query` with these records.
    pub(crate) fn answer(query: &[u8], records: Vec<Record>) -> Vec<u8> {
        let q = Message::from_vec(query).unwrap();
        let mut m = Message::response(q.metadata.id, OpCode::Query);
        m.add_queries(q.queries.iter().cloned());
        for r in records {
            m.add_answer(r);
        }
        m.to_vec().unwrap()
    }

    /// A DNS server on loopback answering every A query with 203.0.113.10, TTL 60, after
    /// `delay`; a stray reply with a wrong ID goes first.
    pub(crate) async fn server(delay: Duration) -> SocketAddr {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(serve(socket, delay));
        addr
    }

    /// Serves [`server`]'s answers on `socket`.
    pub(crate) async fn serve(socket: UdpSocket, delay: Duration) {
        let mut buf = vec![0; MAX_MESSAGE];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            let Some(replies) = replies(&buf[..n]) else {
                continue;
            };
            tokio::time::sleep(delay).await;
            for reply in replies {
                let _ = socket.send_to(&reply, peer).await;
            }
        }
    }

    /// What [`server`] sends back for `query`: a stray reply with a wrong ID, then the
    /// answer (203.0.113.10, TTL 60); `None` for what is not a query.
    pub(crate) fn replies(query: &[u8]) -> Option<[Vec<u8>; 2]> {
        let name = parse_query(query).ok()?.name;
        let mut stray = answer(query, vec![]);
        stray[0] ^= 0xff;
        let reply = answer(query, vec![a(&name, 60, Ipv4Addr::new(203, 0, 113, 10))]);
        Some([stray, reply])
    }

    pub(crate) fn a(name: &str, ttl: u32, ip: Ipv4Addr) -> Record {
        Record::from_rdata(Name::from_ascii(name).unwrap(), ttl, RData::A(A(ip)))
    }

    #[test]
    fn a_query_gives_its_name_in_canonical_form_and_its_types() {
        let q = parse_query(&query(7, "API.Partner.com.", RecordType::AAAA)).unwrap();
        assert_eq!(
            q,
            Question {
                id: 7,
                name: "api.partner.com.".into(),
                qtypes: vec!["AAAA".into()],
            }
        );
    }

    #[test]
    fn an_answer_gives_addresses_ttls_cnames_and_types_as_hubble_shows_them() {
        let q = query(9, "www.partner.com.", RecordType::A);
        let target = Name::from_ascii("Edge.CDN.example.").unwrap();
        let records = vec![
            Record::from_rdata(
                Name::from_ascii("www.partner.com.").unwrap(),
                300,
                RData::CNAME(CNAME(target)),
            ),
            a("edge.cdn.example.", 60, Ipv4Addr::new(203, 0, 113, 10)),
            a("edge.cdn.example.", 30, Ipv4Addr::new(203, 0, 113, 11)),
            Record::from_rdata(
                Name::from_ascii("edge.cdn.example.").unwrap(),
                90,
                RData::AAAA(AAAA(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))),
            ),
        ];
        let answer = parse_response(&super::tests::answer(&q, records)).unwrap();
        assert_eq!(answer.id, 9);
        assert_eq!(answer.rcode, 0);
        assert_eq!(answer.name, "www.partner.com.");
        assert_eq!(answer.cnames, vec!["edge.cdn.example.".to_string()]);
        assert_eq!(answer.rrtypes, vec!["CNAME", "A", "AAAA"]);
        assert_eq!(answer.qtypes, vec!["A"]);
        assert_eq!(answer.ips.len(), 3);
        assert_eq!(answer.ips[0], ("203.0.113.10".parse().unwrap(), 60));
        assert_eq!(answer.ttl(), 30);
    }

    #[test]
    fn a_refusal_keeps_the_id_and_question_and_carries_the_chosen_code() {
        let q = query(4242, "evil.example.", RecordType::A);
        for (kind, code) in [(Refusal::Refused, 5), (Refusal::NameError, 3)] {
            let reply = parse_response(&refusal(&q, kind).unwrap()).unwrap();
            assert_eq!((reply.id, reply.rcode), (4242, code));
            assert_eq!(reply.name, "evil.example.");
            assert!(reply.ips.is_empty());
        }
        assert_eq!("nameError".parse(), Ok(Refusal::NameError));
        assert!("NXDOMAIN".parse::<Refusal>().is_err());
    }

    #[test]
    fn malformed_or_misdirected_messages_are_errors() {
        assert!(matches!(parse_query(&[]), Err(DnsError::Malformed(_))));
        assert!(matches!(
            parse_query(&[0xff; 11]),
            Err(DnsError::Malformed(_))
        ));
        let q = query(1, "a.io.", RecordType::A);
        let response = super::tests::answer(&q, vec![]);
        assert!(matches!(
            parse_query(&response),
            Err(DnsError::Direction {
                expected: "query",
                found: "response"
            })
        ));
        assert!(matches!(
            parse_response(&q),
            Err(DnsError::Direction {
                expected: "response",
                ..
            })
        ));
        let mut empty = Message::new(1, MessageType::Query, OpCode::Query);
        empty.metadata.recursion_desired = true;
        assert!(matches!(
            parse_query(&empty.to_vec().unwrap()),
            Err(DnsError::NotAQuestion { questions: 0, .. })
        ));
        // Every truncation of a valid query is an error or a question, never a panic.
        for end in 0..q.len() {
            let _ = parse_query(&q[..end]);
            let _ = parse_response(&q[..end]);
            let _ = refusal(&q[..end], Refusal::Refused);
        }
    }
}
