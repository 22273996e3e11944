//! The transparent socket layer. The datapath steers a pod's DNS packets to the proxy's
//! listeners (`bpf_sk_assign` at tc ingress, in the node's network namespace) without
//! rewriting them, so the listeners receive packets addressed to the pod's DNS server, and
//! the proxy speaks for both ends:
//!
//! - [`bind`]: the listeners, on `127.0.0.1`, with `IP_TRANSPARENT` (the kernel hands them
//!   packets for addresses that are not local); the UDP one also asks for each datagram's
//!   original destination (`IP_RECVORIGDSTADDR`), read by
//!   [`recv_with_original_destination`]. A TCP connection's original destination is its
//!   accepted stream's `local_addr()`.
//! - [`upstream_udp`], [`upstream_tcp`]: the query goes on to the server from the pod's own
//!   address and port, so the server (and any policy past it) sees the pod; the sockets
//!   carry the proxies' upstream mark, by which the datapath steers the server's answers
//!   back to them.
//! - [`reply_udp`]: the answer goes back to the pod from the server's address, as if the
//!   server had sent it. (Over TCP the accepted stream already is that connection.)
//!
//! Every socket here needs `CAP_NET_ADMIN` (for `IP_TRANSPARENT`) and sets `SO_REUSEADDR`:
//! the pod's address is bound by one socket per query, and the server's by one per reply.
//! IPv4 and IPv6 are both handled, though the listeners are IPv4 only.

use std::io;
use std::mem::{MaybeUninit, size_of};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;

use socket2::{Domain, MaybeUninitSlice, MsgHdrMut, Protocol, SockAddr, SockAddrStorage, SockRef};
use socket2::{Socket, Type};
use tokio::io::Interest;
use tokio::net::{TcpSocket, TcpStream, UdpSocket};

/// How many times [`bind`] with port 0 tries again when the TCP side of the port it got for
/// UDP is taken.
const BIND_TRIES: usize = 8;

/// The TCP listener's backlog.
pub(crate) const BACKLOG: i32 = 1024;

/// The proxy's listeners: UDP and TCP on the same port of `127.0.0.1`, transparent,
/// nonblocking (ready for `tokio::net::*::from_std`), and the same on `::1` where the
/// node has IPv6 (the datapath steers IPv6 queries to `::1`).
#[derive(Debug)]
pub struct Listeners {
    /// The UDP listener (with `IP_RECVORIGDSTADDR`).
    pub udp: std::net::UdpSocket,
    /// The TCP listener.
    pub tcp: std::net::TcpListener,
    /// The IPv6 pair on the same port, `None` when `::1` cannot be bound (IPv6 off).
    pub v6: Option<(std::net::UdpSocket, std::net::TcpListener)>,
    /// The port both are bound to.
    pub port: u16,
}

/// Binds the listeners on `127.0.0.1:port`; `port` 0 picks a port free for both.
pub fn bind(port: u16) -> io::Result<Listeners> {
    let mut tries = 0;
    loop {
        tries += 1;
        let udp = udp_listener(port)?;
        let bound = udp.local_addr()?.port();
        match tcp_listener(bound) {
            Ok(tcp) => {
                return Ok(Listeners {
                    udp,
                    tcp,
                    v6: v6_listeners(bound).ok(),
                    port: bound,
                });
            }
            // The port was free for UDP only: take another.
            Err(e) if port == 0 && e.kind() == io::ErrorKind::AddrInUse && tries < BIND_TRIES => {}
            Err(e) => return Err(e),
        }
    }
}

fn udp_listener(port: u16) -> io::Result<std::net::UdpSocket> {
    let socket = transparent(Domain::IPV4, Type::DGRAM, Protocol::UDP)?;
    set_recv_original_destination(&socket)?;
    socket.bind(&SockAddr::from(SocketAddrV4::new(
        Ipv4Addr::LOCALHOST,
        port,
    )))?;
    Ok(socket.into())
}

/// The IPv6 pair on `[::1]:port`, IPv6 only (the IPv4 pair has 127.0.0.1).
fn v6_listeners(port: u16) -> io::Result<(std::net::UdpSocket, std::net::TcpListener)> {
    let loopback = SockAddr::from(SocketAddrV6::new(Ipv6Addr::LOCALHOST, port, 0, 0));
    let udp = transparent(Domain::IPV6, Type::DGRAM, Protocol::UDP)?;
    udp.set_only_v6(true)?;
    set_recv_original_destination_v6(&udp)?;
    udp.bind(&loopback)?;
    let tcp = transparent(Domain::IPV6, Type::STREAM, Protocol::TCP)?;
    tcp.set_only_v6(true)?;
    tcp.bind(&loopback)?;
    tcp.listen(BACKLOG)?;
    Ok((udp.into(), tcp.into()))
}

fn tcp_listener(port: u16) -> io::Result<std::net::TcpListener> {
    let socket = transparent(Domain::IPV4, Type::STREAM, Protocol::TCP)?;
    socket.bind(&SockAddr::from(SocketAddrV4::new(
        Ipv4Addr::LOCALHOST,
        port,
    )))?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// A nonblocking socket with `IP_TRANSPARENT` (or `IPV6_TRANSPARENT`) and `SO_REUSEADDR`.
pub(crate) fn transparent(domain: Domain, kind: Type, protocol: Protocol) -> io::Result<Socket> {
    let socket = Socket::new(domain, kind, Some(protocol))?;
    if domain == Domain::IPV6 {
        socket.set_ip_transparent_v6(true)?;
    } else {
        socket.set_ip_transparent_v4(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// A transparent socket speaking for `client`, marked as an L7 proxy's upstream socket
/// ([`probe_common::proxy::UPSTREAM_MARK`]): the datapath steers the server endpoint's
/// replies back to it, as it does for the HTTP proxy's.
fn upstream_for(client: SocketAddr, kind: Type, protocol: Protocol) -> io::Result<Socket> {
    let socket = transparent_for(client, kind, protocol)?;
    socket.set_mark(probe_common::proxy::UPSTREAM_MARK)?;
    Ok(socket)
}

/// A transparent socket for `addr`'s family.
fn transparent_for(addr: SocketAddr, kind: Type, protocol: Protocol) -> io::Result<Socket> {
    transparent(Domain::for_address(addr), kind, protocol)
}

/// `IP_RECVORIGDSTADDR`, which socket2 does not have: every datagram comes with an
/// `IP_ORIGDSTADDR` control message.
fn set_recv_original_destination(socket: &Socket) -> io::Result<()> {
    set_on(socket, libc::IPPROTO_IP, libc::IP_RECVORIGDSTADDR)
}

/// `IPV6_RECVORIGDSTADDR`: every datagram comes with an `IPV6_ORIGDSTADDR` message.
fn set_recv_original_destination_v6(socket: &Socket) -> io::Result<()> {
    set_on(socket, libc::SOL_IPV6, libc::IPV6_RECVORIGDSTADDR)
}

/// Turns the integer socket option `level`/`name` on.
fn set_on(socket: &Socket, level: libc::c_int, name: libc::c_int) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: a valid socket, and a pointer to a c_int with its size, as these options
    // take.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&raw const on).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Receives one datagram into `buf` on a listener from [`bind`]: its length, its sender (the
/// pod), and where the pod sent it (its DNS server), `None` when the datagram came without
/// that (a socket without `IP_RECVORIGDSTADDR`, or a control message that does not parse).
pub async fn recv_with_original_destination(
    socket: &UdpSocket,
    buf: &mut [u8],
) -> io::Result<(usize, SocketAddr, Option<SocketAddr>)> {
    socket
        .async_io(Interest::READABLE, || recv_once(socket, buf))
        .await
}

/// One nonblocking `recvmsg` (`WouldBlock` when there is nothing to read).
fn recv_once(
    socket: &UdpSocket,
    buf: &mut [u8],
) -> io::Result<(usize, SocketAddr, Option<SocketAddr>)> {
    // SAFETY: all zeros is a valid sockaddr_storage, and its own size is a valid length.
    let mut sender = unsafe {
        SockAddr::new(
            SockAddrStorage::zeroed(),
            size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        )
    };
    // SAFETY: `recvmsg` only writes initialised bytes into the buffer, and the slice is
    // never read through as uninitialised memory.
    let uninit = unsafe { &mut *(std::ptr::from_mut(buf) as *mut [MaybeUninit<u8>]) };
    let mut bufs = [MaybeUninitSlice::new(uninit)];
    let mut control = Control::new();
    let (n, control_len) = {
        let mut msg = MsgHdrMut::new()
            .with_addr(&mut sender)
            .with_buffers(&mut bufs)
            .with_control(&mut control.buf);
        let n = SockRef::from(socket).recvmsg(&mut msg, 0)?;
        (n, msg.control_len())
    };
    control.len = control_len.min(control.buf.len());
    let client = sender.as_socket().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "a datagram from a sender that is not an IP address",
        )
    })?;
    Ok((n, client, control.original_destination()))
}

/// Room for the control messages of one datagram (aligned for `cmsghdr`): an
/// `IP_ORIGDSTADDR` needs `CMSG_SPACE(16)`, an `IPV6_ORIGDSTADDR` `CMSG_SPACE(28)`.
#[repr(C, align(8))]
struct Control {
    buf: [MaybeUninit<u8>; 128],
    /// How many bytes `recvmsg` filled.
    len: usize,
}

impl Control {
    fn new() -> Self {
        Self {
            buf: [MaybeUninit::uninit(); 128],
            len: 0,
        }
    }

    /// The `IP_ORIGDSTADDR` or `IPV6_ORIGDSTADDR` among the control messages, each checked
    /// to lie within the filled bytes before it is read.
    fn original_destination(&self) -> Option<SocketAddr> {
        let start = self.buf.as_ptr() as usize;
        let end = start + self.len.min(self.buf.len());
        // SAFETY: an all-zero msghdr is valid; only its control fields are set, and the
        // CMSG_* functions read only within msg_control..msg_control + msg_controllen (they
        // check a header fits before reading it), which lies in `self.buf`'s filled bytes.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_control = self.buf.as_ptr().cast_mut().cast();
        msg.msg_controllen = (end - start) as _;
        // SAFETY: as above.
        let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&raw const msg) };
        while !cmsg.is_null() {
            // SAFETY: CMSG_FIRSTHDR/CMSG_NXTHDR return a header lying within the buffer,
            // aligned (the buffer is, and every header is CMSG_ALIGNed).
            let header = unsafe { &*cmsg };
            // SAFETY: arithmetic on the header's address only.
            let data = unsafe { libc::CMSG_DATA(cmsg) }.cast_const();
            let data_end = (cmsg as usize).checked_add(header.cmsg_len as usize)?;
            if data_end > end || data_end < data as usize {
                return None;
            }
            // SAFETY: `data..data_end` lies within the buffer's filled bytes.
            let data = unsafe { std::slice::from_raw_parts(data, data_end - data as usize) };
            if let Some(addr) = original_destination(header.cmsg_level, header.cmsg_type, data) {
                return Some(addr);
            }
            // SAFETY: as for CMSG_FIRSTHDR.
            cmsg = unsafe { libc::CMSG_NXTHDR(&raw const msg, cmsg) };
        }
        None
    }
}

/// The address in one control message, when it is an original destination.
fn original_destination(level: libc::c_int, kind: libc::c_int, data: &[u8]) -> Option<SocketAddr> {
    match (level, kind) {
        (libc::SOL_IP, libc::IP_ORIGDSTADDR) => {
            let sin: libc::sockaddr_in = read(data)?;
            if libc::c_int::from(sin.sin_family) != libc::AF_INET {
                return None;
            }
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
                u16::from_be(sin.sin_port),
            )))
        }
        (libc::SOL_IPV6, libc::IPV6_ORIGDSTADDR) => {
            let sin6: libc::sockaddr_in6 = read(data)?;
            if libc::c_int::from(sin6.sin6_family) != libc::AF_INET6 {
                return None;
            }
            Some(SocketAddr::V6(SocketAddrV6::new(
                sin6.sin6_addr.s6_addr.into(),
                u16::from_be(sin6.sin6_port),
                u32::from_be(sin6.sin6_flowinfo),
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// A plain C struct from the start of `data`, if `data` is long enough.
fn read<T: Copy>(data: &[u8]) -> Option<T> {
    if data.len() < size_of::<T>() {
        return None;
    }
    // SAFETY: `data` holds at least size_of::<T>() bytes, read unaligned; `T` is a C
    // sockaddr struct, valid for any bytes.
    Some(unsafe { std::ptr::read_unaligned(data.as_ptr().cast::<T>()) })
}

/// A UDP socket bound to the pod's address (`client`, which need not be local) and connected
/// to its DNS server, for one query.
pub async fn upstream_udp(client: SocketAddr, server: SocketAddr) -> io::Result<UdpSocket> {
    let socket = upstream_for(client, Type::DGRAM, Protocol::UDP)?;
    socket.bind(&client.into())?;
    let socket = UdpSocket::from_std(socket.into())?;
    socket.connect(server).await?;
    Ok(socket)
}

/// A TCP connection from the pod's address (`client`) to its DNS server.
pub async fn upstream_tcp(client: SocketAddr, server: SocketAddr) -> io::Result<TcpStream> {
    let socket = upstream_for(client, Type::STREAM, Protocol::TCP)?;
    let socket = TcpSocket::from_std_stream(socket.into());
    socket.bind(client)?;
    socket.connect(server).await
}

/// Sends `bytes` to the pod (`to`) from its DNS server's address (`from`, the query's
/// original destination), on a socket of its own, closed after.
pub async fn reply_udp(from: SocketAddr, to: SocketAddr, bytes: &[u8]) -> io::Result<()> {
    let socket = transparent_for(from, Type::DGRAM, Protocol::UDP)?;
    socket.bind(&from.into())?;
    let socket = UdpSocket::from_std(socket.into())?;
    socket.send_to(bytes, to).await.map(drop)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use hickory_proto::rr::RecordType;

    use super::*;
    use crate::dns::exchange::{Decision, Outcome, UPSTREAM_TIMEOUT, exchange_tcp, exchange_udp};
    use crate::dns::message::tests::query;
    use crate::dns::testnet::{self, POD, SERVER, Served, recv};

    /// `CMSG_LEN`: a control message's length with `data` bytes of data.
    fn cmsg_len(data: usize) -> usize {
        // SAFETY: CMSG_LEN is arithmetic only.
        unsafe { libc::CMSG_LEN(data as libc::c_uint) as usize }
    }

    /// A control buffer holding these control messages (level, type, data).
    fn control(messages: &[(libc::c_int, libc::c_int, &[u8])]) -> Control {
        let mut control = Control::new();
        let mut at = 0;
        for (level, kind, data) in messages {
            let len = cmsg_len(data.len());
            // SAFETY: arithmetic only.
            let space = unsafe { libc::CMSG_SPACE(data.len() as libc::c_uint) } as usize;
            let header = libc::cmsghdr {
                cmsg_len: len as _,
                cmsg_level: *level,
                cmsg_type: *kind,
            };
            // SAFETY: a cmsghdr is plain bytes.
            let header: [u8; size_of::<libc::cmsghdr>()] = unsafe { std::mem::transmute(header) };
            let mut bytes = vec![0; space];
            bytes[..header.len()].copy_from_slice(&header);
            bytes[cmsg_len(0)..len].copy_from_slice(data);
            for (i, b) in bytes.into_iter().enumerate() {
                control.buf[at + i] = MaybeUninit::new(b);
            }
            at += space;
        }
        control.len = at;
        control
    }

    fn sockaddr_in(addr: SocketAddrV4) -> [u8; size_of::<libc::sockaddr_in>()] {
        let sin = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: addr.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*addr.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        // SAFETY: a sockaddr_in is plain bytes.
        unsafe { std::mem::transmute(sin) }
    }

    #[test]
    fn the_original_destination_is_read_from_its_control_message() {
        let dst: SocketAddrV4 = "192.0.2.53:53".parse().unwrap();
        let sin = sockaddr_in(dst);
        let ttl = 64i32.to_ne_bytes();
        let c = control(&[
            (libc::SOL_IP, libc::IP_TTL, &ttl),
            (libc::SOL_IP, libc::IP_ORIGDSTADDR, &sin),
        ]);
        assert_eq!(c.original_destination(), Some(SocketAddr::V4(dst)));
    }

    #[test]
    fn a_missing_short_or_cut_control_message_gives_no_original_destination() {
        let sin = sockaddr_in("192.0.2.53:53".parse().unwrap());
        assert_eq!(Control::new().original_destination(), None);
        let other = control(&[(libc::SOL_IP, libc::IP_TTL, &64i32.to_ne_bytes())]);
        assert_eq!(other.original_destination(), None);
        let short = control(&[(libc::SOL_IP, libc::IP_ORIGDSTADDR, &sin[..8])]);
        assert_eq!(short.original_destination(), None);
        // Cut by the kernel (MSG_CTRUNC): fewer bytes filled than the header says.
        let whole = control(&[(libc::SOL_IP, libc::IP_ORIGDSTADDR, &sin)]);
        for len in 0..whole.len {
            let mut cut = control(&[(libc::SOL_IP, libc::IP_ORIGDSTADDR, &sin)]);
            cut.len = len;
            assert_eq!(cut.original_destination(), None, "{len} bytes");
        }
        // A header claiming more than the buffer holds.
        let mut lying = control(&[(libc::SOL_IP, libc::IP_ORIGDSTADDR, &sin)]);
        lying.buf[0] = MaybeUninit::new(0xff);
        assert_eq!(lying.original_destination(), None);
    }

    #[test]
    fn the_listeners_share_a_port_and_are_transparent() {
        testnet::run(|_lab| async move {
            let listeners = bind(0).unwrap();
            let udp = listeners.udp.local_addr().unwrap();
            let tcp = listeners.tcp.local_addr().unwrap();
            assert_eq!(udp, SocketAddr::from((Ipv4Addr::LOCALHOST, listeners.port)));
            assert_eq!(tcp, udp);
            for socket in [SockRef::from(&listeners.udp), SockRef::from(&listeners.tcp)] {
                assert!(socket.ip_transparent_v4().unwrap());
                assert!(socket.reuse_address().unwrap());
                assert!(socket.nonblocking().unwrap());
            }
            // The IPv6 pair on the same port of ::1 (the test namespace has IPv6).
            let (udp6, tcp6) = listeners.v6.as_ref().expect("an IPv6 pair");
            let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, listeners.port));
            assert_eq!(
                (udp6.local_addr().unwrap(), tcp6.local_addr().unwrap()),
                (v6, v6)
            );
            assert!(SockRef::from(udp6).only_v6().unwrap());
            // A port in use is an error, not another port.
            let again = bind(listeners.port).unwrap_err();
            assert_eq!(again.kind(), io::ErrorKind::AddrInUse);
        });
    }

    #[test]
    fn a_steered_datagram_comes_with_its_original_destination() {
        testnet::run(|mut lab| async move {
            let listeners = bind(0).unwrap();
            lab.steer(&listeners).unwrap();
            let port = listeners.port;
            let listener = UdpSocket::from_std(listeners.udp).unwrap();
            let pod = lab.pod_udp();
            pod.send_to(b"steered", SERVER).await.unwrap();
            let mut buf = [0; 64];
            let (n, client, dst) = recv_with_original_destination(&listener, &mut buf)
                .await
                .unwrap();
            assert_eq!(&buf[..n], b"steered");
            assert_eq!(client, pod.local_addr().unwrap());
            assert_eq!(dst, Some(SocketAddr::V4(SERVER)));
            // Sent to the listener itself, its destination is the listener.
            let local = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
            local
                .send_to(b"direct", (Ipv4Addr::LOCALHOST, port))
                .await
                .unwrap();
            let (_, _, dst) = recv_with_original_destination(&listener, &mut buf)
                .await
                .unwrap();
            assert_eq!(dst, Some(SocketAddr::from((Ipv4Addr::LOCALHOST, port))));
        });
    }

    #[tokio::test]
    async fn a_socket_without_the_option_gives_no_original_destination() {
        let plain = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        sender
            .send_to(b"plain", plain.local_addr().unwrap())
            .await
            .unwrap();
        let mut buf = [0; 16];
        let (n, client, dst) = recv_with_original_destination(&plain, &mut buf)
            .await
            .unwrap();
        assert_eq!((n, client, dst), (5, sender.local_addr().unwrap(), None));
    }

    #[test]
    fn upstream_sockets_speak_from_the_pods_address_and_get_the_answers() {
        testnet::run(|lab| async move {
            let upstream = lab.dns_server();
            let client = SocketAddr::from((POD, 40_000));
            let udp = upstream_udp(client, SERVER.into()).await.unwrap();
            assert_eq!(udp.local_addr().unwrap(), client);
            assert_eq!(udp.peer_addr().unwrap(), SERVER.into());
            let q = query(1, "api.partner.com.", RecordType::A);
            let ex = exchange_udp(&q, &udp, UPSTREAM_TIMEOUT, |_| Decision::Forward).await;
            assert!(matches!(ex.outcome, Outcome::Answered { .. }), "{ex:?}");
            assert_eq!(upstream.last_client(), Some(client));

            let client = SocketAddr::from((POD, 40_001));
            let mut tcp = upstream_tcp(client, SERVER.into()).await.unwrap();
            assert_eq!(tcp.local_addr().unwrap(), client);
            let ex = exchange_tcp(&q, &mut tcp, UPSTREAM_TIMEOUT, |_| Decision::Forward).await;
            assert!(matches!(ex.outcome, Outcome::Answered { .. }), "{ex:?}");
            assert_eq!(upstream.last_client(), Some(client));
            assert_eq!(Served::get(&upstream.tcp_connections), 1);
            assert_eq!(upstream.udp_queries.load(Ordering::Relaxed), 1);
        });
    }

    #[test]
    fn a_reply_comes_from_the_servers_address() {
        testnet::run(|lab| async move {
            let pod = lab.pod_udp();
            let to = pod.local_addr().unwrap();
            reply_udp(SERVER.into(), to, b"answer").await.unwrap();
            assert_eq!(recv(&pod).await, (b"answer".to_vec(), SERVER.into()));
        });
    }

    #[test]
    fn transparent_sockets_bind_addresses_that_are_not_local_in_both_families() {
        testnet::run(|_lab| async move {
            for addr in ["192.0.2.99:4000", "[2001:db8::99]:4000"] {
                let addr: SocketAddr = addr.parse().unwrap();
                let socket = transparent_for(addr, Type::DGRAM, Protocol::UDP).unwrap();
                socket.bind(&addr.into()).unwrap();
                assert_eq!(socket.local_addr().unwrap().as_socket(), Some(addr));
                let plain = Socket::new(Domain::for_address(addr), Type::DGRAM, None).unwrap();
                assert!(plain.bind(&addr.into()).is_err(), "{addr} is not local");
            }
        });
    }
}
