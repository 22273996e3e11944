//! `toServices` on real traffic: a client whose egress names a Service reaches that
//! Service's backend pods (TCP, on the rule's port), not a pod the Service does not
//! select, not a pod with the same labels in another namespace; a Service without a
//! selector reaches the addresses of its Endpoints; the trace and the flow name the
//! Service; deleting or changing the Service changes what the client reaches.

use std::net::{IpAddr, SocketAddr};

use observe_proto::flow::Verdict;

use crate::common::*;

/// A pod with the server's labels in another namespace, the Services, and the client's
/// egress policy.
const SERVICES: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: e2e-other}
---
apiVersion: v1
kind: Pod
metadata: {name: server-copy, namespace: e2e-other, labels: {app: server}}
status: {podIPs: [{ip: 10.77.0.9}, {ip: "fd00:77::9"}]}
---
apiVersion: v1
kind: Service
metadata: {name: backend, namespace: e2e}
spec:
  selector: {app: server}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: legacy, namespace: e2e}
spec:
  ports: [{port: 5432}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: legacy, namespace: e2e}
subsets:
- addresses: [{ip: 203.0.113.40}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: client-egress, namespace: e2e}
spec:
  endpointSelector: {matchLabels: {app: client}}
  egress:
  - toServices: [{k8sService: {serviceName: backend, namespace: e2e}}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
  - toServices: [{k8sService: {serviceName: legacy}}]
    toPorts: [{ports: [{port: "5432", protocol: TCP}]}]
"#;

const BACKEND: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: backend, namespace: e2e}\nspec:\n  selector: {app: intruder}\n  ports: [{port: 80, targetPort: 8080}]\n";

fn to(c: &Cluster, ip: &str, port: u16) -> bool {
    let ip: IpAddr = ip.parse().expect("ip");
    reaches(&c.endpoint("client").netns, ip, "tcp", port)
}

#[test]
fn to_services_reaches_the_services_backends_only() {
    let Some(mut c) = Cluster::new("e2esvc") else {
        return;
    };
    let node = c.node.clone();
    let mut world = Vec::new();
    for (name, ip) in [("db40", "203.0.113.40"), ("db41", "203.0.113.41")] {
        let host = c
            .lab
            .add_world_host(&node, name, ip.parse().expect("v4"), None)
            .expect("world host");
        let server =
            lab::TcpServer::start(&host.netns, SocketAddr::new(ip.parse().expect("ip"), 5432))
                .expect("world server");
        world.push((host, server));
    }
    c.apply(SERVICES).expect("services and policy");
    let _server = c.serve("server", &[8080, 9090], &[]);
    let _copy = c.serve("server-copy", &[8080], &[]);
    let _intruder = c.serve("intruder", &[8080], &[]);
    assert!(
        c.reaches("client", "server", "tcp", 8080, false),
        "the backend"
    );
    assert!(
        c.reaches("client", "server", "tcp", 8080, true),
        "the backend, IPv6"
    );
    assert!(
        !c.reaches("client", "server", "tcp", 9090, false),
        "the rule's port is the backend's"
    );
    assert!(
        !c.reaches("client", "intruder", "tcp", 8080, false),
        "not selected by the Service"
    );
    assert!(
        !to(&c, "10.77.0.9", 8080),
        "the same labels in another namespace"
    );
    assert!(to(&c, "203.0.113.40", 5432), "the Endpoints' address");
    assert!(
        !to(&c, "203.0.113.41", 5432),
        "an address no Endpoints lists"
    );

    let trace = c.trace("client", "server", 6, 8080);
    assert_eq!(trace["verdict"], "ALLOWED", "{trace:#}");
    assert_eq!(
        trace["egress"]["matched_rules"][0]["rule"], "spec.egress[0] toServices e2e/backend",
        "{trace:#}"
    );
    let flows = c.flows(filter("server", 8080, Verdict::Forwarded), 20);
    let named = flows.iter().any(|f| {
        f.attribution.as_ref().is_some_and(|a| {
            a.rules.iter().any(|r| {
                r.name == "client-egress" && r.path == "spec.egress[0] toServices e2e/backend"
            })
        })
    });
    assert!(named, "a flow names the Service: {flows:#?}");

    // The Service now fronts the intruder: the server is no backend any more.
    c.apply(BACKEND).expect("backend changed");
    assert!(c.reaches("client", "intruder", "tcp", 8080, false));
    assert!(!c.reaches("client", "server", "tcp", 8080, false));
    // Deleted: nothing behind it.
    c.delete(BACKEND);
    assert!(!c.reaches("client", "intruder", "tcp", 8080, false));
    assert!(
        to(&c, "203.0.113.40", 5432),
        "the other Service is unchanged"
    );
}
