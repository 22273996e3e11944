//! A private network for the tests of the transparent proxy (root only, as CI is). [`run`]
//! makes three network namespaces on a thread of the test's own, joined by veth pairs:
//!
//! ```text
//!   pod (POD 192.0.2.10) --p0/n0-- node (the proxy) --n1/d0-- dns (DNS 192.0.2.53)
//! ```
//!
//! The node is the thread's home, where the proxy runs, as the agent does. It routes the
//! pod's and the server's packets to local sockets whatever their addresses (policy
//! routing to a `local` route, as for TPROXY), and [`Lab::steer`] hands the pod's DNS
//! packets to the proxy's listeners as the datapath does ([`steer`]). The pod and the
//! server each have a namespace of their own, so the proxy's upstream connection and the
//! pod's connection, which share their addresses and ports, never meet in one namespace.
//! Sockets are made in the pod's or the server's namespace by [`Lab::in_pod`] and
//! [`Lab::in_dns`]; the test runs on a current-thread runtime, so every socket the proxy
//! makes is the node's. Leaving the thread removes it all.

mod steer;

use std::fs::File;
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};
use tokio::sync::mpsc;

use crate::dns::server::Handler;

use super::exchange::{Decision, MAX_MESSAGE, read_framed, write_framed};
use super::message::tests::replies;
use super::message::{Question, Refusal};
use super::server::{Config, Hold, Report, Stats, serve_transparent_tcp, serve_transparent_udp};
use super::transparent::{Listeners, bind};

/// The pod's address.
pub(crate) const POD: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
/// Its DNS server's address.
pub(crate) const DNS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 53);
/// Where the pod sends its queries.
pub(crate) const SERVER: SocketAddrV4 = SocketAddrV4::new(DNS, 53);

/// Runs `test` in a fresh [`Lab`], on a thread of its own with a current-thread runtime;
/// its panic is the caller's. Panics at once when not root.
pub(crate) fn run<F, Fut>(test: F)
where
    F: FnOnce(Lab) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + 'static,
{
    // SAFETY: geteuid cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "this test needs root (it makes network namespaces, transparent sockets and a BPF \
         program): run `cargo test -p observe-proxy` as root, as CI does"
    );
    let name = std::thread::current()
        .name()
        .unwrap_or("testnet")
        .to_owned();
    let thread = std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            let lab = Lab::new().expect("the test network");
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(test(lab));
        })
        .expect("a thread");
    if let Err(panic) = thread.join() {
        std::panic::resume_unwind(panic);
    }
}

/// The three namespaces (the thread is in the node's) and the steering in place.
#[derive(Debug)]
pub(crate) struct Lab {
    pod: OwnedFd,
    dns: OwnedFd,
    node: OwnedFd,
    steering: Vec<steer::Steering>,
}

impl Lab {
    fn new() -> io::Result<Self> {
        let pod = unshare()?;
        let dns = unshare()?;
        let node = unshare()?;
        let lab = Self {
            pod,
            dns,
            node,
            steering: Vec::new(),
        };
        ip(&lab.node_script())?;
        lab.in_pod(|| ip(&far_end_script("p0", POD, DNS, NODE_POD_MAC)))?;
        lab.in_dns(|| ip(&far_end_script("d0", DNS, POD, NODE_DNS_MAC)))?;
        for dev in ["n0", "n1"] {
            wait_until_up(dev)?;
        }
        lab.in_pod(|| wait_until_up("p0"))?;
        lab.in_dns(|| wait_until_up("d0"))?;
        Ok(lab)
    }

    /// Runs `f` in the pod's namespace.
    pub(crate) fn in_pod<T>(&self, f: impl FnOnce() -> T) -> T {
        self.inside(&self.pod, f)
    }

    /// Runs `f` in the DNS server's namespace.
    pub(crate) fn in_dns<T>(&self, f: impl FnOnce() -> T) -> T {
        self.inside(&self.dns, f)
    }

    fn inside<T>(&self, ns: &OwnedFd, f: impl FnOnce() -> T) -> T {
        setns(ns).expect("entering a test namespace");
        // Back home even when `f` panics.
        struct Home<'a>(&'a OwnedFd);
        impl Drop for Home<'_> {
            fn drop(&mut self) {
                setns(self.0).expect("back to the node's namespace");
            }
        }
        let _home = Home(&self.node);
        f()
    }

    /// Steers the pod's packets for [`SERVER`] to `listeners`, as the datapath does.
    pub(crate) fn steer(&mut self, listeners: &Listeners) -> io::Result<()> {
        let steering = steer::steer(
            self.node.as_fd(),
            SERVER,
            listeners.udp.as_fd(),
            listeners.tcp.as_fd(),
        )?;
        self.steering.push(steering);
        Ok(())
    }

    /// A UDP socket of the pod's, on a port of its own.
    pub(crate) fn pod_udp(&self) -> UdpSocket {
        let socket = self
            .in_pod(|| std::net::UdpSocket::bind((POD, 0)))
            .expect("a pod socket");
        socket.set_nonblocking(true).expect("nonblocking");
        UdpSocket::from_std(socket).expect("a tokio socket")
    }

    /// A TCP connection from the pod to [`SERVER`].
    pub(crate) async fn pod_tcp(&self) -> TcpStream {
        let socket = self.in_pod(TcpSocket::new_v4).expect("a pod socket");
        socket.bind((POD, 0).into()).expect("bind in the pod");
        tokio::time::timeout(Duration::from_secs(5), socket.connect(SERVER.into()))
            .await
            .expect("connected in time")
            .expect("connected")
    }

    /// A DNS server at [`SERVER`] over UDP and TCP answering as
    /// [`super::message::tests::server`] does, counting what it gets.
    pub(crate) fn dns_server(&self) -> Arc<Served> {
        let (udp, tcp) = self
            .in_dns(|| {
                let udp = std::net::UdpSocket::bind(SERVER)?;
                let tcp = std::net::TcpListener::bind(SERVER)?;
                udp.set_nonblocking(true)?;
                tcp.set_nonblocking(true)?;
                io::Result::Ok((udp, tcp))
            })
            .expect("the DNS server's sockets");
        let counts = Arc::new(Served::default());
        let udp = UdpSocket::from_std(udp).expect("a tokio socket");
        tokio::spawn(serve_udp(udp, counts.clone()));
        let tcp = TcpListener::from_std(tcp).expect("a tokio listener");
        tokio::spawn(serve_tcp(tcp, counts.clone()));
        counts
    }

    /// The node's setup: the veth pairs (their far ends moved to the pod and the server),
    /// routes and neighbours to both, and every packet arriving from either delivered
    /// locally.
    fn node_script(&self) -> String {
        let fd = |ns: &OwnedFd| format!("/proc/{}/fd/{}", std::process::id(), ns.as_raw_fd());
        format!(
            "link set lo up
link add p0 address {POD_MAC} type veth peer name n0 address {NODE_POD_MAC}
link add d0 address {DNS_MAC} type veth peer name n1 address {NODE_DNS_MAC}
link set p0 netns {pod}
link set d0 netns {dns}
link set n0 up
link set n1 up
route add {POD}/32 dev n0
route add {DNS}/32 dev n1
neigh add {POD} lladdr {POD_MAC} dev n0 nud permanent
neigh add {DNS} lladdr {DNS_MAC} dev n1 nud permanent
route add local 0.0.0.0/0 dev lo table 100
rule add iif n0 lookup 100
rule add iif n1 lookup 100
",
            pod = fd(&self.pod),
            dns = fd(&self.dns),
        )
    }
}

const POD_MAC: &str = "02:00:00:00:00:0a";
const NODE_POD_MAC: &str = "02:00:00:00:00:0b";
const DNS_MAC: &str = "02:00:00:00:00:35";
const NODE_DNS_MAC: &str = "02:00:00:00:00:36";

/// The pod's or the server's setup: its address on its veth end `dev`, and its peer's
/// address routed to the node (`node_mac`).
fn far_end_script(dev: &str, own: Ipv4Addr, peer: Ipv4Addr, node_mac: &str) -> String {
    format!(
        "link set lo up
addr add {own}/32 dev {dev}
link set {dev} up
route add {peer}/32 dev {dev} src {own}
neigh add {peer} lladdr {node_mac} dev {dev} nud permanent
"
    )
}

/// Moves the thread to a new network namespace; a descriptor of it.
fn unshare() -> io::Result<OwnedFd> {
    // SAFETY: unshare(CLONE_NEWNET) changes only this thread's namespace.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(File::open("/proc/thread-self/ns/net")?.into())
}

/// Moves the thread to the network namespace `ns`.
fn setns(ns: &OwnedFd) -> io::Result<()> {
    // SAFETY: a namespace descriptor; setns changes only this thread's namespace.
    if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Waits until the link `dev` carries packets: a link just set up drops them until the
/// kernel has given it its queueing discipline (`qdisc noop` until then) a moment later.
fn wait_until_up(dev: &str) -> io::Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let output = Command::new(ip_program())
            .args(["-o", "link", "show", "dev", dev])
            .stderr(Stdio::inherit())
            .output()?;
        let shown = String::from_utf8_lossy(&output.stdout);
        if shown.contains("state UP") && !shown.contains("qdisc noop") {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(io::Error::other(format!("{dev} is not up: {shown}")));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Where iproute2's `ip` is.
fn ip_program() -> &'static str {
    ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or("ip")
}

/// Runs `ip -batch -` on `script`, in the thread's namespace (a child starts in its
/// parent thread's).
fn ip(script: &str) -> io::Result<()> {
    let program = ip_program();
    let mut child = Command::new(program)
        .args(["-batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("{program} (iproute2): {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(script.as_bytes())?;
    }
    let output = child.wait_with_output()?;
    if output.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "ip -batch failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )))
    }
}

/// What the lab's DNS server got.
#[derive(Debug, Default)]
pub(crate) struct Served {
    /// Queries over UDP.
    pub(crate) udp_queries: AtomicU64,
    /// Queries over TCP.
    pub(crate) tcp_queries: AtomicU64,
    /// TCP connections accepted.
    pub(crate) tcp_connections: AtomicU64,
    /// The last query's sender.
    pub(crate) last_client: std::sync::Mutex<Option<SocketAddr>>,
}

impl Served {
    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    fn saw(&self, counter: &AtomicU64, client: SocketAddr) {
        counter.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut last) = self.last_client.lock() {
            *last = Some(client);
        }
    }

    /// The last query's sender.
    pub(crate) fn last_client(&self) -> Option<SocketAddr> {
        self.last_client.lock().ok().and_then(|last| *last)
    }
}

/// Answers queries as [`super::message::tests::server`] does, counting each.
async fn serve_udp(socket: UdpSocket, counts: Arc<Served>) {
    let mut buf = vec![0; MAX_MESSAGE];
    while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
        counts.saw(&counts.udp_queries, peer);
        for reply in replies(&buf[..n]).into_iter().flatten() {
            let _ = socket.send_to(&reply, peer).await;
        }
    }
}

/// Serves TCP connections: each message is answered as [`serve_udp`] answers a datagram.
async fn serve_tcp(listener: TcpListener, counts: Arc<Served>) {
    while let Ok((mut stream, peer)) = listener.accept().await {
        counts.saw(&counts.tcp_connections, peer);
        let counts = counts.clone();
        tokio::spawn(async move {
            while let Ok(Some(query)) = read_framed(&mut stream).await {
                counts.saw(&counts.tcp_queries, peer);
                for reply in replies(&query).into_iter().flatten() {
                    if write_framed(&mut stream, &reply).await.is_err() {
                        return;
                    }
                }
            }
        });
    }
}

/// The transparent proxy running in a [`Lab`], in front of its DNS server.
#[derive(Debug)]
pub(crate) struct Proxy {
    /// The proxy's reports.
    pub(crate) reports: mpsc::Receiver<Report>,
    /// The proxy's counters.
    pub(crate) stats: Arc<Stats>,
    /// What the DNS server got.
    pub(crate) upstream: Arc<Served>,
    /// The listeners' port.
    pub(crate) port: u16,
}

/// Starts the DNS server and the transparent proxy (UDP and TCP) in front of it, steered
/// to, allowing only `*.partner.com`.
pub(crate) fn proxy(lab: &mut Lab, hold: Arc<dyn Hold>, config: Config) -> Proxy {
    let upstream = lab.dns_server();
    let listeners = bind(0).expect("the listeners");
    lab.steer(&listeners).expect("the steering");
    let port = listeners.port;
    let udp = Arc::new(UdpSocket::from_std(listeners.udp).expect("a tokio socket"));
    let tcp = TcpListener::from_std(listeners.tcp).expect("a tokio listener");
    let (tx, reports) = mpsc::channel(64);
    let stats = Arc::new(Stats::default());
    let judge = Arc::new(|_: SocketAddr, _: SocketAddr, q: &Question| {
        if q.name.ends_with(".partner.com.") {
            Decision::Forward
        } else {
            Decision::Refuse(Refusal::Refused)
        }
    });
    let handler = Handler::new(judge, hold, tx, stats.clone(), config);
    tokio::spawn(serve_transparent_udp(udp, handler.clone()));
    tokio::spawn(serve_transparent_tcp(tcp, handler));
    Proxy {
        reports,
        stats,
        upstream,
        port,
    }
}

/// Waits for a datagram on `socket` (5 s at most): its bytes and sender.
pub(crate) async fn recv(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0; MAX_MESSAGE];
    let (n, from) = tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buf))
        .await
        .expect("a datagram in time")
        .expect("a datagram");
    buf.truncate(n);
    (buf, from)
}
