//! `observe-relay` in front of three real agents: nodes discovered from their
//! registrations in etcd, mutual TLS between the relay and every agent, and the `observe`
//! CLI unchanged against the relay: flows of every node in one stream with node names,
//! filters, `list nodes`, `status` with the connected and unavailable nodes, a killed agent reported
//! and back, a stopped agent gone from the cluster and from the relay.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use lab::pki::Pki;

use super::common::reaches;
use super::nodes::{Nodes, PODS, WEB_INGRESS, eventually};

/// The client and the intruder may only open connections to the web server on 8080 (so
/// their nodes report their side of it too).
const SHOP_EGRESS: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: shop-egress, namespace: shop}
spec:
  endpointSelector: {matchExpressions: [{key: app, operator: In, values: [client, intruder]}]}
  egress:
  - toEndpoints: [{matchLabels: {app: web}}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
"#;

const CONVERGE: Duration = Duration::from_secs(15);
const AGENT_PORT: u16 = 4244;

/// The relay binary: `$OBSERVE_RELAY_BIN` (`cargo xtask test` sets it) or built.
fn relay_binary() -> PathBuf {
    lab::workspace_binary("OBSERVE_RELAY_BIN", "observe-relay", "observe-relay")
}

/// `observe-relay` on an underlay host, serving a unix socket.
struct Relay {
    child: Child,
    socket: PathBuf,
    log: PathBuf,
}

impl Relay {
    fn start(netns: &str, dir: &Path, etcd: &str, pki: &Pki) -> Self {
        let socket = dir.join("relay.sock");
        let log = dir.join("relay.log");
        let out = std::fs::File::create(&log).expect("relay log");
        let path = |p: &Path| p.display().to_string();
        let child = Command::new("ip")
            .args(["netns", "exec", netns])
            .arg(relay_binary())
            .args(["--kvstore", &format!("etcd://{etcd}")])
            .args(["--listen-address", &format!("unix://{}", socket.display())])
            .args(["--tls-hubble-server-ca-files", &path(&pki.ca)])
            .args(["--tls-hubble-client-cert-file", &path(&pki.client_cert)])
            .args(["--tls-hubble-client-key-file", &path(&pki.client_key)])
            // One certificate for every agent in the lab, issued for `localhost`.
            .args(["--tls-hubble-server-name", "localhost"])
            .args(["--health-check-interval", "300ms", "--retry-timeout", "1s"])
            .args(["--sort-buffer-drain-timeout", "200ms"])
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .expect("start observe-relay");
        Relay { child, socket, log }
    }

    fn server(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn observe(server: &str, args: &[&str]) -> Output {
    let binary = lab::workspace_binary("OBSERVE_BIN", "observe-cli", "observe");
    Command::new(binary)
        .env_remove("OBSERVE_CONFIG")
        .env("NO_COLOR", "1")
        .arg("--server")
        .arg(server)
        .args(args)
        .output()
        .expect("observe runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The node names and verdicts of `observe flows … -o jsonpb`'s flows.
fn nodes_and_verdicts(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            let flow = v.get("flow")?;
            Some((
                v.get("node_name")?.as_str()?.to_string(),
                flow.get("verdict")?.as_str()?.to_string(),
            ))
        })
        .collect()
}

#[test]
fn the_cli_reads_every_node_through_the_relay_over_mtls() {
    let pki = Pki::generate("relay-e2e");
    let tls = [
        "--tls-cert-file".to_string(),
        pki.server_cert.display().to_string(),
        "--tls-key-file".to_string(),
        pki.server_key.display().to_string(),
        "--tls-client-ca-files".to_string(),
        pki.ca.display().to_string(),
    ];
    let Some(mut nodes) = Nodes::with_args("relay", 3, |underlay| {
        let mut args = vec![
            "--listen-address".to_string(),
            format!("{}:{AGENT_PORT}", underlay.addr),
        ];
        args.extend(tls.iter().cloned());
        args
    }) else {
        return;
    };
    nodes.agent(3).apply(PODS).expect("pods");
    nodes
        .agent(3)
        .apply(&format!("{WEB_INGRESS}---\n{SHOP_EGRESS}"))
        .expect("policies");
    for (k, pod) in [(1, "web"), (2, "client"), (3, "intruder")] {
        eventually(&format!("{pod} runs on n{k}"), CONVERGE, || {
            nodes.agent(k).endpoints().iter().any(|e| e.pod == pod)
        });
    }
    let (relay_netns, _) = nodes.add_host("relay");
    let dir = PathBuf::from(format!("/run/obs-e2e/{}", nodes.prefix()));
    let relay = Relay::start(
        &relay_netns,
        &dir,
        &nodes.etcd.client_addr().to_string(),
        &pki,
    );
    let server = relay.server();
    eventually("the relay connects to 3 nodes over mTLS", CONVERGE, || {
        text(&observe(&server, &["status"]))
            .0
            .contains("Connected Nodes: 3/3")
    });

    let (listed, _) = text(&observe(&server, &["list", "nodes"]));
    for n in ["n1", "n2", "n3"] {
        assert!(
            listed
                .lines()
                .any(|l| l.starts_with(n) && l.contains("Connected")),
            "{listed}"
        );
    }

    // Traffic that crosses nodes: allowed (client on n2 → web on n1) and dropped
    // (intruder on n3 → web on n1); the egress policy makes n2 and n3 report their side.
    let _web = nodes.agent(1).serve("web", &[8080], &[]);
    let web = nodes.pod_ip(1, "web");
    eventually("client reaches web across nodes", CONVERGE, || {
        reaches(&nodes.pod_netns(2, "client"), web, "tcp", 8080)
    });
    assert!(!reaches(&nodes.pod_netns(3, "intruder"), web, "tcp", 8080));

    // One stream with the flows of every node, each named by its node.
    let mut seen = Vec::new();
    let mut last = (String::new(), String::new());
    let every_node = |seen: &[(String, String)]| {
        ["n1", "n2", "n3"]
            .iter()
            .all(|n| seen.iter().any(|(node, _)| node == n))
    };
    let deadline = std::time::Instant::now() + CONVERGE;
    while std::time::Instant::now() < deadline {
        last = text(&observe(
            &server,
            &["flows", "--last", "500", "-o", "jsonpb"],
        ));
        seen = nodes_and_verdicts(&last.0);
        if every_node(&seen) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        every_node(&seen),
        "flows of every node; got {seen:?}\nstdout: {}\nstderr: {}\nrelay: {}",
        last.0,
        last.1,
        relay.log()
    );
    assert!(
        seen.iter().any(|(n, v)| n == "n1" && v == "DROPPED"),
        "{seen:?}"
    );
    // Filters go through: only drops.
    let out = observe(
        &server,
        &[
            "flows",
            "--verdict",
            "DROPPED",
            "--last",
            "500",
            "-o",
            "jsonpb",
        ],
    );
    let drops = nodes_and_verdicts(&text(&out).0);
    assert!(
        !drops.is_empty() && drops.iter().all(|(_, v)| v == "DROPPED"),
        "{drops:?}"
    );
    // The compact output with node names, as `hubble observe --print-node-name` through Relay.
    let (compact, _) = text(&observe(
        &server,
        &["flows", "--last", "50", "--print-node-name"],
    ));
    assert!(
        compact.contains("[n1]") || compact.contains("n1"),
        "{compact}"
    );

    // A crashed agent: unavailable, named by `status` and on the flow stream's stderr.
    nodes.agent_mut(2).kill_agent();
    eventually("status names n2 unavailable", CONVERGE, || {
        let (out, _) = text(&observe(&server, &["status"]));
        out.contains("Connected Nodes: 2/3") && out.contains("  - n2")
    });
    let (_, err) = text(&observe(&server, &["flows", "--last", "5"]));
    assert!(err.contains("1 nodes are unavailable: n2"), "stderr: {err}");
    nodes.agent_mut(2).start_agent();
    eventually("n2 is back", CONVERGE, || {
        text(&observe(&server, &["status"]))
            .0
            .contains("Connected Nodes: 3/3")
    });

    // A stopped agent leaves the cluster (its registration is withdrawn) and the relay.
    nodes.agent_mut(3).stop_agent();
    eventually("n3 leaves the relay", CONVERGE, || {
        text(&observe(&server, &["status"]))
            .0
            .contains("Connected Nodes: 2/2")
    });
    assert!(
        relay.log().contains("relay: peers changed"),
        "{}",
        relay.log()
    );
}
