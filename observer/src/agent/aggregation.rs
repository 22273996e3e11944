//! `--trace aggregate`, the part the datapath cannot do: a connection that went quiet.
//!
//! The datapath reports a connection at its packets only (new TCP flags, or a packet
//! after an interval without a report). What a connection sent after its last report and
//! before it went quiet (a UDP exchange, the tail of a transfer) would never be reported.
//! Every interval this flusher walks conntrack through its own read-only handle
//! ([`Connections`]: no lock on the agent) and reports each connection whose counters
//! moved since its last report and that was not reported for an interval, as the
//! datapath would have: a trace event with the connection's counters, at the
//! connection's endpoint, in the opening direction.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use enforcer::datapath::connections::Connections;
use probe_common::conntrack::{CtEntry, CtKey, ct_flags, state};
use probe_common::endpoint::{EndpointInfo, flags as endpoint_flags};
use probe_common::event::{ConnectionCounters, FlowEvent, event_flags, kind, obs_point, verdict};
use probe_common::{direction, ipcache};

use super::clock::monotonic_ns;
use crate::event::{MonitorEvent, Payload};
use crate::pipeline::EventSender;

/// Starts the flusher on a thread of its own (walking conntrack is a syscall per entry),
/// every `interval` until the pipeline stops.
///
/// # Errors
///
/// When the thread cannot be spawned.
pub fn start(
    connections: Connections,
    sender: EventSender,
    interval: Duration,
    node: Arc<str>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("aggregation".into())
        .spawn(move || run(&connections, &sender, interval, &node))
        .map(drop)
}

fn run(connections: &Connections, sender: &EventSender, interval: Duration, node: &Arc<str>) {
    let mut flushed = Flushed::default();
    let interval_ns = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
    loop {
        std::thread::sleep(interval.max(Duration::from_millis(100)));
        let read = connections
            .entries()
            .and_then(|entries| Ok((entries, connections.endpoints()?)));
        let (entries, endpoints) = match read {
            Ok(read) => read,
            Err(e) => {
                tracing::warn!("aggregation: cannot read conntrack: {e}");
                continue;
            }
        };
        for (key, entry) in flushed.due(&entries, monotonic_ns(), interval_ns) {
            let Some(endpoint) = endpoints.get(&key.endpoint_id) else {
                continue;
            };
            let (event, counters) = report(&key, &entry, *endpoint, monotonic_ns());
            let event = MonitorEvent {
                timestamp: SystemTime::now(),
                node_name: Arc::clone(node),
                payload: Payload::Counted(event, Box::new(counters)),
            };
            if sender.send(event).is_err() {
                return;
            }
        }
    }
}

/// What the flusher reported last, per connection: the packets its report counted.
#[derive(Debug, Default)]
struct Flushed(HashMap<CtKey, u64>);

impl Flushed {
    /// The connections to report at `now`: packets since the datapath's last report
    /// ([`ct_flags::UNREPORTED`]) that this flusher did not report yet, and no datapath
    /// report for `interval_ns`. Forgets the connections that are gone from the map.
    fn due(
        &mut self,
        entries: &[(CtKey, CtEntry)],
        now: u64,
        interval_ns: u64,
    ) -> Vec<(CtKey, CtEntry)> {
        let mut due = Vec::new();
        let mut kept = HashMap::with_capacity(self.0.len());
        for (key, entry) in entries {
            let packets = entry.packets_fwd + entry.packets_rev;
            let unreported = entry.flags & ct_flags::UNREPORTED != 0;
            let quiet = now.saturating_sub(entry.reported_ns) >= interval_ns;
            let flushed = self.0.get(key).copied();
            if unreported && quiet && flushed != Some(packets) {
                due.push((*key, *entry));
                kept.insert(*key, packets);
            } else if let Some(packets) = flushed.filter(|_| unreported) {
                kept.insert(*key, packets);
            }
        }
        self.0 = kept;
        due
    }
}

/// The trace event the datapath would have sent for `entry` at its endpoint, in the
/// opening direction, and the connection's counters.
fn report(
    key: &CtKey,
    entry: &CtEntry,
    (ifindex, endpoint): (u32, EndpointInfo),
    now: u64,
) -> (FlowEvent, ConnectionCounters) {
    let egress = key.direction == direction::EGRESS;
    let host = endpoint.flags & endpoint_flags::HOST != 0;
    let point = obs_point::of(host, egress);
    let (src_identity, dst_identity) = if egress {
        (endpoint.identity, entry.peer_identity)
    } else {
        (entry.peer_identity, endpoint.identity)
    };
    let echo = icmp_echo(key);
    let (sport, dport) = if echo.is_some() {
        (0, 0)
    } else {
        (key.sport, key.dport)
    };
    let event = FlowEvent {
        timestamp_ns: now,
        kind: kind::TRACE,
        subtype: point,
        direction: key.direction,
        family: key.family,
        protocol: key.protocol,
        ct_state: state::ESTABLISHED,
        endpoint_id: key.endpoint_id,
        sport,
        dport,
        icmp_type: echo.unwrap_or(0),
        ifindex,
        src_identity,
        dst_identity,
        cookie: entry.cookie,
        verdict: verdict::ALLOWED,
        flags: event_flags::COUNTED,
        saddr: key.saddr,
        daddr: key.daddr,
        ..FlowEvent::default()
    };
    (event, ConnectionCounters::of(entry))
}

/// The echo request type of an ICMP connection (conntrack keys ICMP by its echo id).
fn icmp_echo(key: &CtKey) -> Option<u8> {
    match (key.protocol, key.family) {
        (1, ipcache::FAMILY_V4) => Some(8),
        (58, ipcache::FAMILY_V6) => Some(128),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    fn key(sport: u16) -> CtKey {
        CtKey {
            sport,
            dport: 53,
            endpoint_id: 7,
            protocol: 17,
            family: ipcache::FAMILY_V4,
            direction: direction::EGRESS,
            ..CtKey::default()
        }
    }

    fn entry(packets: u64, unreported: bool, reported_ns: u64) -> CtEntry {
        CtEntry {
            packets_fwd: packets,
            flags: if unreported { ct_flags::UNREPORTED } else { 0 },
            reported_ns,
            peer_identity: 9,
            ..CtEntry::default()
        }
    }

    #[test]
    fn a_quiet_connection_with_unreported_packets_is_reported_once() {
        let mut f = Flushed::default();
        let now = 100 * SECOND;
        // A DNS exchange: two packets, reported by nothing but its opening event.
        let quiet = (key(1000), entry(2, true, now - 6 * SECOND));
        // Reported by the datapath with all its packets (its FIN): nothing to add.
        let closed = (key(1001), entry(40, false, now - 6 * SECOND));
        // Busy: the datapath reported it a moment ago.
        let busy = (key(1002), entry(500, true, now - SECOND));
        let entries = [quiet, closed, busy];
        let due = f.due(&entries, now, 5 * SECOND);
        assert_eq!(due.iter().map(|(k, _)| k.sport).collect::<Vec<_>>(), [1000]);
        assert!(
            f.due(&[quiet], now + 5 * SECOND, 5 * SECOND).is_empty(),
            "once"
        );
        // It sends again, quietly: reported again, with the new count.
        let again = [(key(1000), entry(3, true, now - 6 * SECOND))];
        assert_eq!(f.due(&again, now + 10 * SECOND, 5 * SECOND).len(), 1);
        // Gone from the map: forgotten.
        assert!(f.due(&[], now, 5 * SECOND).is_empty());
        assert!(f.0.is_empty());
    }

    #[test]
    fn the_report_is_the_datapath_s_event_at_the_endpoint() {
        let info = EndpointInfo {
            endpoint_id: 7,
            identity: 4242,
            ..EndpointInfo::default()
        };
        let e = CtEntry {
            bytes_fwd: 120,
            created_ns: 5,
            cookie: 3,
            ..entry(2, true, 0)
        };
        let (ev, c) = report(&key(1000), &e, (14, info), 77);
        assert_eq!(
            (ev.kind, ev.subtype, ev.ct_state),
            (kind::TRACE, obs_point::FROM_ENDPOINT, state::ESTABLISHED)
        );
        assert_eq!((ev.src_identity, ev.dst_identity), (4242, 9));
        assert_eq!(
            (ev.sport, ev.dport, ev.ifindex, ev.cookie),
            (1000, 53, 14, 3)
        );
        assert_ne!(ev.flags & event_flags::COUNTED, 0);
        assert_eq!((c.packets_fwd, c.bytes_fwd, c.first_seen_ns), (2, 120, 5));
        let ingress = CtKey {
            direction: direction::INGRESS,
            protocol: 1,
            ..key(1000)
        };
        let (ev, _) = report(&ingress, &e, (14, info), 77);
        assert_eq!(
            (ev.subtype, ev.src_identity, ev.dst_identity),
            (obs_point::TO_ENDPOINT, 9, 4242)
        );
        assert_eq!((ev.sport, ev.dport, ev.icmp_type), (0, 0, 8));
    }
}
