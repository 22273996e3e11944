//! End-to-end tests of the lab: reachability between pods and world hosts over IPv4 and IPv6,
//! multi-node routing, cleanup on drop, on panic and after a killed run, and proof that the
//! host's own namespace is left alone. Each test needs root and returns early without it.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::panic::{self, AssertUnwindSafe};
use std::process::Command;
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::Duration;

use lab::{
    BpffsDir, Lab, NodeRef, PodRef, Role, TcpServer, UdpEcho, cleanup_stale, exec, in_netns, ping,
    require_root, tcp_connect, udp_roundtrip,
};

/// Generous for a lab on one machine; failures come back much faster (refused / unreachable).
const TIMEOUT: Duration = Duration::from_secs(2);
/// For probes that are expected to fail by timing out.
const SHORT: Duration = Duration::from_millis(300);
/// Set in the child process of `cleanup_stale_removes_dead_runs_only`.
const HELPER_ENV: &str = "LAB_TEST_STALE_HELPER";

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn v6(s: &str) -> Option<Ipv6Addr> {
    Some(s.parse().unwrap())
}

fn sock(ip: impl Into<IpAddr>, port: u16) -> SocketAddr {
    SocketAddr::new(ip.into(), port)
}

/// A node with two dual-stack pods.
fn two_pods(tag: &str) -> (Lab, NodeRef, PodRef, PodRef) {
    let mut lab = Lab::new(tag).unwrap();
    let node = lab.add_node("node1").unwrap();
    let a = lab
        .add_pod(&node, "a", v4("10.0.1.1"), v6("fd00::1:1"))
        .unwrap();
    let b = lab
        .add_pod(&node, "b", v4("10.0.1.2"), v6("fd00::1:2"))
        .unwrap();
    (lab, node, a, b)
}

/// The names `ip netns list` prints.
fn listed_namespaces() -> HashSet<String> {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn assert_gone(names: &[String]) {
    let listed = listed_namespaces();
    for name in names {
        assert!(!listed.contains(name), "namespace {name} survived");
    }
}

/// Output of `ip args…` in the current (host) namespace, or inside `netns`.
fn ip_output(netns: Option<&str>, args: &[&str]) -> String {
    let mut cmd = Command::new("ip");
    if let Some(ns) = netns {
        cmd.args(["-n", ns]);
    }
    let out = cmd.args(args).output().unwrap();
    assert!(out.status.success(), "ip {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn pods_on_one_node_ping_each_other_over_ipv4_and_ipv6() {
    if !require_root() {
        return;
    }
    let (_lab, _node, a, b) = two_pods("ping");
    for (from, to) in [(&a, &b), (&b, &a)] {
        for ip in to.ips() {
            assert!(
                ping(&from.netns, ip, 1, TIMEOUT).unwrap(),
                "{} -> {ip}",
                from.name
            );
        }
    }
}

#[test]
fn tcp_and_udp_roundtrip_between_pods_over_ipv4_and_ipv6() {
    if !require_root() {
        return;
    }
    let (_lab, _node, a, b) = two_pods("tcpudp");
    for ip in b.ips() {
        let tcp = TcpServer::start(&b.netns, sock(ip, 8080)).unwrap();
        let udp = UdpEcho::start(&b.netns, sock(ip, 5353)).unwrap();
        assert!(
            tcp_connect(&a.netns, tcp.local_addr(), TIMEOUT).unwrap(),
            "tcp {ip}"
        );
        assert!(
            tcp_connect(&a.netns, tcp.local_addr(), TIMEOUT).unwrap(),
            "tcp {ip}"
        );
        assert_eq!(tcp.accepted(), 2);
        assert!(
            udp_roundtrip(&a.netns, udp.local_addr(), TIMEOUT).unwrap(),
            "udp {ip}"
        );
        assert!(udp.received() >= 1);
    }
}

#[test]
fn closed_ports_are_reported_as_unreachable_not_as_errors() {
    if !require_root() {
        return;
    }
    let (_lab, _node, a, b) = two_pods("closed");
    for ip in b.ips() {
        assert!(!tcp_connect(&a.netns, sock(ip, 9), TIMEOUT).unwrap());
        assert!(!udp_roundtrip(&a.netns, sock(ip, 9), TIMEOUT).unwrap());
    }
    // An address nobody owns: the node has no route, so the probe fails fast.
    let nowhere: IpAddr = "10.9.9.9".parse().unwrap();
    assert!(!ping(&a.netns, nowhere, 1, SHORT).unwrap());
    assert!(!tcp_connect(&a.netns, sock(nowhere, 80), SHORT).unwrap());
}

#[test]
fn world_host_is_reachable_from_a_pod() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("world").unwrap();
    let node = lab.add_node("node1").unwrap();
    let pod = lab.add_pod(&node, "client", v4("10.0.2.1"), None).unwrap();
    let world = lab
        .add_world_host(&node, "world", v4("203.0.113.10"), v6("2001:db8::10"))
        .unwrap();
    assert_eq!(world.role, Role::WorldHost);
    assert!(ping(&pod.netns, world.v4.into(), 1, TIMEOUT).unwrap());
    let server = TcpServer::start(&world.netns, sock(world.v4, 443)).unwrap();
    assert!(tcp_connect(&pod.netns, server.local_addr(), TIMEOUT).unwrap());
}

#[test]
fn addresses_outside_the_lab_plan_are_refused() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("plan").unwrap();
    let node = lab.add_node("node1").unwrap();
    let bad_pod = lab.add_pod(&node, "p", v4("8.8.8.8"), None);
    assert!(matches!(
        bad_pod,
        Err(lab::LabError::AddressNotAllowed { .. })
    ));
    let bad_world = lab.add_world_host(&node, "w", v4("10.0.0.1"), None);
    assert!(matches!(
        bad_world,
        Err(lab::LabError::AddressNotAllowed { .. })
    ));
    lab.add_pod(&node, "p", v4("10.0.3.1"), None).unwrap();
    let dup = lab.add_pod(&node, "q", v4("10.0.3.1"), None);
    assert!(matches!(dup, Err(lab::LabError::DuplicateAddress { .. })));
    // Nothing half-built stays behind after a refusal.
    assert_eq!(lab.namespaces().len(), 2);
}

#[test]
fn pod_fields_describe_the_host_side_veth() {
    if !require_root() {
        return;
    }
    let (_lab, node, a, b) = two_pods("fields");
    assert_eq!(
        (a.host_ifname.as_str(), b.host_ifname.as_str()),
        ("lxc0", "lxc1")
    );
    assert_eq!(a.node_netns, node.netns);
    let link = ip_output(Some(&node.netns), &["-o", "link", "show", "dev", "lxc0"]);
    assert!(
        link.starts_with(&format!("{}: lxc0@", a.host_ifindex)),
        "{link}"
    );
    // DAD is off: nothing in the pod is tentative, so IPv6 works at once.
    let addrs = ip_output(Some(&a.netns), &["-6", "addr", "show", "dev", "eth0"]);
    assert!(!addrs.contains("tentative"), "{addrs}");
}

#[test]
fn in_netns_sockets_live_in_the_namespace() {
    if !require_root() {
        return;
    }
    let (_lab, _node, a, _b) = two_pods("innetns");
    // Only the pod owns 10.0.1.1, so binding it works there (and proves where we are).
    let bound = in_netns(&a.netns, || {
        std::net::TcpListener::bind(sock(a.v4, 0)).is_ok()
    });
    assert!(bound.unwrap());
    let out = exec(&a.netns, "ip", &["-o", "-4", "addr", "show", "dev", "eth0"]).unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("10.0.1.1/32"));
    assert!(in_netns("obs-zzzzzz-missing", || ()).is_err());
}

#[test]
fn removed_pod_loses_its_namespace_and_routes() {
    if !require_root() {
        return;
    }
    let (mut lab, node, a, b) = two_pods("remove");
    lab.remove_pod(&b).unwrap();
    assert_gone(std::slice::from_ref(&b.netns));
    let routes = ip_output(Some(&node.netns), &["route"]);
    assert!(!routes.contains("10.0.1.2"), "{routes}");
    assert!(!ping(&a.netns, b.v4.into(), 1, SHORT).unwrap());
    assert!(lab.remove_pod(&b).is_err(), "removing twice");
    // The address is free again; a new pod gets a new lxc name.
    let c = lab.add_pod(&node, "c", b.v4, b.v6).unwrap();
    assert_eq!(c.host_ifname, "lxc2");
    assert!(ping(&a.netns, c.v4.into(), 1, TIMEOUT).unwrap());
}

#[test]
fn connected_nodes_route_to_each_others_pods() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("nodes").unwrap();
    let n1 = lab.add_node("node1").unwrap();
    let n2 = lab.add_node("node2").unwrap();
    let a = lab
        .add_pod(&n1, "a", v4("10.1.0.1"), v6("fd00::a"))
        .unwrap();
    lab.connect_nodes(&n1, &n2).unwrap();
    // Added after the link: routes must follow.
    let b = lab
        .add_pod(&n2, "b", v4("10.2.0.1"), v6("fd00::b"))
        .unwrap();
    for ip in b.ips() {
        assert!(ping(&a.netns, ip, 1, TIMEOUT).unwrap(), "a -> {ip}");
    }
    let server = TcpServer::start(&a.netns, sock(a.v6.unwrap(), 80)).unwrap();
    assert!(tcp_connect(&b.netns, server.local_addr(), TIMEOUT).unwrap());
    assert!(lab.connect_nodes(&n2, &n1).is_err(), "connected twice");
    lab.remove_pod(&b).unwrap();
    let routes = ip_output(Some(&n1.netns), &["route"]);
    assert!(!routes.contains("10.2.0.1"), "{routes}");
}

#[test]
fn dropping_the_lab_removes_its_namespaces_and_marker() {
    if !require_root() {
        return;
    }
    let (lab, _node, _a, _b) = two_pods("drop");
    let names = lab.namespaces().to_vec();
    let prefix = lab.prefix().to_owned();
    assert_eq!(names.len(), 3);
    let listed = listed_namespaces();
    assert!(names.iter().all(|n| listed.contains(n)));
    assert!(names.iter().all(|n| n.starts_with(&format!("{prefix}-"))));
    drop(lab);
    assert_gone(&names);
    assert!(!std::path::Path::new(&format!("/run/obs-lab/{prefix}.pid")).exists());
}

#[test]
fn a_panicking_test_body_still_cleans_up() {
    if !require_root() {
        return;
    }
    let created = Mutex::new(Vec::new());
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        let (lab, ..) = two_pods("panic");
        *created.lock().unwrap() = lab.namespaces().to_vec();
        panic!("deliberate panic with a live lab");
    }));
    assert!(result.is_err());
    let created = created.into_inner().unwrap();
    assert_eq!(created.len(), 3);
    assert_gone(&created);
}

#[test]
fn host_namespace_is_unchanged_by_a_lab_run() {
    if !require_root() {
        return;
    }
    let snapshot = || {
        let sysctl = |key: &str| std::fs::read_to_string(format!("/proc/sys/{key}")).unwrap();
        [
            ip_output(None, &["-o", "link"]),
            ip_output(None, &["route"]),
            ip_output(None, &["-6", "route"]),
            sysctl("net/ipv4/ip_forward"),
            sysctl("net/ipv6/conf/all/forwarding"),
            sysctl("net/ipv6/conf/default/accept_dad"),
        ]
    };
    let before = snapshot();
    {
        let mut lab = Lab::new("host").unwrap();
        let n1 = lab.add_node("node1").unwrap();
        let n2 = lab.add_node("node2").unwrap();
        lab.connect_nodes(&n1, &n2).unwrap();
        let a = lab
            .add_pod(&n1, "a", v4("10.0.4.1"), v6("fd00::4:1"))
            .unwrap();
        let w = lab
            .add_world_host(&n2, "w", v4("198.51.100.4"), v6("2001:db8::4"))
            .unwrap();
        for ip in w.ips() {
            assert!(ping(&a.netns, ip, 1, TIMEOUT).unwrap(), "a -> {ip}");
        }
        let _pins = lab.bpffs_dir("maps").unwrap();
    }
    assert_eq!(before, snapshot());
}

#[test]
fn concurrent_labs_get_distinct_prefixes() {
    if !require_root() {
        return;
    }
    const LABS: usize = 8;
    let barrier = Arc::new(Barrier::new(LABS));
    let handles: Vec<_> = (0..LABS)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                barrier.wait();
                let mut lab = Lab::new("par").unwrap();
                lab.add_node("node1").unwrap();
                // Keep every lab alive until all exist.
                barrier.wait();
                lab.prefix().to_owned()
            })
        })
        .collect();
    let prefixes: HashSet<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(prefixes.len(), LABS);
}

#[test]
fn bpffs_dir_is_created_and_removed() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("bpffs").unwrap();
    let maps = lab.bpffs_dir("maps").unwrap();
    let progs = lab.bpffs_dir("progs").unwrap();
    assert!(lab.bpffs_dir("maps").is_err(), "duplicate name");
    let run_dir = maps.path().parent().unwrap().to_owned();
    assert_eq!(
        run_dir,
        std::path::Path::new("/sys/fs/bpf").join(lab.prefix())
    );
    std::fs::create_dir(maps.path().join("nested")).unwrap();
    drop(maps);
    assert!(!run_dir.join("maps").exists());
    assert!(progs.path().exists(), "sibling survives");
    drop(progs);
    assert!(!run_dir.exists(), "run directory goes with its last child");
    let standalone = BpffsDir::new("solo").unwrap();
    assert!(standalone.path().ends_with("solo"));
}

/// Not a test on its own: the child process of `cleanup_stale_removes_dead_runs_only`. It builds
/// a lab and a bpffs directory, prints the prefix and aborts, so no guard runs.
#[test]
#[ignore = "child process of cleanup_stale_removes_dead_runs_only"]
fn stale_run_helper() {
    if std::env::var_os(HELPER_ENV).is_none() {
        return;
    }
    let mut lab = Lab::new("stale").unwrap();
    let node = lab.add_node("node1").unwrap();
    lab.add_pod(&node, "pod", v4("10.0.5.1"), None).unwrap();
    let _pins = lab.bpffs_dir("maps").unwrap();
    println!("PREFIX={}", lab.prefix());
    std::process::abort();
}

#[test]
fn cleanup_stale_removes_dead_runs_only() {
    if !require_root() {
        return;
    }
    let (live, ..) = two_pods("live");
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "stale_run_helper", "--ignored", "--nocapture"])
        .env(HELPER_ENV, "1")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the helper aborts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let prefix = stdout
        .lines()
        .find_map(|line| line.strip_prefix("PREFIX="))
        .unwrap_or_else(|| panic!("no prefix in {stdout}"))
        .to_owned();
    let stale: Vec<String> = ["node1", "pod"]
        .iter()
        .map(|n| format!("{prefix}-{n}"))
        .collect();
    let listed = listed_namespaces();
    assert!(
        stale.iter().all(|n| listed.contains(n)),
        "aborted run left them"
    );
    let pins = std::path::Path::new("/sys/fs/bpf").join(&prefix);
    assert!(pins.exists());

    cleanup_stale();

    assert_gone(&stale);
    assert!(!pins.exists());
    assert!(!std::path::Path::new(&format!("/run/obs-lab/{prefix}.pid")).exists());
    let listed = listed_namespaces();
    assert!(
        live.namespaces().iter().all(|n| listed.contains(n)),
        "live lab untouched"
    );
}

#[test]
fn a_persisted_lab_survives_its_guard_and_stale_cleanup_until_teardown() {
    if !lab::require_root() {
        return;
    }
    let mut lab = lab::Lab::new("persist").unwrap();
    let node = lab.add_node("node").unwrap();
    let prefix = lab.persist().unwrap();
    assert!(
        lab::netns_exists(&node.netns),
        "dropping a persisted lab deletes nothing"
    );
    lab::cleanup_stale();
    assert!(
        lab::netns_exists(&node.netns),
        "stale cleanup leaves persistent runs alone"
    );
    assert_eq!(lab::teardown(&prefix), 1);
    assert!(!lab::netns_exists(&node.netns));
    assert_eq!(lab::teardown("not-a-prefix"), 0);
}
