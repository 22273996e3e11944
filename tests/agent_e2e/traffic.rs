//! Real traffic is allowed or dropped as the policies say: TCP, UDP and ICMP, both address
//! families, both directions; replies pass an ingress-locked client; deny beats allow.

use crate::common::*;

#[test]
fn traffic_follows_the_policies_in_both_families() {
    let Some(c) = Cluster::new("e2etraffic") else {
        return;
    };
    c.apply(POLICIES).expect("policies");
    let _server = c.serve("server", &[7070, 8080, 9090], &[5353, 5354]);
    let _client = c.serve("client", &[8080], &[]);
    for v6 in [false, true] {
        let family = if v6 { "IPv6" } else { "IPv4" };
        assert!(
            c.reaches("client", "server", "tcp", 8080, v6),
            "{family}: allowed TCP port"
        );
        assert!(
            !c.reaches("client", "server", "tcp", 9090, v6),
            "{family}: TCP port no rule allows"
        );
        assert!(
            c.reaches("client", "server", "udp", 5353, v6),
            "{family}: allowed UDP port"
        );
        assert!(
            !c.reaches("client", "server", "udp", 5354, v6),
            "{family}: UDP port no rule allows"
        );
        assert!(
            c.reaches("client", "server", "icmp", 0, v6),
            "{family}: allowed echo request"
        );
        assert!(
            !c.reaches("server", "client", "tcp", 8080, v6),
            "{family}: the client accepts nothing"
        );
        assert!(
            !c.reaches("intruder", "server", "tcp", 7070, v6),
            "{family}: deny beats an allow-all"
        );
    }
}

#[test]
fn replies_of_allowed_connections_pass_a_default_deny() {
    let Some(c) = Cluster::new("e2ereply") else {
        return;
    };
    c.apply(POLICIES).expect("policies");
    let _intruder = c.serve("intruder", &[8080], &[5353]);
    // The client's ingress is default deny, yet its own connections get their replies.
    assert!(c.reaches("client", "intruder", "tcp", 8080, false));
    assert!(c.reaches("client", "intruder", "udp", 5353, true));
    assert!(c.reaches("client", "intruder", "icmp", 0, false));
    // A new connection towards the client is still refused.
    let _client = c.serve("client", &[8080], &[]);
    assert!(!c.reaches("intruder", "client", "tcp", 8080, false));
}
