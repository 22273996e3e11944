//! Every drop reaches GetFlows with the right pods, identities, reason and policy.

use observe_proto::flow::{PolicyVerdictKind, Verdict};

use crate::common::*;

#[test]
fn default_deny_drops_name_the_selecting_policy() {
    let Some(c) = Cluster::new("e2edefault") else {
        return;
    };
    c.apply(POLICIES).expect("policies");
    let _server = c.serve("server", &[9090], &[]);
    assert!(!c.reaches("client", "server", "tcp", 9090, false));
    let flows = c.flows(filter("server", 9090, Verdict::Dropped), 10);
    let drop = flows
        .iter()
        .find(|f| f.event_type.as_ref().is_some_and(|t| t.r#type == 1))
        .expect("a drop event");
    let (src, dst) = (
        drop.source.as_ref().expect("source"),
        drop.destination.as_ref().expect("destination"),
    );
    assert_eq!(
        (src.namespace.as_str(), src.pod_name.as_str()),
        ("e2e", "client")
    );
    assert_eq!(
        (dst.namespace.as_str(), dst.pod_name.as_str()),
        ("e2e", "server")
    );
    assert_eq!(src.identity, c.endpoint("client").identity);
    assert_eq!(dst.identity, c.endpoint("server").identity);
    assert_eq!(dst.id, c.endpoint("server").id);
    assert_eq!(
        drop.drop_reason_desc,
        observe_proto::flow::DropReason::PolicyDenied as i32
    );
    let a = drop.attribution.as_ref().expect("attribution");
    assert_eq!(a.kind, PolicyVerdictKind::DefaultDeny as i32);
    assert!(
        a.selecting_policies
            .iter()
            .any(|p| p.name == "server-ingress" && p.namespace == "e2e"),
        "{a:?}"
    );
}

#[test]
fn explicit_deny_drops_name_the_denying_rule() {
    let Some(c) = Cluster::new("e2edeny") else {
        return;
    };
    c.apply(POLICIES).expect("policies");
    let _server = c.serve("server", &[7070], &[]);
    assert!(!c.reaches("intruder", "server", "tcp", 7070, false));
    let flows = c.flows(filter("server", 7070, Verdict::Dropped), 10);
    let drop = flows
        .iter()
        .find(|f| f.event_type.as_ref().is_some_and(|t| t.r#type == 1))
        .expect("a drop event");
    assert_eq!(
        drop.drop_reason_desc,
        observe_proto::flow::DropReason::PolicyDeny as i32
    );
    assert!(
        drop.ingress_denied_by
            .iter()
            .any(|p| p.name == "server-ingress"),
        "{:?}",
        drop.ingress_denied_by
    );
    let a = drop.attribution.as_ref().expect("attribution");
    assert_eq!(a.kind, PolicyVerdictKind::ExplicitDeny as i32);
    assert!(
        a.rules
            .iter()
            .any(|r| r.name == "server-ingress" && r.path == "spec.ingressDeny[0]"),
        "{a:?}"
    );
}

#[test]
fn allowed_connections_carry_their_policy() {
    let Some(c) = Cluster::new("e2eallow") else {
        return;
    };
    c.apply(POLICIES).expect("policies");
    let _server = c.serve("server", &[8080], &[]);
    assert!(c.reaches("client", "server", "tcp", 8080, false));
    let flows = c.flows(filter("server", 8080, Verdict::Forwarded), 10);
    let verdict = flows
        .iter()
        .find(|f| f.event_type.as_ref().is_some_and(|t| t.r#type == 5))
        .expect("a policy verdict");
    assert!(
        verdict
            .ingress_allowed_by
            .iter()
            .any(|p| p.name == "server-ingress"),
        "{:?}",
        verdict.ingress_allowed_by
    );
}
