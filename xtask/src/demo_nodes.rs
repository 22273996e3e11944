//! `cargo xtask demo --nodes N`: the product across several nodes of one cluster.
//!
//! Builds a lab of N node namespaces joined by an underlay (a bridge namespace, a pod CIDR
//! per node, direct routing), starts a real etcd on an underlay host and one `observerd
//! --kvstore` per node, applies `examples/nodes/` once through node-1 (pods are placed on
//! their nodes, which give them addresses; the other nodes learn them from etcd), sends
//! cross-node traffic that the policies allow and deny, and prints `observe get nodes` and
//! the drops each node saw, then every node's drops in one stream through `observe-relay`
//! (on its own underlay host, finding the nodes in etcd). Nothing is linked to the host's
//! network namespace; the lab stays up until `cargo xtask demo --down`.
//!
//! The agents serve their observer on the underlay in plaintext (`--insecure`) for the
//! relay: the underlay is the lab's own bridge; a real cluster uses `--tls-*` on both.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::cmd;
use crate::demo::{DEMO_DIR, bin, endpoint_list, observe_at, spawn, spawn_in, wait_for_agent};

/// etcd's client port on its underlay host.
const ETCD_PORT: u16 = 2379;
/// The agents' observer port on the underlay (Hubble's).
const AGENT_PORT: u16 = 4244;
/// The relay's socket.
const RELAY_SOCKET: &str = "unix:///run/observe/demo/relay.sock";

fn node_name(k: usize) -> String {
    format!("node-{k}")
}

fn socket(k: usize) -> String {
    format!("unix://{DEMO_DIR}/{}.sock", node_name(k))
}

fn observe(k: usize, args: &[&str]) -> Command {
    observe_at(&socket(k), args)
}

/// Brings the multi-node demo up (the previous demo must be down).
pub fn up(count: usize) -> Result<()> {
    if !(2..=8).contains(&count) {
        bail!("--nodes takes 2 to 8 nodes, not {count}");
    }
    lab::cleanup_stale();
    std::fs::create_dir_all(DEMO_DIR)?;
    let mut lab = lab::Lab::new("demo")?;
    let (etcd_netns, etcd_ip) = lab.add_underlay_host("etcd")?;
    let etcd = lab::etcd::Etcd::start(&etcd_netns, etcd_ip.into(), ETCD_PORT, "etcd")?;
    let url = format!("etcd://{}", etcd.client_addr());
    let etcd_dir = etcd.dir().display().to_string();
    let prefix = lab.prefix().to_string();
    let mut pids = Vec::new();
    for k in 1..=count {
        let node = lab.add_node(&node_name(k))?;
        let cidr = format!("10.1.{k}.0/24");
        let underlay = lab.join_underlay(&node, cidr.parse()?)?;
        pids.push(start_agent(
            k,
            &node.netns,
            &prefix,
            &cidr,
            &url,
            underlay.addr,
        )?);
    }
    let (relay_netns, _) = lab.add_underlay_host("relay")?;
    pids.push(start_relay(&relay_netns, &url)?);
    let etcd_pid = etcd.persist();
    let prefix = lab.persist()?;
    save(&prefix, &pids, etcd_pid, &etcd_dir, count)?;
    for k in 1..=count {
        wait_for_agent(&socket(k), &node_name(k))?;
    }
    let examples = cmd::root()
        .join("examples")
        .join("nodes")
        .display()
        .to_string();
    println!(
        "\n$ observe --server {} apply -f examples/nodes/",
        socket(1)
    );
    cmd::run(observe(1, &["apply", "-f", &examples]).stdout(Stdio::inherit()))?;
    let endpoints = wait_for_endpoints(count)?;
    for e in &endpoints {
        pids.push(spawn_in(
            &e.netns,
            &bin("lab-serve"),
            &["--tcp", "8080,5432"],
            &e.pod,
        )?);
    }
    save(&prefix, &pids, etcd_pid, &etcd_dir, count)?;
    std::thread::sleep(Duration::from_millis(300));
    traffic(&endpoints)?;
    println!("\n$ observe --server {} get nodes", socket(1));
    cmd::run(&mut observe(1, &["get", "nodes"]))?;
    let relay_view = [
        "flows",
        "--verdict",
        "DROPPED",
        "--protocol",
        "tcp",
        "--last",
        "3",
        "--print-node-name",
    ];
    println!(
        "\n$ observe --server {RELAY_SOCKET} {}",
        relay_view.join(" ")
    );
    wait_for_relay(count)?;
    cmd::run(&mut observe_at(RELAY_SOCKET, &relay_view))?;
    next_steps(&prefix, count);
    Ok(())
}

/// `observe-relay` on its own underlay host, reading every node registered in etcd.
fn start_relay(netns: &str, url: &str) -> Result<u32> {
    let listen = RELAY_SOCKET.to_string();
    let args = [
        "--kvstore",
        url,
        "--listen-address",
        &listen,
        "--disable-client-tls",
    ];
    spawn_in(netns, &bin("observe-relay"), &args, "relay")
}

/// Waits until the relay reads every node (`observe status` says `N/N`).
fn wait_for_relay(count: usize) -> Result<()> {
    let want = format!("Connected Nodes: {count}/{count}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let out = observe_at(RELAY_SOCKET, &["status"]).output()?;
        if String::from_utf8_lossy(&out.stdout).contains(&want) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("observe-relay did not reach the {count} nodes; see {DEMO_DIR}/relay.log")
}

fn start_agent(
    k: usize,
    node_netns: &str,
    prefix: &str,
    cidr: &str,
    url: &str,
    node_ip: std::net::Ipv4Addr,
) -> Result<u32> {
    let name = node_name(k);
    let args = [
        "--node-netns",
        node_netns,
        "--node-name",
        &name,
        "--socket",
        &format!("{DEMO_DIR}/{name}.sock"),
        "--state-dir",
        &format!("{DEMO_DIR}/{name}-state"),
        "--pin-root",
        &format!("/sys/fs/bpf/{prefix}/{name}"),
        "--netns-prefix",
        prefix,
        "--pod-cidr",
        cidr,
        "--kvstore",
        url,
        "--node-ip",
        &node_ip.to_string(),
        "--node-label",
        &format!("topology.kubernetes.io/zone=zone-{k}"),
        "--trace",
        "new",
        "--listen-address",
        &format!("{node_ip}:{AGENT_PORT}"),
        "--insecure",
    ];
    spawn(&bin("observerd"), &args, &name)
}

/// A pod's endpoint, from its node's agent.
struct Endpoint {
    pod: String,
    node: usize,
    netns: String,
    ip: IpAddr,
}

/// Every node's endpoints, once every pod of the example runs.
fn wait_for_endpoints(count: usize) -> Result<Vec<Endpoint>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut all = Vec::new();
        for k in 1..=count {
            all.extend(endpoints(k)?);
        }
        if all.len() >= 3 || Instant::now() > deadline {
            return Ok(all);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn endpoints(k: usize) -> Result<Vec<Endpoint>> {
    Ok(endpoint_list(&socket(k))?
        .iter()
        .filter_map(|e| {
            let ip = e["ips"].as_array()?.first()?.as_str()?.parse().ok()?;
            Some(Endpoint {
                pod: format!("{}/{}", e["namespace"].as_str()?, e["pod"].as_str()?),
                node: k,
                netns: e["netns"].as_str()?.to_string(),
                ip,
            })
        })
        .collect())
}

/// Cross-node probes and what the policies say of each.
const PROBES: &[(&str, &str, u16, &str)] = &[
    (
        "shop/frontend",
        "shop/backend",
        8080,
        "allowed (backend-ingress, named port)",
    ),
    (
        "shop/frontend",
        "shop/backend",
        5432,
        "dropped: default deny (133)",
    ),
    ("shop/backend", "shop/db", 5432, "allowed (db-ingress)"),
    ("shop/frontend", "shop/db", 5432, "dropped: deny rule (181)"),
];

/// Sends the probes again through the running multi-node demo.
pub fn traffic_again(count: usize) -> Result<()> {
    traffic(&wait_for_endpoints(count)?)
}

fn traffic(endpoints: &[Endpoint]) -> Result<()> {
    println!("\nTraffic between pods on different nodes:");
    let find = |pod: &str| endpoints.iter().find(|e| e.pod == pod);
    for (from, to, port, expect) in PROBES {
        let (Some(f), Some(t)) = (find(from), find(to)) else {
            continue;
        };
        let ok = lab::tcp_connect(
            &f.netns,
            SocketAddr::new(t.ip, *port),
            Duration::from_millis(700),
        )?;
        println!(
            "  {:<14} (node-{}) -> {:<9} (node-{}) {:<15} {:<7}  expected: {expect}",
            f.pod,
            f.node,
            t.pod,
            t.node,
            format!("{}:{port}", t.ip),
            if ok { "passed" } else { "blocked" },
        );
    }
    Ok(())
}

fn next_steps(prefix: &str, count: usize) {
    let s1 = socket(1);
    let s2 = socket(2);
    println!(
        "\nThe {count}-node lab ({prefix}) keeps running. Each node has its own socket, \
         {DEMO_DIR}/node-K.sock. Try:\n  \
         observe --server {s1} get nodes                    # every node and its health\n  \
         observe --server {s2} flows -f                     # node-2's verdicts, live\n  \
         observe --server {s1} apply -f FILE                # enforced on every node\n  \
         observe --server {s2} get identities               # the same numbers everywhere\n  \
         observe --server {RELAY_SOCKET} flows -f --print-node-name   # every node, one stream\n  \
         observe --server {RELAY_SOCKET} tui                # the dashboard over the cluster\n\
         Tear it down with: cargo xtask demo --down"
    );
}

fn save(
    prefix: &str,
    pids: &[u32],
    etcd_pid: Option<u32>,
    etcd_dir: &str,
    nodes: usize,
) -> Result<()> {
    let state = serde_json::json!({
        "prefix": prefix,
        "pids": pids,
        "etcd_pid": etcd_pid,
        "etcd_dir": etcd_dir,
        "nodes": nodes,
    });
    std::fs::write(Path::new(DEMO_DIR).join("lab.json"), state.to_string())?;
    Ok(())
}
