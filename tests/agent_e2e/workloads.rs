//! `observe apply -f` of Deployments: the agent runs one endpoint per replica with the
//! template's labels and an address from `--pod-cidr`, the policies selecting those
//! labels are enforced on real traffic, scaling down removes endpoints, a restart keeps
//! the pods' addresses, and deleting the Deployments removes their endpoints.

use std::net::{IpAddr, SocketAddr};

use observe_proto::control::Endpoint;

use crate::cli::observe;
use crate::common::*;

/// A namespace, a server Deployment of `replicas` and a client Deployment, and a policy
/// that lets the client reach the server on TCP 8080 only.
fn fleet(replicas: u32) -> String {
    format!(
        r#"
apiVersion: v1
kind: Namespace
metadata: {{name: fleet}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: server, namespace: fleet}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: server}}}}
  template:
    metadata: {{labels: {{app: server, tier: back}}}}
    spec:
      containers:
      - name: server
        image: example/server
        ports: [{{name: http, containerPort: 8080}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: client, namespace: fleet}}
spec:
  selector: {{matchLabels: {{app: client}}}}
  template:
    metadata: {{labels: {{app: client}}}}
    spec:
      serviceAccountName: client
      containers: [{{name: client, image: example/client}}]
---
apiVersion: v1
kind: Service
metadata: {{name: server, namespace: fleet}}
spec:
  selector: {{app: server}}
  ports: [{{port: 80, targetPort: http}}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {{name: server-ingress, namespace: fleet}}
spec:
  endpointSelector: {{matchLabels: {{app: server}}}}
  ingress:
  - fromEndpoints: [{{matchLabels: {{app: client}}}}]
    toPorts: [{{ports: [{{port: "8080", protocol: TCP}}]}}]
"#
    )
}

fn fleet_endpoints(c: &Cluster, prefix: &str) -> Vec<Endpoint> {
    c.endpoints()
        .into_iter()
        .filter(|e| e.namespace == "fleet" && e.pod.starts_with(prefix))
        .collect()
}

fn apply_file(c: &Cluster, yaml: &str) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("fleet.yaml");
    std::fs::write(&file, yaml).expect("write manifest");
    let out = observe(c, &["apply", "-f", &file.display().to_string()]);
    assert!(
        out.status.success(),
        "observe apply: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn v4(e: &Endpoint) -> IpAddr {
    e.ips
        .iter()
        .filter_map(|ip| ip.parse::<IpAddr>().ok())
        .find(IpAddr::is_ipv4)
        .unwrap_or_else(|| panic!("no IPv4 address on {}", e.pod))
}

#[test]
fn applied_deployments_run_one_endpoint_per_replica_and_their_policies_are_enforced() {
    let Some(mut c) = Cluster::new("e2ewl") else {
        return;
    };
    let results = apply_file(&c, &fleet(2));
    for line in [
        "Deployment fleet/server created",
        "Deployment fleet/client created",
        "Service fleet/server created",
    ] {
        assert!(results.contains(line), "{results}");
    }

    let servers = fleet_endpoints(&c, "server-");
    let clients = fleet_endpoints(&c, "client-");
    assert_eq!(
        (servers.len(), clients.len()),
        (2, 1),
        "{servers:?} {clients:?}"
    );
    for s in &servers {
        assert!(
            s.labels.contains(&"k8s:app=server".to_string()),
            "{:?}",
            s.labels
        );
        assert!(
            s.labels.contains(&"k8s:tier=back".to_string()),
            "{:?}",
            s.labels
        );
        assert!(s.ingress_enforced, "{} is selected by the policy", s.pod);
    }
    assert!(
        clients[0]
            .labels
            .contains(&"k8s:io.cilium.k8s.policy.serviceaccount=client".to_string()),
        "{:?}",
        clients[0].labels
    );
    assert_ne!(v4(&servers[0]), v4(&servers[1]));

    // `observe get endpoints` lists both replicas with the template's labels.
    let out = observe(&c, &["get", "endpoints", "-o", "json"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    for s in &servers {
        assert!(listed.contains(&format!("\"{}\"", s.pod)), "{listed}");
    }
    assert!(listed.contains("k8s:app=server"), "{listed}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&listed).expect("endpoints as JSON");
    for s in &servers {
        let row = rows
            .iter()
            .find(|r| r["pod"] == s.pod.as_str())
            .expect("the replica is listed");
        assert_eq!(row["owner"], "deployment/server", "{row}");
    }

    // Real traffic: the client reaches both replicas on 8080 and neither on 9090.
    let _servers: Vec<Servers> = servers
        .iter()
        .map(|s| c.serve(&s.pod, &[8080, 9090], &[]))
        .collect();
    for s in &servers {
        let allowed = SocketAddr::new(v4(s), 8080);
        assert!(
            reaches(&clients[0].netns, allowed.ip(), "tcp", 8080),
            "client -> {} :8080",
            s.pod
        );
        assert!(
            !reaches(&clients[0].netns, allowed.ip(), "tcp", 9090),
            "client -> {} :9090",
            s.pod
        );
    }

    // The agent traces workloads by name.
    let t = c.trace_targets(
        "fleet/deployment/client",
        "fleet/deployment/server",
        6,
        8080,
    );
    assert_eq!(t["verdict"], "ALLOWED", "{t}");
    assert_eq!(t["destination"]["owner"], "deployment/server", "{t}");

    // Scaling down removes a replica's endpoint; the other keeps its address.
    let kept = servers[0].clone();
    apply_file(&c, &fleet(1));
    let now = fleet_endpoints(&c, "server-");
    assert_eq!(now.len(), 1, "{now:?}");
    assert_eq!(
        (now[0].pod.as_str(), &now[0].ips),
        (kept.pod.as_str(), &kept.ips)
    );

    // A restart replays the Deployment with the addresses its pods were given.
    c.stop_agent();
    c.start_agent();
    let after = fleet_endpoints(&c, "server-");
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(
        (after[0].pod.as_str(), &after[0].ips),
        (kept.pod.as_str(), &kept.ips)
    );

    // Deleting the Deployments takes their endpoints along.
    let deleted = c.delete(&fleet(1));
    assert!(
        deleted.contains(&"Deployment fleet/server deleted".to_string()),
        "{deleted:?}"
    );
    let left = fleet_endpoints(&c, "");
    assert!(left.is_empty(), "{left:?}");
}
