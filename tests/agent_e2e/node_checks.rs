//! What the agent checks and fixes in its node at start: IP forwarding turned on where it was
//! off (and reported by `ServerStatus`), and a refusal to run from a private mount namespace
//! such as `ip netns exec`'s, whose endpoint namespaces nobody else would see.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lab::Lab;
use observe_proto::observer::ServerStatusRequest;
use observe_proto::observer::observer_client::ObserverClient;

use crate::common::*;

/// The forwarding switches, as `/proc/sys` paths and dotted names.
const SWITCHES: [(&str, &str); 2] = [
    ("/proc/sys/net/ipv4/ip_forward", "net.ipv4.ip_forward"),
    (
        "/proc/sys/net/ipv6/conf/all/forwarding",
        "net.ipv6.conf.all.forwarding",
    ),
];

/// The value of each switch inside `netns`.
fn switches(netns: &str) -> Vec<String> {
    lab::in_netns(netns, || {
        SWITCHES.map(|(path, _)| {
            std::fs::read_to_string(path)
                .expect("read sysctl")
                .trim()
                .to_string()
        })
    })
    .expect("enter the node")
    .to_vec()
}

#[test]
fn a_node_with_forwarding_off_gets_it_turned_on_at_start_and_status_reports_it() {
    let Some(mut c) = Cluster::new("e2efwd") else {
        return;
    };
    c.stop_agent();
    lab::in_netns(&c.node.netns, || {
        for (path, _) in SWITCHES {
            std::fs::write(path, "0").expect("switch forwarding off");
        }
    })
    .expect("enter the node");
    assert_eq!(switches(&c.node.netns), ["0", "0"]);

    c.start_agent();

    assert_eq!(switches(&c.node.netns), ["1", "1"], "{}", c.log());
    let log = c.log();
    for (_, name) in SWITCHES {
        assert!(log.contains(&format!("turned {name} on")), "{log}");
    }
    let mut client = ObserverClient::new(c.channel());
    let status =
        c.rt.block_on(client.server_status(ServerStatusRequest {}))
            .expect("status")
            .into_inner();
    let forwarding = status.forwarding.expect("the agent reports forwarding");
    assert!(forwarding.ipv4);
    assert_eq!(forwarding.ipv6, Some(true));
    assert_eq!(
        forwarding.enabled_at_start,
        SWITCHES.map(|(_, name)| name.to_string())
    );
    let _server = c.serve("server", &[7070], &[]);
    for v6 in [false, true] {
        assert!(
            c.reaches("client", "server", "tcp", 7070, v6),
            "the node forwards between its endpoints (v6: {v6})"
        );
    }
}

#[test]
fn observerd_under_ip_netns_exec_refuses_to_start_and_names_node_netns() {
    if !lab::require_root() {
        return;
    }
    let mut lab = Lab::new("e2emnt").expect("lab");
    let node = lab.add_node("node").expect("node");
    let pins = lab.bpffs_dir("pins").expect("bpffs");
    let tmp = tempfile::Builder::new()
        .prefix(lab.prefix())
        .tempdir()
        .expect("state dir");
    let dir = tmp.path();
    let mut child = Command::new("ip")
        .args(["netns", "exec", &node.netns])
        .arg(observerd())
        .args(["--node-name", "node", "--netns-prefix", lab.prefix()])
        .arg("--socket")
        .arg(dir.join("agent.sock"))
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--pin-root")
        .arg(pins.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start observerd");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().expect("stderr");
    drop(tmp);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let status =
        status.unwrap_or_else(|| panic!("observerd started under ip netns exec: {stderr}"));
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("private mount namespace") && stderr.contains("--node-netns"),
        "{stderr}"
    );
}
