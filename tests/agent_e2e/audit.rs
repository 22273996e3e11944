//! Audit mode: what a policy in audit mode would drop passes and is reported AUDIT with
//! the policy responsible, while every enforced policy keeps enforcing; promoting it
//! (applying it without audit mode) enforces it.

use observe_proto::flow::{Flow, PolicyVerdictKind, Verdict};

use crate::common::*;

/// [`POLICIES`] with `server-ingress` annotated for audit mode.
fn audited_policies() -> String {
    let audited = POLICIES.replace(
        "metadata: {name: server-ingress, namespace: e2e}",
        "metadata: {name: server-ingress, namespace: e2e, annotations: {observe.io/mode: audit}}",
    );
    assert_ne!(audited, POLICIES);
    audited
}

/// The policy-verdict event of the audited connection to the server's `port`.
fn audit_verdict(c: &Cluster, port: u16) -> Flow {
    let flows = c.flows(filter("server", port, Verdict::Audit), 10);
    flows
        .into_iter()
        .find(|f| f.event_type.as_ref().is_some_and(|t| t.r#type == 5))
        .unwrap_or_else(|| panic!("an AUDIT policy verdict for port {port}"))
}

#[test]
fn an_audited_policy_forwards_what_it_would_drop_and_reports_audit() {
    let Some(c) = Cluster::new("e2eaudit") else {
        return;
    };
    c.apply(&audited_policies()).expect("policies");
    let _server = c.serve("server", &[7070, 8080, 9090], &[]);
    // Its default deny (nothing allows the client on 9090) passes, reported AUDIT.
    assert!(c.reaches("client", "server", "tcp", 9090, false));
    let v = audit_verdict(&c, 9090);
    let a = v.attribution.as_ref().expect("attribution");
    assert_eq!(a.kind(), PolicyVerdictKind::DefaultDeny);
    assert!(
        a.selecting_policies
            .iter()
            .any(|p| p.name == "server-ingress" && p.namespace == "e2e"),
        "{a:?}"
    );
    // Its explicit deny of the intruder too, naming the deny.
    assert!(c.reaches("intruder", "server", "tcp", 7070, false));
    let v = audit_verdict(&c, 7070);
    assert_eq!(v.ingress_denied_by[0].name, "server-ingress");
    assert_eq!(
        v.attribution.as_ref().map(|a| a.kind()),
        Some(PolicyVerdictKind::ExplicitDeny)
    );
    // What it allows is simply forwarded, and nothing was dropped.
    assert!(c.reaches("client", "server", "tcp", 8080, false));
    assert!(
        c.flows(filter("server", 8080, Verdict::Audit), 10)
            .is_empty()
    );
    assert!(
        c.flows(filter("server", 7070, Verdict::Dropped), 10)
            .is_empty()
    );
    // The trace agrees.
    let trace = c.trace("intruder", "server", 6, 7070);
    assert_eq!(trace["verdict"], "AUDIT", "{trace:#}");
    assert_eq!(trace["ingress"]["audit"]["drop_reason"], 181, "{trace:#}");
    // Promoted (applied without audit mode), it enforces.
    c.apply(POLICIES).expect("promote");
    assert!(!c.reaches("intruder", "server", "tcp", 7070, false));
}

#[test]
fn enforced_policies_keep_enforcing_beside_an_audited_one() {
    let Some(c) = Cluster::new("e2eaudmix") else {
        return;
    };
    let enforced = r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: server-8080, namespace: e2e}
spec:
  endpointSelector: {matchLabels: {app: server}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
"#;
    c.apply(enforced).expect("enforced policy");
    // `observe apply --audit`: the request puts every policy in it in audit mode.
    c.apply_with(POLICIES, true).expect("audited policies");
    let _server = c.serve("server", &[7070, 8080], &[]);
    assert!(c.reaches("client", "server", "tcp", 8080, false));
    // The audited policy allows anyone on 7070; the enforced one does not, and decides.
    assert!(!c.reaches("client", "server", "tcp", 7070, false));
    assert!(!c.reaches("intruder", "server", "tcp", 8080, false));
    let dropped = c.flows(filter("server", 8080, Verdict::Dropped), 10);
    assert!(!dropped.is_empty(), "the enforced default deny drops");
    // What both allow is forwarded without an audit; what only the audited one would
    // drop (the client's other traffic is all dropped by the enforced one) is never AUDIT.
    assert!(
        c.flows(filter("server", 8080, Verdict::Audit), 10)
            .is_empty()
    );
}
