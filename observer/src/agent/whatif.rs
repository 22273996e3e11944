//! What-if over the recorded history (`observe policy whatif`): every connection attempt
//! in the flow history, on disk and in the ring (its policy-verdict and drop events), is traced through the live
//! engine and through a copy with the candidate manifests applied, and the connections
//! whose verdict would change are listed with how often and when they were seen. The
//! requests the L7 proxies judged (HTTP requests, DNS queries) are replayed too, each
//! through the HTTP or DNS rules that would apply. Both
//! sides come from the engine's own trace, so a what-if agrees with `observe policy
//! trace`. Each distinct (source, destination, protocol, port) is traced once.

use std::collections::BTreeMap;

use enforcer::engine::Engine;
use enforcer::engine::trace::{SideTrace, Target, Trace, TraceRequest};
use observe_proto::Timestamp;
use observe_proto::control::WhatIfChange;
use observe_proto::flow::Flow;

use std::ops::ControlFlow;

use crate::decode::Detail;
use crate::event::DecodedEvent;
use crate::history::History;
use crate::history::reader::Item;
use crate::pipeline::FlowRing;
use crate::ring::Read;

const POLICY_VERDICT: u8 = probe_common::event::kind::POLICY_VERDICT;
const DROP: u8 = probe_common::event::kind::DROP;

/// A request the L7 proxies judged.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum L7Request {
    /// An HTTP request: method and path.
    Http(String, String),
    /// A DNS query for a name.
    Dns(String),
}

/// One connection (and, for L7 flows, one request on it): what `observe policy trace`
/// takes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Connection {
    /// `namespace/pod` or an address.
    pub from: String,
    /// The same for the destination.
    pub to: String,
    /// IP protocol number.
    pub protocol: u8,
    /// Destination port or ICMP type.
    pub dport: u16,
    /// The request, for a flow of the L7 proxies.
    pub request: Option<L7Request>,
}

/// How often a connection was seen.
#[derive(Clone, Copy, Debug, Default)]
pub struct Seen {
    /// Flow events of it.
    pub flows: u64,
    /// The first and last of them.
    pub first: Option<Timestamp>,
    /// See `first`.
    pub last: Option<Timestamp>,
}

/// The connections recorded since `since` (nanoseconds): on disk before the ring (when
/// there is an on-disk `history`), then in `ring`; with the number of events read and
/// the oldest one's time.
pub fn recorded(
    ring: &FlowRing,
    history: Option<&History>,
    since: Option<i128>,
) -> (BTreeMap<Connection, Seen>, u64, Option<Timestamp>) {
    let mut acc = Recorded {
        since,
        ..Recorded::default()
    };
    if let Some(h) = history {
        // Ring position p is disk record base + p: the disk part is what precedes the ring.
        let end = h.base() + ring.oldest_position();
        let start = match since {
            Some(s) => h.seq_at_time(s, end),
            None => h.oldest().map(|(seq, _)| seq),
        };
        if let Some(start) = start {
            h.read(start, end, |item| {
                if let Item::Event(_, event) = item {
                    acc.add(&event);
                }
                ControlFlow::Continue(())
            });
        }
    }
    let end = ring.write_position();
    let mut position = ring.oldest_position();
    while position < end {
        match ring.read(position) {
            Read::Entry(event, _) => {
                position += 1;
                acc.add(&event);
            }
            Read::Overwritten { oldest } => position = oldest.max(position + 1),
            Read::NotYet => break,
        }
    }
    (acc.connections, acc.events, acc.oldest)
}

/// What [`recorded`] gathers.
#[derive(Default)]
struct Recorded {
    since: Option<i128>,
    connections: BTreeMap<Connection, Seen>,
    events: u64,
    oldest: Option<Timestamp>,
}

impl Recorded {
    fn add(&mut self, event: &DecodedEvent) {
        let Some(flow) = attempt(event) else { return };
        let time = flow.time;
        if self
            .since
            .is_some_and(|s| time.is_none_or(|t| t.unix_nanos() < s))
        {
            return;
        }
        let Some(conn) = connection(&flow) else {
            return;
        };
        self.events += 1;
        self.oldest = self.oldest.or(time);
        let seen = self.connections.entry(conn).or_default();
        seen.flows += 1;
        seen.first = seen.first.or(time);
        seen.last = time.or(seen.last);
    }
}

/// The flow of a connection attempt (a policy verdict or a drop, stored in the ring or
/// read back from disk as a built flow) or of a request the L7 proxies judged.
fn attempt(event: &DecodedEvent) -> Option<Flow> {
    match event {
        // A connection's ends and ports are all it needs: no attribution, names or summary.
        DecodedEvent::Datapath(stored) if matches!(stored.kind(), POLICY_VERDICT | DROP) => {
            Some(stored.build(Detail::Endpoints))
        }
        DecodedEvent::Flow(flow) => {
            let kind = flow.event_type.as_ref().map(|t| t.r#type);
            let attempt = kind == Some(i32::from(POLICY_VERDICT)) || kind == Some(i32::from(DROP));
            (attempt || l7_request(flow).is_some()).then(|| (**flow).clone())
        }
        _ => None,
    }
}

/// The request of an L7 request flow.
fn l7_request(flow: &Flow) -> Option<L7Request> {
    use observe_proto::flow::{L7FlowType, layer7::Record};
    let l7 = flow.l7.as_ref()?;
    if l7.r#type() != L7FlowType::Request {
        return None;
    }
    match l7.record.as_ref()? {
        Record::Http(http) => Some(L7Request::Http(
            http.method.clone(),
            observe_filter::path_of(&http.url)
                .unwrap_or("/")
                .to_string(),
        )),
        Record::Dns(dns) => Some(L7Request::Dns(dns.query.clone())),
        _ => None,
    }
}

/// The connection a flow is part of, as trace names its ends.
pub fn connection(flow: &Flow) -> Option<Connection> {
    let ip = flow.ip.as_ref()?;
    let end = |ep: Option<&observe_proto::flow::Endpoint>, addr: &str| match ep {
        Some(e) if !e.pod_name.is_empty() && !e.namespace.is_empty() => {
            format!("{}/{}", e.namespace, e.pod_name)
        }
        _ => addr.to_string(),
    };
    let (protocol, dport) = protocol_and_port(flow)?;
    Some(Connection {
        from: end(flow.source.as_ref(), &ip.source),
        to: end(flow.destination.as_ref(), &ip.destination),
        protocol,
        dport,
        request: l7_request(flow),
    })
}

/// The IP protocol number and destination port (ICMP: type) of `flow`.
fn protocol_and_port(flow: &Flow) -> Option<(u8, u16)> {
    use observe_proto::flow::layer4::Protocol;
    let (protocol, port) = match flow.l4.as_ref()?.protocol.as_ref()? {
        Protocol::Tcp(t) => (6, t.destination_port),
        Protocol::Udp(u) => (17, u.destination_port),
        Protocol::Sctp(s) => (132, s.destination_port),
        Protocol::IcmPv4(i) => (1, i.r#type),
        Protocol::IcmPv6(i) => (58, i.r#type),
        _ => return None,
    };
    Some((protocol, u16::try_from(port).ok()?))
}

/// The connections of `recorded` whose verdict differs between `now` and `candidate`,
/// most frequent first.
pub fn changes(
    now: &Engine,
    candidate: &Engine,
    recorded: &BTreeMap<Connection, Seen>,
) -> Vec<WhatIfChange> {
    let mut out: Vec<WhatIfChange> = recorded
        .iter()
        .filter_map(|(conn, seen)| {
            let request = TraceRequest {
                from: Target::parse(&conn.from).ok()?,
                to: Target::parse(&conn.to).ok()?,
                protocol: conn.protocol,
                dport: conn.dport,
                reply: false,
            };
            let (before, _) = verdict(now, &request, conn)?;
            let (after, why) = verdict(candidate, &request, conn)?;
            (before != after).then(|| WhatIfChange {
                from: conn.from.clone(),
                to: conn.to.clone(),
                protocol: enforcer::policy::ports::protocol_name(conn.protocol),
                dport: u32::from(conn.dport),
                now: before.into(),
                would_be: after.into(),
                because: why,
                flows: seen.flows,
                first: seen.first,
                last: seen.last,
                request: conn.request.as_ref().map(request_text).unwrap_or_default(),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.flows
            .cmp(&a.flows)
            .then_with(|| (&a.from, &a.to, a.dport).cmp(&(&b.from, &b.to, b.dport)))
    });
    out
}

/// `engine`'s verdict on `conn` (ALLOWED or DENIED) and what decides it: the datapath's,
/// then for a request the proxy's (an HTTP request must pass the HTTP rules that apply,
/// a DNS query the DNS rules).
fn verdict(
    engine: &Engine,
    request: &TraceRequest,
    conn: &Connection,
) -> Option<(&'static str, String)> {
    let trace = engine.trace(request).ok()?;
    if trace.drop_reason.is_some() {
        return Some(("DENIED", because(&trace)));
    }
    let refused = match &conn.request {
        None => None,
        Some(L7Request::Http(method, path)) => {
            let req = enforcer::policy::http::Request::from_parts(method, path, &[]).ok()?;
            let judged = enforcer::engine::HttpPolicy::of(&trace).judge(&req);
            (!judged.allowed).then(|| format!("no HTTP rule allows {method} {path}"))
        }
        Some(L7Request::Dns(name)) => match (&request.from, &request.to) {
            (Target::Pod(pod), Target::Ip(server)) => {
                let judged = engine.judge_dns(pod, *server, request.protocol, request.dport, name);
                (!judged.allowed)
                    .then(|| format!("no DNS rule allows {}", name.trim_end_matches('.')))
            }
            _ => None,
        },
    };
    Some(match refused {
        Some(why) => ("DENIED", why),
        None => ("ALLOWED", because(&trace)),
    })
}

fn request_text(r: &L7Request) -> String {
    match r {
        L7Request::Http(method, path) => format!("{method} {path}"),
        L7Request::Dns(name) => format!("DNS {}", name.trim_end_matches('.')),
    }
}

/// What decides `trace`: the denying side's deny rule or default deny, else the allowing
/// rules.
fn because(trace: &Trace) -> String {
    let sides = [("egress", &trace.egress), ("ingress", &trace.ingress)];
    if let Some((dir, side)) = sides.iter().find(|(_, s)| s.drop_reason.is_some()) {
        return match side.denying_rules.first() {
            Some(r) => format!("{} {} {}", r.kind, qualified(&r.namespace, &r.name), r.rule),
            None => format!(
                "default deny on {dir} (selected by {})",
                side.selecting_policies.join(", ")
            ),
        };
    }
    let rules: Vec<String> = sides
        .iter()
        .flat_map(|(_, s): &(&str, &SideTrace)| s.matched_rules.iter())
        .map(|r| format!("{} {} {}", r.kind, qualified(&r.namespace, &r.name), r.rule))
        .collect();
    if rules.is_empty() {
        "no policy selects either side".into()
    } else {
        rules.join(", ")
    }
}

fn qualified(namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        name.to_string()
    } else {
        format!("{namespace}/{name}")
    }
}
