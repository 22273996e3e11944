//! DNS-aware policy end to end: a DNS server in a lab pod, a partner host outside the
//! cluster behind a name, and a client whose egress allows DNS for one name only and TCP
//! 443 to what that name resolves to (`toFQDNs`). The agent's transparent DNS proxy judges
//! every query (UDP and TCP), refuses the rest, learns the answers, and the datapath lets
//! the client reach the learned address on the allowed port, and nothing else; learned
//! names survive an agent restart, and an expired name stops new connections while an
//! open one lives on.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use observe_proto::flow::{FlowFilter, Verdict};

use crate::common::*;

/// The DNS server (in pod `server`) and the partner hosts outside the cluster.
const DNS: &str = "10.77.0.2:53";
const PARTNER: &str = "203.0.113.10";
const SHORT_LIVED: &str = "203.0.113.11";

/// The client may ask the server for `api.partner.com` and `short.partner.com` only, and
/// reach what they resolve to on TCP 443 only.
const CLIENT_EGRESS: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: partner-only, namespace: e2e}
spec:
  endpointSelector: {matchLabels: {app: client}}
  egress:
  - toEndpoints: [{matchLabels: {app: server}}]
    toPorts:
    - ports: [{port: "53", protocol: ANY}]
      rules:
        dns:
        - matchName: api.partner.com
        - matchPattern: "short.partner.com"
        - matchName: cdn.partner.com
  - toFQDNs:
    - matchName: api.partner.com
    - matchName: short.partner.com
    - matchName: edge.cdn.example
    toPorts:
    - ports: [{port: "443", protocol: TCP}]
"#;

fn addr(text: &str) -> SocketAddr {
    text.parse().expect("address")
}

/// The lab: the cluster, the DNS server in pod `server`, and partner hosts serving TCP
/// 443 and 80.
struct DnsLab {
    c: Cluster,
    /// The client pod's namespace (known without asking the agent, which may be down).
    client: String,
    _dns: lab::DnsServer,
    _partners: Vec<(lab::PodRef, Vec<lab::TcpServer>)>,
}

impl DnsLab {
    fn new(tag: &str) -> Option<Self> {
        let mut c = Cluster::new(tag)?;
        let mut partners = Vec::new();
        for (name, ip) in [("partner", PARTNER), ("short", SHORT_LIVED)] {
            let node = c.node.clone();
            let host = c
                .lab
                .add_world_host(&node, name, ip.parse().expect("v4"), None)
                .expect("world host");
            let servers = [443, 80]
                .iter()
                .map(|p| {
                    lab::TcpServer::start(&host.netns, SocketAddr::new(ip.parse().expect("ip"), *p))
                        .expect("partner server")
                })
                .collect();
            partners.push((host, servers));
        }
        let server_ns = c.endpoint("server").netns;
        let partner: IpAddr = PARTNER.parse().expect("ip");
        let short: IpAddr = SHORT_LIVED.parse().expect("ip");
        let zone: &[(&str, &[IpAddr], u32)] = &[
            ("api.partner.com", &[partner], 300),
            ("short.partner.com", &[short], 2),
            ("evil.example", &[partner], 300),
            ("edge.cdn.example", &[short], 300),
        ];
        // cdn.partner.com is a CNAME of edge.cdn.example, which toFQDNs selects.
        let aliases = &[("cdn.partner.com", "edge.cdn.example")];
        let dns = lab::DnsServer::start_with_aliases(&server_ns, addr(DNS), zone, aliases)
            .expect("DNS server");
        c.apply(CLIENT_EGRESS).expect("policy applies");
        let client = c.endpoint("client").netns;
        Some(Self {
            c,
            client,
            _dns: dns,
            _partners: partners,
        })
    }

    fn ask(&self, name: &str, tcp: bool) -> Option<lab::DnsReply> {
        lab::dns_query(&self.client, addr(DNS), name, tcp, Duration::from_secs(3)).expect("query")
    }

    fn reaches(&self, ip: &str, port: u16) -> bool {
        reaches(&self.client, ip.parse().expect("ip"), "tcp", port)
    }

    fn dns_flows(&self, query: &str, verdict: Verdict) -> Vec<observe_proto::flow::Flow> {
        let filter = FlowFilter {
            source_pod: vec!["e2e/client".into()],
            verdict: vec![verdict as i32],
            ..Default::default()
        };
        self.c
            .flows(filter, 100)
            .into_iter()
            .filter(|f| {
                f.l7
                    .as_ref()
                    .and_then(|l7| l7.record.as_ref())
                    .is_some_and(|r| matches!(r, observe_proto::flow::layer7::Record::Dns(d) if d.query == query))
            })
            .collect()
    }
}

#[test]
fn an_allowed_name_resolves_and_its_address_is_reachable_on_the_allowed_port_only() {
    let Some(l) = DnsLab::new("e2edns") else {
        return;
    };
    assert!(
        !l.reaches(PARTNER, 443),
        "nothing learned yet: toFQDNs selects nothing"
    );
    let reply = l.ask("api.partner.com", false).expect("an answer over UDP");
    assert_eq!(reply.rcode, 0, "NOERROR");
    assert_eq!(reply.ips, vec![PARTNER.parse::<IpAddr>().unwrap()]);
    assert!(
        l.reaches(PARTNER, 443),
        "the learned address on the allowed port"
    );
    let to_partner = FlowFilter {
        destination_ip: vec![PARTNER.into()],
        destination_port: vec!["443".into()],
        ..Default::default()
    };
    let flow =
        l.c.flows(to_partner, 1)
            .pop()
            .expect("a flow to the partner");
    assert_eq!(flow.destination_names, vec!["api.partner.com."]);
    assert!(
        !l.reaches(PARTNER, 80),
        "the learned address on another port"
    );

    let refused = l.ask("evil.example", false).expect("an answer");
    assert_eq!(refused.rcode, 5, "a name no DNS rule allows is REFUSED");

    let tcp = l.ask("api.partner.com", true).expect("an answer over TCP");
    assert_eq!((tcp.rcode, tcp.ips.len()), (0, 1), "DNS over TCP");

    let dropped = l.dns_flows("evil.example.", Verdict::Dropped);
    assert!(
        !dropped.is_empty(),
        "a DROPPED L7 flow for the refused query"
    );
    let forwarded = l.dns_flows("api.partner.com.", Verdict::Forwarded);
    assert!(
        !forwarded.is_empty(),
        "FORWARDED L7 flows for the allowed name"
    );
    let policy = forwarded[0]
        .egress_allowed_by
        .first()
        .map(|p| p.name.clone())
        .unwrap_or_default();
    assert_eq!(
        policy, "partner-only",
        "the DNS flow names the policy that allowed it"
    );
}

#[test]
fn learned_names_survive_an_agent_restart() {
    let Some(mut l) = DnsLab::new("e2ednsrestart") else {
        return;
    };
    l.ask("api.partner.com", false).expect("an answer");
    assert!(l.reaches(PARTNER, 443));
    l.c.stop_agent();
    assert!(
        l.reaches(PARTNER, 443),
        "the pinned datapath keeps enforcing"
    );
    l.c.start_agent();
    assert!(
        l.reaches(PARTNER, 443),
        "the restarted agent restored the learned name"
    );
    let reply = l
        .ask("api.partner.com", false)
        .expect("DNS answered after the restart");
    assert_eq!(reply.rcode, 0);
}

#[test]
fn an_expired_name_stops_new_connections_while_an_open_one_survives() {
    let Some(l) = DnsLab::new("e2ednsttl") else {
        return;
    };
    let reply = l.ask("short.partner.com", false).expect("an answer");
    assert_eq!(reply.ttl, 2);
    let netns = l.client.clone();
    let target = SocketAddr::new(SHORT_LIVED.parse().unwrap(), 443);
    let mut open = lab::in_netns(&netns, || TcpStream::connect_timeout(&target, TIMEOUT))
        .expect("netns")
        .expect("connects while the name is live");
    open.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    // Past the TTL and a collection round.
    let deadline = Instant::now() + Duration::from_secs(10);
    while l.reaches(SHORT_LIVED, 443) {
        assert!(
            Instant::now() < deadline,
            "new connections still allowed after the TTL"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    open.write_all(b"still here")
        .expect("the open connection still sends");
    let mut buf = [0u8; 10];
    open.read_exact(&mut buf)
        .expect("and still receives: a zombie keeps its address");
    assert_eq!(&buf, b"still here");

    // The drop says why: the address was learned, and its TTL ran out.
    let filter = FlowFilter {
        source_pod: vec!["e2e/client".into()],
        destination_ip: vec![SHORT_LIVED.into()],
        verdict: vec![Verdict::Dropped as i32],
        ..Default::default()
    };
    let drops = l.c.flows(filter, 10);
    let history = drops
        .iter()
        .find_map(|f| f.attribution.as_ref()?.fqdn_history.clone())
        .expect("a drop to the expired address with its FQDN history");
    assert_eq!(history.name, "short.partner.com.");
    assert_eq!(history.why(), observe_proto::flow::FqdnGone::FqdnExpired);
}

/// A resolver outside the cluster (no datapath program sees its answers): the proxy asks
/// it from the node's address, so the answer comes back to the proxy, is judged and
/// learned like any other.
#[test]
fn a_resolver_outside_the_cluster_is_asked_from_the_node_and_its_answers_learned() {
    let Some(mut l) = DnsLab::new("e2ednsworld") else {
        return;
    };
    let node = l.c.node.clone();
    let resolver =
        l.c.lab
            .add_world_host(&node, "resolver", "192.0.2.53".parse().unwrap(), None)
            .expect("world resolver");
    let partner: IpAddr = PARTNER.parse().unwrap();
    let zone: &[(&str, &[IpAddr], u32)] = &[("api.partner.com", &[partner], 300)];
    let _dns =
        lab::DnsServer::start(&resolver.netns, addr("192.0.2.53:53"), zone).expect("resolver");
    l.c.apply(
        r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: outside-resolver, namespace: e2e}
spec:
  endpointSelector: {matchLabels: {app: client}}
  egress:
  - toCIDR: [192.0.2.53/32]
    toPorts:
    - ports: [{port: "53", protocol: ANY}]
      rules:
        dns: [{matchName: api.partner.com}]
"#,
    )
    .expect("policy");
    let world = addr("192.0.2.53:53");
    for tcp in [false, true] {
        let reply = lab::dns_query(
            &l.client,
            world,
            "api.partner.com",
            tcp,
            Duration::from_secs(3),
        )
        .expect("query")
        .expect("an answer from the outside resolver");
        assert_eq!(
            (reply.rcode, reply.ips.clone()),
            (0, vec![partner]),
            "tcp: {tcp}"
        );
    }
    let refused = lab::dns_query(
        &l.client,
        world,
        "evil.example",
        false,
        Duration::from_secs(3),
    )
    .expect("query")
    .expect("an answer");
    assert_eq!(refused.rcode, 5);
    assert!(
        l.reaches(PARTNER, 443),
        "the answer was learned for toFQDNs"
    );
}

/// The same policy over IPv6: the query to the DNS server's IPv6 address reaches the
/// proxy's `::1` listener and is judged and answered like the IPv4 one.
#[test]
fn dns_over_ipv6_is_judged_too() {
    let Some(l) = DnsLab::new("e2ednsv6") else {
        return;
    };
    let server_ns = l.c.endpoint("server").netns;
    let partner: IpAddr = PARTNER.parse().unwrap();
    let zone: &[(&str, &[IpAddr], u32)] = &[
        ("api.partner.com", &[partner], 300),
        ("evil.example", &[partner], 300),
    ];
    let v6 = addr("[fd00:77::2]:53");
    let _dns = lab::DnsServer::start(&server_ns, v6, zone).expect("IPv6 DNS server");
    for tcp in [false, true] {
        let reply = lab::dns_query(
            &l.client,
            v6,
            "api.partner.com",
            tcp,
            Duration::from_secs(3),
        )
        .expect("query")
        .expect("an answer over IPv6");
        assert_eq!(
            (reply.rcode, reply.ips.clone()),
            (0, vec![partner]),
            "tcp: {tcp}"
        );
    }
    let refused = lab::dns_query(&l.client, v6, "evil.example", false, Duration::from_secs(3))
        .expect("query")
        .expect("an answer");
    assert_eq!(refused.rcode, 5, "refused over IPv6 too");
    assert!(l.reaches(PARTNER, 443), "the answer was learned");
}

/// A name answered through a CNAME: the addresses count for every name of the chain, so
/// `toFQDNs` on the CDN's name selects them although the pod asked for another name.
#[test]
fn addresses_behind_a_cname_are_learned_for_the_target_name() {
    let Some(l) = DnsLab::new("e2ednscname") else {
        return;
    };
    assert!(!l.reaches(SHORT_LIVED, 443), "nothing learned yet");
    let reply = l.ask("cdn.partner.com", false).expect("an answer");
    assert_eq!(reply.rcode, 0);
    assert_eq!(reply.ips, vec![SHORT_LIVED.parse::<IpAddr>().unwrap()]);
    assert!(
        l.reaches(SHORT_LIVED, 443),
        "toFQDNs edge.cdn.example selects the address the CNAME chain led to"
    );
}
