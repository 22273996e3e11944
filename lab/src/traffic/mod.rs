//! Traffic helpers for probing reachability between lab namespaces: a TCP echo server and
//! client, a UDP echo server and client, `ping`, a DNS server and client, and an HTTP server and client. All of them are
//! bounded by timeouts, and all but `ping` are plain Rust sockets opened inside the namespace.
//! Each returns `true`/`false` for "got through"/"did not" (the DNS client: the reply, or
//! `None`); only failing to enter a namespace, start `ping` or bind a socket is an error.

mod dns;
mod http;
mod ping;
mod tcp;
mod udp;
mod worker;

pub use dns::{DnsReply, DnsServer, dns_query, dns_query_from};
pub use http::{HttpRequest, HttpResponse, HttpServer, http_requests};
pub use ping::ping;
pub use tcp::{TcpServer, tcp_connect};
pub use udp::{UdpEcho, udp_roundtrip};

use std::io;
use std::time::Instant;

/// What the clients send and expect back.
const PAYLOAD: &[u8] = b"obs-lab-probe";

/// The time left until `deadline`, or a `TimedOut` error once it has passed (socket timeouts
/// reject a zero duration).
fn remaining(deadline: Instant) -> io::Result<std::time::Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::ErrorKind::TimedOut.into());
    }
    Ok(left)
}
