//! The HTTP proxy's listeners: TCP on `127.0.0.1` and `::1`, one port, with
//! `IP_TRANSPARENT`, so that the kernel hands them connections the datapath assigned to
//! them whatever their destination. An accepted stream's `local_addr()` is the
//! connection's original destination.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{Domain, Protocol, SockAddr, Type};

use crate::dns::transparent::{BACKLOG, transparent};

/// The listeners, nonblocking (ready for `tokio::net::TcpListener::from_std`).
#[derive(Debug)]
pub struct Listeners {
    /// On `127.0.0.1`.
    pub v4: std::net::TcpListener,
    /// On `::1`, `None` when it cannot be bound (IPv6 off).
    pub v6: Option<std::net::TcpListener>,
    /// Their port.
    pub port: u16,
}

/// Binds the listeners on `port` (0: any free port).
pub fn bind(port: u16) -> io::Result<Listeners> {
    let v4 = listener(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    let port = v4.local_addr()?.port();
    let v6 = listener(SocketAddr::from((Ipv6Addr::LOCALHOST, port))).ok();
    Ok(Listeners { v4, v6, port })
}

fn listener(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let domain = Domain::for_address(addr);
    let socket = transparent(domain, Type::STREAM, Protocol::TCP)?;
    if domain == Domain::IPV6 {
        socket.set_only_v6(true)?;
    }
    socket.bind(&SockAddr::from(addr))?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}
