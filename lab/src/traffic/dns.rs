//! DNS in the lab: [`DnsServer`], a small authoritative server inside a namespace that answers A
//! and AAAA queries from a fixed zone over UDP and TCP, and [`dns_query`], a client that asks
//! for a name's A records and reports what came back. Messages are hickory-proto's; anything
//! that does not parse is ignored, never panicked on.

use std::collections::HashMap;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::remaining;
use super::worker::{POLL, StopFlag, Worker, stopped};
use crate::error::LabError;
use crate::inside;

/// How long the client waits for an answer before sending a UDP query again.
const RESEND: Duration = Duration::from_millis(200);
/// How long the server waits for a TCP peer to take a reply before giving up on it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// The largest DNS message (TCP framing carries its length in two bytes).
const MAX_MESSAGE: usize = u16::MAX as usize;

/// What the server answers: canonical name (lower-case, final dot) → its entry.
type Zone = HashMap<String, Entry>;

/// One name of the zone.
#[derive(Debug, Clone)]
enum Entry {
    /// Addresses and their TTL.
    Addresses(Vec<IpAddr>, u32),
    /// A CNAME to another name of the zone, answered with the target's addresses.
    Alias(Name),
}

/// The transport a query came over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
}

/// The zone and the counters, shared by the server's threads.
#[derive(Debug)]
struct State {
    zone: Zone,
    udp: AtomicUsize,
    tcp: AtomicUsize,
    ignored: AtomicUsize,
}

/// A DNS server inside a namespace, answering over UDP and TCP on the same address and port.
/// Names in its zone get NOERROR and their addresses of the asked family (A: IPv4, AAAA: IPv6;
/// other types: no records), with the zone's TTL and the AA flag; other names get NXDOMAIN.
/// Dropping it stops and joins its threads.
#[derive(Debug)]
pub struct DnsServer {
    local_addr: SocketAddr,
    state: Arc<State>,
    _udp: Worker,
    _tcp: Worker,
}

impl DnsServer {
    /// Binds `addr` inside `netns` for UDP and TCP (port 0 picks a free UDP port, which TCP then
    /// binds too; see [`DnsServer::local_addr`]) and serves `zone`: `(name, addresses, ttl)`,
    /// names case-insensitive, with or without the final dot. Returns once both are bound.
    ///
    /// # Errors
    ///
    /// [`LabError::InvalidName`] for a zone name that is not a DNS name; [`LabError::Bind`]
    /// when the address cannot be bound for either transport; namespace errors as for
    /// [`crate::in_netns`].
    pub fn start(
        netns: &str,
        addr: SocketAddr,
        zone: &[(&str, &[IpAddr], u32)],
    ) -> Result<DnsServer, LabError> {
        Self::start_with_aliases(netns, addr, zone, &[])
    }

    /// [`DnsServer::start`], with `aliases` `(alias, target)`: a query for an alias is
    /// answered with a CNAME to the target and the target's addresses, as a CDN's name is.
    ///
    /// # Errors
    ///
    /// As for [`DnsServer::start`], for alias names too.
    pub fn start_with_aliases(
        netns: &str,
        addr: SocketAddr,
        zone: &[(&str, &[IpAddr], u32)],
        aliases: &[(&str, &str)],
    ) -> Result<DnsServer, LabError> {
        let state = Arc::new(State::new(zone, aliases)?);
        let udp_state = Arc::clone(&state);
        let bind_udp = move || {
            let socket = UdpSocket::bind(addr)?;
            // A read timeout, so the loop can notice the stop flag.
            socket.set_read_timeout(Some(POLL))?;
            let local = socket.local_addr()?;
            Ok((socket, local))
        };
        let serve_udp = move |socket, stop| udp_loop(&socket, &stop, &udp_state);
        let (udp, local_addr) = Worker::start(netns, addr, bind_udp, serve_udp)?;
        let tcp_state = Arc::clone(&state);
        let bind_tcp = move || {
            let listener = TcpListener::bind(local_addr)?;
            // Non-blocking, so the accept loop can notice the stop flag.
            listener.set_nonblocking(true)?;
            let local = listener.local_addr()?;
            Ok((listener, local))
        };
        let serve_tcp = move |listener, stop| accept_loop(&listener, &stop, &tcp_state);
        let (tcp, _) = Worker::start(netns, local_addr, bind_tcp, serve_tcp)?;
        Ok(DnsServer {
            local_addr,
            state,
            _udp: udp,
            _tcp: tcp,
        })
    }

    /// The address the server is bound to (UDP and TCP).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// How many queries the server has answered so far, over both transports.
    pub fn queries(&self) -> usize {
        self.state.udp.load(Ordering::Relaxed) + self.tcp_queries()
    }

    /// How many queries the server has answered over TCP so far.
    pub fn tcp_queries(&self) -> usize {
        self.state.tcp.load(Ordering::Relaxed)
    }

    /// How many messages the server ignored because they were not a standard query with a
    /// question (malformed datagrams or TCP messages, responses, updates...).
    pub fn ignored(&self) -> usize {
        self.state.ignored.load(Ordering::Relaxed)
    }
}

impl State {
    /// The zone with canonical names and zeroed counters.
    fn new(zone: &[(&str, &[IpAddr], u32)], aliases: &[(&str, &str)]) -> Result<State, LabError> {
        let parse = |name: &str| Name::from_ascii(name).map_err(|_| not_a_dns_name(name));
        let mut names = Zone::new();
        for &(name, ips, ttl) in zone {
            names.insert(
                canonical(&parse(name)?),
                Entry::Addresses(ips.to_vec(), ttl),
            );
        }
        for &(alias, target) in aliases {
            names.insert(canonical(&parse(alias)?), Entry::Alias(parse(target)?));
        }
        Ok(State {
            zone: names,
            udp: AtomicUsize::new(0),
            tcp: AtomicUsize::new(0),
            ignored: AtomicUsize::new(0),
        })
    }

    /// The reply to `query` received over `transport`, counting it as answered or ignored.
    fn respond(&self, query: &[u8], transport: Transport) -> Option<Vec<u8>> {
        let reply = answer(&self.zone, query, transport);
        let counter = match (&reply, transport) {
            (None, _) => &self.ignored,
            (Some(_), Transport::Udp) => &self.udp,
            (Some(_), Transport::Tcp) => &self.tcp,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        reply
    }
}

/// The reply to `query` from `zone`, or `None` for what is not a standard query with a
/// question. Over UDP, a reply larger than the query allows is sent truncated (TC set).
fn answer(zone: &Zone, query: &[u8], transport: Transport) -> Option<Vec<u8>> {
    let query = Message::from_vec(query).ok()?;
    let question = query.queries.first()?;
    if query.metadata.message_type != MessageType::Query || query.metadata.op_code != OpCode::Query
    {
        return None;
    }
    let mut reply = Message::response(query.metadata.id, OpCode::Query);
    reply.metadata.authoritative = true;
    reply.metadata.recursion_desired = query.metadata.recursion_desired;
    reply.add_queries(query.queries.iter().cloned());
    match zone.get(&canonical(question.name())) {
        Some(Entry::Addresses(ips, ttl)) => {
            reply.add_answers(records(question.name(), question, ips, *ttl));
        }
        Some(Entry::Alias(target)) => {
            let to_target = Record::from_rdata(
                question.name().clone(),
                ALIAS_TTL,
                RData::CNAME(CNAME(target.clone())),
            );
            reply.add_answer(to_target);
            if let Some(Entry::Addresses(ips, ttl)) = zone.get(&canonical(target)) {
                reply.add_answers(records(target, question, ips, *ttl));
            }
        }
        None => reply.metadata.response_code = ResponseCode::NXDomain,
    }
    let bytes = reply.to_vec().ok()?;
    if transport == Transport::Udp && bytes.len() > usize::from(query.max_payload()) {
        return reply.truncate().to_vec().ok();
    }
    Some(bytes)
}

/// The TTL of a CNAME record.
const ALIAS_TTL: u32 = 300;

/// The A or AAAA records of `owner` answering `question` from `ips`.
fn records(owner: &Name, question: &Query, ips: &[IpAddr], ttl: u32) -> Vec<Record> {
    ips.iter()
        .filter_map(|ip| match (question.query_type(), ip) {
            (RecordType::A, IpAddr::V4(v4)) => Some(RData::A(A(*v4))),
            (RecordType::AAAA, IpAddr::V6(v6)) => Some(RData::AAAA(AAAA(*v6))),
            _ => None,
        })
        .map(|data| Record::from_rdata(owner.clone(), ttl, data))
        .collect()
}

/// Lower-case, with the final dot.
fn canonical(name: &Name) -> String {
    let mut text = name.to_ascii().to_ascii_lowercase();
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}

/// The error for a name that does not parse as a DNS name.
fn not_a_dns_name(name: &str) -> LabError {
    LabError::InvalidName {
        name: name.to_owned(),
        reason: "not a DNS name",
    }
}

/// Answers datagrams until stopped.
fn udp_loop(socket: &UdpSocket, stop: &StopFlag, state: &State) {
    let mut buf = vec![0u8; MAX_MESSAGE];
    while !stopped(stop) {
        // Errors are timeouts (to notice the stop flag) and queued ICMP errors: keep serving.
        if let Ok((n, peer)) = socket.recv_from(&mut buf)
            && let Some(reply) = state.respond(&buf[..n], Transport::Udp)
        {
            let _ = socket.send_to(&reply, peer);
        }
    }
}

/// Accepts connections until stopped, serving each on its own thread; joins them at the end.
fn accept_loop(listener: &TcpListener, stop: &StopFlag, state: &Arc<State>) {
    let mut connections: Vec<JoinHandle<()>> = Vec::new();
    while !stopped(stop) {
        match listener.accept() {
            Ok((stream, _)) => {
                let (stop, state) = (StopFlag::clone(stop), Arc::clone(state));
                match thread::Builder::new()
                    .name("lab-dns-tcp".into())
                    .spawn(move || serve_connection(stream, &stop, &state))
                {
                    Ok(handle) => connections.push(handle),
                    Err(e) => eprintln!("lab: dns tcp thread: {e}"),
                }
                connections.retain(|c| !c.is_finished());
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(POLL),
            Err(e) => {
                eprintln!("lab: dns tcp accept on {:?}: {e}", listener.local_addr());
                thread::sleep(POLL);
            }
        }
    }
    for connection in connections {
        let _ = connection.join();
    }
}

/// Answers length-framed queries on `stream` until the peer closes it, an error occurs or the
/// server stops.
fn serve_connection(mut stream: TcpStream, stop: &StopFlag, state: &State) {
    // Accepted sockets inherit non-blocking mode on some systems; use a read timeout instead.
    if stream.set_nonblocking(false).is_err()
        || stream.set_read_timeout(Some(POLL)).is_err()
        || stream.set_write_timeout(Some(WRITE_TIMEOUT)).is_err()
    {
        return;
    }
    while let Ok(Some(query)) = read_frame(&mut stream, stop) {
        if let Some(reply) = state.respond(&query, Transport::Tcp)
            && write_frame(&mut stream, &reply).is_err()
        {
            return;
        }
    }
}

/// Reads one length-framed message; `None` when the peer closed the connection (a message cut
/// short is dropped).
fn read_frame(stream: &mut TcpStream, stop: &StopFlag) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 2];
    if !read_full(stream, &mut len, stop)? {
        return Ok(None);
    }
    let mut message = vec![0u8; usize::from(u16::from_be_bytes(len))];
    Ok(read_full(stream, &mut message, stop)?.then_some(message))
}

/// Fills `buf`, waiting through read timeouts until the server stops; `false` at end of
/// stream.
fn read_full(stream: &mut TcpStream, buf: &mut [u8], stop: &StopFlag) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        if stopped(stop) {
            return Err(ErrorKind::Interrupted.into());
        }
        match stream.read(&mut buf[filled..]) {
            Ok(0) => return Ok(false),
            Ok(n) => filled += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Writes `message` with its two-byte length in front, in one write.
fn write_frame(stream: &mut TcpStream, message: &[u8]) -> io::Result<()> {
    let len = u16::try_from(message.len()).map_err(|_| io::Error::from(ErrorKind::InvalidInput))?;
    let mut frame = Vec::with_capacity(2 + message.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(message);
    stream.write_all(&frame)
}

/// What a DNS server answered to [`dns_query`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsReply {
    /// The response code: 0 NOERROR, 3 NXDOMAIN, 5 REFUSED...
    pub rcode: u16,
    /// The addresses of the A and AAAA answer records, in message order.
    pub ips: Vec<IpAddr>,
    /// The shortest TTL of those records, 0 without any.
    pub ttl: u32,
}

/// Asks `server` for the A records of `name` from inside `netns`, over TCP or UDP (resending
/// every 200 ms), all within `timeout`, from any source port. Returns the reply whose ID
/// matches the query's (other messages are skipped), or `None` when none came in time (no
/// answer, a refused connection, an ICMP "port unreachable").
///
/// # Errors
///
/// As for [`dns_query_from`].
pub fn dns_query(
    netns: &str,
    server: SocketAddr,
    name: &str,
    tcp: bool,
    timeout: Duration,
) -> Result<Option<DnsReply>, LabError> {
    dns_query_from(netns, server, name, tcp, timeout, 0)
}

/// As [`dns_query`], from `source_port` (0: any; a fixed port is bound with `SO_REUSEADDR` for
/// TCP).
///
/// # Errors
///
/// [`LabError::InvalidName`] when `name` is not a DNS name; [`LabError::Bind`] when the
/// source port cannot be bound; namespace errors as for [`crate::in_netns`].
pub fn dns_query_from(
    netns: &str,
    server: SocketAddr,
    name: &str,
    tcp: bool,
    timeout: Duration,
    source_port: u16,
) -> Result<Option<DnsReply>, LabError> {
    let (id, query) = a_query(name)?;
    let local = SocketAddr::new(unspecified(server), source_port);
    let bind_error = |source| LabError::Bind {
        netns: netns.to_owned(),
        addr: local,
        source,
    };
    inside::in_netns(netns, || {
        let deadline = Instant::now() + timeout;
        if tcp {
            let socket = tcp_socket(local).map_err(bind_error)?;
            Ok(tcp_exchange(socket, server, &query, id, deadline).ok())
        } else {
            let socket = UdpSocket::bind(local).map_err(bind_error)?;
            Ok(udp_exchange(&socket, server, &query, id, deadline).ok())
        }
    })?
}

/// A query for the A records of `name` with a random ID, and that ID.
fn a_query(name: &str) -> Result<(u16, Vec<u8>), LabError> {
    let parsed = Name::from_ascii(name).map_err(|_| not_a_dns_name(name))?;
    // A standard query with a random ID.
    let mut message = Message::query();
    let id = message.metadata.id;
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(parsed, RecordType::A));
    let bytes = message.to_vec().map_err(|_| not_a_dns_name(name))?;
    Ok((id, bytes))
}

/// The unspecified address of `server`'s family.
fn unspecified(server: SocketAddr) -> IpAddr {
    match server {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    }
}

/// A TCP socket bound to `local`, not yet connected.
fn tcp_socket(local: SocketAddr) -> io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(local),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    if local.port() != 0 {
        // A fixed port is reused across queries; let it through TIME_WAIT.
        socket.set_reuse_address(true)?;
    }
    socket.bind(&SockAddr::from(local))?;
    Ok(socket)
}

/// Sends `query` and waits for the reply with `id`, resending every [`RESEND`] until
/// `deadline`.
fn udp_exchange(
    socket: &UdpSocket,
    server: SocketAddr,
    query: &[u8],
    id: u16,
    deadline: Instant,
) -> io::Result<DnsReply> {
    // Connected: only datagrams from `server` arrive, and ICMP errors surface as `recv` errors.
    socket.connect(server)?;
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        socket.send(query)?;
        let resend_at = (Instant::now() + RESEND).min(deadline);
        if let Some(reply) = await_datagram(socket, &mut buf, id, resend_at)? {
            return Ok(reply);
        }
        remaining(deadline)?;
    }
}

/// Receives until the reply with `id` arrives (`Some`) or `until` passes (`None`).
fn await_datagram(
    socket: &UdpSocket,
    buf: &mut [u8],
    id: u16,
    until: Instant,
) -> io::Result<Option<DnsReply>> {
    while let Ok(left) = remaining(until) {
        socket.set_read_timeout(Some(left))?;
        match socket.recv(buf) {
            Ok(n) => {
                if let Some(reply) = parse_reply(&buf[..n], id) {
                    return Ok(Some(reply));
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// Connects `socket` to `server`, sends `query` and reads framed messages until the reply with
/// `id`, all before `deadline`.
fn tcp_exchange(
    socket: Socket,
    server: SocketAddr,
    query: &[u8],
    id: u16,
    deadline: Instant,
) -> io::Result<DnsReply> {
    socket.connect_timeout(&SockAddr::from(server), remaining(deadline)?)?;
    let mut stream = TcpStream::from(socket);
    stream.set_write_timeout(Some(remaining(deadline)?))?;
    write_frame(&mut stream, query)?;
    loop {
        let mut len = [0u8; 2];
        stream.set_read_timeout(Some(remaining(deadline)?))?;
        stream.read_exact(&mut len)?;
        let mut message = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.set_read_timeout(Some(remaining(deadline)?))?;
        stream.read_exact(&mut message)?;
        if let Some(reply) = parse_reply(&message, id) {
            return Ok(reply);
        }
    }
}

/// What `bytes` answer, if they are a response with `id`.
fn parse_reply(bytes: &[u8], id: u16) -> Option<DnsReply> {
    let message = Message::from_vec(bytes).ok()?;
    if message.metadata.message_type != MessageType::Response || message.metadata.id != id {
        return None;
    }
    let mut ips = Vec::new();
    let mut ttl = None::<u32>;
    for record in &message.answers {
        let ip = match &record.data {
            RData::A(a) => IpAddr::V4(a.0),
            RData::AAAA(aaaa) => IpAddr::V6(aaaa.0),
            _ => continue,
        };
        ips.push(ip);
        ttl = Some(ttl.map_or(record.ttl, |t| t.min(record.ttl)));
    }
    Some(DnsReply {
        rcode: u16::from(message.metadata.response_code),
        ips,
        ttl: ttl.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Lab;

    /// Generous for a lab on one machine.
    const TIMEOUT: Duration = Duration::from_secs(2);
    /// For queries that are expected to go unanswered.
    const SHORT: Duration = Duration::from_millis(500);

    const PARTNER: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
    const PARTNER_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 10);

    /// `api.partner.com`: one IPv4 and one IPv6 address, TTL 60; `www.partner.com` an
    /// alias of it.
    fn zone() -> Zone {
        State::new(
            &[("api.partner.com", &[PARTNER.into(), PARTNER_V6.into()], 60)],
            &[("www.partner.com", "api.partner.com")],
        )
        .unwrap()
        .zone
    }

    /// A query as a stub resolver writes it.
    fn query(id: u16, name: &str, qtype: RecordType) -> Vec<u8> {
        let mut m = Message::new(id, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
        m.to_vec().unwrap()
    }

    /// What the server answers to a UDP query against [`zone`].
    fn reply(id: u16, name: &str, qtype: RecordType) -> Message {
        let bytes = answer(&zone(), &query(id, name, qtype), Transport::Udp).unwrap();
        Message::from_vec(&bytes).unwrap()
    }

    #[test]
    fn an_alias_is_answered_with_a_cname_and_the_target_s_addresses() {
        let m = reply(9, "www.partner.com", RecordType::A);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        let data: Vec<&RData> = m.answers.iter().map(|r| &r.data).collect();
        assert_eq!(
            data,
            vec![
                &RData::CNAME(CNAME(Name::from_ascii("api.partner.com.").unwrap())),
                &RData::A(A(PARTNER)),
            ]
        );
        assert_eq!(m.answers[1].name.to_ascii(), "api.partner.com.");
    }

    /// The rcodes of two pipelined queries on one TCP connection (a known and an unknown name).
    fn two_on_one_connection(server: SocketAddr) -> [Option<u16>; 2] {
        let mut stream = TcpStream::connect_timeout(&server, TIMEOUT).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        write_frame(&mut stream, &query(1, "api.partner.com", RecordType::A)).unwrap();
        write_frame(&mut stream, &query(2, "nope.partner.com", RecordType::A)).unwrap();
        [1, 2].map(|id| {
            let mut len = [0u8; 2];
            stream.read_exact(&mut len).unwrap();
            let mut message = vec![0u8; usize::from(u16::from_be_bytes(len))];
            stream.read_exact(&mut message).unwrap();
            parse_reply(&message, id).map(|r| r.rcode)
        })
    }

    #[test]
    fn zone_names_answer_with_addresses_of_the_asked_family() {
        for name in ["api.partner.com", "API.Partner.COM."] {
            let m = reply(7, name, RecordType::A);
            assert_eq!(m.metadata.id, 7);
            assert_eq!(m.metadata.message_type, MessageType::Response);
            assert!(m.metadata.authoritative && m.metadata.recursion_desired);
            assert_eq!(m.metadata.response_code, ResponseCode::NoError);
            assert_eq!(m.queries.len(), 1);
            assert_eq!(
                parse_reply(&m.to_vec().unwrap(), 7).unwrap().ips,
                [IpAddr::from(PARTNER)]
            );
        }
        let aaaa = reply(8, "api.partner.com.", RecordType::AAAA);
        let got = parse_reply(&aaaa.to_vec().unwrap(), 8).unwrap();
        assert_eq!(
            got,
            DnsReply {
                rcode: 0,
                ips: vec![PARTNER_V6.into()],
                ttl: 60
            }
        );
        let txt = reply(9, "api.partner.com.", RecordType::TXT);
        assert_eq!(txt.metadata.response_code, ResponseCode::NoError);
        assert!(txt.answers.is_empty());
    }

    #[test]
    fn unknown_names_get_nxdomain_and_non_queries_are_ignored() {
        let m = reply(3, "evil.example.", RecordType::A);
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
        assert!(m.answers.is_empty());
        let q = query(1, "api.partner.com.", RecordType::A);
        // Every truncation of a query is ignored or answered, never a panic.
        for end in 0..q.len() {
            let _ = answer(&zone(), &q[..end], Transport::Tcp);
        }
        assert!(answer(&zone(), &[], Transport::Udp).is_none());
        let response = answer(&zone(), &q, Transport::Udp).unwrap();
        assert!(answer(&zone(), &response, Transport::Udp).is_none());
        assert!(parse_reply(&response, 2).is_none(), "wrong id");
        assert!(parse_reply(&q, 1).is_none(), "a query is not a reply");
        assert!(State::new(&[("bad..name", &[], 1)], &[]).is_err());
        assert!(State::new(&[], &[("ok.example", "bad..name")]).is_err());
    }

    /// A lab with a client pod (10.0.1.1) and a pod for the DNS server (10.0.1.2) on one
    /// node; the lab is returned so it lives as long as the test.
    fn two_pods() -> (Lab, crate::PodRef, crate::PodRef) {
        let mut lab = Lab::new("dnslab").unwrap();
        let node = lab.add_node("node1").unwrap();
        let client = lab
            .add_pod(&node, "client", Ipv4Addr::new(10, 0, 1, 1), None)
            .unwrap();
        let dns = lab
            .add_pod(&node, "dns", Ipv4Addr::new(10, 0, 1, 2), None)
            .unwrap();
        (lab, client, dns)
    }

    #[test]
    fn pods_resolve_over_udp_and_tcp_and_unknown_names_are_nxdomain() {
        if !crate::require_root() {
            return;
        }
        let (_lab, client, dns) = two_pods();
        let partner: &[IpAddr] = &[PARTNER.into()];
        let server_addr = SocketAddr::new(dns.v4.into(), 53);
        let server =
            DnsServer::start(&dns.netns, server_addr, &[("api.partner.com", partner, 60)]).unwrap();
        assert_eq!(server.local_addr(), server_addr);
        let expected = DnsReply {
            rcode: 0,
            ips: vec![PARTNER.into()],
            ttl: 60,
        };
        for tcp in [false, true] {
            let got = dns_query(&client.netns, server_addr, "api.partner.com", tcp, TIMEOUT);
            assert_eq!(got.unwrap().as_ref(), Some(&expected), "tcp {tcp}");
            let unknown = dns_query(
                &client.netns,
                server_addr,
                "nope.partner.com.",
                tcp,
                TIMEOUT,
            )
            .unwrap()
            .unwrap();
            assert_eq!((unknown.rcode, unknown.ips.len(), unknown.ttl), (3, 0, 0));
        }
        let from = dns_query_from(
            &client.netns,
            server_addr,
            "API.partner.com.",
            true,
            TIMEOUT,
            40053,
        );
        assert_eq!(from.unwrap(), Some(expected.clone()));
        let from = dns_query_from(
            &client.netns,
            server_addr,
            "api.partner.com",
            false,
            TIMEOUT,
            40053,
        );
        assert_eq!(from.unwrap(), Some(expected));
        // Several queries on one connection, the second sent before the first is answered.
        let replies = crate::in_netns(&client.netns, || two_on_one_connection(server_addr));
        assert_eq!(replies.unwrap(), [Some(0), Some(3)]);
        assert_eq!(server.tcp_queries(), 5);
        assert!(server.queries() >= 8, "{}", server.queries());
        assert_eq!(server.ignored(), 0);
    }

    #[test]
    fn unanswered_queries_are_none_not_errors() {
        if !crate::require_root() {
            return;
        }
        let (_lab, client, dns) = two_pods();
        let closed = SocketAddr::new(dns.v4.into(), 53);
        for tcp in [false, true] {
            assert_eq!(
                dns_query(&client.netns, closed, "a.io", tcp, SHORT).unwrap(),
                None
            );
        }
        // Nobody owns this address: the query goes unanswered until the timeout.
        let nowhere = SocketAddr::new(Ipv4Addr::new(10, 9, 9, 9).into(), 53);
        assert_eq!(
            dns_query(&client.netns, nowhere, "a.io", false, SHORT).unwrap(),
            None
        );
        assert!(matches!(
            dns_query(&client.netns, closed, "bad..name", false, SHORT),
            Err(LabError::InvalidName { .. })
        ));
        // A datagram that is no DNS message is counted and ignored; the server keeps serving.
        let server = DnsServer::start(&dns.netns, closed, &[]).unwrap();
        assert!(!crate::udp_roundtrip(&client.netns, closed, SHORT).unwrap());
        assert!(server.ignored() >= 1);
        let reply = dns_query(&client.netns, closed, "a.io", false, TIMEOUT).unwrap();
        assert_eq!(reply.map(|r| r.rcode), Some(3));
        assert_eq!(server.queries(), 1);
    }
}
