//! `cargo xtask demo`: the product on a live, self-contained lab.
//!
//! Builds everything, creates a lab (one node namespace, a partner API outside the cluster
//! at 203.0.113.10), starts `observerd` inside the node, applies `examples/` (pods become
//! endpoints with their own namespaces, policies are enforced in the kernel), starts echo
//! servers in the pods, generates traffic that the policies allow and deny, and prints
//! the drops as `observe flows --verdict DROPPED` shows them. The lab stays up until
//! `cargo xtask demo --down`; nothing in it is linked to the host's network namespace.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cmd;

/// Options of `cargo xtask demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Remove the demo lab (agent, namespaces, pinned datapath) and exit.
    #[arg(long)]
    pub down: bool,
    /// Only the offline part: `observe policy trace` and `matrix` on `examples/`, no lab
    /// (works without root).
    #[arg(long)]
    pub offline: bool,
    /// Send the demo's probe traffic again through the running lab (after changing a
    /// policy, say) and show the verdicts.
    #[arg(long)]
    pub traffic: bool,
    /// Run the demo on this many nodes of one cluster (2 to 8): a real etcd, one agent
    /// per node, pods spread over them (`examples/nodes/`).
    #[arg(long, value_name = "N", conflicts_with_all = ["offline", "traffic"])]
    pub nodes: Option<usize>,
}

/// Where the running demo keeps its state.
pub(crate) const DEMO_DIR: &str = "/run/observe/demo";
const NODE: &str = "node-1";

fn socket() -> String {
    format!("unix://{DEMO_DIR}/observer.sock")
}

/// Runs `cargo xtask demo`.
pub fn run(args: &Args) -> Result<()> {
    if args.down {
        return down();
    }
    if args.traffic {
        return match saved_nodes() {
            Some(count) => crate::demo_nodes::traffic_again(count),
            None => traffic(&endpoints()?),
        };
    }
    if args.offline || !lab::is_root() {
        if !args.offline {
            eprintln!("note: the live lab needs root; showing the offline policy engine only");
        }
        return offline();
    }
    crate::setup::run(&crate::setup::Args::default())?;
    build()?;
    down()?;
    match args.nodes {
        Some(count) => crate::demo_nodes::up(count),
        None => up(),
    }
}

pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| cmd::root().join("target"), PathBuf::from)
        .join("debug")
}

pub(crate) fn build() -> Result<()> {
    cmd::run(cmd::cargo().args([
        "build",
        "-q",
        "-p",
        "observe-cli",
        "-p",
        "lab",
        "-p",
        "observe-relay",
        "--bins",
    ]))?;
    cmd::run(cmd::cargo().args([
        "build",
        "-q",
        "-p",
        "observer",
        "--features",
        "agent",
        "--bin",
        "observerd",
    ]))
}

pub(crate) fn bin(name: &str) -> PathBuf {
    target_dir().join(name)
}

fn observe(args: &[&str]) -> Command {
    observe_at(&socket(), args)
}

/// `observe --server SERVER args…`.
pub(crate) fn observe_at(server: &str, args: &[&str]) -> Command {
    let mut c = Command::new(bin("observe"));
    c.args(["--server", server]).args(args);
    c
}

fn up() -> Result<()> {
    lab::cleanup_stale();
    std::fs::create_dir_all(DEMO_DIR)?;
    let mut lab = lab::Lab::new("demo")?;
    let node = lab.add_node(NODE)?;
    let world = lab.add_world_host(
        &node,
        "partner-api",
        "203.0.113.10".parse()?,
        Some("2001:db8::10".parse()?),
    )?;
    let prefix = lab.prefix().to_string();
    let mut pids = vec![spawn_in(
        &world.netns,
        &bin("lab-serve"),
        &["--tcp", "80,443"],
        "partner-api",
    )?];
    pids.push(start_agent(&node.netns, &prefix)?);
    // From here on the lab belongs to the demo state file, not to this process.
    let prefix = lab.persist()?;
    save_state(&prefix, &pids)?;
    wait_for_agent(&socket(), "observerd")?;
    println!("\n$ observe apply -f examples/");
    cmd::run(
        observe(&[
            "apply",
            "-f",
            &cmd::root().join("examples").display().to_string(),
        ])
        .stdout(Stdio::inherit()),
    )?;
    let endpoints = endpoints()?;
    for (pod, netns) in &endpoints {
        pids.push(spawn_in(netns, &bin("lab-serve"), &servers_of(pod), pod)?);
    }
    save_state(&prefix, &pids)?;
    std::thread::sleep(Duration::from_millis(300));
    traffic(&endpoints)?;
    println!("\n$ observe flows --verdict DROPPED --last 12");
    cmd::run(&mut observe(&[
        "flows",
        "--verdict",
        "DROPPED",
        "--last",
        "12",
    ]))?;
    next_steps(&prefix);
    Ok(())
}

fn start_agent(node_netns: &str, prefix: &str) -> Result<u32> {
    let args = [
        "--node-netns",
        node_netns,
        "--node-name",
        NODE,
        "--socket",
        &format!("{DEMO_DIR}/observer.sock"),
        "--state-dir",
        &format!("{DEMO_DIR}/state"),
        "--pin-root",
        &format!("/sys/fs/bpf/{prefix}"),
        "--netns-prefix",
        prefix,
        "--trace",
        "new",
    ];
    spawn(&bin("observerd"), &args, "observerd")
}

/// Starts `program` inside `netns` as a daemon (own session, output to a log file).
pub(crate) fn spawn_in(netns: &str, program: &Path, args: &[&str], log: &str) -> Result<u32> {
    let mut all = vec!["netns", "exec", netns, program.to_str().unwrap_or_default()];
    all.extend_from_slice(args);
    spawn(Path::new("ip"), &all, log)
}

/// Starts `program` as a daemon: its own session, output to a log file in the demo dir.
pub(crate) fn spawn(program: &Path, args: &[&str], log: &str) -> Result<u32> {
    let log_path = Path::new(DEMO_DIR).join(format!("{}.log", log.replace('/', "-")));
    let out = std::fs::File::create(&log_path)
        .with_context(|| format!("cannot create {}", log_path.display()))?;
    let child = Command::new("setsid")
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .with_context(|| format!("cannot start {}", program.display()))?;
    Ok(child.id())
}

/// Waits until the agent at `server` answers; `log` names its log in the demo dir.
pub(crate) fn wait_for_agent(server: &str, log: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if observe_at(server, &["get", "endpoints"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?
            .success()
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("observerd did not come up; see {DEMO_DIR}/{log}.log")
}

/// Every endpoint the agent at `server` lists, as `observe get endpoints -o json` prints it.
pub(crate) fn endpoint_list(server: &str) -> Result<Vec<serde_json::Value>> {
    let out = observe_at(server, &["get", "endpoints", "-o", "json"]).output()?;
    let list: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("unreadable endpoint list")?;
    Ok(list.as_array().cloned().unwrap_or_default())
}

/// (pod, netns) of every endpoint.
fn endpoints() -> Result<Vec<(String, String)>> {
    Ok(endpoint_list(&socket())?
        .iter()
        .filter_map(|e| {
            let pod = format!("{}/{}", e["namespace"].as_str()?, e["pod"].as_str()?);
            Some((pod, e["netns"].as_str()?.to_string()))
        })
        .collect())
}

/// TCP and UDP ports each example pod serves.
/// The `lab-serve` arguments of a pod: echo servers, and for the cluster DNS the names it
/// answers.
fn servers_of(pod: &str) -> Vec<&'static str> {
    match pod {
        "shop/frontend" => vec!["--tcp", "80", "--udp", "53"],
        "shop/backend" => vec!["--tcp", "8080,9090", "--udp", "53", "--http", "8081"],
        "shop/db" => vec!["--tcp", "5432", "--udp", "53"],
        "kube-system/coredns" => vec!["--dns", DNS_ZONE],
        _ => vec!["--tcp", "9090", "--udp", "53"],
    }
}

/// What the cluster DNS answers.
const DNS_ZONE: &str = "api.partner.com=203.0.113.10,evil.example=198.51.100.66";

/// The cluster DNS's address (examples/cluster.yaml).
const CLUSTER_DNS: &str = "10.0.3.53:53";

/// A DNS lookup through the agent's DNS proxy.
struct Lookup {
    from: &'static str,
    name: &'static str,
    expect: &'static str,
}

/// Before the TCP probes: the checkout's policy allows what api.partner.com resolves to.
const LOOKUPS: &[Lookup] = &[
    Lookup {
        from: "shop/checkout",
        name: "api.partner.com",
        expect: "answered (rules.dns *.partner.com)",
    },
    Lookup {
        from: "shop/checkout",
        name: "evil.example",
        expect: "REFUSED by the DNS proxy",
    },
];

struct Probe {
    from: &'static str,
    to: &'static str,
    proto: &'static str,
    port: u16,
    expect: &'static str,
}

const PROBES: &[Probe] = &[
    Probe {
        from: "shop/frontend",
        to: "10.0.1.20",
        proto: "tcp",
        port: 8080,
        expect: "allowed (backend-ingress)",
    },
    Probe {
        from: "shop/frontend",
        to: "fd00:10::20",
        proto: "tcp",
        port: 8080,
        expect: "allowed, IPv6",
    },
    Probe {
        from: "shop/frontend",
        to: "10.0.1.20",
        proto: "tcp",
        port: 9090,
        expect: "dropped: default deny (133)",
    },
    Probe {
        from: "shop/frontend",
        to: "10.0.1.30",
        proto: "tcp",
        port: 5432,
        expect: "dropped: deny rule (181)",
    },
    Probe {
        from: "shop/backend",
        to: "10.0.1.30",
        proto: "tcp",
        port: 5432,
        expect: "allowed (db-ingress)",
    },
    Probe {
        from: "shop/backend",
        to: "10.0.1.30",
        proto: "udp",
        port: 53,
        expect: "dropped: default deny (133)",
    },
    Probe {
        from: "monitoring/prometheus",
        to: "10.0.1.20",
        proto: "tcp",
        port: 9090,
        expect: "allowed (named port metrics)",
    },
    Probe {
        from: "shop/backend",
        to: "203.0.113.10",
        proto: "tcp",
        port: 443,
        expect: "allowed (egress to CIDR)",
    },
    Probe {
        from: "shop/backend",
        to: "203.0.113.10",
        proto: "tcp",
        port: 80,
        expect: "dropped: egress default deny (133)",
    },
    Probe {
        from: "monitoring/prometheus",
        to: "10.0.1.10",
        proto: "icmp",
        port: 0,
        expect: "allowed (icmps)",
    },
    Probe {
        from: "shop/frontend",
        to: "10.0.1.20",
        proto: "icmp",
        port: 0,
        expect: "dropped: default deny (133)",
    },
    Probe {
        from: "shop/frontend",
        to: "10.0.2.10",
        proto: "udp",
        port: 53,
        expect: "allowed (no policy)",
    },
    Probe {
        from: "shop/checkout",
        to: "203.0.113.10",
        proto: "tcp",
        port: 443,
        expect: "allowed (toFQDNs api.partner.com, learned)",
    },
    Probe {
        from: "shop/checkout",
        to: "203.0.113.10",
        proto: "tcp",
        port: 80,
        expect: "dropped: egress default deny (133)",
    },
];

/// Resolves [`LOOKUPS`] and prints what each got.
fn lookups(endpoints: &[(String, String)]) -> Result<()> {
    println!("\nDNS through the agent's proxy:");
    let server: SocketAddr = CLUSTER_DNS.parse()?;
    for l in LOOKUPS {
        let Some((_, netns)) = endpoints.iter().find(|(pod, _)| pod == l.from) else {
            continue;
        };
        let reply = lab::dns_query(netns, server, l.name, false, Duration::from_secs(2))?;
        let got = match reply {
            Some(r) if r.rcode == 0 => format!("{:?}", r.ips),
            Some(r) if r.rcode == 5 => "REFUSED".to_string(),
            Some(r) => format!("rcode {}", r.rcode),
            None => "no answer".to_string(),
        };
        println!(
            "  {:<22} ? {:<18} {:<16} expected: {}",
            l.from, l.name, got, l.expect
        );
    }
    Ok(())
}

/// The requests the frontend sends to the backend's HTTP port, and what policy says.
const REQUESTS: [(&str, &str, &str); 3] = [
    ("GET", "/health", "200 (backend-health allows GET /health)"),
    ("POST", "/health", "403 Access denied (not GET)"),
    ("GET", "/admin", "403 Access denied (not /health)"),
];

/// The backend's HTTP address.
const BACKEND_HTTP: &str = "10.0.1.20:8081";

/// Sends [`REQUESTS`] on one keep-alive connection and prints what each got.
fn requests(endpoints: &[(String, String)]) -> Result<()> {
    println!("\nHTTP through the agent's proxy (one keep-alive connection):");
    let Some((_, netns)) = endpoints.iter().find(|(pod, _)| pod == "shop/frontend") else {
        return Ok(());
    };
    let sent: Vec<lab::HttpRequest> = REQUESTS
        .iter()
        .map(|(method, path, _)| lab::HttpRequest::new(method, path))
        .collect();
    let got = lab::http_requests(netns, BACKEND_HTTP.parse()?, &sent, Duration::from_secs(3))?;
    for (i, (method, path, expect)) in REQUESTS.iter().enumerate() {
        let status = got
            .get(i)
            .map_or_else(|| "no answer".to_string(), |r| r.status.to_string());
        println!(
            "  shop/frontend          {method:<4} http://{BACKEND_HTTP}{path:<8} {status:<9}  expected: {expect}"
        );
    }
    Ok(())
}

fn traffic(endpoints: &[(String, String)]) -> Result<()> {
    lookups(endpoints)?;
    requests(endpoints)?;
    println!("\nTraffic between the pods:");
    let timeout = Duration::from_millis(700);
    for p in PROBES {
        let Some((_, netns)) = endpoints.iter().find(|(pod, _)| pod == p.from) else {
            continue;
        };
        let ip: IpAddr = p.to.parse()?;
        let ok = match p.proto {
            "tcp" => lab::tcp_connect(netns, SocketAddr::new(ip, p.port), timeout)?,
            "udp" => lab::udp_roundtrip(netns, SocketAddr::new(ip, p.port), timeout)?,
            _ => lab::ping(netns, ip, 1, Duration::from_secs(1))?,
        };
        let port = if p.port == 0 {
            String::new()
        } else {
            format!(":{}", p.port)
        };
        let got = if ok { "passed" } else { "blocked" };
        println!(
            "  {:<22} -> {:<18} {:<4} {:<7}  expected: {}",
            p.from,
            format!("{}{port}", p.to),
            p.proto,
            got,
            p.expect
        );
    }
    Ok(())
}

fn next_steps(prefix: &str) {
    let s = socket();
    println!(
        "\nThe lab ({prefix}) keeps running. Try:\n  \
         observe --server {s} flows -f                      # follow every verdict\n  \
         observe --server {s} flows --verdict DROPPED --print-policy-names\n  \
         observe --server {s} get endpoints\n  \
         observe --server {s} policy trace --from shop/frontend --to shop/db --dport 5432\n  \
         observe --server {s} flows --type l7 --protocol dns   # the DNS proxy's verdicts\n  \
         observe --server {s} get fqdn                        # what it learned\n  \
         observe --server {s} get policies --hits             # what each rule did, unused ones\n  \
         observe --server {s} flows --aggregate-by source,destination,port,verdict\n  \
         observe --server {s} policy suggest -n shop > s.yaml  # least privilege from what was seen\n  \
         observe --server {s} policy whatif -f s.yaml         # what it would break (exit 1 if any)\n  \
         observe --server {s} tui\n  \
         cargo xtask demo --traffic                         # send the probe traffic again\n\
         The binaries are in {}. Tear it down with: cargo xtask demo --down",
        target_dir().display()
    );
}

pub(crate) fn save_state(prefix: &str, pids: &[u32]) -> Result<()> {
    let state = serde_json::json!({ "prefix": prefix, "pids": pids });
    std::fs::write(Path::new(DEMO_DIR).join("lab.json"), state.to_string())?;
    Ok(())
}

/// How many nodes the running demo has, when it is a multi-node one.
fn saved_nodes() -> Option<usize> {
    let text = std::fs::read_to_string(Path::new(DEMO_DIR).join("lab.json")).ok()?;
    let state: serde_json::Value = serde_json::from_str(&text).ok()?;
    state["nodes"]
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
}

/// Stops the demo's processes (the agent gets SIGTERM and a moment to exit) and removes
/// the lab: namespaces, pinned datapath, sockets.
fn down() -> Result<()> {
    let path = Path::new(DEMO_DIR).join("lab.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let state: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    for pid in state["pids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_u64())
    {
        // `setsid` made each daemon a session leader: signal its whole process group.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{pid}")])
            .stderr(Stdio::null())
            .status();
    }
    if let Some(pid) = state["etcd_pid"].as_u64() {
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .stderr(Stdio::null())
            .status();
    }
    std::thread::sleep(Duration::from_millis(500));
    if let Some(dir) = state["etcd_dir"].as_str() {
        let _ = std::fs::remove_dir_all(dir);
    }
    if let Some(prefix) = state["prefix"].as_str() {
        let removed = lab::teardown(prefix);
        println!("demo lab {prefix} removed ({removed} namespaces and pin directories)");
    }
    std::fs::remove_dir_all(DEMO_DIR).with_context(|| format!("cannot remove {DEMO_DIR}"))?;
    Ok(())
}

const TRACES: &[&[&str]] = &[
    &[
        "--from",
        "shop/frontend",
        "--to",
        "shop/backend",
        "--dport",
        "8080",
    ],
    &[
        "--from",
        "shop/frontend",
        "--to",
        "shop/backend",
        "--dport",
        "9090",
    ],
    &[
        "--from",
        "shop/frontend",
        "--to",
        "shop/db",
        "--dport",
        "5432",
    ],
    &[
        "--from",
        "shop/backend",
        "--to",
        "203.0.113.10",
        "--dport",
        "443",
        "--reply",
    ],
];

/// The policy engine on `examples/`, without a lab.
fn offline() -> Result<()> {
    cmd::run(cmd::cargo().args(["build", "-q", "-p", "observe-cli"]))?;
    let examples = cmd::root().join("examples").display().to_string();
    for flow in TRACES {
        println!("\n$ observe policy trace -f examples/ {}", flow.join(" "));
        cmd::run(
            Command::new(bin("observe"))
                .args(["policy", "trace", "-f", &examples])
                .args(*flow),
        )?;
    }
    println!("\n$ observe policy matrix -f examples/ --ports 8080/TCP,5432/TCP,9090/TCP");
    cmd::run(Command::new(bin("observe")).args([
        "policy",
        "matrix",
        "-f",
        &examples,
        "--ports",
        "8080/TCP,5432/TCP,9090/TCP",
    ]))
}
