//! `hubble_tcp_flags_total{flag,family}`: SYN, SYN-ACK, FIN and RST occurrences in
//! forwarded (or redirected) TCP flows, by IP family, as Hubble's `tcp` metric.

use observe_proto::flow::{Flow, Verdict, layer4};

use super::series::CounterVec;
use super::text::Encoder;
use super::{Handler, Plugin};

/// The plugin.
pub(super) const PLUGIN: Plugin = Plugin {
    name: "tcp",
    new: || Box::new(TcpHandler::default()),
};

#[derive(Default)]
struct TcpHandler {
    flags: CounterVec<(&'static str, &'static str)>,
}

impl Handler for TcpHandler {
    fn process_flow(&mut self, flow: &Flow) {
        if !matches!(flow.verdict(), Verdict::Forwarded | Verdict::Redirected) {
            return;
        }
        let Some(ip) = &flow.ip else {
            return;
        };
        let Some(layer4::Protocol::Tcp(tcp)) = flow.l4.as_ref().and_then(|l| l.protocol.as_ref())
        else {
            return;
        };
        let Some(flags) = tcp.flags else {
            return;
        };
        let family = ip.ip_version().as_str_name();
        if flags.fin {
            self.flags.inc(("FIN", family));
        }
        if flags.syn {
            self.flags
                .inc((if flags.ack { "SYN-ACK" } else { "SYN" }, family));
        }
        if flags.rst {
            self.flags.inc(("RST", family));
        }
    }

    fn encode(&self, out: &mut Encoder) {
        self.flags.encode(
            out,
            ("hubble_tcp_flags_total", "TCP flag occurrences"),
            ["flag", "family"],
            |(flag, family)| [flag.to_string(), family.to_string()],
        );
    }
}
