//! The `observe` CLI against the real agent in the lab, following the README's
//! "Troubleshooting a policy drop": find the drop, see which policy, trace it, apply a fix,
//! watch the flow turn FORWARDED.

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::common::*;

/// `observe --server <agent> ARGS`.
pub fn observe(c: &Cluster, args: &[&str]) -> Output {
    let binary = lab::workspace_binary("OBSERVE_BIN", "observe-cli", "observe");
    Command::new(binary)
        .env_remove("OBSERVE_CONFIG")
        .env("NO_COLOR", "1")
        .arg("--server")
        .arg(c.server())
        .args(args)
        .output()
        .expect("observe runs")
}

/// Stdout of a successful `observe` run.
fn ok(c: &Cluster, args: &[&str]) -> String {
    let out = observe(c, args);
    assert!(
        out.status.success(),
        "observe {args:?}: exit {:?}, stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Waits up to 5 s for `observe ARGS` to print a line containing `needle`; returns all output.
fn wait_for_line(c: &Cluster, args: &[&str], needle: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let text = ok(c, args);
        if text.lines().any(|l| l.contains(needle)) {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no line with {needle:?} in `observe {args:?}`:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

const FIX: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: server-metrics, namespace: e2e}
spec:
  endpointSelector: {matchLabels: {app: server}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts: [{ports: [{port: "9090", protocol: TCP}]}]
"#;

#[test]
fn a_drop_is_found_explained_traced_and_fixed_with_the_cli() {
    let Some(c) = Cluster::new("e2ecli") else {
        return;
    };
    c.apply(POLICIES).expect("policies");
    let _server = c.serve("server", &[9090], &[]);
    assert!(!c.reaches("client", "server", "tcp", 9090, false));

    // Find the drop: Hubble's compact line, with the policy that selected the server.
    let drops = ["flows", "--verdict", "DROPPED", "--to-pod", "e2e/server"];
    let text = wait_for_line(&c, &drops, "Policy denied DROPPED");
    assert!(
        !text.contains("fe80::1"),
        "the node's own packets (MLD reports from the endpoint gateway) are host traffic, not drops:\n{text}"
    );
    let from_gateway = ok(&c, &["flows", "--from-ip", "fe80::1"]);
    assert!(
        from_gateway.lines().all(|l| l.contains("fe80::1 (host)")),
        "{from_gateway}"
    );
    let line = text
        .lines()
        .find(|l| l.contains("Policy denied DROPPED"))
        .expect("the drop");
    assert!(
        line.contains("e2e/client:") && line.contains("-> e2e/server:9090"),
        "{text}"
    );
    assert!(
        line.contains(
            "by default deny on ingress (selected by CiliumNetworkPolicy e2e/server-ingress)"
        ),
        "{line}"
    );

    // The same drop as JSON: one object per line, Hubble's shape.
    let json = ok(&c, &[&drops[..], &["-o", "json"]].concat());
    let first: serde_json::Value =
        serde_json::from_str(json.lines().next().expect("a line")).expect("JSON line");
    assert_eq!(first["flow"]["verdict"], "DROPPED", "{first}");
    assert_eq!(
        first["flow"]["destination"]["pod_name"], "server",
        "{first}"
    );

    // Trace it with the agent's policies: denied, and why.
    let args = [
        "policy",
        "trace",
        "--from",
        "e2e/client",
        "--to",
        "e2e/server",
    ];
    let before = observe(&c, &[&args[..], &["--dport", "9090"]].concat());
    let before_text = String::from_utf8_lossy(&before.stdout);
    assert!(before_text.contains("e2e/server-ingress"), "{before_text}");
    assert!(before_text.contains("DENIED"), "{before_text}");

    // Apply the fix from a file, trace again, and watch the flow pass.
    let fix = write_manifest(&c, "fix.yaml", FIX);
    let applied = ok(&c, &["apply", "-f", fix.to_str().expect("UTF-8 path")]);
    assert!(applied.contains("e2e/server-metrics"), "{applied}");
    let after = ok(&c, &[&args[..], &["--dport", "9090"]].concat());
    assert!(after.contains("ALLOWED"), "{after}");
    assert!(after.contains("e2e/server-metrics"), "{after}");
    assert!(c.reaches("client", "server", "tcp", 9090, false));
    let forwarded = [
        "flows",
        "--verdict",
        "FORWARDED",
        "--to-pod",
        "e2e/server",
        "--to-port",
        "9090",
    ];
    // With `--trace off` the agent reports the policy verdict of the new connection, which
    // Hubble's compact format prints as ALLOWED.
    let text = wait_for_line(&c, &forwarded, "policy-verdict:L3-L4 INGRESS ALLOWED");
    assert!(text.contains("e2e/client:"), "{text}");

    // The agent's view: status and endpoints.
    let status = ok(&c, &["status"]);
    assert!(status.contains("Current/Max Flows:"), "{status}");
    let endpoints = ok(&c, &["get", "endpoints"]);
    for pod in ["e2e/client", "e2e/server", "e2e/intruder"] {
        assert!(endpoints.contains(pod), "{endpoints}");
    }
    assert!(
        endpoints
            .lines()
            .any(|l| l.contains("e2e/client ") && l.contains("<none>")),
        "a bare pod has no owner: {endpoints}"
    );
    let nodes = ok(&c, &["get", "nodes"]);
    let node = nodes
        .lines()
        .find(|l| l.starts_with("node "))
        .expect("the node");
    assert_eq!(
        node.split_whitespace().collect::<Vec<_>>(),
        ["node", "-", "1", "(host)", "3"],
        "the agent's own node, alone (no health: no cluster), not applied (no labels, no \
         IPs), with 3 pods:\n{nodes}"
    );
    let namespaces = ok(&c, &["get", "namespaces", "-o", "json"]);
    let namespaces: serde_json::Value = serde_json::from_str(&namespaces).expect("JSON");
    let e2e = namespaces
        .as_array()
        .and_then(|a| a.iter().find(|n| n["name"] == "e2e"))
        .expect("namespace e2e");
    assert_eq!(e2e["pods"], 3, "{e2e}");
    assert!(
        e2e["labels"]
            .as_array()
            .is_some_and(|l| l.iter().any(|l| l == "kubernetes.io/metadata.name=e2e")),
        "{e2e}"
    );
}

/// Writes a manifest next to the agent's state; removed with the cluster.
fn write_manifest(c: &Cluster, name: &str, text: &str) -> PathBuf {
    let path = PathBuf::from(c.server().trim_start_matches("unix://")).with_file_name(name);
    std::fs::write(&path, text).expect("manifest written");
    path
}

/// `observe get policies --hits -o json`, as (policy, rule) → (allowed, denied).
fn rule_hits(c: &Cluster) -> std::collections::BTreeMap<(String, String), (u64, u64)> {
    let text = ok(c, &["get", "policies", "--hits", "-o", "json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).expect("JSON");
    rows.iter()
        .map(|r| {
            let name = r["name"].as_str().unwrap_or_default().to_string();
            let rule = r["rule"].as_str().unwrap_or_default().to_string();
            let n = |k: &str| r[k].as_u64().unwrap_or(0);
            ((name, rule), (n("allowed"), n("denied")))
        })
        .collect()
}

#[test]
fn rule_hits_count_real_connections_and_flag_unused_rules() {
    let Some(c) = Cluster::new("e2ehits") else {
        return;
    };
    c.apply(POLICIES).expect("policies");
    let _server = c.serve("server", &[8080], &[]);
    for _ in 0..3 {
        assert!(c.reaches("client", "server", "tcp", 8080, false));
    }
    for _ in 0..2 {
        assert!(!c.reaches("intruder", "server", "tcp", 8080, false));
    }
    assert!(!c.reaches("client", "server", "tcp", 9999, false));
    let key = |rule: &str| ("server-ingress".to_string(), rule.to_string());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut hits = rule_hits(&c);
    while hits.get(&key("(default deny)")).is_none_or(|h| h.1 == 0)
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(200));
        hits = rule_hits(&c);
    }
    assert_eq!(
        hits.get(&key("spec.ingress[0]")),
        Some(&(3, 0)),
        "one per connection: {hits:?}"
    );
    assert!(hits[&key("spec.ingressDeny[0]")].1 >= 2, "{hits:?}");
    assert!(hits[&key("(default deny)")].1 >= 1, "{hits:?}");
    // The ICMP and port-7070 rules decided nothing: unused.
    assert_eq!(hits[&key("spec.ingress[1]")], (0, 0), "{hits:?}");
    let table = ok(&c, &["get", "policies", "--hits"]);
    let icmp = table
        .lines()
        .find(|l| l.contains("server-ingress") && l.contains("spec.ingress[1]"))
        .expect("the ICMP rule's line");
    assert!(icmp.ends_with("unused"), "{table}");
}

/// `server-ingress` without its TCP 8080 rule.
const WITHOUT_8080: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: server-ingress, namespace: e2e}
spec:
  endpointSelector: {matchLabels: {app: server}}
  ingress:
  - fromEntities: [all]
    toPorts: [{ports: [{port: "7070", protocol: TCP}]}]
  ingressDeny:
  - fromEndpoints: [{matchLabels: {app: intruder}}]
"#;

#[test]
fn whatif_over_the_history_lists_what_would_break_and_agrees_with_trace() {
    let Some(c) = Cluster::new("e2ewhatif") else {
        return;
    };
    c.apply(POLICIES).expect("policies");
    let _server = c.serve("server", &[8080, 7070], &[]);
    for _ in 0..2 {
        assert!(c.reaches("client", "server", "tcp", 8080, false));
    }
    assert!(c.reaches("client", "server", "tcp", 7070, false));
    assert!(!c.reaches("intruder", "server", "tcp", 8080, false));
    std::thread::sleep(std::time::Duration::from_millis(300));

    // Dropping the 8080 rule breaks the client's connections, and only those.
    let candidate = write_manifest(&c, "without-8080.yaml", WITHOUT_8080);
    let file = candidate.to_str().expect("UTF-8 path");
    let report = breaking_whatif(&c, &candidate);
    let changes = report["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 1, "{report}");
    let change = &changes[0];
    assert_eq!(
        (
            change["from"].as_str(),
            change["to"].as_str(),
            change["dport"].as_u64()
        ),
        (Some("e2e/client"), Some("e2e/server"), Some(8080)),
        "{report}"
    );
    assert_eq!(
        (change["now"].as_str(), change["would_be"].as_str()),
        (Some("ALLOWED"), Some("DENIED"))
    );
    assert!(
        change["flows"]
            .as_str()
            .is_some_and(|n| n.parse::<u64>().unwrap() >= 2),
        "{report}"
    );
    assert!(
        change["because"]
            .as_str()
            .unwrap_or_default()
            .contains("default deny on ingress"),
        "{report}"
    );
    let table = ok_or_code(&c, &["policy", "whatif", "-f", file]);
    assert!(
        table.contains("ALLOWED -> DENIED") && table.contains("1 connections would be denied"),
        "{table}"
    );

    // The same question to trace, offline, with the candidate on top: it agrees.
    let pods = write_manifest(&c, "pods.yaml", PODS);
    let trace = observe(
        &c,
        &[
            "policy",
            "trace",
            "-f",
            pods.to_str().unwrap(),
            "-f",
            file,
            "--from",
            "e2e/client",
            "--to",
            "e2e/server",
            "--dport",
            "8080",
        ],
    );
    assert!(String::from_utf8_lossy(&trace.stdout).contains("DENIED"));

    // The policy as it is changes nothing: exit 0.
    let same = write_manifest(&c, "same.yaml", POLICIES);
    let out = observe(&c, &["policy", "whatif", "-f", same.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("0 connections would be denied, 0 newly allowed")
    );
}

/// `observe policy whatif -f CANDIDATE --json` when the candidate breaks traffic (exit 1,
/// checked): the report.
pub fn breaking_whatif(c: &Cluster, candidate: &std::path::Path) -> serde_json::Value {
    let file = candidate.to_str().expect("UTF-8 path");
    let out = observe(c, &["policy", "whatif", "-f", file, "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

/// Stdout of `observe ARGS`, whatever its exit code.
fn ok_or_code(c: &Cluster, args: &[&str]) -> String {
    String::from_utf8_lossy(&observe(c, args).stdout).into_owned()
}

#[test]
fn a_suggestion_keeps_observed_traffic_and_drops_the_unobserved() {
    let Some(c) = Cluster::with_agent_args("e2esuggest", &["--trace", "new"]) else {
        return;
    };
    let _server = c.serve("server", &[8080, 7070], &[]);
    for _ in 0..2 {
        assert!(c.reaches("client", "server", "tcp", 8080, false));
    }
    assert!(c.reaches("intruder", "server", "tcp", 7070, false));
    std::thread::sleep(std::time::Duration::from_millis(300));

    let out = observe(&c, &["policy", "suggest", "--namespace", "e2e"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(yaml.contains("name: suggested-server"), "{yaml}");
    assert!(
        yaml.contains("fromEndpoints: [{matchLabels: {app: client}}]"),
        "{yaml}"
    );
    let file = write_manifest(&c, "suggested.yaml", &yaml);
    let file = file.to_str().expect("UTF-8 path");

    // Over the history it came from, it breaks nothing...
    let whatif = observe(&c, &["policy", "whatif", "-f", file]);
    assert_eq!(
        whatif.status.code(),
        Some(0),
        "{}\n{yaml}",
        String::from_utf8_lossy(&whatif.stdout)
    );
    // ...applied, what was seen still works, and what was not is dropped.
    ok(&c, &["apply", "-f", file]);
    assert!(c.reaches("client", "server", "tcp", 8080, false));
    assert!(c.reaches("intruder", "server", "tcp", 7070, false));
    assert!(
        !c.reaches("client", "server", "tcp", 7070, false),
        "never seen: dropped\n{yaml}"
    );
    assert!(
        !c.reaches("intruder", "server", "tcp", 8080, false),
        "never seen: dropped\n{yaml}"
    );
}

#[test]
fn whatif_reads_the_history_on_disk_before_the_ring() {
    let history = tempfile::Builder::new()
        .prefix("obs-whatif-history-")
        .tempdir()
        .expect("history dir");
    let dir = history.path().display().to_string();
    let args = ["--trace", "off", "--max-flows", "15", "--history-dir", &dir];
    let Some(c) = Cluster::with_agent_args("e2ewhatifdisk", &args) else {
        return;
    };
    c.apply(POLICIES).expect("policies");
    let _server = c.serve("server", &[8080, 7070], &[]);
    assert!(c.reaches("client", "server", "tcp", 8080, false));
    // Enough later connections that the first one is on disk only.
    for _ in 0..20 {
        assert!(c.reaches("client", "server", "tcp", 7070, false));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let ring = c.flows(observe_proto::flow::FlowFilter::default(), 15);
    assert!(
        !ring
            .iter()
            .any(|f| observe_describe::l4::of(f).destination_port == 8080),
        "the 8080 connection left the ring"
    );
    let candidate = write_manifest(&c, "without-8080.yaml", WITHOUT_8080);
    let report = breaking_whatif(&c, &candidate);
    assert_eq!(report["changes"][0]["dport"], 8080, "{report}");
}

#[test]
fn the_cli_rolls_a_policy_out_in_audit_mode_and_promotes_it() {
    let Some(c) = Cluster::new("e2eclaud") else {
        return;
    };
    let file = write_manifest(&c, "audited.yaml", POLICIES);
    let file = file.to_str().expect("UTF-8 path");
    ok(&c, &["apply", "--audit", "-f", file]);
    let _server = c.serve("server", &[7070], &[]);
    assert!(c.reaches("intruder", "server", "tcp", 7070, false));
    let flows = wait_for_line(
        &c,
        &["flows", "--verdict", "AUDIT", "--to-pod", "e2e/server"],
        "AUDITED",
    );
    let line = flows
        .lines()
        .find(|l| l.contains("AUDITED"))
        .expect("an AUDITED line");
    assert!(
        line.contains("e2e/intruder") && line.contains("e2e/server:7070"),
        "{flows}"
    );
    let trace = ok(
        &c,
        &[
            "policy",
            "trace",
            "--from",
            "e2e/intruder",
            "--to",
            "e2e/server",
            "--dport",
            "7070",
        ],
    );
    assert!(trace.contains("Final verdict: AUDIT"), "{trace}");
    assert!(
        trace.contains("audit mode: would drop it") && trace.contains("e2e/server-ingress"),
        "{trace}"
    );
    ok(&c, &["apply", "-f", file]);
    assert!(!c.reaches("intruder", "server", "tcp", 7070, false));
}

/// Denies the client on 8080, which [`POLICIES`] allows.
const STAGED: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: no-client-8080, namespace: e2e}
spec:
  endpointSelector: {matchLabels: {app: server}}
  ingressDeny:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
"#;

/// `observe flows -o json` lines with these filter flags, parsed.
fn json_flows(c: &Cluster, filters: &[&str]) -> Vec<serde_json::Value> {
    let out = ok(c, &[&["flows", "-o", "json"], filters].concat());
    out.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON line"))
        .filter_map(|v| v.get("flow").cloned())
        .collect()
}

#[test]
fn a_staged_policy_marks_exactly_the_connections_it_would_change_until_promoted() {
    let Some(c) = Cluster::new("e2estage") else {
        return;
    };
    c.apply(POLICIES).expect("policies");
    let file = write_manifest(&c, "staged.yaml", STAGED);
    let staged = ok(&c, &["policy", "stage", "-f", file.to_str().unwrap()]);
    assert!(
        staged.contains("CiliumNetworkPolicy e2e/no-client-8080 staged (would be created)"),
        "{staged}"
    );
    let _server = c.serve("server", &[7070, 8080], &[]);
    // Nothing is enforced by the staged set.
    assert!(c.reaches("client", "server", "tcp", 8080, false));
    assert!(c.reaches("client", "server", "tcp", 7070, false));
    assert!(!c.reaches("intruder", "server", "tcp", 7070, false));
    // Every policy verdict carries the staged one; it differs exactly for client → 8080.
    let verdicts = json_flows(
        &c,
        &[
            "--type",
            "policy-verdict",
            "--to-pod",
            "e2e/server",
            "--protocol",
            "tcp",
        ],
    );
    assert_eq!(verdicts.len(), 3, "{verdicts:#?}");
    for v in &verdicts {
        let staged = v["staged"]["verdict"].as_str().expect("a staged verdict");
        let port = v["l4"]["TCP"]["destination_port"].as_u64().expect("a port");
        let from = v["source"]["pod_name"].as_str().unwrap_or_default();
        let changes = staged != v["verdict"].as_str().unwrap_or_default();
        assert_eq!(changes, (from, port) == ("client", 8080), "{v:#}");
    }
    // What the change would break, as the README shows it.
    let breaks = wait_for_line(
        &c,
        &[
            "flows",
            "--staged-verdict",
            "DROPPED",
            "--verdict",
            "FORWARDED",
        ],
        "staged: DROPPED",
    );
    let lines: Vec<&str> = breaks.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{breaks}");
    assert!(
        lines[0].contains("e2e/client") && lines[0].contains("e2e/server:8080"),
        "{breaks}"
    );
    assert!(
        lines[0].contains(
            "staged: DROPPED (CiliumNetworkPolicy e2e/no-client-8080 spec.ingressDeny[0])"
        ),
        "{breaks}"
    );
    // Promoted: applied atomically, enforced, no longer staged.
    let promoted = ok(&c, &["policy", "promote"]);
    assert!(
        promoted.contains("e2e/no-client-8080 created"),
        "{promoted}"
    );
    assert!(!c.reaches("client", "server", "tcp", 8080, false));
    let nothing = observe(&c, &["policy", "promote"]);
    assert!(!nothing.status.success());
    assert_eq!(ok(&c, &["policy", "unstage"]).trim(), "nothing was staged");
}
