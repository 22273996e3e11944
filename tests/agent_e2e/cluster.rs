//! Several nodes in one cluster, state in a real etcd: identities agree across nodes,
//! cross-node verdicts follow identity (not address), a policy applied on one node holds
//! on all, etcd outages and node restarts keep enforcement and converge, concurrent
//! applies from two nodes both land, and a bad manifest changes nothing anywhere.

use std::collections::BTreeMap;
use std::time::Duration;

use observe_proto::flow::{FlowFilter, Verdict};

use super::common::reaches;
use super::nodes::{Nodes, PODS, eventually};

use super::nodes::WEB_INGRESS as POLICY;

/// How long a change may take to reach every node (generous for a loaded CI machine).
const CONVERGE: Duration = Duration::from_secs(15);

/// Pod identities (labels → number) as node `k` knows them.
fn pod_identities(nodes: &Nodes, k: usize) -> BTreeMap<Vec<String>, u32> {
    nodes
        .identities(k)
        .into_iter()
        .filter(|i| (256..=65535).contains(&i.id))
        .map(|i| (i.labels, i.id))
        .collect()
}

/// Whether pod `from` on node `kf` reaches pod `to` on node `kt` on TCP `port`.
fn tcp(nodes: &Nodes, kf: usize, from: &str, kt: usize, to: &str, port: u16) -> bool {
    reaches(
        &nodes.pod_netns(kf, from),
        nodes.pod_ip(kt, to),
        "tcp",
        port,
    )
}

fn three_nodes(tag: &str) -> Option<Nodes> {
    let nodes = Nodes::new(tag, 3)?;
    nodes.agent(3).apply(PODS).expect("pods");
    nodes.agent(3).apply(POLICY).expect("policy");
    for (k, pod) in [(1, "web"), (2, "client"), (3, "intruder")] {
        eventually(&format!("{pod} runs on n{k}"), CONVERGE, || {
            nodes.agent(k).endpoints().iter().any(|e| e.pod == pod)
        });
    }
    Some(nodes)
}

#[test]
fn identities_agree_and_cross_node_verdicts_follow_identity() {
    let Some(nodes) = three_nodes("mn-ident") else {
        return;
    };
    eventually("every node knows the same pod identities", CONVERGE, || {
        let n1 = pod_identities(&nodes, 1);
        n1.len() >= 3 && n1 == pod_identities(&nodes, 2) && n1 == pod_identities(&nodes, 3)
    });
    let _web = nodes.agent(1).serve("web", &[8080], &[]);
    eventually("the client on n2 reaches web on n1", CONVERGE, || {
        tcp(&nodes, 2, "client", 1, "web", 8080)
    });
    assert!(
        !tcp(&nodes, 3, "intruder", 1, "web", 8080),
        "the intruder on n3 must be dropped"
    );
    let drops = nodes.agent(1).flows(
        FlowFilter {
            source_ip: vec![nodes.pod_ip(3, "intruder").to_string()],
            destination_port: vec!["8080".into()],
            verdict: vec![Verdict::Dropped as i32],
            ..Default::default()
        },
        5,
    );
    let intruder = nodes.agent(3).endpoint("intruder").identity;
    let src = drops
        .last()
        .and_then(|f| f.source.clone())
        .expect("a drop with a source");
    assert_eq!(
        (src.pod_name.as_str(), src.namespace.as_str(), src.identity),
        ("intruder", "shop", intruder),
        "n1 names the remote pod and its cluster identity"
    );

    // Other nodes' addresses are `remote-node` on n1: denied until an entity rule allows it.
    let n2 = &nodes.members[1].underlay;
    let web = nodes.pod_ip(1, "web");
    assert!(
        !reaches(&n2.netns, web, "tcp", 8080),
        "n2's own address is not the client"
    );
    let entity = POLICY.replace(
        "  - fromEndpoints: [{matchLabels: {app: client}}]",
        "  - fromEntities: [remote-node]\n    toPorts: [{ports: [{port: \"8080\", protocol: TCP}]}]\n  - fromEndpoints: [{matchLabels: {app: client}}]",
    );
    nodes.agent(1).apply(&entity).expect("remote-node rule");
    eventually("n2's address reaches web as remote-node", CONVERGE, || {
        reaches(&n2.netns, web, "tcp", 8080)
    });
    let allowed = nodes.agent(1).flows(
        FlowFilter {
            source_ip: vec![n2.addr.to_string()],
            destination_port: vec!["8080".into()],
            verdict: vec![Verdict::Forwarded as i32],
            ..Default::default()
        },
        1,
    );
    let src = allowed
        .last()
        .and_then(|f| f.source.clone())
        .expect("an allowed flow");
    assert_eq!(src.identity, 6, "reserved:remote-node");
    nodes
        .agent(1)
        .apply(POLICY)
        .expect("back to the client only");

    // Relabel on n2: n1 now lets the intruder in and keeps the old client out, by
    // identity: neither address changed.
    let relabel = PODS
        .replace("labels: {app: intruder}", "labels: {app: client}")
        .replace(
            "name: client, namespace: shop, labels: {app: client}",
            "name: client, namespace: shop, labels: {app: retired}",
        );
    nodes.agent(2).apply(&relabel).expect("relabel");
    eventually("n1 lets the relabelled intruder in", CONVERGE, || {
        tcp(&nodes, 3, "intruder", 1, "web", 8080)
    });
    assert!(
        !tcp(&nodes, 2, "client", 1, "web", 8080),
        "the retired client is out"
    );

    let listed = nodes.get_nodes(1);
    let health: BTreeMap<String, String> = listed
        .nodes
        .iter()
        .map(|n| (n.name.clone(), n.health.clone()))
        .collect();
    assert_eq!(
        health,
        BTreeMap::from([
            ("n1".into(), "ready".into()),
            ("n2".into(), "ready".into()),
            ("n3".into(), "ready".into()),
        ])
    );
    assert!(listed.kvstore.is_some_and(|k| k.connected));
}

#[test]
fn enforcement_survives_an_etcd_outage_and_a_node_restart() {
    let Some(mut nodes) = three_nodes("mn-outage") else {
        return;
    };
    let _web = nodes.agent(1).serve("web", &[8080], &[]);
    eventually("the client reaches web", CONVERGE, || {
        tcp(&nodes, 2, "client", 1, "web", 8080)
    });

    nodes.etcd.stop().expect("stop etcd");
    eventually("n1 reports the store unreachable", CONVERGE, || {
        nodes.get_nodes(1).kvstore.is_some_and(|k| !k.connected)
    });
    assert!(
        tcp(&nodes, 2, "client", 1, "web", 8080),
        "allowed traffic flows on"
    );
    assert!(
        !tcp(&nodes, 3, "intruder", 1, "web", 8080),
        "denied traffic stays denied"
    );
    let refused = nodes.agent(2).apply(&POLICY.replace("8080", "9090"));
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("kvstore")),
        "an apply during the outage fails clearly: {refused:?}"
    );

    nodes.etcd.start_again().expect("restart etcd");
    eventually("n1 reconnects", CONVERGE, || {
        nodes.get_nodes(1).kvstore.is_some_and(|k| k.connected)
    });
    assert!(
        tcp(&nodes, 2, "client", 1, "web", 8080),
        "allowed after the outage"
    );

    // n1 crashes; a change is made while it is down; it restarts and converges.
    nodes.agent_mut(1).kill_agent();
    let open = POLICY.replace("{app: client}", "{app: intruder}");
    nodes
        .agent(2)
        .apply(&open)
        .expect("policy change while n1 is down");
    nodes.agent_mut(1).start_agent();
    eventually("the restarted n1 enforces the change", CONVERGE, || {
        tcp(&nodes, 3, "intruder", 1, "web", 8080)
    });
    assert!(!tcp(&nodes, 2, "client", 1, "web", 8080));
}

#[test]
fn concurrent_applies_land_and_bad_manifests_change_nothing() {
    let Some(mut nodes) = three_nodes("mn-apply") else {
        return;
    };
    let policy = |name: &str, port: u16| {
        POLICY
            .replace("web-ingress", name)
            .replace("8080", &port.to_string())
    };
    let (a, b) = (policy("from-n1", 7001), policy("from-n2", 7002));
    std::thread::scope(|s| {
        let n1 = s.spawn(|| nodes.agent(1).apply(&a));
        let n2 = s.spawn(|| nodes.agent(2).apply(&b));
        n1.join().expect("n1").expect("apply on n1");
        n2.join().expect("n2").expect("apply on n2");
    });
    let names = |k: usize| -> Vec<String> {
        let mut c =
            observe_proto::control::control_client::ControlClient::new(nodes.agent(k).channel());
        let mut names: Vec<String> = nodes
            .agent(k)
            .rt
            .block_on(c.get_policies(observe_proto::control::GetPoliciesRequest::default()))
            .expect("policies")
            .into_inner()
            .policies
            .into_iter()
            .map(|p| p.name)
            .collect();
        names.sort();
        names
    };
    let expected: Vec<String> = ["from-n1", "from-n2", "web-ingress"]
        .map(String::from)
        .to_vec();
    for k in 1..=3 {
        eventually(&format!("n{k} holds both policies"), CONVERGE, || {
            names(k) == expected
        });
    }

    let bad = format!(
        "{}---\n{}",
        policy("would-be", 7003),
        POLICY
            .replace("fromEndpoints", "fromEndpointz")
            .replace("web-ingress", "broken")
    );
    let err = nodes
        .agent(2)
        .apply(&bad)
        .expect_err("a bad manifest is refused");
    assert!(
        err.contains("fromEndpointz"),
        "the error names the field: {err}"
    );
    std::thread::sleep(Duration::from_millis(500));
    for k in 1..=3 {
        assert_eq!(names(k), expected, "n{k} changed nothing");
    }

    // More objects than etcd takes in one transaction: stored behind a fence, enforced
    // whole on every node.
    let many: String = (0..150)
        .map(|i| policy(&format!("bulk-{i:03}"), 10_000 + i))
        .collect::<Vec<_>>()
        .join("---\n");
    let lines = nodes
        .agent(1)
        .apply(&many)
        .expect("150 policies in one apply");
    assert_eq!(lines.len(), 150, "{lines:?}");
    for k in 1..=3 {
        eventually(&format!("n{k} holds all 153 policies"), CONVERGE, || {
            names(k).len() == 153
        });
    }

    // A node that stops disappears from the others once its lease expires.
    nodes.agent_mut(3).stop_agent();
    eventually("n1 sees n3 gone", CONVERGE, || {
        nodes
            .get_nodes(1)
            .nodes
            .iter()
            .any(|n| n.name == "n3" && n.health != "ready")
    });
}

#[test]
fn a_node_cut_off_from_etcd_keeps_enforcing_and_rejoins_when_the_partition_heals() {
    let Some(nodes) = three_nodes("mn-split") else {
        return;
    };
    let _web = nodes.agent(1).serve("web", &[8080], &[]);
    eventually("the client reaches web", CONVERGE, || {
        tcp(&nodes, 2, "client", 1, "web", 8080)
    });
    // n1 loses etcd (a blackhole route to its host) but still reaches the other nodes.
    let etcd = nodes.etcd.client_addr().ip().to_string();
    let n1 = &nodes.members[0].underlay.netns;
    let route = |op: &str| {
        let out = lab::exec(n1, "ip", &["route", op, "blackhole", &format!("{etcd}/32")])
            .expect("ip route");
        assert!(out.status.success(), "ip route {op}: {out:?}");
    };
    route("add");
    eventually("n2 sees n1's lease expire", CONVERGE, || {
        nodes
            .get_nodes(2)
            .nodes
            .iter()
            .any(|n| n.name == "n1" && n.health != "ready")
    });
    assert!(
        tcp(&nodes, 2, "client", 1, "web", 8080),
        "n1 keeps enforcing its last-known state: the client still gets in"
    );
    assert!(!tcp(&nodes, 3, "intruder", 1, "web", 8080));
    // A change made while n1 is cut off reaches it once the partition heals.
    let open = POLICY.replace("{app: client}", "{app: intruder}");
    nodes
        .agent(2)
        .apply(&open)
        .expect("apply on n2 during the partition");
    route("del");
    eventually(
        "n1 enforces the change after the partition heals",
        CONVERGE,
        || tcp(&nodes, 3, "intruder", 1, "web", 8080),
    );
    eventually("n2 sees n1 ready again", CONVERGE, || {
        nodes
            .get_nodes(2)
            .nodes
            .iter()
            .any(|n| n.name == "n1" && n.health == "ready")
    });
    assert!(
        !tcp(&nodes, 2, "client", 1, "web", 8080),
        "the client is out under the new policy"
    );
}
