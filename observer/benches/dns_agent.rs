//! The DNS proxy inside a real agent (root only; `cargo xtask bench dns`), in a lab with a
//! DNS server in a pod and a client whose egress allows `*.partner.com` lookups and
//! `toFQDNs` to what they resolve to:
//!
//! - answer-to-datapath: each of 300 names answers with an address nobody knew, so the
//!   proxy holds the answer until the engine selected the address and the ipcache entry
//!   is written; the same names asked again answer with known addresses (no datapath
//!   work). Both are the client's query latency, measured in the same run; their
//!   difference is what teaching the datapath an answer costs;
//! - DNS downtime across an agent restart: a client asks every 10 ms (each query waits at
//!   most 50 ms) while the agent is stopped and started again; the longest stretch without
//!   an answer is the time DNS was unanswered.

#[path = "../../tests/agent_e2e/common.rs"]
#[allow(
    dead_code,
    reason = "the shared harness has helpers only the tests use"
)]
mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use common::Cluster;

const NAMES: usize = 300;
const DNS: &str = "10.77.0.2:53";

const POLICY: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: partner, namespace: e2e}
spec:
  endpointSelector: {matchLabels: {app: client}}
  egress:
  - toEndpoints: [{matchLabels: {app: server}}]
    toPorts:
    - ports: [{port: "53", protocol: ANY}]
      rules:
        dns: [{matchPattern: "*.partner.com"}]
  - toFQDNs: [{matchPattern: "*.partner.com"}]
    toPorts: [{ports: [{port: "443", protocol: TCP}]}]
"#;

/// `n.partner.com` → an address of its own in the documentation ranges.
fn zone() -> Vec<(String, IpAddr)> {
    (0..NAMES)
        .map(|i| {
            let host = u8::try_from(i % 250 + 1).expect("below 251");
            let ip = if i < 250 {
                Ipv4Addr::new(203, 0, 113, host)
            } else {
                Ipv4Addr::new(198, 51, 100, host)
            };
            (format!("n{i}.partner.com"), IpAddr::V4(ip))
        })
        .collect()
}

/// Asks for every name once; returns the latencies (µs) of the answered ones.
fn ask_all(netns: &str, names: &[(String, IpAddr)]) -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram");
    let server: SocketAddr = DNS.parse().expect("address");
    for (name, ip) in names {
        let start = Instant::now();
        let reply =
            lab::dns_query(netns, server, name, false, Duration::from_secs(2)).expect("query");
        let elapsed = start.elapsed();
        if reply.is_some_and(|r| r.rcode == 0 && r.ips == [*ip]) {
            h.saturating_record(
                u64::try_from(elapsed.as_micros())
                    .unwrap_or(u64::MAX)
                    .max(1),
            );
        }
    }
    h
}

fn main() {
    let Some(mut c) = Cluster::new("benchdns") else {
        return;
    };
    let names = zone();
    let server_ns = c.endpoint("server").netns;
    let client_ns = c.endpoint("client").netns;
    let addrs: Vec<[IpAddr; 1]> = names.iter().map(|(_, ip)| [*ip]).collect();
    let zone: Vec<(&str, &[IpAddr], u32)> = names
        .iter()
        .zip(&addrs)
        .map(|((n, _), a)| (n.as_str(), &a[..], 3600))
        .collect();
    let _dns = lab::DnsServer::start(&server_ns, DNS.parse().expect("address"), &zone)
        .expect("DNS server");
    c.apply(POLICY).expect("policy");

    let new = ask_all(&client_ns, &names);
    let known = ask_all(&client_ns, &names);
    println!("DNS proxy in the agent ({NAMES} names, one query at a time)");
    let row = |what: &str, h: &Histogram<u64>| {
        println!(
            "  {what:<44} p50 {:>6} us   p99 {:>6} us   ({} answered)",
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.len()
        );
    };
    row("query, answer with a new address (held)", &new);
    row("query, answer with a known address", &known);
    println!(
        "  answer-to-datapath (new - known): p50 {} us, p99 {} us",
        new.value_at_quantile(0.5)
            .saturating_sub(known.value_at_quantile(0.5)),
        new.value_at_quantile(0.99)
            .saturating_sub(known.value_at_quantile(0.5))
    );

    let longest = restart_gap(&mut c, &client_ns);
    println!(
        "  DNS unanswered across an agent restart (stop, start): longest gap {} ms",
        longest.as_millis()
    );
}

/// The longest time without an answer while the agent restarts.
fn restart_gap(c: &mut Cluster, client_ns: &str) -> Duration {
    let stop = Arc::new(AtomicBool::new(false));
    let asking = {
        let stop = stop.clone();
        let netns = client_ns.to_string();
        std::thread::spawn(move || {
            let server: SocketAddr = DNS.parse().expect("address");
            let mut last_answer = Instant::now();
            let mut longest = Duration::ZERO;
            while !stop.load(Ordering::Relaxed) {
                let asked = Instant::now();
                let reply = lab::dns_query(
                    &netns,
                    server,
                    "n0.partner.com",
                    false,
                    Duration::from_millis(50),
                )
                .expect("query");
                if reply.is_some_and(|r| r.rcode == 0) {
                    longest = longest.max(asked.saturating_duration_since(last_answer));
                    last_answer = Instant::now();
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            longest.max(last_answer.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    c.stop_agent();
    c.start_agent();
    // Until the restarted agent answers again.
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    asking.join().expect("asking thread")
}
