//! The drop attribution grammar, case by case, and Hubble's `BY` suffix.

use observe_proto::flow::{
    Attribution, CiliumEventType, DropReason, Flow, Policy, PolicyRule, PolicyVerdictKind,
    TrafficDirection, Verdict,
};

use super::*;

fn policy(kind: &str, namespace: &str, name: &str) -> Policy {
    Policy {
        kind: kind.into(),
        namespace: namespace.into(),
        name: name.into(),
        ..Default::default()
    }
}

fn dropped(reason: DropReason, attribution: Option<Attribution>) -> Flow {
    Flow {
        verdict: Verdict::Dropped.into(),
        drop_reason_desc: reason.into(),
        traffic_direction: TrafficDirection::Ingress.into(),
        attribution,
        ..Default::default()
    }
}

#[test]
fn explicit_deny_names_the_rules() {
    let flow = dropped(
        DropReason::PolicyDeny,
        Some(Attribution {
            kind: PolicyVerdictKind::ExplicitDeny.into(),
            direction: TrafficDirection::Ingress.into(),
            rules: vec![PolicyRule {
                kind: "CiliumNetworkPolicy".into(),
                namespace: "shop".into(),
                name: "backend-ingress".into(),
                path: "spec.ingressDeny[0]".into(),
            }],
            selecting_policies: vec![],
            closest_rule: None,
            fqdn_history: None,
            l7_rule: String::new(),
        }),
    );
    assert_eq!(
        drop_attribution(&flow).unwrap(),
        "by CiliumNetworkPolicy shop/backend-ingress spec.ingressDeny[0]"
    );
}

#[test]
fn explicit_deny_without_rules_uses_denied_by() {
    let mut flow = dropped(DropReason::PolicyDeny, None);
    flow.ingress_denied_by = vec![policy("CiliumClusterwideNetworkPolicy", "", "deny-world")];
    flow.egress_denied_by = vec![policy("CiliumNetworkPolicy", "x", "not-this-direction")];
    assert_eq!(
        drop_attribution(&flow).unwrap(),
        "by CiliumClusterwideNetworkPolicy deny-world"
    );
    flow.ingress_denied_by.clear();
    assert_eq!(
        drop_attribution(&flow).unwrap(),
        "by a deny rule (policy unknown)"
    );
}

#[test]
fn default_deny_names_the_selecting_policies() {
    let flow = dropped(
        DropReason::PolicyDenied,
        Some(Attribution {
            kind: PolicyVerdictKind::DefaultDeny.into(),
            direction: TrafficDirection::Egress.into(),
            rules: vec![],
            selecting_policies: vec![
                policy("NetworkPolicy", "shop", "db-ingress"),
                policy("CiliumNetworkPolicy", "shop", "lockdown"),
            ],
            closest_rule: None,
            fqdn_history: None,
            l7_rule: String::new(),
        }),
    );
    assert_eq!(
        drop_attribution(&flow).unwrap(),
        "by default deny on egress (selected by NetworkPolicy shop/db-ingress, CiliumNetworkPolicy shop/lockdown)"
    );
    // A Hubble flow: reason 133, no attribution.
    assert_eq!(
        drop_attribution(&dropped(DropReason::PolicyDenied, None)).unwrap(),
        "by default deny on ingress (selecting policies unknown)"
    );
}

#[test]
fn other_flows_carry_no_attribution() {
    assert_eq!(
        drop_attribution(&dropped(DropReason::StaleOrUnroutableIp, None)),
        None
    );
    let forwarded = Flow {
        verdict: Verdict::Forwarded.into(),
        ..Default::default()
    };
    assert_eq!(drop_attribution(&forwarded), None);
}

#[test]
fn policy_verdicts_name_their_policies_like_hubble() {
    let flow = Flow {
        verdict: Verdict::Forwarded.into(),
        event_type: Some(CiliumEventType {
            r#type: 5,
            sub_type: 0,
        }),
        traffic_direction: TrafficDirection::Egress.into(),
        egress_allowed_by: vec![
            policy("CiliumNetworkPolicy", "default", "allow-egress-test-cnp"),
            policy("", "default", "kindless"),
        ],
        ingress_allowed_by: vec![policy("NetworkPolicy", "default", "other-direction")],
        ..Default::default()
    };
    assert_eq!(
        policy_names(&flow),
        " BY allow-egress-test-cnp (CiliumNetworkPolicy)"
    );
    assert_eq!(policy_names(&Flow::default()), "");
}

#[test]
fn a_refused_dns_query_names_the_rule_that_came_closest_to_allowing_it() {
    let mut flow = dropped(
        DropReason::Unknown,
        Some(Attribution {
            kind: PolicyVerdictKind::DefaultDeny.into(),
            direction: TrafficDirection::Egress.into(),
            selecting_policies: vec![policy("CiliumNetworkPolicy", "shop", "backend-dns")],
            closest_rule: Some(PolicyRule {
                kind: "CiliumNetworkPolicy".into(),
                namespace: "shop".into(),
                name: "backend-dns".into(),
                path: "spec.egress[0].toPorts[0].rules.dns[0]".into(),
            }),
            fqdn_history: None,
            l7_rule: String::new(),
            ..Default::default()
        }),
    );
    flow.traffic_direction = TrafficDirection::Egress.into();
    assert_eq!(
        drop_attribution(&flow).unwrap(),
        "by default deny on egress (selected by CiliumNetworkPolicy shop/backend-dns; \
         closest rule CiliumNetworkPolicy shop/backend-dns spec.egress[0].toPorts[0].rules.dns[0])"
    );
}
