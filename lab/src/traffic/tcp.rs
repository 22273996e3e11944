//! TCP reachability: [`TcpServer`], an echo server inside a namespace that counts accepted
//! connections, and [`tcp_connect`], a client that connects and checks the echo.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::worker::{POLL, StopFlag, Worker, stopped};
use super::{PAYLOAD, remaining};
use crate::error::LabError;
use crate::inside;

/// A TCP echo server listening inside a namespace. Each connection is echoed on its own thread
/// until the peer closes it. Dropping the server stops accepting, closes open connections and
/// joins every thread.
#[derive(Debug)]
pub struct TcpServer {
    local_addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    _worker: Worker,
}

impl TcpServer {
    /// Starts listening on `addr` inside `netns` (port 0 picks a free port, see
    /// [`TcpServer::local_addr`]). Returns once the socket is listening.
    ///
    /// # Errors
    ///
    /// [`LabError::Bind`] when the address cannot be bound (e.g. the namespace does not own it);
    /// namespace errors as for [`crate::in_netns`].
    pub fn start(netns: &str, addr: SocketAddr) -> Result<TcpServer, LabError> {
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        let bind = move || {
            let listener = TcpListener::bind(addr)?;
            // Non-blocking, so the accept loop can notice the stop flag.
            listener.set_nonblocking(true)?;
            let local = listener.local_addr()?;
            Ok((listener, local))
        };
        let serve = move |listener, stop| accept_loop(&listener, &stop, &counter);
        let (worker, local_addr) = Worker::start(netns, addr, bind, serve)?;
        Ok(TcpServer {
            local_addr,
            accepted,
            _worker: worker,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// How many connections the server has accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }
}

/// Accepts connections until stopped, echoing each on its own thread; joins them at the end.
fn accept_loop(listener: &TcpListener, stop: &StopFlag, accepted: &AtomicUsize) {
    let mut connections: Vec<JoinHandle<()>> = Vec::new();
    while !stopped(stop) {
        match listener.accept() {
            Ok((stream, _)) => {
                accepted.fetch_add(1, Ordering::Relaxed);
                let stop = StopFlag::clone(stop);
                match thread::Builder::new()
                    .name("lab-tcp-echo".into())
                    .spawn(move || echo(stream, &stop))
                {
                    Ok(handle) => connections.push(handle),
                    Err(e) => eprintln!("lab: tcp echo thread: {e}"),
                }
                connections.retain(|c| !c.is_finished());
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(POLL),
            Err(e) => {
                eprintln!("lab: tcp accept on {:?}: {e}", listener.local_addr());
                thread::sleep(POLL);
            }
        }
    }
    for connection in connections {
        let _ = connection.join();
    }
}

/// Echoes `stream` until the peer closes it, an error occurs or the server stops.
fn echo(mut stream: TcpStream, stop: &StopFlag) {
    // Accepted sockets inherit non-blocking mode on some systems; use a read timeout instead.
    if stream.set_nonblocking(false).is_err() || stream.set_read_timeout(Some(POLL)).is_err() {
        return;
    }
    let mut buf = [0u8; 4096];
    while !stopped(stop) {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}

/// Connects from inside `netns` to `addr`, sends a small payload and waits for the echo, all
/// within `timeout`. Returns `true` only if the echo came back intact; a refused, reset or
/// unanswered connection (or a wrong echo) gives `false`.
///
/// # Errors
///
/// Only when `netns` cannot be entered.
pub fn tcp_connect(netns: &str, addr: SocketAddr, timeout: Duration) -> Result<bool, LabError> {
    inside::in_netns(netns, || echo_roundtrip(addr, timeout).is_ok())
}

/// One connect, send, receive cycle, bounded by `timeout`.
fn echo_roundtrip(addr: SocketAddr, timeout: Duration) -> io::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_write_timeout(Some(remaining(deadline)?))?;
    stream.write_all(PAYLOAD)?;
    stream.set_read_timeout(Some(remaining(deadline)?))?;
    let mut reply = [0u8; PAYLOAD.len()];
    stream.read_exact(&mut reply)?;
    if reply == PAYLOAD {
        Ok(())
    } else {
        Err(ErrorKind::InvalidData.into())
    }
}
