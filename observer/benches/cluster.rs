//! Cluster benchmark (root only; `cargo xtask bench cluster`): what being one of several
//! nodes sharing a real etcd costs, each figure against a baseline measured in the same
//! run (these machines are noisy: read the ratios, not the absolute numbers).
//!
//! 1. Identity allocation (`Store::allocate_identity`) of new label sets, p50/p99/max,
//!    against a single-key `Store::commit` round trip from the same client, interleaved;
//!    then three clients allocating the same 100 label sets at once: they must agree.
//! 2. Policy apply → enforced on every node: three real `observerd --kvstore` agents; a new
//!    policy (new name and port each round) is applied through n1 and each node's
//!    `GetPolicies` is polled every 1 ms until it lists it (the agent converges under its
//!    lock, so once listed its maps are written). Baseline: the same apply on an agent
//!    running alone (no `--kvstore`), measured the same way, rounds interleaved.
//! 3. Pod add → known elsewhere: a pod without an address is applied on n1 (n1 creates it
//!    and gives it an address from its pod CIDR); its address is read from n1's
//!    `GetEndpoints`, then n2 and n3 are polled with the control `Trace` RPC from a local
//!    pod to that address until the destination resolves to the new pod (so their engines,
//!    and with them their ipcache maps, hold it).
//! 4. Agent memory per remote endpoint: n1's (and n2's) RSS before and after 1,000 and then
//!    5,000 more pods placed on a node without an agent (so nobody creates 6,000 network
//!    namespaces) with explicit addresses in 10.62.0.0/16, and how long the applies took;
//!    then section 2's apply again with those 6,000 remote pods present; and the same pods
//!    and applies on the agent alone (4b), to tell the engine's share from the cluster's.
//!    Applies go in batches of 100: etcd refuses a transaction of more than 128 operations,
//!    and a cluster apply is one transaction (the bench shows the refusal of 1,000 at once).
//! 5. Many nodes, simulated: N = 10, 100, 1,000 fake nodes as etcd clients (no agents) in
//!    the etcd's lab namespace, each a `Publisher` (own lease) registering `nodes/<name>`
//!    with 5 ipcache entries and a `reflect` of the ipcache (own watch): time to write
//!    everything, time until every reflector has listed it, the propagation of one changed
//!    ipcache key to all N reflectors (p50/p99 over 20 changes), and etcd's RSS.
//!
//! Everything runs in lab namespaces (the lab crate's guards remove them, also on panic);
//! the bench talks to the agents over their unix sockets only.

#[path = "../../tests/agent_e2e/common.rs"]
#[allow(
    dead_code,
    reason = "the shared harness has helpers only the tests use"
)]
mod common;
#[path = "../../tests/agent_e2e/nodes.rs"]
#[allow(
    dead_code,
    reason = "the shared harness has helpers only the tests use"
)]
mod nodes;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use lab::Lab;
use lab::etcd::Etcd;
use observe_kvstore::{Config, Publisher, Section, Store, Update, reflect};
use observe_proto::control::control_client::ControlClient;
use observe_proto::control::{
    ApplyRequest, GetEndpointsRequest, GetPoliciesRequest, Manifest, TraceRequest,
};
use tokio::runtime::Runtime;
use tonic::transport::Channel;

use common::Cluster;
use nodes::{Nodes, PODS, eventually};

/// How long any one change may take to show before the bench gives up.
const LIMIT: Duration = Duration::from_secs(30);
/// Section 1: new label sets allocated (and single-key puts).
const ALLOCATIONS: u32 = 500;
/// Section 2: policy apply rounds (cluster and alone, interleaved).
const POLICY_ROUNDS: u32 = 50;
/// Section 3: pods added.
const POD_ROUNDS: u32 = 40;
/// Section 4: pods per apply (etcd refuses transactions of more than 128 operations).
const BATCH: usize = 100;
/// Section 5: ipcache changes propagated per N.
const CHANGES: u64 = 20;

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("histogram")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn header(title: &str) {
    println!("\n== {title}");
    println!(
        "  {:<52} {:>9} {:>9} {:>9} {:>5}",
        "", "p50 ms", "p99 ms", "max ms", "n"
    );
}

fn row(name: &str, h: &Histogram<u64>) {
    println!(
        "  {name:<52} {:>9.2} {:>9.2} {:>9.2} {:>5}",
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max()),
        h.len()
    );
}

fn ratio(a: &Histogram<u64>, b: &Histogram<u64>) -> f64 {
    a.value_at_quantile(0.5) as f64 / b.value_at_quantile(0.5).max(1) as f64
}

/// VmRSS of a process, KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// etcd's pid, from the pid file the lab writes in its directory.
fn etcd_pid(etcd: &Etcd) -> u32 {
    std::fs::read_to_string(etcd.dir().join("etcd.pid"))
        .expect("etcd.pid")
        .trim()
        .parse()
        .expect("pid")
}

fn main() {
    if !lab::is_root() {
        eprintln!("skipped: the cluster benchmark needs root");
        return;
    }
    let started = Instant::now();
    let mut kv_lab = Lab::new("cb-kv").expect("lab");
    let kv = kv_lab.add_node("kv").expect("node");
    let localhost: IpAddr = "127.0.0.1".parse().expect("address");

    {
        let etcd = Etcd::start(&kv.netns, localhost, 2379, "ids").expect("etcd");
        let url = etcd.client_url();
        lab::in_netns(&kv.netns, || runtime().block_on(identities(url)))
            .expect("enter the namespace");
    }

    let rt = runtime();
    agents(&rt);

    header_sim();
    let mut base: Option<u64> = None;
    for (n, port) in [(10, 2479), (100, 2579), (1000, 2679)] {
        let name = format!("sim{n}");
        let etcd = Etcd::start(&kv.netns, localhost, port, &name).expect("etcd");
        let url = etcd.client_url();
        let pid = etcd_pid(&etcd);
        let idle = rss_kib(pid);
        let sim = lab::in_netns(&kv.netns, || {
            let rt = runtime();
            let sim = rt.block_on(simulate(&url, n, pid));
            rt.shutdown_timeout(Duration::from_secs(2));
            sim
        })
        .expect("enter the namespace");
        let p50 = sim.all.value_at_quantile(0.5);
        let growth = base.map_or(1.0, |b| p50 as f64 / b.max(1) as f64);
        base.get_or_insert(p50);
        println!(
            "  {n:>5} {:>6} {:>9.2} {:>9.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7} {:>7} {:>6.1}x",
            sim.connections,
            sim.register.as_secs_f64(),
            sim.synced.as_secs_f64(),
            ms(p50),
            ms(sim.all.value_at_quantile(0.99)),
            ms(sim.all.max()),
            ms(sim.median.value_at_quantile(0.5)),
            idle / 1024,
            sim.etcd_rss / 1024,
            growth,
        );
    }
    println!(
        "  (propagation = publisher.set on fake node 0 → the last of the N reflectors \
         sees the value; median = the median reflector; growth = p50 against N = 10)"
    );
    drop(kv_lab);
    println!("\ntotal {:.0} s", started.elapsed().as_secs_f64());
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

// ---------------------------------------------------------------- 1. identities

async fn identities(url: String) {
    let cfg = Config::new(vec![url]);
    let store = Store::connect(&cfg).await.expect("connect");
    let range = 256..=65535;
    for i in 0..20 {
        store
            .commit(
                Section::Objects,
                vec![(format!("bench/warm-{i}"), b"x".to_vec())],
                vec![],
            )
            .await
            .expect("put");
    }
    let (mut put, mut alloc) = (histogram(), histogram());
    for i in 0..ALLOCATIONS {
        let t = Instant::now();
        store
            .commit(
                Section::Objects,
                vec![(format!("bench/put-{i}"), b"x".to_vec())],
                vec![],
            )
            .await
            .expect("put");
        put.record(micros(t.elapsed())).expect("record");
        let t = Instant::now();
        let id = store
            .allocate_identity(&format!("k8s:app=bench-{i}"), 256 + i, range.clone())
            .await
            .expect("allocate");
        alloc.record(micros(t.elapsed())).expect("record");
        assert_eq!(id, 256 + i, "a free preferred number is taken");
    }
    let mut existing = histogram();
    for i in 0..100 {
        let t = Instant::now();
        let id = store
            .allocate_identity(&format!("k8s:app=bench-{i}"), 256 + i, range.clone())
            .await
            .expect("allocate");
        existing.record(micros(t.elapsed())).expect("record");
        assert_eq!(id, 256 + i);
    }
    let mut taken = histogram();
    for i in 0..100 {
        let t = Instant::now();
        store
            .allocate_identity(&format!("k8s:app=collide-{i}"), 256, range.clone())
            .await
            .expect("allocate");
        taken.record(micros(t.elapsed())).expect("record");
    }

    // Three clients, the same 100 label sets, each preferring its own numbers.
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(Store::connect(&cfg).await.expect("connect"));
    }
    let t = Instant::now();
    for i in 0..100u32 {
        store
            .allocate_identity(&format!("k8s:app=alone-{i}"), 30_000 + i, range.clone())
            .await
            .expect("allocate");
    }
    let alone = t.elapsed();
    let t = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(c, s)| {
            let range = range.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..100u32 {
                    let preferred = 40_000 + 1_000 * u32::try_from(c).expect("small") + i;
                    ids.push(
                        s.allocate_identity(
                            &format!("k8s:app=shared-{i}"),
                            preferred,
                            range.clone(),
                        )
                        .await
                        .expect("allocate"),
                    );
                }
                ids
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("client"));
    }
    let together = t.elapsed();
    let agree = results.windows(2).all(|w| w[0] == w[1]);
    let distinct: std::collections::BTreeSet<u32> = results[0].iter().copied().collect();
    assert!(agree, "the clients disagree on identity numbers");
    assert_eq!(
        distinct.len(),
        100,
        "distinct label sets got distinct numbers"
    );

    header("1. identity allocation (one client, etcd on the lab namespace's loopback)");
    row("etcd put: commit of one key (baseline)", &put);
    row("allocate a new label set (preferred number free)", &alloc);
    row("allocate a known label set (read + touch)", &existing);
    row("allocate a new label set, preferred number taken", &taken);
    println!(
        "  ratio p50 new allocation / put: {:.2}x; preferred taken / put: {:.2}x \
         (reads every id/ key: ~{} identities)",
        ratio(&alloc, &put),
        ratio(&taken, &put),
        ALLOCATIONS + 100
    );
    println!(
        "  3 clients × the same 100 new label sets at once: {:.0} ms, all agree: {agree} \
         (one client, 100 new sets in a row: {:.0} ms)",
        together.as_secs_f64() * 1000.0,
        alone.as_secs_f64() * 1000.0
    );
}

// ---------------------------------------------------------------- 2.-4. agents

fn policy(name: &str, namespace: &str, to: &str, from: &str, port: u32) -> String {
    format!(
        "apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  endpointSelector: {{matchLabels: {{app: {to}}}}}
  ingress:
  - fromEndpoints: [{{matchLabels: {{app: {from}}}}}]
    toPorts: [{{ports: [{{port: \"{port}\", protocol: TCP}}]}}]
"
    )
}

async fn connect(server: String) -> Channel {
    observe_proto::client::connect(&server, Duration::from_secs(5))
        .await
        .expect("agent reachable")
}

async fn apply(ch: Channel, yaml: String) -> Result<(), String> {
    let mut c = ControlClient::new(ch);
    c.apply(ApplyRequest {
        manifests: vec![Manifest {
            name: "bench.yaml".into(),
            text: yaml,
        }],
        audit: false,
        force: false,
    })
    .await
    .map(drop)
    .map_err(|s| s.message().to_string())
}

/// Polls `GetPolicies` every 1 ms until `name` is listed; the time since `t0`.
async fn policy_listed(ch: Channel, name: String, t0: Instant) -> Duration {
    let mut c = ControlClient::new(ch);
    loop {
        let policies = c
            .get_policies(GetPoliciesRequest::default())
            .await
            .expect("policies")
            .into_inner()
            .policies;
        if policies.iter().any(|p| p.name == name) {
            return t0.elapsed();
        }
        assert!(t0.elapsed() < LIMIT, "{name} not listed within {LIMIT:?}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// One policy apply through `via`: (the apply's answer, each watched node listing it).
async fn policy_round(
    via: &Channel,
    watched: &[Channel],
    name: &str,
    yaml: String,
) -> (Duration, Vec<Duration>) {
    let t0 = Instant::now();
    let pollers: Vec<_> = watched
        .iter()
        .map(|ch| tokio::spawn(policy_listed(ch.clone(), name.to_owned(), t0)))
        .collect();
    apply(via.clone(), yaml).await.expect("policy apply");
    let answered = t0.elapsed();
    let mut listed = Vec::new();
    for p in pollers {
        listed.push(p.await.expect("poller"));
    }
    (answered, listed)
}

/// Section 2's histograms: n1's answer, n1..n3 listing, all nodes.
struct PolicyFigures {
    answered: Histogram<u64>,
    nodes: Vec<Histogram<u64>>,
    all: Histogram<u64>,
}

impl PolicyFigures {
    fn new(n: usize) -> Self {
        Self {
            answered: histogram(),
            nodes: (0..n).map(|_| histogram()).collect(),
            all: histogram(),
        }
    }

    fn record(&mut self, (answered, listed): (Duration, Vec<Duration>)) {
        self.answered.record(micros(answered)).expect("record");
        for (h, d) in self.nodes.iter_mut().zip(&listed) {
            h.record(micros(*d)).expect("record");
        }
        let all = listed.iter().max().copied().unwrap_or_default();
        self.all.record(micros(all)).expect("record");
    }
}

fn agents(rt: &Runtime) {
    let nodes = Nodes::new("cb", 3).expect("root");
    let solo = Cluster::with_agent_args("cb-solo", &["--trace", "off"]).expect("root");
    nodes.agent(1).apply(PODS).expect("pods");
    for (k, pod) in [(1, "web"), (2, "client"), (3, "intruder")] {
        eventually(&format!("{pod} runs on n{k}"), LIMIT, || {
            nodes.agent(k).endpoints().iter().any(|e| e.pod == pod)
        });
    }
    let chans: Vec<Channel> = (1..=3)
        .map(|k| rt.block_on(connect(nodes.agent(k).server())))
        .collect();
    let solo_ch = rt.block_on(connect(solo.server()));

    // 2. Policy apply → listed on every node.
    let mut cluster = PolicyFigures::new(3);
    let mut alone = PolicyFigures::new(1);
    for i in 0..POLICY_ROUNDS {
        let name = format!("bench-{i}");
        let yaml = policy(&name, "shop", "web", "client", 7000 + i);
        cluster.record(rt.block_on(policy_round(&chans[0], &chans, &name, yaml)));
        let yaml = policy(&name, "e2e", "server", "client", 7000 + i);
        alone.record(rt.block_on(policy_round(
            &solo_ch,
            std::slice::from_ref(&solo_ch),
            &name,
            yaml,
        )));
    }
    header("2. policy apply through n1 → listed by GetPolicies (polled every 1 ms)");
    row(
        "alone (no --kvstore): apply answered (baseline)",
        &alone.answered,
    );
    row("alone: listed", &alone.all);
    row(
        "cluster: n1 apply answered (stored + enforced on n1)",
        &cluster.answered,
    );
    for (k, h) in cluster.nodes.iter().enumerate() {
        row(&format!("cluster: listed on n{}", k + 1), h);
    }
    row("cluster: listed on all 3 nodes", &cluster.all);
    println!(
        "  ratio p50 all nodes / alone: {:.2}x ({} policies accumulate over the rounds, on both)",
        ratio(&cluster.all, &alone.all),
        POLICY_ROUNDS
    );

    // 3. Pod add on n1 → its address known on n2 and n3.
    pods(rt, &chans);

    // 4. Memory per remote endpoint.
    memory(rt, &nodes, &chans);
    memory_alone(rt, &solo, &solo_ch);
    drop(solo);
}

/// n1's endpoint `pod` 's IPv4 address.
async fn endpoint_ip(ch: Channel, pod: &str) -> Option<String> {
    let mut c = ControlClient::new(ch);
    c.get_endpoints(GetEndpointsRequest {})
        .await
        .expect("endpoints")
        .into_inner()
        .endpoints
        .into_iter()
        .find(|e| e.pod == pod)
        .and_then(|e| {
            e.ips
                .into_iter()
                .find(|ip| ip.parse::<IpAddr>().is_ok_and(|a| a.is_ipv4()))
        })
}

/// Whether a trace from `from` to `ip` on the node of `ch` resolves `ip` to `pod`.
async fn resolves(c: &mut ControlClient<Channel>, from: &str, ip: &str, pod: &str) -> bool {
    let req = TraceRequest {
        from: from.into(),
        to: ip.into(),
        protocol: 6,
        dport: 80,
        ..Default::default()
    };
    let Ok(resp) = c.trace(req).await else {
        return false;
    };
    let json: serde_json::Value = serde_json::from_str(&resp.into_inner().json).expect("json");
    let dst = &json["destination"];
    dst["kind"] == "pod"
        && dst["name"]
            .as_str()
            .is_some_and(|n| n.starts_with(&format!("{pod} (")))
}

/// Polls `Trace` every 1 ms until `ip` resolves to `pod`; the time since `t0`.
async fn pod_known(ch: Channel, from: String, ip: String, pod: String, t0: Instant) -> Duration {
    let mut c = ControlClient::new(ch);
    loop {
        if resolves(&mut c, &from, &ip, &pod).await {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < LIMIT,
            "{pod} ({ip}) not known within {LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn pods(rt: &Runtime, chans: &[Channel]) {
    let mut answered = histogram();
    let mut ip_read = histogram();
    let mut known = [histogram(), histogram()];
    let mut all = histogram();
    let mut after = histogram();
    for i in 0..POD_ROUNDS {
        let pod = format!("p{i}");
        let yaml = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {pod}, namespace: shop, labels: {{app: bench}}}}\nspec: {{nodeName: n1}}\n"
        );
        let r = rt.block_on(async {
            let t0 = Instant::now();
            apply(chans[0].clone(), yaml).await.expect("pod apply");
            let a = t0.elapsed();
            let ip = endpoint_ip(chans[0].clone(), &pod)
                .await
                .unwrap_or_else(|| panic!("{pod} has no address on n1"));
            let b = t0.elapsed();
            let n2 = tokio::spawn(pod_known(
                chans[1].clone(),
                "shop/client".into(),
                ip.clone(),
                format!("shop/{pod}"),
                t0,
            ));
            let n3 = tokio::spawn(pod_known(
                chans[2].clone(),
                "shop/intruder".into(),
                ip,
                format!("shop/{pod}"),
                t0,
            ));
            (a, b, n2.await.expect("n2"), n3.await.expect("n3"))
        });
        let (a, b, n2, n3) = r;
        answered.record(micros(a)).expect("record");
        ip_read.record(micros(b)).expect("record");
        known[0].record(micros(n2)).expect("record");
        known[1].record(micros(n3)).expect("record");
        let last = n2.max(n3);
        all.record(micros(last)).expect("record");
        after
            .record(micros(last.saturating_sub(a)))
            .expect("record");
    }
    header("3. pod (no address) applied on n1 → n2, n3 resolve its address to it");
    row(
        "n1 apply answered (endpoint created, address given)",
        &answered,
    );
    row("n1 GetEndpoints has its address", &ip_read);
    row("n2 Trace to the address names the pod", &known[0]);
    row("n3 Trace to the address names the pod", &known[1]);
    row("both n2 and n3", &all);
    row("both, after n1 answered (propagation part)", &after);
    println!(
        "  (times from sending the apply; polling n2/n3 starts once n1 told the address, so \
         the propagation part is at least the address read; same labels each round, so only \
         round 1 allocates an identity)"
    );
}

/// Remote pods `from..to` on node `n4` (no agent runs there), explicit addresses in
/// 10.62.0.0/16, 20 label sets.
fn remote_pods(from: usize, to: usize) -> String {
    let mut yaml = String::new();
    for i in from..to {
        let ip = format!("10.62.{}.{}", i / 250, i % 250 + 1);
        yaml.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: r{i}, namespace: remote, labels: {{app: remote-{}}}}}\nspec: {{nodeName: n4}}\nstatus: {{podIP: {ip}}}\n",
            i % 20
        ));
    }
    yaml
}

fn memory(rt: &Runtime, nodes: &Nodes, chans: &[Channel]) {
    let pid1 = nodes.agent(1).agent_pid().expect("n1 runs");
    let pid2 = nodes.agent(2).agent_pid().expect("n2 runs");
    rt.block_on(apply(
        chans[0].clone(),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: remote}\n".into(),
    ))
    .expect("namespace");
    std::thread::sleep(Duration::from_secs(1));
    let before = (rss_kib(pid1), rss_kib(pid2));

    // One apply of 1,000 pods is one etcd transaction of 1,000 operations.
    let t = Instant::now();
    let whole = rt.block_on(apply(chans[0].clone(), remote_pods(0, 1000)));
    let whole_time = t.elapsed();
    let mut done = 0;
    let mut batches = histogram();
    let mut steps = Vec::new();
    if whole.is_ok() {
        done = 1000;
    }
    for target in [1000, 6000] {
        let t = Instant::now();
        while done < target {
            let end = (done + BATCH).min(target);
            let b = Instant::now();
            rt.block_on(apply(chans[0].clone(), remote_pods(done, end)))
                .expect("remote pods");
            batches.record(micros(b.elapsed())).expect("record");
            done = end;
        }
        let applied = t.elapsed();
        // n2 has the last one too.
        let last = format!("10.62.{}.{}", (target - 1) / 250, (target - 1) % 250 + 1);
        let pod = format!("remote/r{}", target - 1);
        let t2 = Instant::now();
        rt.block_on(pod_known(
            chans[1].clone(),
            "shop/client".into(),
            last,
            pod,
            t2,
        ));
        let n2_after = t2.elapsed();
        std::thread::sleep(Duration::from_secs(1));
        steps.push((target, applied, n2_after, rss_kib(pid1), rss_kib(pid2)));
    }

    println!(
        "\n== 4. agent memory with remote endpoints (pods on n4, no agent there; 10.62.0.0/16)"
    );
    match &whole {
        Ok(()) => println!(
            "  one apply of 1,000 pods: accepted in {:.2} s",
            whole_time.as_secs_f64()
        ),
        Err(e) => println!(
            "  one apply of 1,000 pods: refused after {:.2} s: {}",
            whole_time.as_secs_f64(),
            e.lines().next().unwrap_or_default()
        ),
    }
    println!(
        "  {:>6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>12} {:>12}",
        "pods", "apply s", "n2 +ms", "n1 RSS MiB", "n1 KiB/ep", "n2 RSS MiB", "n2 KiB/ep", ""
    );
    println!(
        "  {:>6} {:>10} {:>10} {:>10.1} {:>10} {:>10.1}",
        0,
        "",
        "",
        before.0 as f64 / 1024.0,
        "",
        before.1 as f64 / 1024.0
    );
    let mut prev = (0usize, before.0, before.1);
    for (target, applied, n2_after, r1, r2) in &steps {
        let added = (target - prev.0) as f64;
        println!(
            "  {:>6} {:>10.2} {:>10.1} {:>10.1} {:>10.2} {:>10.1} {:>12.2}",
            target,
            applied.as_secs_f64(),
            n2_after.as_secs_f64() * 1000.0,
            *r1 as f64 / 1024.0,
            (*r1 as f64 - prev.1 as f64) / added,
            *r2 as f64 / 1024.0,
            (*r2 as f64 - prev.2 as f64) / added,
        );
        prev = (*target, *r1, *r2);
    }
    header("   applies of 100 pods each (answered when n1 enforces)");
    row("apply of 100 remote pods", &batches);
    println!(
        "  KiB/ep = RSS growth over the step / pods added; anchor: Cilium +10.5 KiB per pod; \
         apply s = that step's applies, in batches of {BATCH}; n2 +ms = after the last apply \
         until n2 resolves the last address"
    );

    // Section 2's apply again with the 6,000 remote endpoints present.
    let mut loaded = PolicyFigures::new(3);
    for i in 0..10 {
        let name = format!("loaded-{i}");
        let yaml = policy(&name, "shop", "web", "client", 8000 + i);
        loaded.record(rt.block_on(policy_round(&chans[0], chans, &name, yaml)));
    }
    header("   policy apply through n1 with 6,000 remote endpoints present");
    row("n1 apply answered", &loaded.answered);
    for (k, h) in loaded.nodes.iter().enumerate() {
        row(&format!("listed on n{}", k + 1), h);
    }
    row("listed on all 3 nodes", &loaded.all);
}

/// The same 6,000 remote pods on the agent running alone, in one apply, and its policy
/// apply with them present: what of section 4 is the engine's and what the cluster's.
fn memory_alone(rt: &Runtime, solo: &Cluster, ch: &Channel) {
    let pid = solo.agent_pid().expect("the agent runs");
    let before = rss_kib(pid);
    let yaml = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: remote}}\n{}",
        remote_pods(0, 6000)
    );
    let t = Instant::now();
    rt.block_on(apply(ch.clone(), yaml))
        .expect("remote pods alone");
    let applied = t.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    let after = rss_kib(pid);
    let mut loaded = PolicyFigures::new(1);
    for i in 0..10 {
        let name = format!("loaded-{i}");
        let yaml = policy(&name, "e2e", "server", "client", 8000 + i);
        loaded.record(rt.block_on(policy_round(ch, std::slice::from_ref(ch), &name, yaml)));
    }
    println!(
        "\n== 4b. the same 6,000 remote pods on the agent alone (no --kvstore), one apply: \
         {:.2} s; RSS {:.1} → {:.1} MiB, {:.2} KiB per endpoint",
        applied.as_secs_f64(),
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        (after as f64 - before as f64) / 6000.0
    );
    header("   policy apply on the agent alone with 6,000 remote endpoints present");
    row("apply answered", &loaded.answered);
    row("listed", &loaded.all);
}

// ---------------------------------------------------------------- 5. simulation

fn header_sim() {
    println!(
        "\n== 5. N fake nodes (etcd clients, no agents): a Publisher with its own lease and a \
         reflect(ipcache) each"
    );
    println!(
        "  {:>5} {:>6} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>7}",
        "N",
        "conns",
        "write s",
        "synced s",
        "prop p50",
        "p99 ms",
        "max ms",
        "median",
        "etcd0",
        "etcd",
        "growth"
    );
    println!(
        "  {:>5} {:>6} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7}",
        "", "", "", "", "ms", "", "", "p50 ms", "MiB", "MiB"
    );
}

struct Sim {
    connections: usize,
    register: Duration,
    synced: Duration,
    all: Histogram<u64>,
    median: Histogram<u64>,
    etcd_rss: u64,
}

fn fake_ip(k: usize, e: usize) -> String {
    let i = k * 5 + e;
    format!("10.80.{}.{}", i / 250, i % 250 + 1)
}

/// What a reflector's reader reports: a resync (with its size) or a round it saw.
enum Seen {
    Resync(usize),
    Round(u64, Instant),
}

async fn simulate(url: &str, n: usize, etcd_pid: u32) -> Sim {
    let mut cfg = Config::new(vec![url.to_owned()]);
    cfg.connect_timeout = Duration::from_secs(10);
    cfg.request_timeout = Duration::from_secs(30);
    // One connection (etcd client) per fake node.
    let mut stores = Vec::with_capacity(n);
    for _ in 0..n {
        stores.push(Store::connect(&cfg).await.expect("connect"));
    }
    let t0 = Instant::now();
    let publishers: Vec<Publisher> = stores
        .iter()
        .enumerate()
        .map(|(k, store)| {
            let p = Publisher::start(store.clone(), Duration::from_secs(20));
            let node = format!(
                "{{\"name\":\"fake-{k}\",\"labels\":{{}},\"addresses\":[\"10.81.{}.{}\"],\"pod_cidr\":\"10.80.0.0/16\",\"started\":0}}",
                k / 250,
                k % 250 + 1
            );
            p.set(Section::Nodes, format!("fake-{k}"), node.into_bytes());
            for e in 0..5 {
                let entry = format!(
                    "{{\"identity\":{},\"namespace\":\"sim\",\"pod\":\"p{k}-{e}\",\"node\":\"fake-{k}\"}}",
                    256 + e
                );
                p.set(Section::Ipcache, fake_ip(k, e), entry.into_bytes());
            }
            p
        })
        .collect();
    let mut flushes = tokio::task::JoinSet::new();
    for p in &publishers {
        let p = p.clone();
        flushes.spawn(async move { p.flush(Duration::from_secs(120)).await });
    }
    while let Some(r) = flushes.join_next().await {
        r.expect("flush task").expect("flush");
    }
    let register = t0.elapsed();
    let listed = stores[0]
        .list(Section::Nodes)
        .await
        .expect("list")
        .items
        .len();
    assert_eq!(listed, n, "every fake node is registered");
    let listed = stores[0]
        .list(Section::Ipcache)
        .await
        .expect("list")
        .items
        .len();
    assert_eq!(listed, 5 * n, "every ipcache entry is written");

    let target = fake_ip(0, 0);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let t1 = Instant::now();
    for store in &stores {
        let mut updates = reflect(store.clone(), Section::Ipcache);
        let tx = tx.clone();
        let target = target.clone();
        tokio::spawn(async move {
            while let Some(u) = updates.recv().await {
                match u {
                    Update::Resync { items, .. } => {
                        let _ = tx.send(Seen::Resync(items.len()));
                    }
                    Update::Changes { changes, .. } => {
                        for (key, value) in changes {
                            let round = value
                                .and_then(|v| String::from_utf8(v).ok())
                                .and_then(|v| v.parse::<u64>().ok());
                            if let (true, Some(r)) = (key == target, round) {
                                let _ = tx.send(Seen::Round(r, Instant::now()));
                            }
                        }
                    }
                    Update::Down { .. } => {}
                }
            }
        });
    }
    let mut synced = 0;
    while synced < n {
        match tokio::time::timeout(LIMIT * 4, rx.recv()).await {
            Ok(Some(Seen::Resync(len))) => {
                assert_eq!(len, 5 * n);
                synced += 1;
            }
            Ok(_) => {}
            Err(_) => panic!("only {synced} of {n} reflectors synced"),
        }
    }
    let synced = t1.elapsed();

    let (mut all, mut median) = (histogram(), histogram());
    for round in 1..=CHANGES {
        let t0 = Instant::now();
        publishers[0].set(
            Section::Ipcache,
            target.clone(),
            round.to_string().into_bytes(),
        );
        let mut seen = Vec::with_capacity(n);
        while seen.len() < n {
            match tokio::time::timeout(LIMIT, rx.recv()).await {
                Ok(Some(Seen::Round(r, at))) if r == round => seen.push(at - t0),
                Ok(_) => {}
                Err(_) => panic!("round {round}: {} of {n} reflectors saw it", seen.len()),
            }
        }
        seen.sort();
        all.record(micros(seen[n - 1])).expect("record");
        median.record(micros(seen[n / 2])).expect("record");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let etcd_rss = rss_kib(etcd_pid);
    Sim {
        connections: stores.len(),
        register,
        synced,
        all,
        median,
        etcd_rss,
    }
}
