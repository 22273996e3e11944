//! UDP reachability: [`UdpEcho`], an echo server inside a namespace, and [`udp_roundtrip`], a
//! client that sends a datagram and waits for it to come back.

use std::io::{self, ErrorKind};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::worker::{POLL, StopFlag, Worker, stopped};
use super::{PAYLOAD, remaining};
use crate::error::LabError;
use crate::inside;

/// How long the client waits for an echo before sending the datagram again.
const RESEND: Duration = Duration::from_millis(200);

/// A UDP echo server bound inside a namespace; it sends every datagram back to its sender.
/// Dropping it stops and joins its thread.
#[derive(Debug)]
pub struct UdpEcho {
    local_addr: SocketAddr,
    received: Arc<AtomicUsize>,
    _worker: Worker,
}

impl UdpEcho {
    /// Binds `addr` inside `netns` (port 0 picks a free port, see [`UdpEcho::local_addr`]).
    /// Returns once the socket is bound.
    ///
    /// # Errors
    ///
    /// [`LabError::Bind`] when the address cannot be bound; namespace errors as for
    /// [`crate::in_netns`].
    pub fn start(netns: &str, addr: SocketAddr) -> Result<UdpEcho, LabError> {
        let received = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&received);
        let bind = move || {
            let socket = UdpSocket::bind(addr)?;
            // A read timeout, so the loop can notice the stop flag.
            socket.set_read_timeout(Some(POLL))?;
            let local = socket.local_addr()?;
            Ok((socket, local))
        };
        let serve = move |socket, stop| echo_loop(&socket, &stop, &counter);
        let (worker, local_addr) = Worker::start(netns, addr, bind, serve)?;
        Ok(UdpEcho {
            local_addr,
            received,
            _worker: worker,
        })
    }

    /// The address the server is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// How many datagrams the server has received so far.
    pub fn received(&self) -> usize {
        self.received.load(Ordering::Relaxed)
    }
}

/// Echoes datagrams until stopped.
fn echo_loop(socket: &UdpSocket, stop: &StopFlag, received: &AtomicUsize) {
    let mut buf = [0u8; 2048];
    while !stopped(stop) {
        match socket.recv_from(&mut buf) {
            Ok((n, peer)) => {
                received.fetch_add(1, Ordering::Relaxed);
                let _ = socket.send_to(&buf[..n], peer);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => {} // e.g. a queued ICMP error from an earlier send_to; keep serving.
        }
    }
}

/// Sends a datagram from inside `netns` to `addr` and waits for the same bytes to come back
/// from `addr`, resending every 200 ms, all within `timeout`. Returns `true` on an intact echo;
/// no answer, a wrong answer or an ICMP "port unreachable" gives `false`.
///
/// # Errors
///
/// Only when `netns` cannot be entered.
pub fn udp_roundtrip(netns: &str, addr: SocketAddr, timeout: Duration) -> Result<bool, LabError> {
    inside::in_netns(netns, || echo_roundtrip(addr, timeout).is_ok())
}

/// Send and wait until an echo arrives or `timeout` passes.
fn echo_roundtrip(addr: SocketAddr, timeout: Duration) -> io::Result<()> {
    let deadline = Instant::now() + timeout;
    let any: SocketAddr = match addr {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(any)?;
    // Connected: only datagrams from `addr` arrive, and ICMP errors surface as `recv` errors.
    socket.connect(addr)?;
    let mut reply = [0u8; PAYLOAD.len() + 1];
    loop {
        socket.send(PAYLOAD)?;
        socket.set_read_timeout(Some(remaining(deadline)?.min(RESEND)))?;
        match socket.recv(&mut reply) {
            Ok(n) if reply[..n] == *PAYLOAD => return Ok(()),
            Ok(_) => return Err(ErrorKind::InvalidData.into()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return Err(e),
        }
    }
}
