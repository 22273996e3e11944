//! The connection counters of an aggregated trace event (`observerd --trace aggregate`) as
//! the flow's `connection` extension: packets and bytes per direction, the TCP flags each
//! direction showed, and when the connection's first packet was seen.

use observe_proto::Timestamp;
use observe_proto::flow::ConnectionCounters as Counters;
use probe_common::event::ConnectionCounters;

use super::layers::decode_tcp_flags;

/// The proto message of `counters`, first seen at `first_seen` (wall clock).
pub(super) fn counters(counters: &ConnectionCounters, first_seen: Timestamp) -> Counters {
    let [forward, reply] = counters.tcp_flags_seen.to_le_bytes();
    let flags = |bits: u8| (bits != 0).then(|| decode_tcp_flags(bits));
    Counters {
        forward_packets: counters.packets_fwd,
        reply_packets: counters.packets_rev,
        forward_bytes: counters.bytes_fwd,
        reply_bytes: counters.bytes_rev,
        forward_tcp_flags: flags(forward),
        reply_tcp_flags: flags(reply),
        first_seen: Some(first_seen),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_and_flags_are_split() {
        let c = ConnectionCounters {
            packets_fwd: 4,
            packets_rev: 3,
            bytes_fwd: 300,
            bytes_rev: 4_000,
            first_seen_ns: 1,
            tcp_flags_seen: u16::from(0x02u8 | 0x10 | 0x01) | (u16::from(0x12u8) << 8),
            pad: [0; 6],
        };
        let at = Timestamp {
            seconds: 10,
            nanos: 5,
        };
        let p = counters(&c, at);
        assert_eq!((p.forward_packets, p.reply_packets), (4, 3));
        assert_eq!((p.forward_bytes, p.reply_bytes), (300, 4_000));
        let fwd = p.forward_tcp_flags.unwrap();
        assert!(fwd.syn && fwd.ack && fwd.fin && !fwd.rst);
        let rev = p.reply_tcp_flags.unwrap();
        assert!(rev.syn && rev.ack && !rev.fin);
        assert_eq!(p.first_seen, Some(at));
        let udp = counters(
            &ConnectionCounters {
                tcp_flags_seen: 0,
                ..c
            },
            at,
        );
        assert_eq!((udp.forward_tcp_flags, udp.reply_tcp_flags), (None, None));
    }
}
