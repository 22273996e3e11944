//! The plumbing in real namespaces: an endpoint created and wired to a lab node, forwarding
//! turned on in a node that had it off, and the mount-namespace check run under
//! `ip netns exec`. The lab's guards own every namespace. Each test needs root and returns
//! early without it.

use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

use observe_plumbing::forwarding::{self, Forwarding, IPV4, IPV6};
use observe_plumbing::mounts::netns_mounts_visible;
use observe_plumbing::sysctl;
use observe_plumbing::wiring::Addrs;

/// Set in the child process of `namespaces_created_under_ip_netns_exec_are_invisible_to_others`.
const HELPER_ENV: &str = "PLUMBING_TEST_MOUNTS_HELPER";

#[test]
fn plumbing_wires_an_agent_created_endpoint_to_its_node() {
    if !lab::require_root() {
        return;
    }
    let mut lab = lab::Lab::new("plumb").unwrap();
    let node = lab.add_node("node").unwrap();
    let peer = lab
        .add_pod(&node, "peer", "10.9.0.2".parse().unwrap(), None)
        .unwrap();
    let name = format!("{}-agent-ep", lab.prefix());
    let found = lab::in_netns(&node.netns, observe_plumbing::current_netns_name).unwrap();
    assert_eq!(found.as_deref(), Some(node.netns.as_str()));
    let index = observe_plumbing::create_endpoint(
        &node.netns,
        &name,
        "lxcagent",
        Addrs {
            v4: "10.9.0.3".parse().unwrap(),
            v6: None,
        },
    )
    .unwrap();
    assert_eq!(
        observe_plumbing::ifindex(&node.netns, "lxcagent").unwrap(),
        index
    );
    let target = IpAddr::V4("10.9.0.2".parse().unwrap());
    assert!(lab::ping(&name, target, 1, Duration::from_secs(2)).unwrap());
    observe_plumbing::remove_endpoint(&node.netns, &name, "lxcagent", true).unwrap();
    assert!(!observe_plumbing::netns_exists(&name));
    assert!(
        observe_plumbing::create_endpoint(
            &node.netns,
            &name,
            "lxcagent",
            Addrs {
                v4: "192.168.1.1".parse().unwrap(),
                v6: None,
            },
        )
        .is_err()
    );
    assert!(
        !observe_plumbing::netns_exists(&name),
        "a refused endpoint leaves nothing behind"
    );
    drop(peer);
}

#[test]
fn a_node_with_forwarding_off_gets_it_turned_on_and_says_which_switches_it_flipped() {
    if !lab::require_root() {
        return;
    }
    let host_before = forwarding::read("").unwrap();
    let mut lab = lab::Lab::new("fwd").unwrap();
    let node = lab.add_node("node").unwrap();
    let off = [
        ("net/ipv4/ip_forward", "0"),
        ("net/ipv6/conf/all/forwarding", "0"),
    ];
    sysctl::write(&node.netns, &off).unwrap();
    let ipv6 = forwarding::read(&node.netns).unwrap().ipv6;
    assert_eq!(
        forwarding::read(&node.netns).unwrap(),
        Forwarding {
            ipv4: false,
            ipv6: ipv6.map(|_| false),
        }
    );

    let flipped = forwarding::enable(&node.netns).unwrap();

    let expected: Vec<&str> = [Some(IPV4), ipv6.map(|_| IPV6)]
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(flipped, expected);
    assert_eq!(
        forwarding::read(&node.netns).unwrap(),
        Forwarding {
            ipv4: true,
            ipv6: ipv6.map(|_| true),
        }
    );
    assert!(
        forwarding::enable(&node.netns).unwrap().is_empty(),
        "nothing left to turn on"
    );
    assert_eq!(
        forwarding::read("").unwrap(),
        host_before,
        "the host's own switches are left alone"
    );
}

/// Not a test on its own: the child process of
/// `namespaces_created_under_ip_netns_exec_are_invisible_to_others`, run under
/// `ip netns exec`. Prints what the check says there.
#[test]
#[ignore = "child process of namespaces_created_under_ip_netns_exec_are_invisible_to_others"]
fn mounts_helper() {
    if std::env::var_os(HELPER_ENV).is_none() {
        return;
    }
    println!("VISIBLE={:?}", netns_mounts_visible().ok());
}

#[test]
fn namespaces_created_under_ip_netns_exec_are_invisible_to_others() {
    if !lab::require_root() {
        return;
    }
    assert_eq!(
        netns_mounts_visible().ok(),
        Some(true),
        "this test runs in the host's mount namespace"
    );
    let mut lab = lab::Lab::new("mnt").unwrap();
    let node = lab.add_node("node").unwrap();
    let out = Command::new("ip")
        .args(["netns", "exec", &node.netns])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "mounts_helper", "--ignored", "--nocapture"])
        .env(HELPER_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("VISIBLE=Some(false)"), "{stdout}");
}
