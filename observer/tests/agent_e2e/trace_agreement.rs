//! For a sample of flows, what the datapath does to real traffic equals what
//! `observe policy trace` (the agent's Trace call) predicts.

use crate::common::*;

#[test]
fn the_datapath_agrees_with_policy_trace() {
    let Some(c) = Cluster::new("e2etrace") else {
        return;
    };
    c.apply(POLICIES).expect("policies");
    let _s = c.serve("server", &[7070, 8080, 9090], &[5353, 5354]);
    let _c = c.serve("client", &[8080], &[]);
    let _i = c.serve("intruder", &[8080], &[5353]);
    let cases = [
        ("client", "server", "tcp", 8080),
        ("client", "server", "tcp", 9090),
        ("client", "server", "udp", 5353),
        ("client", "server", "udp", 5354),
        ("client", "server", "icmp", 0),
        ("intruder", "server", "tcp", 7070),
        ("intruder", "server", "tcp", 8080),
        ("server", "client", "tcp", 8080),
        ("client", "intruder", "tcp", 8080),
        ("server", "intruder", "udp", 5353),
        ("intruder", "client", "icmp", 0),
    ];
    for (from, to, proto, port) in cases {
        let (protocol, dport) = match proto {
            "tcp" => (6, u32::from(port)),
            "udp" => (17, u32::from(port)),
            _ => (1, 8),
        };
        let predicted = c.trace(from, to, protocol, dport)["verdict"] == "ALLOWED";
        let real = c.reaches(from, to, proto, port, false);
        assert_eq!(
            real, predicted,
            "{from} -> {to} {proto}/{port}: datapath {real}, trace {predicted}"
        );
    }
}
