//! The agent's own control traffic under the host firewall: the connections this agent
//! lives on (to its kvstore; from the clients of its TCP listener, as the kernel's socket
//! table lists them), how the node's host policy treats each, and the check that refuses
//! a change that would cut one unless forced.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use enforcer::engine::Engine;
use enforcer::engine::trace::{Target, Trace, TraceRequest};

use super::options::Options;

/// What the agent must keep reaching: its kvstore endpoints and its listener's port.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ControlPeers {
    /// The kvstore (etcd) endpoints (`--kvstore`).
    pub kvstore: Vec<SocketAddr>,
    /// The port of the TCP listener (`--listen-address`), whose connected clients count.
    pub listen_port: Option<u16>,
}

impl ControlPeers {
    /// From the agent's options (names resolve now; an endpoint that does not resolve is
    /// left out: the kvstore connection itself reports it).
    pub fn from_options(opts: &Options) -> Self {
        let kvstore = opts
            .cluster
            .store
            .config()
            .ok()
            .flatten()
            .map(|c| c.endpoints)
            .unwrap_or_default()
            .iter()
            .filter_map(|e| {
                let hostport = e.split("://").last()?;
                hostport.to_socket_addrs().ok()?.next()
            })
            .collect();
        let listen_port = opts
            .listen_address
            .as_deref()
            .and_then(|a| super::options::resolve("--listen-address", a).ok())
            .map(|a| a.port());
        Self {
            kvstore,
            listen_port,
        }
    }
}

/// One connection an agent needs, as a flow of its node's host endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlFlow {
    /// The node.
    pub node: String,
    /// What it is: `etcd 10.254.0.254:2379`, `client 10.254.0.250 of :4244`.
    pub what: String,
    /// The flow to trace (from or to the node).
    pub request: TraceRequest,
}

/// The control flows of node `node`: TCP to every kvstore endpoint, and TCP from every
/// client now connected to the listener's port (`sockets`: established (local, remote)
/// pairs of the node's socket table).
pub fn control_flows(
    node: &str,
    peers: &ControlPeers,
    sockets: &[(SocketAddr, SocketAddr)],
) -> Vec<ControlFlow> {
    let mut flows = kvstore_flows(node, &peers.kvstore);
    let Some(port) = peers.listen_port else {
        return flows;
    };
    let mut clients: Vec<IpAddr> = sockets
        .iter()
        .filter(|(local, _)| local.port() == port)
        .map(|(_, remote)| remote.ip())
        .filter(|ip| !ip.is_loopback())
        .collect();
    clients.sort();
    clients.dedup();
    flows.extend(clients.into_iter().map(|ip| ControlFlow {
        node: node.to_string(),
        what: format!("client {ip} of :{port}"),
        request: tcp(Target::Ip(ip), Target::Node(node.to_string()), port),
    }));
    flows
}

/// Node `node`'s agent to every kvstore endpoint, over TCP.
pub fn kvstore_flows(node: &str, kvstore: &[SocketAddr]) -> Vec<ControlFlow> {
    kvstore
        .iter()
        .map(|ep| ControlFlow {
            node: node.to_string(),
            what: format!("etcd {ep}"),
            request: tcp(
                Target::Node(node.to_string()),
                Target::Ip(ep.ip()),
                ep.port(),
            ),
        })
        .collect()
}

fn tcp(from: Target, to: Target, dport: u16) -> TraceRequest {
    TraceRequest {
        from,
        to,
        protocol: 6,
        dport,
        reply: false,
    }
}

/// The flows `now` allows and `candidate` would deny, each with the candidate's trace.
pub fn cut_by<'a>(
    now: &Engine,
    candidate: &Engine,
    flows: &'a [ControlFlow],
) -> Vec<(&'a ControlFlow, Trace)> {
    flows
        .iter()
        .filter(|f| now.trace(&f.request).is_ok_and(|t| t.verdict != "DENIED"))
        .filter_map(|f| {
            let t = candidate.trace(&f.request).ok()?;
            (t.verdict == "DENIED").then_some((f, t))
        })
        .collect()
}

/// The refusal of a change that cuts `cut`, naming each connection and what denies it.
pub fn refusal(cut: &[(&ControlFlow, Trace)]) -> String {
    let lines: Vec<String> = cut
        .iter()
        .map(|(f, t)| format!("  node {}: {}: {}", f.node, f.what, denial(t)))
        .collect();
    format!(
        "refusing: a host policy would cut an agent from its control traffic:\n{}\n\
         allow it in the policy, or use --force",
        lines.join("\n")
    )
}

/// One line on how `trace` treats a control flow: its verdict and the deciding rules.
pub fn verdict_line(flow: &ControlFlow, trace: &Trace) -> String {
    let side = host_side(trace);
    let by: Vec<String> = side
        .matched_rules
        .iter()
        .map(|m| format!("{} {} {}", m.kind, m.name, m.rule))
        .collect();
    let how = match (trace.verdict.as_str(), by.is_empty(), side.enforced) {
        ("DENIED", _, _) => denial(trace),
        (_, _, false) => "allowed: the host policy does not enforce this direction".into(),
        (_, false, _) => format!("allowed by {}", by.join(", ")),
        _ => "allowed".into(),
    };
    format!("agent control traffic, {}: {how}", flow.what)
}

/// The side of `trace` that is the node's host endpoint.
fn host_side(trace: &Trace) -> &enforcer::engine::trace::SideTrace {
    if trace
        .ingress
        .endpoint
        .as_deref()
        .is_some_and(|e| e.starts_with("node/"))
    {
        &trace.ingress
    } else {
        &trace.egress
    }
}

fn denial(trace: &Trace) -> String {
    let side = host_side(trace);
    match (
        side.denying_rules.first(),
        side.selecting_policies.is_empty(),
    ) {
        (Some(m), _) => format!("denied by {} {} {}", m.kind, m.name, m.rule),
        (None, false) => format!(
            "denied by default deny ({})",
            side.selecting_policies.join(", ")
        ),
        (None, true) => "denied".into(),
    }
}

/// Established TCP connections of the calling thread's network namespace (the node's):
/// (local, remote) pairs from `/proc/self/net/tcp` and `tcp6`. Unreadable tables are
/// empty: the check then covers the kvstore only.
pub fn established_sockets() -> Vec<(SocketAddr, SocketAddr)> {
    ["/proc/thread-self/net/tcp", "/proc/thread-self/net/tcp6"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .flat_map(|text| parse_sockets(&text))
        .collect()
}

/// Parses a `/proc/net/tcp{,6}` table: the ESTABLISHED (state 01) rows.
fn parse_sockets(text: &str) -> Vec<(SocketAddr, SocketAddr)> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.split_whitespace().skip(1);
            let local = parse_addr(cols.next()?)?;
            let remote = parse_addr(cols.next()?)?;
            (cols.next()? == "01").then_some((local, remote))
        })
        .collect()
}

/// `0100007F:1F90` (IPv4, each 32-bit word in host byte order) or the 32-hex-digit IPv6
/// form.
fn parse_addr(text: &str) -> Option<SocketAddr> {
    let (addr, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words: Option<Vec<u32>> = (0..addr.len() / 8)
        .map(|i| u32::from_str_radix(addr.get(i * 8..i * 8 + 8)?, 16).ok())
        .collect();
    let words = words?;
    let ip = match words.len() {
        1 => IpAddr::V4(Ipv4Addr::from(words[0].to_ne_bytes())),
        4 => {
            let mut bytes = [0u8; 16];
            for (i, w) in words.iter().enumerate() {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_table_gives_established_pairs_in_both_families() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue\n   \
                  0: 0100FE0A:10F4 FA00FE0A:C350 01 00000000:00000000\n   \
                  1: 00000000:10F4 00000000:0000 0A 00000000:00000000\n";
        assert_eq!(
            parse_sockets(v4),
            [(
                "10.254.0.1:4340".parse().unwrap(),
                "10.254.0.250:50000".parse().unwrap()
            )]
        );
        let v6 = "  sl  local_address remote_address st\n   \
                  0: 00000000000000000000000001000000:0050 0000000000000000FFFF00000100007F:9C40 01 x\n";
        let pairs = parse_sockets(v6);
        assert_eq!(pairs[0].0, "[::1]:80".parse().unwrap());
        assert_eq!(pairs[0].1, "[::ffff:127.0.0.1]:40000".parse().unwrap());
        assert!(parse_sockets("header\n 0: zz:zz 00:00 01\n").is_empty());
    }

    #[test]
    fn control_flows_are_the_kvstore_and_the_listeners_remote_clients() {
        let peers = ControlPeers {
            kvstore: vec!["10.254.0.254:2379".parse().unwrap()],
            listen_port: Some(4244),
        };
        let sockets = [
            (
                "10.254.0.1:4244".parse().unwrap(),
                "10.254.0.250:5000".parse().unwrap(),
            ),
            (
                "10.254.0.1:4244".parse().unwrap(),
                "10.254.0.250:5001".parse().unwrap(),
            ),
            (
                "127.0.0.1:4244".parse().unwrap(),
                "127.0.0.1:5002".parse().unwrap(),
            ),
            (
                "10.254.0.1:40000".parse().unwrap(),
                "10.254.0.254:2379".parse().unwrap(),
            ),
        ];
        let flows = control_flows("n1", &peers, &sockets);
        let what: Vec<&str> = flows.iter().map(|f| f.what.as_str()).collect();
        assert_eq!(
            what,
            ["etcd 10.254.0.254:2379", "client 10.254.0.250 of :4244"]
        );
        assert_eq!(flows[1].request.to, Target::Node("n1".into()));
        assert_eq!(flows[1].request.dport, 4244);
    }
}
