//! A flow's connection counters (`observerd --trace aggregate`) in words: `120 packets
//! 9.0 kB sent, 118 packets 1.2 MB back, open 2.0 s`, where "sent" is the direction the
//! connection was opened in.

use observe_proto::flow::{ConnectionCounters, Flow};

use crate::numbers::{bytes, thousands};

/// The counters of `flow`'s connection in words, `None` for a flow without them.
pub fn text(flow: &Flow) -> Option<String> {
    let c = flow.connection.as_ref()?;
    let mut out = format!(
        "{} {} sent, {} {} back",
        packets(c.forward_packets),
        bytes(c.forward_bytes),
        packets(c.reply_packets),
        bytes(c.reply_bytes),
    );
    if let Some(open) = open_seconds(flow, c) {
        out.push_str(&format!(", open {open:.1} s"));
    }
    Some(out)
}

fn packets(n: u64) -> String {
    let unit = if n == 1 { "packet" } else { "packets" };
    format!("{} {unit}", thousands(n))
}

/// From the connection's first packet to this flow, in seconds.
fn open_seconds(flow: &Flow, c: &ConnectionCounters) -> Option<f64> {
    let (now, first) = (flow.time.as_ref()?, c.first_seen.as_ref()?);
    let ns = (now.seconds - first.seconds) as f64 * 1e9 + f64::from(now.nanos - first.nanos);
    (ns >= 0.0).then_some(ns / 1e9)
}

#[cfg(test)]
mod tests {
    use observe_proto::Timestamp;

    use super::*;

    #[test]
    fn counters_read_as_both_directions_and_the_age() {
        assert_eq!(text(&Flow::default()), None);
        let flow = Flow {
            time: Some(Timestamp {
                seconds: 12,
                nanos: 500_000_000,
            }),
            connection: Some(ConnectionCounters {
                forward_packets: 1,
                reply_packets: 1_118,
                forward_bytes: 60,
                reply_bytes: 1_250_000,
                first_seen: Some(Timestamp {
                    seconds: 10,
                    nanos: 0,
                }),
                ..ConnectionCounters::default()
            }),
            ..Flow::default()
        };
        assert_eq!(
            text(&flow).as_deref(),
            Some("1 packet 60 B sent, 1,118 packets 1.2 MB back, open 2.5 s")
        );
    }
}
