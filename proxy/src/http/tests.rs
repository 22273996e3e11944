//! The proxy on loopback between a hyper client and a small upstream: verdicts per
//! request on one keep-alive connection, streamed bodies, upstream failures, limits.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use enforcer::policy::http::{HttpRule, Pattern};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::report::{HttpReport, Stats, Verdict};
use super::server::{Config, Fixed, Handler, Judge, serve_connection};
use super::upstream::Direct;

fn rules() -> Arc<dyn Judge> {
    let rule = |m: &str, p: &str| HttpRule {
        method: Some(Pattern::new(m).unwrap()),
        path: Some(Pattern::new(p).unwrap()),
        ..HttpRule::default()
    };
    Arc::new(Fixed::ingress(
        "shop",
        "api",
        vec![rule("GET", "/health"), rule("POST", "/upload")],
    ))
}

/// An upstream that answers every request with `METHOD PATH BODY-LENGTH`.
async fn upstream() -> (SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = Arc::new(AtomicU64::new(0));
    let count = served.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let count = count.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let count = count.clone();
                    async move {
                        count.fetch_add(1, Ordering::Relaxed);
                        let line = format!("{} {} ", req.method(), req.uri());
                        let len = req.into_body().collect().await?.to_bytes().len();
                        Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from(format!(
                            "{line}{len}"
                        )))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, served)
}

struct Proxy {
    addr: SocketAddr,
    stats: Arc<Stats>,
    reports: mpsc::Receiver<HttpReport>,
}

/// The proxy on loopback; every connection's original destination is `server`.
async fn proxy(server: SocketAddr, config: Config) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stats = Arc::new(Stats::default());
    let (tx, rx) = mpsc::channel(64);
    let handler = Handler::new(rules(), Arc::new(Direct), tx, stats.clone(), config);
    tokio::spawn(async move {
        loop {
            let (stream, client) = listener.accept().await.unwrap();
            tokio::spawn(serve_connection(stream, client, server, handler.clone()));
        }
    });
    Proxy {
        addr,
        stats,
        reports: rx,
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn client(addr: SocketAddr) -> Sender {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

async fn send(s: &mut Sender, method: &str, path: &str, body: Bytes) -> (StatusCode, String) {
    s.ready().await.unwrap();
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "api:8080")
        .body(Full::new(body))
        .unwrap();
    let resp = s.send_request(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn one_keep_alive_connection_mixes_allowed_and_denied_requests() {
    let (up, served) = upstream().await;
    let mut p = proxy(up, Config::default()).await;
    let mut c = client(p.addr).await;
    assert_eq!(
        send(&mut c, "GET", "/health", Bytes::new()).await,
        (StatusCode::OK, "GET /health 0".into())
    );
    assert_eq!(
        send(&mut c, "POST", "/health", Bytes::new()).await,
        (StatusCode::FORBIDDEN, "Access denied\r\n".into())
    );
    assert_eq!(
        send(&mut c, "GET", "/admin", Bytes::new()).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&mut c, "GET", "/health", Bytes::new()).await.0,
        StatusCode::OK
    );
    assert_eq!(
        served.load(Ordering::Relaxed),
        2,
        "denied requests never reach it"
    );
    assert_eq!(Stats::get(&p.stats.connections), 1);
    assert_eq!(Stats::get(&p.stats.requests), 4);
    assert_eq!(Stats::get(&p.stats.forwarded), 2);
    assert_eq!(Stats::get(&p.stats.denied), 2);

    let first = p.reports.recv().await.unwrap();
    assert_eq!(first.verdict, Verdict::Forwarded);
    assert_eq!(first.status, 200);
    assert_eq!(first.request.method, "GET");
    assert_eq!(first.request.url(up), "http://api:8080/health");
    assert_eq!(first.request.protocol(), "HTTP/1.1");
    assert_eq!(first.judgement.http_rule().as_deref(), Some("GET /health"));
    let denied = p.reports.recv().await.unwrap();
    assert_eq!((denied.verdict, denied.status), (Verdict::Denied, 403));
    assert_eq!(denied.judgement.closest.unwrap().rule, "spec.ingress[0]");
}

#[tokio::test]
async fn a_large_body_streams_through() {
    let (up, _) = upstream().await;
    let p = proxy(up, Config::default()).await;
    let mut c = client(p.addr).await;
    let body = Bytes::from(vec![b'x'; 8 << 20]);
    assert_eq!(
        send(&mut c, "POST", "/upload", body).await,
        (StatusCode::OK, format!("POST /upload {}", 8 << 20))
    );
}

#[tokio::test]
async fn a_failed_upstream_is_a_503_and_an_error_report() {
    // A port nobody listens on.
    let gone = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = gone.local_addr().unwrap();
    drop(gone);
    let mut p = proxy(up, Config::default()).await;
    let mut c = client(p.addr).await;
    assert_eq!(
        send(&mut c, "GET", "/health", Bytes::new()).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(Stats::get(&p.stats.upstream_errors), 1);
    let r = p.reports.recv().await.unwrap();
    assert_eq!((r.verdict, r.status), (Verdict::Error, 503));
    // The connection stays usable, and a denial needs no upstream.
    assert_eq!(
        send(&mut c, "PUT", "/x", Bytes::new()).await.0,
        StatusCode::FORBIDDEN
    );
}

/// Writes `bytes` on a fresh connection and reads what comes back until it closes.
async fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    assert!(
        read.is_ok(),
        "the proxy closes the connection: {:?}",
        String::from_utf8_lossy(&out)
    );
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn garbage_and_oversized_heads_are_answered_and_counted() {
    let (up, served) = upstream().await;
    let p = proxy(up, Config::default()).await;
    let answer = raw(p.addr, b"\x00\x01 not http at all\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer:?}");
    let huge = format!(
        "GET /health HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n",
        "a".repeat(100_000)
    );
    let answer = raw(p.addr, huge.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:?}");
    assert_eq!(Stats::get(&p.stats.parse_errors), 2);
    assert_eq!(served.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn a_slow_head_is_cut_at_the_deadline() {
    let (up, _) = upstream().await;
    let config = Config {
        header_read_timeout: Duration::from_millis(200),
        ..Config::default()
    };
    let p = proxy(up, config).await;
    let answer = raw(p.addr, b"GET /health HTTP/1.1\r\nHost: a\r\n").await;
    assert!(!answer.contains("200 OK"), "{answer:?}");
    assert_eq!(Stats::get(&p.stats.header_timeouts), 1);
}

#[tokio::test]
async fn any_bytes_end_in_answers_and_balanced_counters_never_a_panic() {
    // A port nobody listens on: every allowed request fails upstream (503).
    let gone = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = gone.local_addr().unwrap();
    drop(gone);
    let inputs: [&[u8]; 8] = [
        b"GET /health HTTP/1.1\r\nHost: a\r\n\r\nPOST /x HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /health HTTP/1.1\r\nContent-Length: 5\r\n\r\nab",
        b"GET /health HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET /health HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"GET \xff\xfe HTTP/1.1\r\n\r\n",
        b"GET /health HTTP/9.9\r\n\r\n",
        b"\r\n\r\n\r\n",
        b"GET /health HTTP/1.1\r\nX: \x01\x02\r\n\r\n",
    ];
    for input in inputs {
        let stats = Arc::new(Stats::default());
        let (tx, _rx) = mpsc::channel(64);
        let config = Config {
            header_read_timeout: Duration::from_millis(100),
            ..Config::default()
        };
        let handler = Handler::new(rules(), Arc::new(Direct), tx, stats.clone(), config);
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let client_addr = "10.0.0.1:40000".parse().unwrap();
        let served = tokio::spawn(serve_connection(server, client_addr, up, handler));
        client.write_all(input).await.unwrap();
        client.shutdown().await.unwrap();
        let mut out = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut out)).await;
        assert!(read.is_ok(), "the proxy ends the connection for {input:?}");
        served.await.expect("no panic");
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        assert_eq!(
            n(&stats.requests),
            n(&stats.forwarded) + n(&stats.denied) + n(&stats.upstream_errors),
            "{input:?}"
        );
    }
}
