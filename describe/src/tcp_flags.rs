//! TCP flags in words, in the order Hubble prints them (`SYN, ACK`, `ACK, RST, FIN`), so
//! every client lists a packet's flags the way `hubble observe` and the agent's `Summary`
//! (`TCP Flags: SYN, ACK`) do.

use observe_proto::flow::TcpFlags;

/// The set flags of `flags`, comma separated, in Hubble's order; empty when none is set.
pub fn text(flags: &TcpFlags) -> String {
    let named = [
        (flags.syn, "SYN"),
        (flags.ack, "ACK"),
        (flags.rst, "RST"),
        (flags.fin, "FIN"),
        (flags.psh, "PSH"),
        (flags.urg, "URG"),
        (flags.ece, "ECE"),
        (flags.cwr, "CWR"),
        (flags.ns, "NS"),
    ];
    let set: Vec<&str> = named
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| *name)
        .collect();
    set.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_listed_in_hubbles_order_with_rst_before_fin() {
        let all = TcpFlags {
            fin: true,
            syn: true,
            rst: true,
            psh: true,
            ack: true,
            urg: true,
            ece: true,
            cwr: true,
            ns: true,
        };
        assert_eq!(text(&all), "SYN, ACK, RST, FIN, PSH, URG, ECE, CWR, NS");
        assert_eq!(text(&TcpFlags::default()), "");
    }
}
