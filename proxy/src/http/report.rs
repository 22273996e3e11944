//! What the HTTP proxy tells the agent about each request ([`HttpReport`], sent on a
//! bounded channel: a full channel loses the report, counted) and its counters
//! ([`Stats`]).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use enforcer::engine::HttpJudgement;

/// What became of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed and answered by the upstream.
    Forwarded,
    /// Denied: answered 403 by the proxy.
    Denied,
    /// Allowed, but the upstream failed: answered 503 by the proxy.
    Error,
}

/// A request's head, kept as hyper read it (cheap reference-counted clones) and turned
/// into flow text by the reader of the report, off the proxy's path.
#[derive(Clone, Debug)]
pub struct RequestHead {
    /// The method.
    pub method: hyper::Method,
    /// The request target.
    pub uri: hyper::Uri,
    /// The HTTP version.
    pub version: hyper::Version,
    /// The request's headers, as received (before any rule's header edits).
    pub headers: hyper::HeaderMap,
}

impl RequestHead {
    /// `http://host/path?query`, the host being the request's (or `server` without one).
    pub fn url(&self, server: SocketAddr) -> String {
        let view = super::request::Head::of(&self.uri, &self.headers);
        view.url(server)
    }

    /// `HTTP/1.1` or `HTTP/1.0`.
    pub fn protocol(&self) -> String {
        format!("{:?}", self.version)
    }

    /// The headers as flows show them (credentials redacted).
    pub fn shown_headers(&self) -> Vec<(String, String)> {
        shown_headers(&self.headers)
    }
}

/// One handled request.
#[derive(Clone, Debug)]
pub struct HttpReport {
    /// The client (the pod, or a peer of an ingress rule).
    pub client: SocketAddr,
    /// The connection's original destination.
    pub server: SocketAddr,
    /// When the request's head was read.
    pub received: SystemTime,
    /// The request.
    pub request: RequestHead,
    /// The engine's judgement.
    pub judgement: HttpJudgement,
    /// What became of it.
    pub verdict: Verdict,
    /// The status the client got (0 when the connection failed before an answer).
    pub status: u16,
    /// From the request's head to the response's head.
    pub latency: Duration,
}

/// The proxy's counters.
#[derive(Debug, Default)]
pub struct Stats {
    /// Downstream connections accepted.
    pub connections: AtomicU64,
    /// Requests read and judged: `forwarded + denied + upstream_errors` once none is in
    /// flight.
    pub requests: AtomicU64,
    /// Requests forwarded and answered by the upstream.
    pub forwarded: AtomicU64,
    /// Requests denied (403).
    pub denied: AtomicU64,
    /// Requests whose upstream failed (503).
    pub upstream_errors: AtomicU64,
    /// Connections closed on a request the proxy could not parse (400, or 431 for a head
    /// over the size limit).
    pub parse_errors: AtomicU64,
    /// Connections closed because a request head did not arrive in time.
    pub header_timeouts: AtomicU64,
    /// Reports the agent never got (its channel was full).
    pub reports_lost: AtomicU64,
}

impl Stats {
    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The value of `counter`.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Headers whose values flows never show.
const REDACTED: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];

/// The headers of a request as flows show them.
fn shown_headers(headers: &hyper::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            let value = if REDACTED.contains(&k.as_str()) {
                "HUBBLE_REDACTED".to_string()
            } else {
                String::from_utf8_lossy(v.as_bytes()).into_owned()
            };
            (k.as_str().to_string(), value)
        })
        .collect()
}
