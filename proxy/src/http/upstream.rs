//! The upstream side: one HTTP/1.1 client connection to the original destination per
//! downstream connection, opened at its first allowed request.
//!
//! [`Connector`] opens the TCP connection. The agent's ([`Transparent`]) speaks from the
//! client's own address when the destination is an endpoint of this node (so that the
//! destination's ingress policy sees the client's identity, never the node's) and from
//! the node's address otherwise (nothing would steer a world server's replies back to a
//! socket bound to a pod's address). Either way the socket carries
//! [`probe_common::proxy::UPSTREAM_MARK`], so the datapath does not steer it to a proxy
//! again and steers the endpoint's replies back to it.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use socket2::{Protocol, SockRef, Type};
use tokio::net::{TcpSocket, TcpStream};

use crate::dns::transparent::transparent;

/// A future of an upstream stream.
pub type Connecting = Pin<Box<dyn Future<Output = io::Result<TcpStream>> + Send>>;

/// Opens upstream TCP connections.
pub trait Connector: Send + Sync + 'static {
    /// A connection to `server` on behalf of `client`.
    fn connect(&self, client: SocketAddr, server: SocketAddr) -> Connecting;
}

/// The agent's connector (see the module doc).
pub struct Transparent {
    /// Whether `server` is a local endpoint (speak as the client).
    pub as_the_client: Arc<dyn Fn(SocketAddr) -> bool + Send + Sync>,
    /// The mark of upstream sockets.
    pub mark: u32,
}

impl Connector for Transparent {
    fn connect(&self, client: SocketAddr, server: SocketAddr) -> Connecting {
        let source = (self.as_the_client)(server).then_some(client);
        let mark = self.mark;
        Box::pin(async move { connect_from(source, server, mark).await })
    }
}

/// A TCP connection to `server`, from `source`'s address (any port) when given, marked.
pub async fn connect_from(
    source: Option<SocketAddr>,
    server: SocketAddr,
    mark: u32,
) -> io::Result<TcpStream> {
    let domain = socket2::Domain::for_address(server);
    let socket = match source {
        Some(_) => transparent(domain, Type::STREAM, Protocol::TCP)?,
        None => {
            let s = socket2::Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
            s.set_nonblocking(true)?;
            s
        }
    };
    if mark != 0 {
        SockRef::from(&socket).set_mark(mark)?;
    }
    socket.set_tcp_nodelay(true)?;
    let socket = TcpSocket::from_std_stream(socket.into());
    if let Some(source) = source {
        socket.bind(SocketAddr::new(source.ip(), 0))?;
    }
    socket.connect(server).await
}

/// Plain connections from the node (tests, and a proxy without datapath).
pub struct Direct;

impl Connector for Direct {
    fn connect(&self, _client: SocketAddr, server: SocketAddr) -> Connecting {
        Box::pin(async move { connect_from(None, server, 0).await })
    }
}

/// One downstream connection's upstream: opened at first use, opened again when the
/// upstream closed it between requests.
pub struct Upstream {
    connector: Arc<dyn Connector>,
    client: SocketAddr,
    server: SocketAddr,
    connect_timeout: Duration,
    sender: Option<SendRequest<Incoming>>,
}

impl Upstream {
    /// The upstream of the connection `client` → `server`, not yet opened.
    pub fn new(
        connector: Arc<dyn Connector>,
        client: SocketAddr,
        server: SocketAddr,
        connect_timeout: Duration,
    ) -> Self {
        Self {
            connector,
            client,
            server,
            connect_timeout,
            sender: None,
        }
    }

    /// A sender ready for the next request, connecting when there is none.
    pub async fn ready(&mut self) -> io::Result<&mut SendRequest<Incoming>> {
        if let Some(sender) = &mut self.sender
            && sender.ready().await.is_err()
        {
            self.sender = None;
        }
        if self.sender.is_none() {
            let connect = self.connector.connect(self.client, self.server);
            let stream = tokio::time::timeout(self.connect_timeout, connect)
                .await
                .map_err(|_| {
                    io::Error::new(io::ErrorKind::TimedOut, "upstream connect timed out")
                })??;
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(io::Error::other)?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            self.sender = Some(sender);
        }
        Ok(self.sender.as_mut().expect("set above"))
    }

    /// Forgets the connection (after a failed exchange).
    pub fn reset(&mut self) {
        self.sender = None;
    }
}
