//! `tcp_flags`: each `TCPFlags` value matches when every flag set in it is set on the
//! packet (SYN alone matches SYN+ACK); several values are alternatives.

use observe_proto::flow::{Flow, FlowFilter, TcpFlags, layer4};

use super::{FilterBuilder, FilterError, FilterFn};

/// Builds the `tcp_flags` filter.
pub struct TcpFlagsFilter;

impl FilterBuilder for TcpFlagsFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        if filter.tcp_flags.is_empty() {
            return Ok(vec![]);
        }
        let wanted: Vec<u16> = filter.tcp_flags.iter().map(bits).collect();
        Ok(vec![Box::new(move |flow: &Flow| {
            let Some(set) = flags_of(flow) else {
                return false;
            };
            let set = bits(set);
            // A wanted set matches when none of its flags is missing from the packet.
            wanted.iter().any(|&w| w & !set == 0)
        })])
    }
}

fn flags_of(flow: &Flow) -> Option<&TcpFlags> {
    match flow.l4.as_ref()?.protocol.as_ref()? {
        layer4::Protocol::Tcp(tcp) => tcp.flags.as_ref(),
        _ => None,
    }
}

fn bits(flags: &TcpFlags) -> u16 {
    [
        flags.fin, flags.syn, flags.rst, flags.psh, flags.ack, flags.urg, flags.ece, flags.cwr,
        flags.ns,
    ]
    .iter()
    .enumerate()
    .fold(0, |acc, (i, &on)| acc | (u16::from(on) << i))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::{FlowFilter, TcpFlags};

    fn flags(syn: bool, ack: bool, fin: bool) -> TcpFlags {
        TcpFlags {
            syn,
            ack,
            fin,
            ..Default::default()
        }
    }

    #[test]
    fn every_named_flag_must_be_set() {
        let syn_ack = FlowFilter {
            tcp_flags: vec![flags(true, true, false)],
            ..Default::default()
        };
        check(
            syn_ack,
            &[
                (
                    "syn+ack",
                    with_tcp(forwarded(), 1, 2, flags(true, true, false)),
                    true,
                ),
                (
                    "syn only",
                    with_tcp(forwarded(), 1, 2, flags(true, false, false)),
                    false,
                ),
                ("udp", with_udp(forwarded(), 1, 2), false),
            ],
        );
        let syn_or_fin = FlowFilter {
            tcp_flags: vec![flags(true, false, false), flags(false, false, true)],
            ..Default::default()
        };
        check(
            syn_or_fin,
            &[
                (
                    "syn+ack has syn",
                    with_tcp(forwarded(), 1, 2, flags(true, true, false)),
                    true,
                ),
                (
                    "fin",
                    with_tcp(forwarded(), 1, 2, flags(false, true, true)),
                    true,
                ),
                (
                    "ack",
                    with_tcp(forwarded(), 1, 2, flags(false, true, false)),
                    false,
                ),
            ],
        );
    }
}
