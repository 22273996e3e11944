//! What the agent's L7 proxies report into the pipeline: one [`DnsRecord`] per query the
//! DNS proxy judged and per answer it relayed. They become Hubble `Type: L7` flows in
//! [`crate::decode`], next to the datapath's L3/L4 flows.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use crate::getters::RuleInfo;

/// A DNS query or answer as the DNS proxy saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsRecord {
    /// When the proxy saw it.
    pub time: SystemTime,
    /// The query (pod → server) or the answer (server → pod).
    pub kind: DnsKind,
    /// The pod that asked: the query's source, the answer's destination.
    pub client: SocketAddr,
    /// The DNS server the query was addressed to.
    pub server: SocketAddr,
    /// DNS over TCP rather than UDP.
    pub tcp: bool,
    /// The asking pod's endpoint id.
    pub endpoint_id: u32,
    /// The asking pod's security identity, and the server's.
    pub client_identity: u32,
    /// The server's security identity.
    pub server_identity: u32,
    /// The question's name, lower-case with the final dot.
    pub query: String,
    /// The questions' types (`A`, `AAAA`).
    pub qtypes: Vec<String>,
    /// What the answer said (answers only).
    pub answer: Option<DnsAnswer>,
    /// Forwarded, refused by policy, or failed (upstream timeout or error).
    pub verdict: DnsVerdict,
    /// Query to answer, for answers.
    pub latency: Option<Duration>,
    /// The DNS rule that allowed the query.
    pub allowed_by: Option<RuleInfo>,
    /// For a refused query: the rule closest to allowing it, if any.
    pub closest_rule: Option<RuleInfo>,
}

/// Which half of an exchange a record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsKind {
    /// The query, as the pod sent it.
    Query,
    /// The answer the pod got (relayed, or the proxy's refusal).
    Answer,
}

/// What the proxy did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsVerdict {
    /// Allowed and forwarded.
    Forwarded,
    /// Denied by policy: refused.
    Refused,
    /// Allowed, but the upstream did not answer in time or the forward failed.
    Error,
}

/// The answer's content.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DnsAnswer {
    /// The response code.
    pub rcode: u32,
    /// Addresses of the A and AAAA records.
    pub ips: Vec<std::net::IpAddr>,
    /// The shortest TTL of the addresses.
    pub ttl: u32,
    /// CNAME targets.
    pub cnames: Vec<String>,
    /// Record types of the answer.
    pub rrtypes: Vec<String>,
}
