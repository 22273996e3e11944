//! A small HTTP/1.1 responder for the metrics page: `GET /metrics` answers the text
//! format, `GET /healthz` answers `ok`, other paths 404 and other methods 405.
//!
//! Scrapers send one short request; so each connection gets one response and is closed,
//! requests are read under a deadline and a size limit, and at most [`MAX_CONNECTIONS`]
//! are served at once. That keeps a slow or hostile client from holding memory or tasks,
//! without pulling an HTTP framework into the agent.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::Metrics;
use super::text::CONTENT_TYPE;

/// What a metrics page shows: the agent's [`Metrics`], or another program's (the relay).
pub trait Page: Send + Sync + 'static {
    /// The page in the text format.
    fn render(&self) -> String;
}

impl Page for Metrics {
    fn render(&self) -> String {
        Metrics::render(self)
    }
}

/// Largest request head read.
const MAX_REQUEST: usize = 8 * 1024;
/// Time a client has to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; more wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 16;

/// Serves `metrics` on `listener` until `shutdown` resolves.
///
/// # Errors
///
/// Accepting connections failed.
pub async fn serve<P: Page>(
    listener: TcpListener,
    metrics: Arc<P>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => return Ok(()),
            permit = Arc::clone(&slots).acquire_owned() => permit,
        };
        let Ok(permit) = permit else {
            return Ok(());
        };
        let (stream, _) = tokio::select! {
            () = &mut shutdown => return Ok(()),
            accepted = listener.accept() => accepted?,
        };
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = respond(stream, &*metrics).await {
                tracing::debug!(error = %e, "metrics request failed");
            }
        });
    }
}

async fn respond(mut stream: TcpStream, metrics: &dyn Page) -> std::io::Result<()> {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(head) => head?,
        Err(_) => return Ok(()),
    };
    let (status, content_type, body) = route(&head, metrics);
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    if !head.starts_with("HEAD ") {
        stream.write_all(body.as_bytes()).await?;
    }
    stream.shutdown().await
}

/// Plain text, for everything but the metrics page.
const PLAIN: &str = "text/plain; charset=utf-8";

/// The status line, content type and body for a request head.
fn route(head: &str, metrics: &dyn Page) -> (&'static str, &'static str, String) {
    let mut words = head.lines().next().unwrap_or_default().split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    if method != "GET" && method != "HEAD" {
        return ("405 Method Not Allowed", PLAIN, "only GET\n".into());
    }
    match path {
        "/metrics" => ("200 OK", CONTENT_TYPE, metrics.render()),
        "/healthz" => ("200 OK", PLAIN, "ok\n".into()),
        _ => ("404 Not Found", PLAIN, "see /metrics\n".into()),
    }
}

/// Reads up to the blank line that ends the request head (or [`MAX_REQUEST`] bytes).
async fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < MAX_REQUEST {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}
