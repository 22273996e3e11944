//! The least HTTP work a proxy can do, as a second baseline of the HTTP proxy benchmark:
//! each request head parsed with `httparse` (the parser hyper uses) and judged against the
//! same rules, the head and its `Content-Length` body relayed as read, each response head
//! parsed and relayed with its `Content-Length` body, a denied request answered 403.
//!
//! It is a bound, not a proxy: it strips no hop-by-hop header, applies no header edit,
//! reports nothing, has no timeouts or limits, and knows no framing but `Content-Length`
//! (the benchmark sends nothing else). Whatever a hand-written relay built on `httparse`
//! would reach lies between it and the byte relay.

use std::net::SocketAddr;
use std::sync::Arc;

use enforcer::engine::HttpPolicy;
use enforcer::policy::http::RequestView;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const FORBIDDEN: &[u8] =
    b"HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 15\r\n\r\nAccess denied\r\n";

/// Serves the lean bound in front of `server`, judging with `policy`.
pub async fn serve(server: SocketAddr, policy: Arc<HttpPolicy>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind lean");
    let addr = listener.local_addr().expect("lean address");
    tokio::task::spawn_local(async move {
        while let Ok((downstream, _)) = listener.accept().await {
            let _ = downstream.set_nodelay(true);
            let policy = policy.clone();
            tokio::task::spawn_local(async move {
                let _ = connection(downstream, server, &policy).await;
            });
        }
    });
    addr
}

/// A parsed request head as the rules see it.
struct View<'a> {
    method: &'a str,
    path: &'a str,
    headers: &'a [httparse::Header<'a>],
}

impl RequestView for View<'_> {
    fn method(&self) -> &str {
        self.method
    }

    fn path(&self) -> &str {
        self.path
    }

    fn host(&self) -> &str {
        self.header_values("host").first().copied().unwrap_or("")
    }

    fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .filter_map(|h| std::str::from_utf8(h.value).ok())
            .collect()
    }
}

/// The `Content-Length` among `headers` (0 without one).
fn content_length(headers: &[httparse::Header<'_>]) -> Option<usize> {
    match headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
    {
        Some(h) => std::str::from_utf8(h.value).ok()?.trim().parse().ok(),
        None => Some(0),
    }
}

/// A parsed head's length and what it carries; `Ok(None)` while incomplete, `Err` for a
/// bad head.
type Parsed<T> = Result<Option<(usize, T)>, ()>;

/// Reads onto `buf` until a whole head parses with `parse`; `None` at the end of the
/// stream or on a bad head.
async fn head<T>(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    parse: impl Fn(&[u8]) -> Parsed<T>,
) -> Option<(usize, T)> {
    loop {
        if let Some(parsed) = parse(buf).ok()? {
            return Some(parsed);
        }
        read_more(stream, buf).await?;
    }
}

/// One read from `stream` onto `buf`; `None` at the end of the stream or on an error.
async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<()> {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream.read(&mut chunk).await.ok()?;
    if n == 0 {
        return None;
    }
    buf.extend_from_slice(&chunk[..n]);
    Some(())
}

/// Relays `len` bytes from `from` (those already in `buf` first) to `to`, keeping what
/// `buf` holds past them.
async fn relay(
    from: &mut TcpStream,
    to: &mut TcpStream,
    buf: &mut Vec<u8>,
    len: usize,
) -> Option<()> {
    while buf.len() < len {
        read_more(from, buf).await?;
    }
    to.write_all(&buf[..len]).await.ok()?;
    buf.drain(..len);
    Some(())
}

/// A request head: whether the rules allow it, and its body's length.
fn request(buf: &[u8], policy: &HttpPolicy) -> Parsed<(bool, usize)> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(len) = req.parse(buf).map_err(|_| ())? else {
        return Ok(None);
    };
    let view = View {
        method: req.method.unwrap_or(""),
        path: req.path.unwrap_or("/"),
        headers: req.headers,
    };
    let allowed = policy.judge(&view).allowed;
    Ok(Some((
        len,
        (allowed, content_length(req.headers).ok_or(())?),
    )))
}

/// A response head: its body's length.
fn response(buf: &[u8]) -> Parsed<usize> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(len) = resp.parse(buf).map_err(|_| ())? else {
        return Ok(None);
    };
    Ok(Some((len, content_length(resp.headers).ok_or(())?)))
}

async fn connection(
    mut downstream: TcpStream,
    server: SocketAddr,
    policy: &HttpPolicy,
) -> Option<()> {
    let mut upstream = TcpStream::connect(server).await.ok()?;
    upstream.set_nodelay(true).ok()?;
    let (mut down, mut up) = (Vec::new(), Vec::new());
    loop {
        let (len, (allowed, body)) =
            head(&mut downstream, &mut down, |b| request(b, policy)).await?;
        if !allowed {
            // The body, as far as it came, is dropped with the head (the bench sends none).
            down.drain(..(len + body).min(down.len()));
            downstream.write_all(FORBIDDEN).await.ok()?;
            continue;
        }
        relay(&mut downstream, &mut upstream, &mut down, len + body).await?;
        let (len, body) = head(&mut upstream, &mut up, response).await?;
        relay(&mut upstream, &mut downstream, &mut up, len + body).await?;
    }
}
