//! What the agent's L7 proxies report into the pipeline: one [`DnsRecord`] per query the
//! DNS proxy judged and per answer it relayed, one [`HttpRecord`] per request the HTTP
//! proxy judged and per response the client got. They become Hubble `Type: L7` flows in
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

/// An HTTP request or response as the HTTP proxy saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRecord {
    /// When the proxy read the request's head, or wrote the response's.
    pub time: SystemTime,
    /// The request (client → server) or the response (server → client).
    pub kind: HttpKind,
    /// The client: the request's source.
    pub client: SocketAddr,
    /// The connection's original destination.
    pub server: SocketAddr,
    /// The client's security identity.
    pub client_identity: u32,
    /// The server's security identity.
    pub server_identity: u32,
    /// Whose policy decided: the client's egress or the server's ingress.
    pub direction: HttpDirection,
    /// The endpoint whose policy decided (0 when it is not on this node).
    pub endpoint_id: u32,
    /// The method.
    pub method: String,
    /// `http://host/path`.
    pub url: String,
    /// `HTTP/1.1`.
    pub protocol: String,
    /// The request's headers.
    pub headers: Vec<(String, String)>,
    /// The status the client got (responses).
    pub code: u32,
    /// Forwarded, denied by policy (403), or failed upstream (503).
    pub verdict: HttpVerdict,
    /// Request to response, for responses.
    pub latency: Option<Duration>,
    /// The rule that allowed the request.
    pub allowed_by: Option<RuleInfo>,
    /// For a denied request: the rule closest to allowing it.
    pub closest_rule: Option<RuleInfo>,
    /// The HTTP rule that allowed it, or came closest (`GET /health`).
    pub l7_rule: Option<String>,
}

/// Which half of an exchange an HTTP record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpKind {
    /// The request.
    Request,
    /// The response the client got (the upstream's, or the proxy's 403 or 503).
    Response,
}

/// Whose policy decided an HTTP request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpDirection {
    /// The client's egress policy.
    Egress,
    /// The server's ingress policy.
    Ingress,
}

/// What the HTTP proxy did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpVerdict {
    /// Allowed and forwarded.
    Forwarded,
    /// Denied by policy: answered 403.
    Denied,
    /// Allowed, but the upstream failed: answered 503.
    Error,
}
