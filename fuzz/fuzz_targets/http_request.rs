//! Fuzzes the HTTP proxy's request path: any bytes a client sends on a connection end in
//! answers (403, 503, 400, 431) or a closed connection, never a panic or a hang, and the
//! counters balance (every request read is forwarded, denied or failed upstream).
#![no_main]

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use enforcer::policy::http::{HeaderRequirement, HttpRule, Pattern};
use libfuzzer_sys::fuzz_target;
use observe_proxy::http::server::{Config, Fixed, Handler, Judge, serve_connection};
use observe_proxy::http::{Stats, upstream::Direct};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn judge() -> Arc<dyn Judge> {
    let rule = HttpRule {
        method: Some(Pattern::new("GET|POST").expect("method")),
        path: Some(Pattern::new("/api/.*").expect("path")),
        headers: vec![HeaderRequirement::parse("X-Token: s3cret")],
        ..HttpRule::default()
    };
    Arc::new(Fixed::ingress("shop", "api", vec![rule]))
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    runtime().block_on(async {
        // Port 9 of loopback: nothing listens, so allowed requests fail upstream (503).
        let upstream: SocketAddr = "127.0.0.1:9".parse().expect("addr");
        let stats = Arc::new(Stats::default());
        let (tx, _rx) = tokio::sync::mpsc::channel(16);
        let config = Config {
            header_read_timeout: Duration::from_millis(50),
            ..Config::default()
        };
        let handler = Handler::new(judge(), Arc::new(Direct), tx, stats.clone(), config);
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let client_addr: SocketAddr = "10.0.0.1:40000".parse().expect("addr");
        let served = tokio::spawn(serve_connection(server, client_addr, upstream, handler));
        let _ = client.write_all(data).await;
        let _ = client.shutdown().await;
        let mut out = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), client.read_to_end(&mut out)).await;
        assert!(read.is_ok(), "the proxy must end the connection");
        served.await.expect("no panic in the proxy");
        let n = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        assert_eq!(
            n(&stats.requests),
            n(&stats.forwarded) + n(&stats.denied) + n(&stats.upstream_errors)
        );
    });
});
