//! HTTP/1.1 for the lab: [`HttpServer`], a keep-alive server inside a namespace that answers
//! every request `200 OK` with `METHOD TARGET BODY-LENGTH from CLIENT-IP` (so a test sees
//! what arrived and from which address), and [`http_requests`], a client that sends
//! requests one after another on one connection and reads each response. Both speak just
//! enough HTTP for the lab: `Content-Length` bodies only.

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::worker::{POLL, StopFlag, Worker, stopped};
use crate::error::LabError;
use crate::inside;

/// Largest head either side reads.
const MAX_HEAD: usize = 64 * 1024;

/// An HTTP server listening inside a namespace; each connection is served on its own
/// thread. Dropping the server stops it and joins every thread.
#[derive(Debug)]
pub struct HttpServer {
    local_addr: SocketAddr,
    clients: Arc<Mutex<Vec<IpAddr>>>,
    _worker: Worker,
}

impl HttpServer {
    /// Starts listening on `addr` inside `netns`.
    ///
    /// # Errors
    ///
    /// [`LabError::Bind`] when the address cannot be bound; namespace errors as for
    /// [`crate::in_netns`].
    pub fn start(netns: &str, addr: SocketAddr) -> Result<HttpServer, LabError> {
        let clients = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&clients);
        let bind = move || {
            let listener = TcpListener::bind(addr)?;
            listener.set_nonblocking(true)?;
            let local = listener.local_addr()?;
            Ok((listener, local))
        };
        let serve = move |listener, stop| accept_loop(&listener, &stop, &seen);
        let (worker, local_addr) = Worker::start(netns, addr, bind, serve)?;
        Ok(HttpServer {
            local_addr,
            clients,
            _worker: worker,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The source address of every request answered so far, in order.
    pub fn clients(&self) -> Vec<IpAddr> {
        self.clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

fn accept_loop(listener: &TcpListener, stop: &StopFlag, clients: &Arc<Mutex<Vec<IpAddr>>>) {
    let mut connections: Vec<JoinHandle<()>> = Vec::new();
    while !stopped(stop) {
        match listener.accept() {
            Ok((stream, peer)) => {
                let stop = StopFlag::clone(stop);
                let clients = Arc::clone(clients);
                match thread::Builder::new()
                    .name("lab-http".into())
                    .spawn(move || serve(stream, peer.ip(), &stop, &clients))
                {
                    Ok(handle) => connections.push(handle),
                    Err(e) => eprintln!("lab: http thread: {e}"),
                }
                connections.retain(|c| !c.is_finished());
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(POLL),
            Err(e) => {
                eprintln!("lab: http accept: {e}");
                thread::sleep(POLL);
            }
        }
    }
    for connection in connections {
        let _ = connection.join();
    }
}

/// Serves requests on `stream` until the peer closes it or the server stops.
fn serve(stream: TcpStream, peer: IpAddr, stop: &StopFlag, clients: &Mutex<Vec<IpAddr>>) {
    if stream.set_nonblocking(false).is_err() || stream.set_read_timeout(Some(POLL)).is_err() {
        return;
    }
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while !stopped(stop) {
        let head = match read_head(&mut reader, stop) {
            Ok(Some(head)) => head,
            _ => return,
        };
        let Some((method, target)) = request_line(&head.first) else {
            return;
        };
        let Ok(len) = read_body(&mut reader, head.content_length, stop) else {
            return;
        };
        clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(peer);
        let body = format!("{method} {target} {len} from {peer}");
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n{body}",
            body.len()
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// A message head: its first line and its body length.
struct Head {
    first: String,
    content_length: usize,
}

/// Reads a head; `None` when the peer closed the connection before one began.
fn read_head(reader: &mut BufReader<TcpStream>, stop: &StopFlag) -> io::Result<Option<Head>> {
    let mut first = String::new();
    let mut content_length = 0;
    let mut size = 0;
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) => return Ok(None),
            Ok(n) => size += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if stopped(stop) {
                    return Ok(None);
                }
                continue;
            }
            Err(e) => return Err(e),
        }
        if size > MAX_HEAD {
            return Err(ErrorKind::InvalidData.into());
        }
        let line = line.trim_end();
        if first.is_empty() {
            if line.is_empty() {
                continue;
            }
            first = line.to_string();
        } else if line.is_empty() {
            return Ok(Some(Head {
                first,
                content_length,
            }));
        } else if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            content_length = value.trim().parse().map_err(|_| ErrorKind::InvalidData)?;
        }
    }
}

fn request_line(line: &str) -> Option<(String, String)> {
    let mut parts = line.split(' ');
    Some((parts.next()?.to_string(), parts.next()?.to_string()))
}

/// Reads and discards a body of `len` bytes; returns `len`.
fn read_body(reader: &mut BufReader<TcpStream>, len: usize, stop: &StopFlag) -> io::Result<usize> {
    let mut left = len;
    let mut buf = [0u8; 16 * 1024];
    while left > 0 {
        match reader.read(&mut buf[..left.min(16 * 1024)]) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(n) => left -= n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if stopped(stop) {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(len)
}

/// One request of [`http_requests`].
#[derive(Clone, Debug, Default)]
pub struct HttpRequest {
    /// The method.
    pub method: String,
    /// The request target.
    pub path: String,
    /// Extra headers (a `Host` header is always sent).
    pub headers: Vec<(String, String)>,
    /// The body's length (bytes of `x`).
    pub body: usize,
}

impl HttpRequest {
    /// A request without headers or body.
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.into(),
            path: path.into(),
            ..Self::default()
        }
    }
}

/// A response: its status and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: String,
}

/// Sends `requests` from inside `netns` to `addr`, one after another on one connection,
/// each bounded by `timeout`. Returns the responses read; fewer than the requests when
/// the connection failed, was refused or closed (none when it never opened).
///
/// # Errors
///
/// Only when `netns` cannot be entered.
pub fn http_requests(
    netns: &str,
    addr: SocketAddr,
    requests: &[HttpRequest],
    timeout: Duration,
) -> Result<Vec<HttpResponse>, LabError> {
    inside::in_netns(netns, || {
        let mut out = Vec::new();
        let _ = exchange(addr, requests, timeout, &mut out);
        out
    })
}

fn exchange(
    addr: SocketAddr,
    requests: &[HttpRequest],
    timeout: Duration,
    out: &mut Vec<HttpResponse>,
) -> io::Result<()> {
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let never = StopFlag::default();
    for r in requests {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n",
            r.method, r.path, r.body
        );
        for (k, v) in &r.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        writer.write_all(head.as_bytes())?;
        let chunk = vec![b'x'; 64 * 1024];
        let mut left = r.body;
        while left > 0 {
            let n = left.min(chunk.len());
            writer.write_all(&chunk[..n])?;
            left -= n;
        }
        let Some(head) = read_head(&mut reader, &never)? else {
            return Err(ErrorKind::UnexpectedEof.into());
        };
        let status = head
            .first
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or(ErrorKind::InvalidData)?;
        let mut body = vec![0; head.content_length];
        reader.read_exact(&mut body)?;
        out.push(HttpResponse {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
    }
    Ok(())
}
